// Shared checks for the Problems tests: finite differences in Double,
// Hessian–vector products against finite differences and the dense Hessian,
// unbiasedness of the stochastic oracle, determinism, exact eigenvalues.
import XCTest
import Foundation
import CLAPACKE
import CSGDCore
import Optimization
import Problems

/// Eigenvalues (ascending) of a symmetric row-major n×n matrix by LAPACKE_dsyev.
func eigenvalues(_ h: [Double], n: Int) -> [Double] {
    var a = h
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")), Int32(n), &a, Int32(n), &w)
    precondition(info == 0, "dsyev failed: \(info)")
    return w
}

/// A deterministic N(0, σ²) test vector.
func testVector(_ d: Int, seed: UInt64, sigma: Float = 1) -> [Float] {
    var x = [Float](repeating: 0, count: d)
    x.withUnsafeMutableBufferPointer { RandomFill.gaussian(RandomKey(seed: seed, purpose: .test), sigma: sigma, into: $0) }
    return x
}

func norm(_ a: [Double]) -> Double { a.reduce(0) { $0 + $1 * $1 }.squareRoot() }
func norm(_ a: [Float]) -> Double { norm(a.map(Double.init)) }
func difference(_ a: [Float], _ b: [Double]) -> Double { norm(zip(a, b).map { Double($0) - $1 }) }
func difference(_ a: [Float], _ b: [Float]) -> Double { norm(zip(a, b).map { Double($0) - Double($1) }) }

extension Objective {
    func fullGradient(_ x: [Float]) -> (g: [Float], f: Double) {
        var g = [Float](repeating: .nan, count: dimension)
        let f = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { fullGradient(at: xp, into: $0) } }
        return (g, f)
    }

    func stochasticGradient(_ x: [Float], _ key: BatchKey) -> (g: [Float], f: Double) {
        var g = [Float](repeating: .nan, count: dimension)
        let f = x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gradient(at: xp, batch: key, into: $0) } }
        return (g, f)
    }

    func hvp(_ x: [Float], _ v: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: dimension)
        x.withUnsafeBufferPointer { xp in v.withUnsafeBufferPointer { vp in out.withUnsafeMutableBufferPointer {
            hessianVectorProduct(at: xp, vp, into: $0)
        } } }
        return out
    }

    func loss(_ x: [Float]) -> Double { x.withUnsafeBufferPointer { loss(at: $0) } }
    func denseHessian(_ x: [Float]) -> [Double] { x.withUnsafeBufferPointer { hessian(at: $0)! } }
    func relError(_ x: [Float]) -> Double? { x.withUnsafeBufferPointer { relativeError(at: $0) } }
    func start(seed: UInt64) -> [Float] {
        var x = [Float](repeating: .nan, count: dimension)
        x.withUnsafeMutableBufferPointer { initialPoint(seed: seed, into: $0) }
        return x
    }
}

/// The problem's loss agrees with an independent Double reference, and its
/// full gradient with central differences of that reference (step h·max(1, |xᵢ|)).
func assertGradientMatchesFiniteDifferences(
    _ p: any Objective, at x: [Float], reference: ([Double]) -> Double, h: Double = 1e-5, tolerance: Double = 1e-4,
    file: StaticString = #filePath, line: UInt = #line
) {
    let xd = x.map(Double.init)
    let ref = reference(xd)
    XCTAssertEqual(p.loss(x), ref, accuracy: 1e-5 * max(1, abs(ref)), "loss vs reference", file: file, line: line)
    let (g, f) = p.fullGradient(x)
    XCTAssertEqual(f, ref, accuracy: 1e-5 * max(1, abs(ref)), "fullGradient's loss", file: file, line: line)
    var fd = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let step = h * max(1, abs(xd[i]))
        var a = xd, b = xd
        a[i] += step; b[i] -= step
        fd[i] = (reference(a) - reference(b)) / (2 * step)
    }
    let err = difference(g, fd), scale = norm(fd)
    XCTAssertLessThanOrEqual(err, tolerance * max(scale, 1e-3), "‖g − g_fd‖ = \(err), ‖g_fd‖ = \(scale)", file: file, line: line)
}

/// The HVP agrees with central differences of the full gradient (step h along
/// v, relative tolerance `fdTolerance`) and with the dense Hessian times v;
/// the dense Hessian is symmetric. Returns the dense Hessian.
@discardableResult
func assertHessianConsistent(
    _ p: any Objective, at x: [Float], direction v: [Float], h: Float, fdTolerance: Double = 2e-3,
    file: StaticString = #filePath, line: UInt = #line
) -> [Double] {
    let d = p.dimension
    let hv = p.hvp(x, v)
    var xp = x, xm = x
    for i in 0..<d { xp[i] += h * v[i]; xm[i] -= h * v[i] }
    let gp = p.fullGradient(xp).g, gm = p.fullGradient(xm).g
    let fd = (0..<d).map { (Double(gp[$0]) - Double(gm[$0])) / (2 * Double(h)) }
    let scale = max(norm(fd), 1e-3)
    XCTAssertLessThanOrEqual(difference(hv, fd), fdTolerance * scale, "HVP vs FD: ‖Hv‖ = \(norm(hv))", file: file, line: line)
    let H = p.denseHessian(x)
    var asym = 0.0, hnorm = 0.0
    for i in 0..<d { for j in 0..<d {
        asym = max(asym, abs(H[i * d + j] - H[j * d + i]))
        hnorm += H[i * d + j] * H[i * d + j]
    } }
    XCTAssertLessThanOrEqual(asym, 1e-9 * max(1, hnorm.squareRoot()), "dense Hessian not symmetric", file: file, line: line)
    let dense = (0..<d).map { i in (0..<d).reduce(0.0) { $0 + H[i * d + $1] * Double(v[$1]) } }
    XCTAssertLessThanOrEqual(difference(hv, dense), 1e-5 * max(1, hnorm.squareRoot() * norm(v)),
                             "HVP vs dense Hessian", file: file, line: line)
    return H
}

/// The stochastic oracle averaged over `steps` steps (each the mean over
/// `workers` workers' mini-batches of `size`) is within `factor`·√(V/N) of the
/// full gradient, V the empirical total variance of one step's average.
func assertUnbiased(
    _ p: any Objective, at x: [Float], steps: Int, workers: Int = 1, size: Int = 0, factor: Double = 3,
    file: StaticString = #filePath, line: UInt = #line
) {
    let d = p.dimension
    var samples = [[Double]]()
    samples.reserveCapacity(steps)
    for s in 0..<steps {
        var acc = [Double](repeating: 0, count: d)
        for w in 0..<workers {
            let g = p.stochasticGradient(x, BatchKey(seed: 99, step: UInt64(s), worker: w, workers: workers, size: size)).g
            for i in 0..<d { acc[i] += Double(g[i]) / Double(workers) }
        }
        samples.append(acc)
    }
    let mean = (0..<d).map { i in samples.reduce(0.0) { $0 + $1[i] } / Double(steps) }
    let variance = samples.reduce(0.0) { $0 + zip($1, mean).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } } / Double(steps)
    let full = p.fullGradient(x).g
    let err = difference(full, mean)
    let bound = factor * (variance / Double(steps)).squareRoot()
    XCTAssertGreaterThan(variance, 0, "the oracle should be stochastic here", file: file, line: line)
    XCTAssertLessThanOrEqual(err, bound, "‖mean − ∇f‖ = \(err), ‖∇f‖ = \(norm(full))", file: file, line: line)
}

/// Same BatchKey ⇒ bit-identical gradient and loss (also on a second instance
/// built from the same spec, and from concurrent threads); another step or
/// worker ⇒ a different gradient.
func assertDeterministic(_ spec: String, at x: [Float], size: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws {
    let p = try ProblemSpec.make(spec), q = try ProblemSpec.make(spec)
    let key = BatchKey(seed: 5, step: 17, worker: 1, workers: 2, size: size)
    let a = p.stochasticGradient(x, key), b = p.stochasticGradient(x, key), c = q.stochasticGradient(x, key)
    XCTAssertEqual(a.g.map(\.bitPattern), b.g.map(\.bitPattern), "same key, same instance", file: file, line: line)
    XCTAssertEqual(a.g.map(\.bitPattern), c.g.map(\.bitPattern), "same key, rebuilt instance", file: file, line: line)
    XCTAssertEqual(a.f.bitPattern, c.f.bitPattern, file: file, line: line)
    let other = p.stochasticGradient(x, BatchKey(seed: 5, step: 18, worker: 1, workers: 2, size: size))
    XCTAssertNotEqual(a.g, other.g, "another step should draw differently", file: file, line: line)
    let otherWorker = p.stochasticGradient(x, BatchKey(seed: 5, step: 17, worker: 0, workers: 2, size: size))
    XCTAssertNotEqual(a.g, otherWorker.g, "another worker should draw differently", file: file, line: line)
    // Thread safety: concurrent calls give the serial answers.
    let n = 8
    let results = UnsafeMutableBufferPointer<[UInt32]>.allocate(capacity: n)
    results.initialize(repeating: [])
    defer { results.deallocate() }
    nonisolated(unsafe) let out = results
    DispatchQueue.concurrentPerform(iterations: n) { i in
        out[i] = p.stochasticGradient(x, key).g.map(\.bitPattern)
    }
    for i in 0..<n { XCTAssertEqual(results[i], a.g.map(\.bitPattern), "concurrent call \(i)", file: file, line: line) }
}
