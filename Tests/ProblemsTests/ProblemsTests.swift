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

/// ⟨aᵢ, x⟩ in Double for row i of the row-major n×d matrix `rows`.
func rowDot(_ rows: [Float], _ i: Int, _ x: [Double]) -> Double {
    let d = x.count
    var z = 0.0
    for t in 0..<d { z += Double(rows[i * d + t]) * x[t] }
    return z
}

func rowDot(_ rows: [Float], _ i: Int, _ x: [Float]) -> Double { rowDot(rows, i, x.map(Double.init)) }

/// The Double reference loss of a sample-based problem:
/// x ↦ Σᵢ r(⟨aᵢ, x⟩, yᵢ)² / (c·n) over the n rows aᵢ of `rows` and labels yᵢ.
func meanSquaredResidual(rows: [Float], labels: [Float], divisor c: Double,
                         residual: @escaping (_ z: Double, _ y: Double) -> Double) -> ([Double]) -> Double {
    let n = labels.count, y = labels.map(Double.init)
    return { x in
        var s = 0.0
        for i in 0..<n {
            let r = residual(rowDot(rows, i, x), y[i])
            s += r * r
        }
        return s / (c * Double(n))
    }
}

/// Gradient and Hessian checks (`assertGradientMatchesFiniteDifferences`,
/// `assertHessianConsistent` with step h) at three N(0, σ²) test points
/// (seeds 1…3), each with a unit-variance direction of seed + `directionSeed`.
func assertDerivativesAtTestPoints(
    _ p: any Objective, sigma: Float, directionSeed: UInt64, h: Float, reference: ([Double]) -> Double,
    file: StaticString = #filePath, line: UInt = #line
) {
    let d = p.dimension
    for seed: UInt64 in 1...3 {
        let x = testVector(d, seed: seed, sigma: sigma)
        assertGradientMatchesFiniteDifferences(p, at: x, reference: reference, file: file, line: line)
        assertHessianConsistent(p, at: x, direction: testVector(d, seed: seed + directionSeed), h: h, file: file, line: line)
    }
}

/// At a global minimiser x: ‖∇f(x)‖ ≤ `gradientTolerance`, f(x) = f* and
/// relative error 0 (within the accuracies given). Returns the eigenvalues of
/// the dense Hessian there (ascending) for the caller's curvature checks.
@discardableResult
func assertMinimiser(
    _ p: any Objective, at x: [Float], value: Double, gradientTolerance: Double, lossAccuracy: Double, relativeErrorAccuracy: Double,
    file: StaticString = #filePath, line: UInt = #line
) throws -> [Double] {
    XCTAssertLessThan(norm(p.fullGradient(x).g), gradientTolerance, "‖∇f‖ at a minimiser", file: file, line: line)
    XCTAssertEqual(p.loss(x), value, accuracy: lossAccuracy, "f at a minimiser", file: file, line: line)
    XCTAssertEqual(try XCTUnwrap(p.relError(x), file: file, line: line), 0, accuracy: relativeErrorAccuracy, "relative error", file: file, line: line)
    return eigenvalues(p.denseHessian(x), n: p.dimension)
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

/// The oracle of a problem with an exact gradient: with `noise=0.2` it is
/// unbiased and deterministic; without noise it is the full gradient itself.
func assertExactGradientOracle(_ spec: String, at x: [Float], file: StaticString = #filePath, line: UInt = #line) throws {
    let noisy = spec + ",noise=0.2"
    assertUnbiased(try ProblemSpec.make(noisy), at: x, steps: 1500, file: file, line: line)
    try assertDeterministic(noisy, at: x, file: file, line: line)
    let q = try ProblemSpec.make(spec)
    XCTAssertEqual(q.stochasticGradient(x, BatchKey(seed: 1, step: 2)).g, q.fullGradient(x).g, file: file, line: line)
}

/// Mini-batches of a sample-based problem with n samples split over
/// `workers` workers: at every step each worker's batch holds `size`
/// indices (`indices(key)`), all inside its contiguous shard of n/W, on
/// which `check(key, batch)` makes the caller's checks; over the steps the
/// batches reach more than `coverage` distinct samples of each shard.
func assertBatchesStayInShards(
    samples n: Int, workers: Int = 3, steps: Int, size: Int, seed: UInt64, coverage: Int, indices: (BatchKey) -> [Int],
    file: StaticString = #filePath, line: UInt = #line, check: (BatchKey, [Int]) -> Void
) {
    for w in 0..<workers {
        let shard = (w * n / workers) ..< ((w + 1) * n / workers)
        var seen = Set<Int>()
        for s in 0..<steps {
            let key = BatchKey(seed: seed, step: UInt64(s), worker: w, workers: workers, size: size)
            let batch = indices(key)
            XCTAssertEqual(batch.count, size, file: file, line: line)
            XCTAssertTrue(batch.allSatisfy { shard.contains($0) }, "worker \(w) drew \(batch) outside \(shard)", file: file, line: line)
            seen.formUnion(batch)
            check(key, batch)
        }
        XCTAssertGreaterThan(seen.count, coverage, "the batches cover worker \(w)'s shard", file: file, line: line)
    }
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
