import XCTest
import CSGDCore
@testable import Compression

final class RandomKTests: XCTestCase {
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
