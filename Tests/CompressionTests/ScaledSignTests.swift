import XCTest
import CSGDCore
@testable import Compression

final class ScaledSignTests: XCTestCase {
    func testMatchesDefinitionAndExactMu() {
        for d in [1, 63, 64, 65, 1000, 4099] {
            let c = ScaledSign(dimension: d)
            let x = Vectors.heavyTailed(d, seed: UInt64(d))
            let y = Roundtrip(c: c).dense(x, key: RandomKey(seed: 0, purpose: .test))
            let l1 = x.array.reduce(0.0) { $0 + Double(abs($1)) }
            let scale = Float(l1 / Double(d))
            for i in 0..<d { XCTAssertEqual(y[i], x[i] < 0 ? -scale : scale, accuracy: abs(scale) * 1e-5) }
            // ‖x − C(x)‖² = ‖x‖² − ‖x‖₁²/d, i.e. μ = ‖x‖₁²/(d‖x‖₂²) ≥ 1/d.
            let n2 = Kernels.sumSquares(x.readOnly)
            XCTAssertEqual(Vectors.squaredDistance(x, y), n2 - l1 * l1 / Double(d), accuracy: 1e-4 * n2)
            XCTAssertGreaterThanOrEqual(l1 * l1 / (Double(d) * n2), (1 / Double(d)) * (1 - 1e-6))
        }
    }

    func testDecoderRejectsBadScale() {
        let c = ScaledSign(dimension: 8)
        for s in [Float.nan, -1, .infinity, -0.0] {
            var w = BitWriter()
            w.write(s); w.write(0xA5, bits: 8)
            XCTAssertThrowsError(try c.decode(w.finished(), key: RandomKey(seed: 0, purpose: .test)), "scale \(s)")
        }
    }
}
