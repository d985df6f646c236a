import XCTest
import CKernels
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

    /// Every path of the bulk kernels (portable, AVX2, AVX-512 where the CPU
    /// has them) gives `Philox4x32.block`'s words, in stream order, in fours
    /// and at listed counters: keys of every kind, counts that leave partial
    /// vectors, first counters near 0 and across the 2³² wrap.
    func testBulkPathsEqualTheScalarBlock() {
        let paths = KernelPath.allCases.filter { $0.isAvailable }
        if !KernelPath.avx512.isAvailable { print("no AVX-512 on this CPU: \(paths) against the scalar block") }
        let keys = [RandomKey(seed: 1, purpose: .quantization),
                    RandomKey(seed: 0x9E37_79B9_7F4A_7C15, step: 977, worker: 5, purpose: .randomKIndices),
                    RandomKey(seed: .max, step: .max, worker: RandomKey.shared, purpose: .test)]
        for key in keys {
            for first in [UInt32(0), 3, 1_000_003, 0xFFFF_FFF5] {
                for count in [1, 3, 4, 8, 12, 16, 20, 28, 36, 100] {
                    let want = (0..<count).flatMap { j -> [UInt32] in
                        let w = key.block(first &+ UInt32(j))
                        return [w.0, w.1, w.2, w.3]
                    }
                    let counters = (0..<count).map { j in first &+ UInt32((j * 7919) % (count + 3)) }
                    let wantAt = counters.flatMap { c -> [UInt32] in
                        let w = key.block(c)
                        return [w.0, w.1, w.2, w.3]
                    }
                    for path in paths {
                        var got = [UInt32](repeating: 0, count: 4 * count)
                        got.withUnsafeMutableBufferPointer {
                            csgd_philox_blocks(path, key.k0, key.k1, key.c1, key.c2, key.c3, first, count, $0.baseAddress!)
                        }
                        XCTAssertEqual(got, want, "\(path) blocks: key \(key), first \(first), count \(count)")
                        got = [UInt32](repeating: 0, count: 4 * count)
                        counters.withUnsafeBufferPointer { c in
                            got.withUnsafeMutableBufferPointer { Philox4x32.blocks(key, at: c, into: $0.baseAddress!, path: path) }
                        }
                        XCTAssertEqual(got, wantAt, "\(path) at: key \(key), first \(first), count \(count)")
                        guard count % 4 == 0 else { continue }
                        var fours = [SIMD4<UInt32>](repeating: .zero, count: count)
                        fours.withUnsafeMutableBufferPointer { Philox4x32.fours(key, first: first, count: count, into: $0.baseAddress!, path: path) }
                        // Word w of blocks 4q … 4q + 3, one a lane.
                        for q in 0..<(count / 4) {
                            for w in 0..<4 {
                                let lanes = SIMD4((0..<4).map { l in want[4 * (4 * q + l) + w] })
                                XCTAssertEqual(fours[4 * q + w], lanes, "\(path) fours: key \(key), first \(first), four \(q), word \(w)")
                            }
                        }
                    }
                }
            }
        }
    }
}
