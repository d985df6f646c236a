import CSGDCore
import Compression
import Crypto
import Foundation
import Optimization

/// Settings of one run that are not the method's: length, seed, step size,
/// logging and certification.
public struct TrainerConfiguration: Sendable {
    public var steps: Int
    public var seed: UInt64
    /// --lr; a method's own `eta=` wins, then this, then the problem's suggestion.
    public var learningRate: Double?
    public var logEvery: Int
    /// ε for the second-order certificate (nil: no certificate).
    public var epsilon: Double?
    /// ρ for the certificate when the objective does not know it.
    public var rho: Double?
    /// Certify every this many steps (0: only at the end).
    public var certifyEvery: Int

    public init(steps: Int, seed: UInt64 = 0, learningRate: Double? = nil, logEvery: Int = 100,
                epsilon: Double? = nil, rho: Double? = nil, certifyEvery: Int = 0) {
        self.steps = steps; self.seed = seed; self.learningRate = learningRate; self.logEvery = logEvery
        self.epsilon = epsilon; self.rho = rho; self.certifyEvery = certifyEvery
    }
}

/// One rank of a data-parallel run: the single step loop every method runs.
///
/// A step is `gradient → perturb → error memory → compress → average → step`
/// with each part switched on by the `MethodSpec` (so alg1, ef-sgd, sgd, psgd,
/// qsgd-sgd, pgd and cnc share this code), plus Algorithm 1's reset rule,
/// PGD's perturb-when-small and stop rules, and CNC's curvature step. All
/// state is explicit here; randomness comes from keys (seed, step, worker,
/// purpose), so every rank computes the same iterate, and a run replays.
public final class Trainer {
    public let objective: any Objective
    public let method: MethodSpec
    public let communicator: Communicator
    public let stage: any CompressionStage
    public let config: TrainerConfiguration
    public let eta: Double
    public let d: Int

    let x: FloatBuffer, v: FloatBuffer, avg: FloatBuffer
    let memory: FloatBuffer?
    let anchor: FloatBuffer?          // x_{t'} for the reset rule
    let scratch: FloatBuffer
    var resetRule: ResetRule?
    let sigma: Float
    let pgd: PGDParameters?

    public private(set) var resets = 0
    public private(set) var uploadBits = 0
    public private(set) var downloadBits = 0
    var recentUpdateNorms: [Double] = []
    var tPrime = 0
    var fPrime = 0.0
    var tNoise = Int.min / 2
    var fTilde = 0.0
    let xTilde: FloatBuffer?

    /// - Throws: `CSGDError` when no step size can be found or the method
    ///   cannot run on this objective.
    public init(objective: any Objective, method: MethodSpec, compressor: any Compressor,
                communicator: Communicator, config: TrainerConfiguration, theory: TheoryParameters? = nil) throws {
        self.objective = objective
        self.method = method
        self.communicator = communicator
        self.config = config
        d = objective.dimension
        guard compressor.dimension == d else { throw CSGDError("compressor dimension \(compressor.dimension) != problem dimension \(d)") }
        stage = makeCompressionStage(compressor)
        var resetRule = method.reset
        var noise = method.noise
        var eta = method.eta ?? config.learningRate
        if method.kind == .pgd {
            let k = objective.constants
            let o = method.pgdOptions
            guard let ell = o["ell"] ?? k.L, let rho = o["rho"] ?? config.rho ?? k.rho, let eps = o["eps"] ?? config.epsilon else {
                throw CSGDError("method 'pgd' needs ℓ, ρ and ε: give ell=, rho=, eps= (or --eps) when the problem does not know them")
            }
            var p = PGDParameters.derive(d: d, ell: ell, rho: rho, eps: eps, c: o["c"] ?? 1, delta: o["delta"] ?? 0.1, deltaF: o["deltaf"] ?? 1)
            if let v = o["eta"] ?? eta { p.eta = v }
            if let v = o["r"] { p.r = v }
            if let v = o["gthres"] { p.gThres = v }
            if let v = o["fthres"] { p.fThres = v }
            if let v = o["tthres"] { p.tThres = Int(v) }
            pgd = p
            eta = p.eta
        } else {
            pgd = nil
        }
        if method.useTheory {
            guard let theory else { throw CSGDError("method 'alg1:theory' needs ε, L, ρ, σ: pass --eps and a problem that knows its constants") }
            eta = eta ?? theory.eta
            if case .none = noise { noise = .radius(theory.r) }
            if resetRule != nil { resetRule = ResetRule(I: max(1, Int(theory.I.rounded(.up))), R: theory.R, F: method.variant == "neurips" ? 0 : theory.F) }
        }
        if eta == nil { eta = objective.suggestedStepSize(batch: max(1, method.batch)) }
        guard let eta, eta > 0, eta.isFinite else {
            throw CSGDError("no step size for method '\(method.kind.rawValue)' on '\(objective.name)': pass --lr η")
        }
        self.eta = eta
        self.resetRule = resetRule
        sigma = Float(noise.perCoordinateSigma(dimension: d))
        x = FloatBuffer(count: d)
        v = FloatBuffer(count: d)
        avg = FloatBuffer(count: d)
        scratch = FloatBuffer(count: d)
        memory = method.memory ? FloatBuffer(count: d) : nil
        anchor = resetRule != nil ? FloatBuffer(count: d) : nil
        xTilde = pgd != nil ? FloatBuffer(count: d) : nil
        objective.initialPoint(seed: config.seed, into: x.buffer)
    }

    /// The current iterate (identical on every rank).
    public var parameters: FloatBuffer { x }

    func batchKey(_ t: Int, draw: Int = 0, size: Int? = nil) -> BatchKey {
        BatchKey(seed: config.seed, step: UInt64(t), worker: communicator.rank, workers: communicator.size,
                 draw: draw, size: size ?? method.batch)
    }

    func sharedKey(_ t: Int, _ purpose: RandomPurpose) -> RandomKey {
        RandomKey(seed: config.seed, step: UInt64(t), worker: RandomKey.shared, purpose: purpose)
    }

    /// v ← this worker's gradient at x (mini-batch, or full when batch = 0).
    func workerGradient(_ t: Int, draw: Int = 0) {
        if method.batch == 0 {
            _ = objective.fullGradient(at: x.readOnly, into: v.buffer)
        } else {
            _ = objective.gradient(at: x.readOnly, batch: batchKey(t, draw: draw), into: v.buffer)
        }
    }

    /// avg ← (1/W) Σ C(v_i + ξ_t + e_i) with error feedback; counts bits.
    func compressAndAverage(_ t: Int) throws {
        if sigma > 0 {
            RandomFill.gaussian(sharedKey(t, .perturbation), sigma: sigma, into: v.buffer, accumulate: true)
        }
        if let e = memory { Kernels.axpy(1, e.readOnly, v.buffer) }
        let key = RandomKey(seed: config.seed, step: UInt64(t), worker: UInt32(communicator.rank), purpose: .quantization)
        _ = stage.compress(v.readOnly, key: key)
        if let e = memory {
            // e ← (e + g + ξ) − C(e + g + ξ)
            stage.subtractMessage(from: v.buffer)
            e.copy(from: v)
        }
        let (up, down) = try stage.average(into: avg.buffer, key: key, communicator: communicator)
        uploadBits += up
        downloadBits += down
    }

    /// Algorithm 1's reset test and action at the start of step t.
    func maybeReset(_ t: Int) throws {
        guard let rule = resetRule, let e = memory, let anchor else { return }
        if t == 0 {
            anchor.copy(from: x)
            fPrime = objective.loss(at: x.readOnly)
            tPrime = 0
            return
        }
        // y = x_t − η·ē_t with ē the mean of the workers' memories.
        scratch.copy(from: e)
        try communicator.allReduceSum(scratch.buffer)
        Kernels.scale(Float(-eta) / Float(communicator.size), scratch.buffer)
        Kernels.axpy(1, x.readOnly, scratch.buffer)
        var dist2 = 0.0
        for i in 0..<d { let q = Double(anchor[i]) - Double(scratch[i]); dist2 += q * q }
        guard t - tPrime > rule.I || dist2.squareRoot() > rule.R else { return }
        let fx = objective.loss(at: x.readOnly)
        if fx < fPrime - rule.F {
            x.copy(from: scratch)
        } else {
            x.copy(from: anchor)
        }
        tPrime = t
        anchor.copy(from: x)
        fPrime = objective.loss(at: x.readOnly)
        e.zero()
        resets += 1
    }

    /// x ← x − step·avg, and the running ‖avg‖.
    func applyUpdate(_ t: Int, step: Double) throws {
        let n2 = Kernels.sumSquares(avg.readOnly)
        guard n2.isFinite else { throw NonFiniteIterate(step: t) }
        recentUpdateNorms.append(n2.squareRoot())
        if recentUpdateNorms.count > 100 { recentUpdateNorms.removeFirst(recentUpdateNorms.count - 100) }
        Kernels.axpy(Float(-step), avg.readOnly, x.buffer)
    }

    /// One step t of the method. Returns a reason when the method stops itself.
    public func step(_ t: Int) throws -> String? {
        try maybeReset(t)
        if let p = pgd, let xt = xTilde {
            workerGradient(t)
            try compressAndAverage(t)
            let gnorm = Kernels.norm2(avg.readOnly)
            if gnorm <= p.gThres && t - tNoise > p.tThres {
                xt.copy(from: x)
                fTilde = objective.loss(at: x.readOnly)
                tNoise = t
                addBallPerturbation(t, radius: p.r)
                workerGradient(t, draw: 1)
                try compressAndAverage(t)
            }
            if t - tNoise == p.tThres && objective.loss(at: x.readOnly) - fTilde > -p.fThres {
                x.copy(from: xt)
                return "pgd stop rule at step \(t): no decrease of f_thres since the perturbation at step \(tNoise); returning x̃"
            }
            try applyUpdate(t, step: p.eta)
            return nil
        }
        workerGradient(t)
        if method.kind == .cnc {
            let gThres = method.gThres ?? config.epsilon ?? 1e-3
            let tThres = method.tThres ?? 10
            try compressAndAverage(t)
            if Kernels.norm2(avg.readOnly) <= gThres && t - tNoise > tThres {
                // Curvature step: one single-sample stochastic gradient, the
                // same sample on every worker (a shared draw).
                tNoise = t
                let key = BatchKey(seed: config.seed, step: UInt64(t), worker: 0, workers: 1, draw: 1, size: 1)
                _ = objective.gradient(at: x.readOnly, batch: key, into: avg.buffer)
                try applyUpdate(t, step: method.cncR ?? 2 * eta)
                return nil
            }
            try applyUpdate(t, step: eta)
            return nil
        }
        try compressAndAverage(t)
        try applyUpdate(t, step: eta)
        return nil
    }

    /// x ← x + a point uniform in the ball of radius r (shared randomness).
    func addBallPerturbation(_ t: Int, radius: Double) {
        let key = sharedKey(t, .ballPerturbation)
        RandomFill.gaussian(key, sigma: 1, into: scratch.buffer)
        let n = Kernels.norm2(scratch.readOnly)
        var s = RandomStream(key: key.with(purpose: .ballPerturbation).at(step: UInt64(t) | (1 << 63)))
        let u = s.nextUnitDouble()
        let scale = radius * pow(u, 1 / Double(d)) / max(n, .leastNormalMagnitude)
        Kernels.axpy(Float(scale), scratch.readOnly, x.buffer)
    }

    /// Loss, gradient norm and (when configured) the certificate at x.
    public func record(step t: Int, wall: Double, certify: Bool) throws -> StepRecord {
        let loss = objective.fullGradient(at: x.readOnly, into: scratch.buffer)
        let gnorm = Kernels.norm2(scratch.readOnly)
        let enorm = try communicator.allReduceSum([memory.map { Kernels.norm2($0.readOnly) } ?? 0])[0] / Double(communicator.size)
        var lambda: Double?, sosp: Bool?
        if certify, let eps = config.epsilon {
            let c = try certificate(epsilon: eps)
            lambda = c.lambdaMin
            sosp = c.isSOSP
        }
        let mean = recentUpdateNorms.isEmpty ? 0 : recentUpdateNorms.reduce(0, +) / Double(recentUpdateNorms.count)
        return StepRecord(step: t, loss: loss, gradNorm: gnorm, updateNorm: mean, errorNorm: enorm, lambdaMin: lambda,
                          isSOSP: sosp, relativeError: objective.relativeError(at: x.readOnly), resets: resets, uploadBits: uploadBits, downloadBits: downloadBits, wallSeconds: wall)
    }

    func certificate(epsilon: Double) throws -> SOSPCertificate {
        guard let rho = config.rho ?? objective.constants.rho else {
            throw CSGDError("the ε-SOSP certificate needs ρ: the problem does not know it, pass --rho")
        }
        return try SOSPCertificate.check(objective: objective, at: x.readOnly, epsilon: epsilon, rho: rho, seed: config.seed)
    }

    /// Runs every step; `onRecord` sees each logging interval's record.
    public func run(onRecord: ((StepRecord) -> Void)? = nil) throws -> RunSummary {
        let start = Clock.now()
        var firstSOSP: Int?
        var stopped: String?
        var steps = 0
        let certifyEvery = config.certifyEvery
        for t in 0..<config.steps {
            let logNow = config.logEvery > 0 && t % config.logEvery == 0
            let certNow = config.epsilon != nil && certifyEvery > 0 && t % certifyEvery == 0
            if logNow || certNow {
                let r = try record(step: t, wall: Clock.now() - start, certify: certNow)
                if firstSOSP == nil, r.isSOSP == true { firstSOSP = t }
                if logNow { onRecord?(r) }
            }
            stopped = try step(t)
            steps = t + 1
            if stopped != nil { break }
        }
        guard Kernels.sumSquares(x.readOnly).isFinite else { throw NonFiniteIterate(step: steps) }
        let final = try record(step: steps, wall: Clock.now() - start, certify: config.epsilon != nil)
        if firstSOSP == nil, final.isSOSP == true { firstSOSP = steps }
        onRecord?(final)
        return RunSummary(
            steps: steps, finalLoss: final.loss, gradNorm: final.gradNorm, lambdaMin: final.lambdaMin, isSOSP: final.isSOSP,
            firstSOSPStep: firstSOSP, resets: resets, uploadBitsPerWorker: uploadBits, downloadBitsPerWorker: downloadBits,
            wallSeconds: Clock.now() - start, paramsSHA256: Self.sha256(x), relativeError: objective.relativeError(at: x.readOnly),
            stoppedEarly: stopped)
    }

    /// Hex SHA-256 of the buffer's bytes.
    public static func sha256(_ b: FloatBuffer) -> String {
        let digest = SHA256.hash(data: UnsafeRawBufferPointer(b.readOnly))
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
