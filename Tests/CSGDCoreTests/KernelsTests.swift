import XCTest
@testable import CSGDCore

final class KernelsTests: XCTestCase {
    func testReductionsMatchDoubleReference() {
        for n in [0, 1, 15, 16, 17, 1023, 1024, 1025, 5000] {
            let x = FloatBuffer(count: n), y = FloatBuffer(count: n)
            RandomFill.gaussian(RandomKey(seed: 1, step: UInt64(n), purpose: .test), sigma: 3, into: x.buffer)
            RandomFill.gaussian(RandomKey(seed: 2, step: UInt64(n), purpose: .test), sigma: 1, into: y.buffer)
            let xs = x.array.map(Double.init), ys = y.array.map(Double.init)
            let tol = 1e-5 * Double(max(n, 1))
            XCTAssertEqual(Kernels.sumAbs(x.readOnly), xs.reduce(0) { $0 + abs($1) }, accuracy: tol)
            XCTAssertEqual(Kernels.sumSquares(x.readOnly), xs.reduce(0) { $0 + $1 * $1 }, accuracy: tol)
            XCTAssertEqual(Kernels.dot(x.readOnly, y.readOnly), zip(xs, ys).reduce(0) { $0 + $1.0 * $1.1 }, accuracy: tol)
        }
    }

    /// dot is right at scales where Float products overflow (10²⁰·10²⁰) or
    /// underflow (10⁻³⁰·10⁻³⁰), within Double rounding of the exact value.
    func testDotAtExtremeScales() {
        for n in [3, 16, 1024, 1500] {
            for scale in [Float(1e20), 1e-30] {
                let x = FloatBuffer(count: n), y = FloatBuffer(count: n)
                RandomFill.gaussian(RandomKey(seed: 3, step: UInt64(n), purpose: .test), sigma: scale, into: x.buffer)
                RandomFill.gaussian(RandomKey(seed: 4, step: UInt64(n), purpose: .test), sigma: scale, into: y.buffer)
                let want = zip(x.array, y.array).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let got = Kernels.dot(x.readOnly, y.readOnly)
                XCTAssertTrue(got.isFinite && want.isFinite, "n \(n), scale \(scale)")
                XCTAssertEqual(got, want, accuracy: 1e-12 * zip(x.array, y.array).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) },
                               "n \(n), scale \(scale)")
            }
        }
    }

    func testAxpyScaleZero() {
        let x = FloatBuffer([1, 2, 3]), y = FloatBuffer([10, 20, 30])
        Kernels.axpy(2, x.readOnly, y.buffer)
        XCTAssertEqual(y.array, [12, 24, 36])
        Kernels.scale(0.5, y.buffer)
        XCTAssertEqual(y.array, [6, 12, 18])
        Kernels.zero(y.buffer)
        XCTAssertEqual(y.array, [0, 0, 0])
    }
}
