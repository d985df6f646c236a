import XCTest
@testable import CSGDCore

final class PhiloxTests: XCTestCase {
    /// Random123's tests/kat_vectors, the three "philox4x32 10" lines
    /// (counter[4], key[2] → output[4]).
    func testKnownAnswerVectors() {
        let cases: [([UInt32], [UInt32], [UInt32])] = [
            ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
            ([0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff], [0xffff_ffff, 0xffff_ffff],
             [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
            ([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0],
             [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]),
        ]
        for (c, k, want) in cases {
            let out = Philox4x32.block(c[0], c[1], c[2], c[3], key: k[0], k[1])
            XCTAssertEqual([out.0, out.1, out.2, out.3], want)
        }
    }

    func testKeyLayoutSeparatesStreams() {
        let base = RandomKey(seed: 42, step: 7, worker: 3, purpose: .perturbation)
        let variants = [base, base.at(step: 8), base.forWorker(4), base.with(purpose: .quantization),
                        RandomKey(seed: 43, step: 7, worker: 3, purpose: .perturbation)]
        var firstBlocks = Set<[UInt32]>()
        for k in variants {
            let b = k.block(0)
            firstBlocks.insert([b.0, b.1, b.2, b.3])
        }
        XCTAssertEqual(firstBlocks.count, variants.count, "every field of the key must change the stream")
        // Same key, same bits.
        let a = base.block(5), b = RandomKey(seed: 42, step: 7, worker: 3, purpose: .perturbation).block(5)
        XCTAssertEqual([a.0, a.1, a.2, a.3], [b.0, b.1, b.2, b.3])
    }
}
