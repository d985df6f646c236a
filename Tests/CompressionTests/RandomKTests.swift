import XCTest
import CSGDCore
@testable import Compression

final class RandomKTests: XCTestCase {
    func testMuIsKOverDInExpectation() {
        // E‖x − C(x)‖² = (1 − K/d)‖x‖² exactly; the Monte Carlo mean over 400
        // draws of a heavy-tailed x must match within 5 standard errors.
        let d = 200, k = 20
        let c = RandomK(dimension: d, k: k)
        let x = Vectors.heavyTailed(d, seed: 3)
        let norm2 = Kernels.sumSquares(x.readOnly)
        var ratios: [Double] = []
        for t in 0..<400 {
            let y = Roundtrip(c: c).dense(x, key: RandomKey(seed: 5, step: UInt64(t), purpose: .test))
            ratios.append(Vectors.squaredDistance(x, y) / norm2)
        }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        let sd = (ratios.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ratios.count - 1)).squareRoot()
        XCTAssertEqual(mean, 1 - Double(k) / Double(d), accuracy: 5 * sd / 20 + 1e-9)
    }

    func testLinearForAFixedKeyAndSharedAcrossWorkers() {
        let d = 500, k = 37
        let c = RandomK(dimension: d, k: k)
        let a = Vectors.gaussian(d, seed: 1), b = Vectors.gaussian(d, seed: 2)
        let sum = FloatBuffer(count: d)
        for i in 0..<d { sum[i] = a[i] + b[i] }
        let key = RandomKey(seed: 9, step: 3, purpose: .test)
        let ca = Roundtrip(c: c).dense(a, key: key.forWorker(0))
        let cb = Roundtrip(c: c).dense(b, key: key.forWorker(1))   // another worker, same shared indices
        let cs = Roundtrip(c: c).dense(sum, key: key)
        for i in 0..<d { XCTAssertEqual(cs[i], ca[i] + cb[i], accuracy: 1e-6) }
        let ma = c.compress(a.readOnly, key: key.forWorker(0)), mb = c.compress(b.readOnly, key: key.forWorker(7))
        XCTAssertEqual(ma.pairs.indices, mb.pairs.indices)
        let other = c.compress(a.readOnly, key: key.at(step: 4))
        XCTAssertNotEqual(ma.pairs.indices, other.pairs.indices)
        XCTAssertEqual(c.bits(of: ma), 32 * k)
    }
}
