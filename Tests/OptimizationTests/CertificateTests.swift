import CSGDCore
import Foundation
import Optimization
import XCTest

/// f(x) = Σ_k ½ a_k z_k² + ¼ z_k⁴ with z = Uᵀx (U random orthogonal): a
/// quadratic with quartic walls. Critical points: z_k ∈ {0, ±√(−a_k)} for
/// a_k < 0 and z_k = 0 otherwise; ∇²f = U diag(a + 3z²) Uᵀ. Its minima have
/// z_k = ±√(−a_k) wherever a_k < 0, its strict saddles z_k = 0 somewhere a_k < 0.
final class TestQuarticSaddle: Objective, @unchecked Sendable {
    let a: [Double]
    let u: [Double]          // row-major d×d, columns u_k
    let dimension: Int
    let constants: ObjectiveConstants
    var name: String { "test-quartic-saddle:d=\(dimension)" }

    init(a: [Double], seed: UInt64, rho: Double? = nil) {
        self.a = a
        self.dimension = a.count
        self.u = Dense.orthogonal(a.count, seed: seed)
        self.constants = ObjectiveConstants(rho: rho)
    }

    func z(_ x: UnsafeBufferPointer<Float>) -> [Double] {
        let d = dimension
        return (0..<d).map { k in (0..<d).reduce(0.0) { $0 + u[$1 * d + k] * Double(x[$1]) } }
    }

    /// x = U z, rounded to Float.
    func point(z: [Double]) -> FloatBuffer {
        let d = dimension
        let x = FloatBuffer(count: d)
        for i in 0..<d { x[i] = Float((0..<d).reduce(0.0) { $0 + u[i * d + $1] * z[$1] }) }
        return x
    }

    func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        z(x).enumerated().reduce(0.0) { s, e in s + 0.5 * a[e.offset] * e.element * e.element + 0.25 * pow(e.element, 4) }
    }

    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        let d = dimension
        let zz = z(x)
        let gz = (0..<d).map { a[$0] * zz[$0] + zz[$0] * zz[$0] * zz[$0] }
        for i in 0..<d { g[i] = Float((0..<d).reduce(0.0) { $0 + u[i * d + $1] * gz[$1] }) }
        return loss(at: x)
    }

    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        fullGradient(at: x, into: g)
    }

    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let d = dimension
        let zz = z(x), zv = z(v)
        let hz = (0..<d).map { (a[$0] + 3 * zz[$0] * zz[$0]) * zv[$0] }
        for i in 0..<d { out[i] = Float((0..<d).reduce(0.0) { $0 + u[i * d + $1] * hz[$1] }) }
    }

    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        RandomFill.gaussian(RandomKey(seed: seed, purpose: .test), sigma: 0.1, into: x)
    }
}

final class CertificateTests: XCTestCase {
    let a: [Double] = [-1, -0.5, 0.3, 1, 2, 0.5, 1.5, 0.8]

    /// Keeps the buffer alive while its pointer is in use.
    func check(_ f: TestQuarticSaddle, _ x: FloatBuffer, _ eps: Double, _ rho: Double) throws -> SOSPCertificate {
        try withExtendedLifetime(x) { try SOSPCertificate.check(objective: f, at: x.readOnly, epsilon: eps, rho: rho) }
    }

    func testStrictSaddleIsNotSOSPAndMinimumIs() throws {
        let f = TestQuarticSaddle(a: a, seed: 5)
        let eps = 1e-3, rho = 10.0   // threshold −√(ρε) = −0.1

        // The origin: gradient 0, λ_min = −1.
        let saddle = FloatBuffer(count: a.count)
        let c0 = try SOSPCertificate.check(objective: f, at: saddle.readOnly, epsilon: eps, rho: rho)
        XCTAssertEqual(c0.gradNorm, 0)
        XCTAssertEqual(c0.lambdaMin, -1, accuracy: 1e-5)
        XCTAssertEqual(c0.threshold, -0.1, accuracy: 1e-15)
        XCTAssertTrue(c0.isFOSP)
        XCTAssertFalse(c0.isSOSP)
        XCTAssertTrue(c0.lanczosConverged)

        // Another strict saddle: z = (±1, 0, …): λ_min = a_2 = −0.5.
        var zs = [Double](repeating: 0, count: a.count); zs[0] = 1
        let c1 = try check(f, f.point(z: zs), eps, rho)
        XCTAssertTrue(c1.isFOSP, "gradNorm \(c1.gradNorm)")
        XCTAssertEqual(c1.lambdaMin, -0.5, accuracy: 1e-5)
        XCTAssertFalse(c1.isSOSP)

        // A minimum: z = (1, √0.5, 0, …): Hessian eigenvalues 2, 1, 0.3, … so λ_min = 0.3.
        var zm = [Double](repeating: 0, count: a.count); zm[0] = 1; zm[1] = 0.5.squareRoot()
        let c2 = try check(f, f.point(z: zm), eps, rho)
        XCTAssertTrue(c2.isFOSP, "gradNorm \(c2.gradNorm)")
        XCTAssertEqual(c2.lambdaMin, 0.3, accuracy: 1e-5)
        XCTAssertTrue(c2.isSOSP)
        XCTAssertEqual(c2.loss, -0.25 - 0.0625, accuracy: 1e-6)

        // Far from stationary: not even a FOSP.
        let c3 = try check(f, f.point(z: [0.5, 0.5, 1, 0, 0, 0, 0, 0]), eps, rho)
        XCTAssertFalse(c3.isFOSP)
        XCTAssertFalse(c3.isSOSP)
    }

    func testThresholdIsMinusSqrtRhoEpsilon() throws {
        // A shallow saddle (λ_min = −0.01) is an ε-SOSP for ρε = 1e-2 but not for ρε = 1e-5.
        let f = TestQuarticSaddle(a: [-0.01, 1, 2, 3], seed: 9)
        let x = FloatBuffer(count: 4)
        XCTAssertTrue(try SOSPCertificate.check(objective: f, at: x.readOnly, epsilon: 1e-3, rho: 10).isSOSP)
        XCTAssertFalse(try SOSPCertificate.check(objective: f, at: x.readOnly, epsilon: 1e-6, rho: 10).isSOSP)
    }

    func testRhoComesFromTheObjectiveOrMustBeGiven() throws {
        let x = FloatBuffer(count: a.count)
        let unknown = TestQuarticSaddle(a: a, seed: 5)
        XCTAssertThrowsError(try SOSPCertificate.check(objective: unknown, at: x.readOnly, epsilon: 1e-3)) { e in
            XCTAssertTrue((e as? CSGDError)?.message.contains("rho") ?? false, "\(e)")
        }
        let known = TestQuarticSaddle(a: a, seed: 5, rho: 4)
        let c = try SOSPCertificate.check(objective: known, at: x.readOnly, epsilon: 1e-2)
        XCTAssertEqual(c.rho, 4)
        XCTAssertEqual(c.threshold, -0.2, accuracy: 1e-15)
        // An explicit ρ overrides the objective's.
        XCTAssertEqual(try SOSPCertificate.check(objective: known, at: x.readOnly, epsilon: 1e-2, rho: 1).rho, 1)
    }

    func testInvalidArgumentsThrow() {
        let f = TestQuarticSaddle(a: a, seed: 5, rho: 1)
        let x = FloatBuffer(count: a.count)
        for (eps, rho, word) in [(0.0, 1.0, "epsilon"), (-1, 1, "epsilon"), (.nan, 1, "epsilon"), (1e-3, 0, "rho"), (1e-3, -2, "rho")] {
            XCTAssertThrowsError(try SOSPCertificate.check(objective: f, at: x.readOnly, epsilon: eps, rho: rho)) { e in
                XCTAssertTrue((e as? CSGDError)?.message.contains(word) ?? false, "\(e)")
            }
        }
        let wrong = FloatBuffer(count: 3)
        XCTAssertThrowsError(try SOSPCertificate.check(objective: f, at: wrong.readOnly, epsilon: 1e-3))
    }

    func testCertificateEncodesToJSON() throws {
        let c = SOSPCertificate(loss: 1, gradNorm: 0.5, lambdaMin: -0.2, epsilon: 1, rho: 0.01)
        XCTAssertEqual(c.threshold, -0.1, accuracy: 1e-15)
        XCTAssertTrue(c.isFOSP)
        XCTAssertFalse(c.isSOSP)
        let data = try JSONEncoder().encode(c)
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["gradNorm", "lambdaMin", "epsilon", "rho", "threshold", "isFOSP", "isSOSP"] {
            XCTAssertNotNil(obj[key], key)
        }
        XCTAssertEqual(try JSONDecoder().decode(SOSPCertificate.self, from: data), c)
    }
}
