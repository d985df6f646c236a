import XCTest
import CSGDCore
@testable import Compression

/// Decoders of every compressor, built through the factory on every spec,
/// throw on bad bytes and never trap (exact bit counts, bit-exact round
/// trips and the μ inequality are generated properties: CompressorProperties).
final class CompressorConformanceTests: XCTestCase {
    static let specs = ["none", "fp64", "randomk:0.1", "randomk:1.0", "randomk:1", "topk:0.05", "topk:1.0", "sign",
                        "qsgd:1", "qsgd:15", "qsgd:15,coding=fixed", "qsgd:1,coding=fixed",
                        "sketch-topk:0.05,rows=5,cols=64"]
    static let dims = [1, 7, 64, 1000, 4099]

    func forEach(_ body: (String, any Compressor) throws -> Void) throws {
        for d in Self.dims {
            for text in Self.specs {
                try body(text, try CompressorSpec.parse(text).make(dimension: d))
            }
        }
    }

    func testDecodersRejectTruncatedExtendedAndRandomBytes() throws {
        try forEach { text, c in try checkHostileBytes(c, text) }
    }

    func checkHostileBytes<C: Compressor>(_ c: C, _ text: String) throws {
        let d = c.dimension
        let key = RandomKey(seed: 3, step: 1, purpose: .test)
        let x = Vectors.gaussian(d, seed: 9)
        let bytes = withExtendedLifetime(x) { c.encode(c.compress(x.readOnly, key: key)) }
        let cuts = Set([0, 1, bytes.count / 2, bytes.count - 1].filter { $0 >= 0 && $0 < bytes.count })
        for n in cuts {
            XCTAssertThrowsError(try c.decode(Array(bytes.prefix(n)), key: key), "\(text) d=\(d): \(n) of \(bytes.count) bytes accepted")
        }
        XCTAssertThrowsError(try c.decode(bytes + [0], key: key), "\(text) d=\(d): an extra byte accepted")
        // Random strings: either rejected, or canonical (re-encode to themselves).
        var s = RandomStream(key: RandomKey(seed: UInt64(d), purpose: .test))
        for _ in 0..<60 {
            let len = Int(s.nextInt(below: UInt64(2 * bytes.count + 8)))
            let junk = (0..<len).map { _ in UInt8(truncatingIfNeeded: s.nextUInt32()) }
            if let m = try? c.decode(junk, key: key) {
                XCTAssertEqual(c.encode(m), junk, "\(text) d=\(d): accepted a non-canonical message")
            }
        }
        // Bit flips of a valid message: never a trap.
        for _ in 0..<60 where !bytes.isEmpty {
            var flipped = bytes
            let i = Int(s.nextInt(below: UInt64(bytes.count)))
            flipped[i] ^= UInt8(1 << s.nextInt(below: 8))
            if let m = try? c.decode(flipped, key: key) {
                XCTAssertEqual(c.encode(m), flipped, "\(text) d=\(d)")
            }
        }
    }
}
