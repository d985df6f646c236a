import CSGDCore
import Compression
import Foundation
@testable import Optimization
import Problems
import XCTest
@testable import CSGDBench
@testable import Distributed

/// The transform layer: each method is its chain of transforms, fused
/// kernels equal the unfused operations bit for bit, sparse averaging equals
/// dense averaging bit for bit, and the log's norms and evaluation hook.
final class TransformTests: XCTestCase {
    func chain(_ method: String, compressor: String = "none") throws -> MethodChain {
        let objective = try ProblemSpec.make("saddle:d=10")
        let m = try Methods.parse(method)
        let c = try m.compressor(given: try CompressorSpec.parse(compressor)).make(dimension: 10)
        let config = TrainerConfiguration(steps: 1, learningRate: 0.1, epsilon: 0.05)
        return try m.chain(compressor: c, objective: objective, context: config.methodContext)
    }

    func chainNames(_ method: String, compressor: String = "none") throws -> [String] {
        try chain(method, compressor: compressor).transforms.map { String(describing: type(of: $0)) }
    }

    func testMethodsAreChainsOfSmallTransforms() throws {
        XCTAssertEqual(try chainNames("alg1:sigma=0.01", compressor: "randomk:2"),
                       ["StochasticGradient", "ErrorFeedback", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("alg1:sigma=0.01,reset=on,I=5,R=0.1", compressor: "topk:2"),
                       ["StochasticGradient", "ErrorReset", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("alg1:sigma=0.01,noise=deferred", compressor: "randomk:2"),
                       ["StochasticGradient", "ErrorFeedback", "AverageMessages", "DeferredNoise", "SGDStep"])
        XCTAssertEqual(try chainNames("ef-sgd", compressor: "sign"), ["StochasticGradient", "ErrorFeedback", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("sgd"), ["StochasticGradient", "CompressMessage", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("qsgd-sgd:bits=4", compressor: "qsgd:7,coding=fixed"),
                       ["StochasticGradient", "CompressMessage", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("psgd:r=0.1"), ["StochasticGradient", "CompressMessage", "AverageMessages", "SGDStep"])
        XCTAssertEqual(try chainNames("pgd:eps=0.01,r=0.5"), ["StochasticGradient", "CompressMessage", "AverageMessages", "PerturbWhenSmall", "SGDStep"])
        XCTAssertEqual(try chainNames("cnc:batch=1"), ["StochasticGradient", "CompressMessage", "AverageMessages", "CurvatureStep", "SGDStep"])
        // The noise is an option of the transform that adds it.
        let feedback = try XCTUnwrap(try chain("alg1:sigma=0.01", compressor: "randomk:2").transforms[1] as? ErrorFeedback)
        XCTAssertEqual(feedback.noise, 0.01)
        XCTAssertEqual((try chain("ef-sgd", compressor: "randomk:2").transforms[1] as? ErrorFeedback)?.noise, 0)
        let deferred = try chain("alg1:sigma=0.01,noise=deferred", compressor: "randomk:2").transforms
        XCTAssertEqual((deferred[1] as? ErrorFeedback)?.noise, 0, "deferred noise is not in the memory")
        XCTAssertEqual((deferred[3] as? DeferredNoise)?.sigma, 0.01)
        XCTAssertEqual((try chain("psgd:r=0.1").transforms[1] as? CompressMessage)?.noise, Float(0.1 / 10.0.squareRoot()))
        XCTAssertEqual((try chain("sgd").transforms[1] as? CompressMessage)?.noise, 0)
    }

    func testFusedCompensateEqualsTheUnfusedSequence() {
        for n in [1, 63, 1024, 3000, 4096 + 77] {
            let v = FloatBuffer(count: n), e0 = FloatBuffer(count: n)
            RandomFill.gaussian(RandomKey(seed: 1, step: UInt64(n), purpose: .test), sigma: 1, into: v.buffer)
            RandomFill.gaussian(RandomKey(seed: 2, step: UInt64(n), purpose: .test), sigma: 0.5, into: e0.buffer)
            let noiseKey = RandomKey(seed: 3, step: 9, purpose: .perturbation)
            for sigma: Float in [0, 0.01] {
                let noise = sigma > 0 ? NoiseDraw(sigma: sigma, key: noiseKey) : nil
                // Unfused: v' = v + σξ (RandomFill), then e ← v' + e.
                let v2 = FloatBuffer(v.array), want = FloatBuffer(e0.array)
                if let noise { RandomFill.gaussian(noise.key, sigma: noise.sigma, into: v2.buffer, accumulate: true) }
                for i in 0..<n { want[i] = v2[i] + want[i] }
                let e = FloatBuffer(e0.array)
                let s = StepKernels.compensate(v.readOnly, noise: noise, into: e.buffer)
                XCTAssertEqual(e.array.map(\.bitPattern), want.array.map(\.bitPattern), "n=\(n) σ=\(sigma)")
                XCTAssertEqual(s, Kernels.sumSquares(v.readOnly), "Σv², n=\(n)")
            }
        }
        // The fused C pass gives the same bits on every path (portable, AES
        // in software, AVX-512), over many blocks of misses and requeues.
        let blocks = 96, n0 = blocks * 1024
        let v0 = FloatBuffer(count: n0), base = FloatBuffer(count: n0)
        RandomFill.gaussian(RandomKey(seed: 5, purpose: .test), sigma: 1, into: v0.buffer)
        RandomFill.gaussian(RandomKey(seed: 6, purpose: .test), sigma: 1, into: base.buffer)
        let nk = RandomKey(seed: 7, step: 3, purpose: .perturbation)
        var results: [[UInt32]] = []
        for path in GaussianSIMD.Path.allCases where path.isAvailable {
            let e = FloatBuffer(base.array)
            var sums = [SIMD16<Float>](repeating: .zero, count: blocks)
            sums.withUnsafeMutableBufferPointer { s in
                GaussianSIMD.compensate(nk, firstGroup: 32, count: blocks * 16, sigma: 0.25, v: v0.readOnly.baseAddress!,
                                        e: e.buffer.baseAddress!, laneSums: s.baseAddress!, path: path)
            }
            results.append(e.array.map(\.bitPattern) + sums.flatMap { s in (0..<16).map { s[$0].bitPattern } })
        }
        for r in results.dropFirst() { XCTAssertTrue(r == results[0], "paths differ") }
        let z = FloatBuffer(count: n0)
        GaussianSIMD.groups(nk, first: 32, count: blocks * 16, into: z.buffer.baseAddress!, path: .softwareAES)
        for i in stride(from: 0, to: n0, by: 997) {
            XCTAssertEqual(results[0][i], ((v0[i] + 0.25 * z[i]) + base[i]).bitPattern, "element \(i)")
        }
        // Blocks of zeros, of tiny and of huge values take Kernels' exact path; the norms still agree.
        let n = 4096
        let odd = FloatBuffer(count: n)
        for i in 1024..<2048 { odd[i] = 1e-25 }
        for i in 2048..<3072 { odd[i] = Float(i) * 1e18 }
        let e = FloatBuffer(count: n)
        XCTAssertEqual(StepKernels.compensate(odd.readOnly, noise: nil, into: e.buffer), Kernels.sumSquares(odd.readOnly))
        XCTAssertEqual(e.array, odd.array)
    }

    func testSplittingAPassOverThreadsChangesNoBit() {
        let n = (1 << 16) + 1000
        let v = FloatBuffer(count: n), e0 = FloatBuffer(count: n)
        RandomFill.gaussian(RandomKey(seed: 1, purpose: .test), sigma: 1, into: v.buffer)
        RandomFill.gaussian(RandomKey(seed: 2, purpose: .test), sigma: 1, into: e0.buffer)
        let noise = NoiseDraw(sigma: 0.01, key: RandomKey(seed: 3, step: 1, purpose: .perturbation))
        let one = FloatBuffer(e0.array)
        let s1 = StepKernels.compensate(v.readOnly, noise: noise, into: one.buffer)
        for ways in [2, 3] {
            let split = FloatBuffer(e0.array)
            let s = StepKernels.compensate(v.readOnly, noise: noise, into: split.buffer,
                                           splitter: PassSplitter(ways: ways), sums: BlockSums(dimension: n))
            XCTAssertEqual(s, s1, "ways \(ways)")
            XCTAssertEqual(split.array.map(\.bitPattern), one.array.map(\.bitPattern), "ways \(ways)")
        }
        // A whole run: one thread a rank or two, same parameters.
        func run(_ threads: Int) throws -> RunSummary {
            let config = TrainerConfiguration(steps: 3, seed: 2, learningRate: 0.01, logEvery: 0, threadsPerRank: threads)
            return try InProcessRun.run(objective: FixedGradient(dimension: n, seed: 1), method: try Methods.parse("alg1:sigma=0.1"),
                                        compressor: try CompressorSpec.parse("topk:0.01"), workers: 1, config: config)
        }
        XCTAssertEqual(try run(1).paramsSHA256, try run(2).paramsSHA256)
    }

    /// Each rank compresses its own vector; the dense and the sparse average
    /// must agree at every coordinate, bit for bit, with W = 1, 3 and 4, for
    /// d within one slice of the sparse merge and across several (2¹⁵ a
    /// slice), with rank vectors nearly independent and sharing a common part
    /// (so that top-K sets overlap and sums have several terms).
    func testSparseAverageEqualsDenseAverage() throws {
      for (d, specs) in [(500, ["randomk:40", "topk:40"]), (70_001, ["topk:2000", "randomk:300"])] {
       for common: Float in [0, 3] {
        for spec in specs {
            for w in [1, 3, 4] {
                let c = try CompressorSpec.parse(spec).make(dimension: d)
                // Each rank: (dense average, sparse average scattered into d floats).
                let outcomes = try onRanks(w) { r, comm -> ([Float], [Float]) in
                    let v = FloatBuffer(count: d)
                    RandomFill.gaussian(RandomKey(seed: 5, step: UInt64(r), purpose: .test), sigma: 1, into: v.buffer)
                    RandomFill.gaussian(RandomKey(seed: 6, purpose: .test), sigma: common, into: v.buffer, accumulate: true)
                    let key = RandomKey(seed: 8, step: 2, worker: UInt32(r), purpose: .quantization)
                    let denseStage = denseStageOf(c), sparseStage = makeMessageExchange(c)
                    _ = denseStage.compress(v.readOnly, key: key)
                    _ = sparseStage.compress(v.readOnly, key: key)
                    let dense = FloatBuffer(count: d)
                    let a = try denseStage.average(into: dense.buffer, key: key, communicator: comm)
                    let zeroed = FloatBuffer(count: d), out = SparseUpdate(capacity: sparseStage.sparseCapacity(workers: w)!)
                    let b = try sparseStage.averageSparse(into: out, zeroed: zeroed.buffer, key: key, communicator: comm)
                    if a != b { throw CSGDError("bits differ: \(a) vs \(b)") }
                    if Kernels.sumSquares(zeroed.readOnly) != 0 { throw CSGDError("scratch not left zero") }
                    let scattered = FloatBuffer(count: d)
                    for j in 0..<out.count where out.values[j] != 0 || scattered[Int(out.indices[j])] == 0 {
                        scattered[Int(out.indices[j])] = out.values[j]
                    }
                    return (dense.array, scattered.array)
                }
                for r in 0..<w {
                    XCTAssertEqual(outcomes[r].0.map(\.bitPattern), outcomes[r].1.map(\.bitPattern),
                                   "\(spec) d=\(d) common \(common) W=\(w) rank \(r)")
                }
            }
        }
       }
      }
    }

    func testLogNormsAndEvaluationHook() throws {
        let objective = ScaledGradient(try ProblemSpec.make("phase-retrieval:d=20,n=200"))
        let config = TrainerConfiguration(steps: 200, seed: 1, learningRate: 1e-4, logEvery: 50, evalEvery: 75)
        let records = RecordBox()
        let summary = try InProcessRun.run(
            objective: objective, method: try Methods.parse("ef-sgd:batch=4"), compressor: try CompressorSpec.parse("topk:5"),
            workers: 2, config: config, onRecord: { records.append($0) },
            evaluator: { step, x in ["test_step": Double(step), "x0": Double(x[0])] })
        // Logged at 0, 50, 100, 150 and evaluated at 0, 75, 150, plus the final state at 200.
        XCTAssertEqual(records.values.map(\.step), [0, 50, 75, 100, 150, 200])
        for r in records.values {
            let evaluated = r.step % 75 == 0 || r.step == 200
            XCTAssertEqual(r.metrics["test_step"], evaluated ? Double(r.step) : nil, "step \(r.step)")
        }
        XCTAssertEqual(summary.metrics["test_step"], 200)
        // ‖∇F‖ at step t is (t + 1)·c exactly: its mean over steps 50 ..< 150 is 100.5·c.
        let at150 = try XCTUnwrap(records.values.first { $0.step == 150 })
        XCTAssertEqual(at150.stochasticGradNorm, 100.5 * objective.c, accuracy: 1e-9 * objective.c)
        XCTAssertEqual(records.values.first?.stochasticGradNorm, 0, "no steps yet")
        // Metrics are extra top-level JSON keys; decoding reads them back.
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: enc.encode(at150)) as? [String: Any])
        XCTAssertEqual(line["test_step"] as? Double, 150)
        XCTAssertNotNil(line["stochastic_grad_norm"])
        XCTAssertNil(line["metrics"])
        let back = try JSONDecoder().decode(StepRecord.self, from: enc.encode(at150))
        XCTAssertEqual(back.metrics, at150.metrics)
        let s = try XCTUnwrap(JSONSerialization.jsonObject(with: enc.encode(summary)) as? [String: Any])
        XCTAssertEqual(s["test_step"] as? Double, 200)
        XCTAssertEqual(try JSONDecoder().decode(RunSummary.self, from: enc.encode(summary)).metrics, summary.metrics)
    }

    /// `alg1:theory` on the strict saddle (γ = 4, so that the saddle fails
    /// the ε-SOSP test: λ_min = −4 < −√(ρε)) takes η, I, R, F, r from the
    /// theory calculator with the problem's constants L = ℓ = 44, ρ = 24,
    /// σ = 0, and with them leaves the saddle and is certified at a minimum.
    /// (With reset=on and every c = 1 the resets keep returning it to the
    /// saddle at this scale: docs/optimize.md.)
    func testAlgorithm1WithTheoryParametersEscapesTheSaddle() throws {
        let objective = try ProblemSpec.make("saddle:gamma=4")
        let eps = 0.3
        let c = try CompressorSpec.parse("none").make(dimension: 10)
        let k = objective.constants
        let theory = try TheoryParameters(TheoryInputs(epsilon: eps, L: try XCTUnwrap(k.L), rho: try XCTUnwrap(k.rho), sigma: k.sigma ?? 0,
                                                       ell: k.ell, dimension: 10, mu: CompressorMu.lowerBound(c), linear: c.isLinear))
        let config = TrainerConfiguration(steps: 2000, seed: 1, logEvery: 100, epsilon: eps, certifyEvery: 100)
        var context = config.methodContext
        context.theory = theory
        let withReset = try Methods.parse("alg1:theory,reset=on").chain(compressor: c, objective: objective, context: context)
        XCTAssertEqual(withReset.eta, theory.eta)
        let reset = try XCTUnwrap(withReset.transforms[1] as? ErrorReset)
        XCTAssertEqual(reset.rule, ResetRule(I: Int(theory.I.rounded(.up)), R: theory.R, F: theory.F))
        XCTAssertEqual(reset.feedback.noise, Float(theory.r / 10.0.squareRoot()))   // E‖ξ‖² = r²
        let method = try Methods.parse("alg1:theory")
        let chain = try method.chain(compressor: c, objective: objective, context: context)
        XCTAssertEqual(chain.eta, theory.eta)
        XCTAssertEqual((chain.transforms[1] as? ErrorFeedback)?.noise, reset.feedback.noise)
        XCTAssertThrowsError(try method.chain(compressor: c, objective: objective, context: config.methodContext)) { e in
            XCTAssertTrue("\(e)".contains("needs ε, L, ρ, σ"), "\(e)")
        }
        let s = try InProcessRun.run(objective: objective, method: method, compressor: nil, workers: 2, config: config, theory: theory)
        let first = try XCTUnwrap(s.firstSOSPStep, "\(s)")
        XCTAssertGreaterThan(first, 0, "the saddle itself is not an ε-SOSP")
        XCTAssertEqual(s.isSOSP, true)
        XCTAssertLessThan(s.finalLoss, -3.9, "f* = −4, the saddle has f = 0")
        XCTAssertGreaterThan(try XCTUnwrap(s.lambdaMin), 0)
    }
}

/// The dense stage of any compressor (even a sparse one).
func denseStageOf<C: Compressor>(_ c: C) -> any MessageExchange { TypedMessageExchange(c) }

/// Delegates to an objective, scaling its stochastic gradient so that
/// ‖∇F‖ = (t + 1)·c at step t.
final class ScaledGradient: Objective, @unchecked Sendable {
    let inner: any Objective
    let c = 0.5
    init(_ inner: any Objective) { self.inner = inner }
    var dimension: Int { inner.dimension }
    var name: String { inner.name }
    var constants: ObjectiveConstants { inner.constants }
    func loss(at x: UnsafeBufferPointer<Float>) -> Double { inner.loss(at: x) }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        for i in 0..<g.count { g[i] = 0 }
        g[0] = Float(c) * Float(batch.step + 1)
        return 0
    }
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double { inner.fullGradient(at: x, into: g) }
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        inner.hessianVectorProduct(at: x, v, into: out)
    }
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) { inner.initialPoint(seed: seed, into: x) }
}

final class RecordBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [StepRecord] = []
    func append(_ r: StepRecord) { lock.lock(); stored.append(r); lock.unlock() }
    var values: [StepRecord] { lock.lock(); defer { lock.unlock() }; return stored }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: Error?
    func set(_ e: Error) { lock.lock(); error = error ?? e; lock.unlock() }
}
