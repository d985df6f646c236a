import CLAPACKE
import CSGDCore
import Foundation
import Optimization
import XCTest

/// Dense symmetric test matrices (row-major Double) and exact eigenvalues from LAPACKE.
enum Dense {
    static func stream(_ seed: UInt64, _ step: UInt64 = 0) -> RandomStream {
        RandomStream(key: RandomKey(seed: seed, step: step, purpose: .test))
    }

    /// (G + Gᵀ)/√2 with G Gaussian: a GOE matrix.
    static func goe(_ d: Int, seed: UInt64) -> [Double] {
        var s = stream(seed)
        var g = (0..<(d * d)).map { _ in s.nextGaussian() }
        for i in 0..<d { for j in i..<d {
            let v = (g[i * d + j] + g[j * d + i]) / 2.0.squareRoot()
            g[i * d + j] = v; g[j * d + i] = v
        } }
        return g
    }

    /// A Haar-like random orthogonal matrix (columns by modified Gram–Schmidt, twice).
    static func orthogonal(_ d: Int, seed: UInt64) -> [Double] {
        var s = stream(seed, 1)
        // Work on rows of Qᵀ (contiguous), then transpose: column j of Q is row j here.
        var qt = (0..<(d * d)).map { _ in s.nextGaussian() }
        qt.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            for j in 0..<d {
                let qj = b + j * d
                for _ in 0..<2 {
                    for k in 0..<j {
                        let qk = b + k * d
                        var dot = 0.0
                        for i in 0..<d { dot += qk[i] * qj[i] }
                        for i in 0..<d { qj[i] -= dot * qk[i] }
                    }
                }
                var n = 0.0
                for i in 0..<d { n += qj[i] * qj[i] }
                n = n.squareRoot()
                for i in 0..<d { qj[i] /= n }
            }
        }
        var q = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { q[i * d + j] = qt[j * d + i] } }
        return q
    }

    /// Q diag(λ) Qᵀ with Q a product of four random Householder reflectors
    /// (dense, exactly the spectrum λ, O(d²) to build).
    static func withSpectrum(_ lambda: [Double], seed: UInt64) -> [Double] {
        let d = lambda.count
        var s = stream(seed, 2)
        var m = [Double](repeating: 0, count: d * d)
        for i in 0..<d { m[i * d + i] = lambda[i] }
        var mv = [Double](repeating: 0, count: d)
        for _ in 0..<4 {
            var v = (0..<d).map { _ in s.nextGaussian() }
            let nv = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<d { v[i] /= nv }
            // H M H with H = I − 2vvᵀ: M − 2v(Mv)ᵀ − 2(Mv)vᵀ + 4(vᵀMv)vvᵀ.
            m.withUnsafeMutableBufferPointer { mp in
                let b = mp.baseAddress!
                var vmv = 0.0
                for i in 0..<d {
                    var t = 0.0
                    for j in 0..<d { t += b[i * d + j] * v[j] }
                    mv[i] = t; vmv += v[i] * t
                }
                for i in 0..<d {
                    let vi = v[i], mvi = mv[i]
                    for j in 0..<d { b[i * d + j] += -2 * vi * mv[j] - 2 * mvi * v[j] + 4 * vmv * vi * v[j] }
                }
            }
        }
        // Exact symmetry.
        for i in 0..<d { for j in (i + 1)..<d where j < d {
            let t = 0.5 * (m[i * d + j] + m[j * d + i]); m[i * d + j] = t; m[j * d + i] = t
        } }
        return m
    }

    /// All eigenvalues, ascending, by LAPACKE_dsyevd.
    static func eigenvalues(_ a: [Double], _ d: Int) -> [Double] {
        var m = a
        var w = [Double](repeating: 0, count: d)
        let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")),
                                  Int32(d), &m, Int32(d), &w)
        precondition(info == 0, "dsyevd failed: \(info)")
        return w
    }

    /// out = A·v, the product in Double, rounded to Float once.
    static func apply(_ a: [Double], _ d: Int, _ v: UnsafeBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>) {
        a.withUnsafeBufferPointer { ap in
            for i in 0..<d {
                var s = 0.0
                let row = ap.baseAddress! + i * d
                for j in 0..<d { s += row[j] * Double(v[j]) }
                out[i] = Float(s)
            }
        }
    }

    /// ‖A y − θ y‖ in Double.
    static func residual(_ a: [Double], _ d: Int, _ y: [Float], _ theta: Double) -> Double {
        a.withUnsafeBufferPointer { ap in
            var r = 0.0
            for i in 0..<d {
                var s = 0.0
                let row = ap.baseAddress! + i * d
                for j in 0..<d { s += row[j] * Double(y[j]) }
                s -= theta * Double(y[i])
                r += s * s
            }
            return r.squareRoot()
        }
    }
}

/// f(x) = ½ xᵀAx + bᵀx with a dense symmetric A: Hessian A everywhere.
final class TestQuadratic: Objective, @unchecked Sendable {
    let a: [Double]
    let b: [Double]
    let dimension: Int
    var name: String { "test-quadratic:d=\(dimension)" }
    let constants: ObjectiveConstants

    init(a: [Double], b: [Double]) {
        self.a = a; self.b = b; self.dimension = b.count
        let eig = Dense.eigenvalues(a, b.count)
        self.constants = ObjectiveConstants(L: max(abs(eig.first!), abs(eig.last!)), rho: 0, sigma: 0)
    }

    func grad(_ x: UnsafeBufferPointer<Float>, _ g: UnsafeMutableBufferPointer<Float>) -> Double {
        let d = dimension
        var f = 0.0
        for i in 0..<d {
            var s = 0.0
            for j in 0..<d { s += a[i * d + j] * Double(x[j]) }
            f += 0.5 * s * Double(x[i]) + b[i] * Double(x[i])
            g[i] = Float(s + b[i])
        }
        return f
    }

    func loss(at x: UnsafeBufferPointer<Float>) -> Double {
        let g = FloatBuffer(count: dimension)
        return grad(x, g.buffer)
    }

    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        grad(x, g)
    }

    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        grad(x, g)
    }

    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        Dense.apply(a, dimension, v, out)
    }

    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        RandomFill.gaussian(RandomKey(seed: seed, purpose: .test), sigma: 1, into: x)
    }
}

final class LanczosTests: XCTestCase {
    /// The accuracy criterion: |λ̂ − λ_min| ≤ 1e-4 · max(|λ_min|, 1e-3 · ‖A‖₂),
    /// ‖A‖₂ = max |λ_i| from LAPACKE. Returns the relative error it checks.
    @discardableResult
    func checkAgainstLAPACK(_ a: [Double], _ d: Int, label: String, iterations: Int? = nil,
                            file: StaticString = #filePath, line: UInt = #line) -> LanczosResult {
        let exact = Dense.eigenvalues(a, d)
        let lmin = exact.first!, norm = max(abs(exact.first!), abs(exact.last!))
        let r = Lanczos.smallestEigenvalue(dimension: d, iterations: iterations, seed: 7) { v, out in
            Dense.apply(a, d, v, out)
        }
        let scale = max(abs(lmin), 1e-3 * norm)
        let err = abs(r.lambdaMin - lmin)
        let rel = scale > 0 ? err / scale : err
        let trueResidual = Dense.residual(a, d, r.vector, r.lambdaMin)
        print(String(format: "lanczos %@: d=%d λmin=%.9g λ̂=%.9g relerr=%.2e its=%d stop=%@ resid(est)=%.2e resid(true)=%.2e ‖A‖=%.3g",
                     label, d, lmin, r.lambdaMin, rel, r.iterations, r.stop.rawValue, r.residual, trueResidual, norm))
        XCTAssertLessThanOrEqual(rel, 1e-4, "\(label): λ̂ = \(r.lambdaMin), λ_min = \(lmin)", file: file, line: line)
        XCTAssertTrue(r.converged, "\(label) did not converge", file: file, line: line)
        XCTAssertEqual(r.vector.count, d, file: file, line: line)
        // The Ritz vector is a unit eigenvector to Float-operator accuracy
        // (clusters: any vector of the cluster will do).
        XCTAssertLessThanOrEqual(trueResidual, 1e-4 * norm, "\(label): residual", file: file, line: line)
        if norm > 0 {
            let n = r.vector.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertEqual(n, 1, accuracy: 1e-5, file: file, line: line)
        }
        return r
    }

    func testRandomGOEMatricesMatchLAPACK() {
        for (d, seed) in [(5, 1 as UInt64), (50, 2), (200, 3)] {
            checkAgainstLAPACK(Dense.goe(d, seed: seed), d, label: "GOE")
        }
    }

    func testClusteredNegativeEigenvalues() {
        // Five eigenvalues within 4e-7 of −1 at the bottom, the rest spread over [−0.9, 3].
        let d = 50
        var s = Dense.stream(11)
        var lambda = (0..<5).map { -1 + 1e-7 * Double($0) }
        lambda += (5..<d).map { _ in -0.9 + 3.9 * s.nextUnitDouble() }
        checkAgainstLAPACK(Dense.withSpectrum(lambda, seed: 12), d, label: "clustered")

        // d = 200: a tight cluster of 20 at −2 and a bulk close above it.
        let d2 = 200
        var lambda2 = (0..<20).map { -2 + 1e-6 * Double($0) }
        lambda2 += (20..<d2).map { _ in -1.99 + 4 * s.nextUnitDouble() }
        checkAgainstLAPACK(Dense.withSpectrum(lambda2, seed: 13), d2, label: "clustered-200")
    }

    func testNegativeDefiniteAndNearSingular() {
        let d = 200
        var s = Dense.stream(21)
        let neg = (0..<d).map { _ in -3 + 2 * s.nextUnitDouble() }
        checkAgainstLAPACK(Dense.withSpectrum(neg, seed: 22), d, label: "negative-definite")
        // PSD with λ_min = 1e-3·‖A‖: the criterion's floor.
        var psd = (0..<d).map { _ in 1e-3 + (1 - 1e-3) * s.nextUnitDouble() }
        psd[17] = 1e-3; psd[3] = 1
        checkAgainstLAPACK(Dense.withSpectrum(psd, seed: 23), d, label: "near-singular")
        // Large dynamic range with a tiny negative eigenvalue: λ_min = −0.05, ‖A‖ = 1000.
        var wide = (0..<d).map { _ in 1000 * s.nextUnitDouble() }
        wide[0] = -0.05; wide[1] = 1000
        checkAgainstLAPACK(Dense.withSpectrum(wide, seed: 24), d, label: "wide-range")
    }

    func testFewDistinctEigenvaluesExhaustTheKrylovSpace() {
        let d = 200
        let lambda = (0..<d).map { i -> Double in i < 10 ? -2 : (i < 160 ? 0 : 1) }
        let r = checkAgainstLAPACK(Dense.withSpectrum(lambda, seed: 31), d, label: "three-distinct")
        XCTAssertLessThanOrEqual(r.iterations, 6, "three distinct eigenvalues: the Krylov space has dimension 3")
        XCTAssertEqual(r.stop, .invariantSubspace)
    }

    func testZeroMatrix() {
        let d = 50
        let r = checkAgainstLAPACK([Double](repeating: 0, count: d * d), d, label: "zero")
        XCTAssertEqual(r.lambdaMin, 0)
        XCTAssertEqual(r.iterations, 1)
        XCTAssertEqual(r.stop, .invariantSubspace)
    }

    func testOneByOneAndTwoByTwo() {
        checkAgainstLAPACK([-3.5], 1, label: "1x1")
        checkAgainstLAPACK([0, 1, 1, 0], 2, label: "2x2")   // eigenvalues ±1
    }

    func testIterationCapGivesAnUpperBound() {
        let d = 200
        let a = Dense.goe(d, seed: 41)
        let lmin = Dense.eigenvalues(a, d).first!
        let r = Lanczos.smallestEigenvalue(dimension: d, iterations: 5, seed: 1) { v, out in Dense.apply(a, d, v, out) }
        XCTAssertEqual(r.iterations, 5)
        XCTAssertEqual(r.stop, .iterationLimit)
        XCTAssertFalse(r.converged)
        XCTAssertGreaterThanOrEqual(r.lambdaMin, lmin - 1e-5, "Ritz values never undershoot λ_min")
    }

    func testReplaysBitForBitAndSeedsAgree() {
        let d = 50
        let a = Dense.goe(d, seed: 51)
        func run(_ seed: UInt64) -> LanczosResult {
            Lanczos.smallestEigenvalue(dimension: d, seed: seed) { v, out in Dense.apply(a, d, v, out) }
        }
        let r1 = run(3), r2 = run(3), r3 = run(4)
        XCTAssertEqual(r1.lambdaMin.bitPattern, r2.lambdaMin.bitPattern)
        XCTAssertEqual(r1.vector, r2.vector)
        XCTAssertEqual(r1.iterations, r2.iterations)
        XCTAssertEqual(r1.lambdaMin, r3.lambdaMin, accuracy: 1e-5)
    }

    func testLargeDimensionDiagonalOperator() {
        // d = 20,000 (cap 200): diagonal operator with λ_min = −1 and the rest in [−0.5, 2].
        let d = 20_000
        var s = Dense.stream(61)
        var diag = (0..<d).map { _ in -0.5 + 2.5 * s.nextUnitDouble() }
        diag[12_345] = -1
        let diagF = diag.map(Float.init)
        let r = Lanczos.smallestEigenvalue(dimension: d, seed: 2) { v, out in
            for i in 0..<d { out[i] = diagF[i] * v[i] }
        }
        print(String(format: "lanczos diagonal d=%d: λ̂=%.9g its=%d stop=%@", d, r.lambdaMin, r.iterations, r.stop.rawValue))
        XCTAssertTrue(r.converged)
        XCTAssertLessThanOrEqual(abs(r.lambdaMin + 1), 1e-4)
        XCTAssertGreaterThan(abs(r.vector[12_345]), 0.999)
    }

    func testNonFiniteOperatorIsNotConverged() {
        let r = Lanczos.smallestEigenvalue(dimension: 10, seed: 1) { v, out in
            for i in 0..<10 { out[i] = i == 3 ? .nan : v[i] }
        }
        XCTAssertTrue(r.lambdaMin.isNaN)
        XCTAssertFalse(r.converged)
    }

    func testDefaultIterations() {
        XCTAssertEqual(Lanczos.defaultIterations(dimension: 1), 1)
        XCTAssertEqual(Lanczos.defaultIterations(dimension: 50), 50)
        XCTAssertEqual(Lanczos.defaultIterations(dimension: 1000), 200)
        XCTAssertEqual(Lanczos.defaultIterations(dimension: 210_369), 159)
        XCTAssertEqual(Lanczos.defaultIterations(dimension: 100_000_000), 20)
    }

    func testTridiagonalRoutinesMatchLAPACK() {
        var s = Dense.stream(71)
        for n in [1, 2, 3, 10, 60] {
            let alpha = (0..<n).map { _ in s.nextGaussian() }
            let beta = (0..<max(n - 1, 0)).map { _ in s.nextGaussian() }
            let t = SymmetricTridiagonal(diagonal: alpha, offDiagonal: beta)
            var dense = [Double](repeating: 0, count: n * n)
            for i in 0..<n { dense[i * n + i] = alpha[i] }
            for i in 0..<(n - 1) { dense[i * n + i + 1] = beta[i]; dense[(i + 1) * n + i] = beta[i] }
            let exact = Dense.eigenvalues(dense, n)
            let norm = max(abs(exact.first!), abs(exact.last!))
            for k in 1...n {
                XCTAssertEqual(t.eigenvalue(k), exact[k - 1], accuracy: 1e-13 * norm, "n=\(n) k=\(k)")
            }
            let theta = t.smallestEigenvalue()
            let y = t.eigenvector(for: theta)
            var r = 0.0, ny = 0.0
            for i in 0..<n {
                var v = (alpha[i] - theta) * y[i]
                if i > 0 { v += beta[i - 1] * y[i - 1] }
                if i + 1 < n { v += beta[i] * y[i + 1] }
                r += v * v; ny += y[i] * y[i]
            }
            XCTAssertEqual(ny, 1, accuracy: 1e-12)
            XCTAssertLessThanOrEqual(r.squareRoot(), 1e-12 * norm, "n=\(n) eigenvector residual")
        }
        // A tridiagonal with equal diagonal and tiny couplings (nearly degenerate).
        let t = SymmetricTridiagonal(diagonal: [1, 1, 1, 1], offDiagonal: [1e-9, 1e-9, 1e-9])
        XCTAssertEqual(t.smallestEigenvalue(), 1 - 1e-9 * 2 * cos(Double.pi / 5), accuracy: 1e-15)
    }

    func testObjectiveHessianMatchesLAPACK() {
        let d = 30
        var s = Dense.stream(81)
        let lambda = (0..<d).map { i -> Double in i == 0 ? -0.7 : 0.1 + 2 * s.nextUnitDouble() }
        let a = Dense.withSpectrum(lambda, seed: 82)
        let q = TestQuadratic(a: a, b: (0..<d).map { _ in s.nextGaussian() })
        let x = FloatBuffer(count: d)
        q.initialPoint(seed: 1, into: x.buffer)
        // The dense Hessian the protocol's extension assembles from HVPs.
        let h = q.hessian(at: x.readOnly)!
        let fromHVP = Dense.eigenvalues(h, d).first!
        let exact = Dense.eigenvalues(a, d).first!
        XCTAssertEqual(exact, -0.7, accuracy: 1e-12)
        let r = Lanczos.lambdaMin(of: q, at: x.readOnly, seed: 5)
        print(String(format: "lanczos objective: λ̂=%.9g exact=%.9g fromHVP=%.9g its=%d", r.lambdaMin, exact, fromHVP, r.iterations))
        XCTAssertTrue(r.converged)
        XCTAssertLessThanOrEqual(abs(r.lambdaMin - exact), 1e-4 * abs(exact))
        XCTAssertLessThanOrEqual(abs(fromHVP - exact), 1e-4 * abs(exact))
    }
}
