import CSGDCore
import Compression
import Foundation

/// The artificial noise ξ_t added to every worker's gradient: none, an
/// isotropic Gaussian with E‖ξ‖² = r² (ξ ~ N(0, (r²/d)I), SPEC §3), or a
/// per-coordinate standard deviation σ (ξ ~ N(0, σ²I), the experiments' form).
public enum NoiseSpec: Equatable, Sendable {
    case none
    case radius(Double)
    case sigma(Double)

    /// The per-coordinate standard deviation for dimension d.
    public func perCoordinateSigma(dimension d: Int) -> Double {
        switch self {
        case .none: return 0
        case let .radius(r): return r / Double(d).squareRoot()
        case let .sigma(s): return s
        }
    }
}

/// Algorithm 1's error reset (SPEC §3): after more than I steps, or once
/// ‖x_{t'} − (x_t − η e_t)‖ > R, keep x_t − η e_t if it lowered f by more
/// than F (else return to x_{t'}), and zero the error memories.
public struct ResetRule: Equatable, Sendable {
    public var I: Int
    public var R: Double
    public var F: Double
    public init(I: Int, R: Double, F: Double) { self.I = I; self.R = R; self.F = F }
}

/// Perturbed gradient descent's inputs and derived thresholds (Jin et al.
/// 2017; SPEC §4), each derived value overridable.
public struct PGDParameters: Equatable, Sendable {
    public var eta: Double
    public var r: Double
    public var gThres: Double
    public var fThres: Double
    public var tThres: Int

    /// χ = 3·max(log(dℓΔ_f/(cε²δ)), 4), η = c/ℓ, r = (√c/χ²)ε/ℓ,
    /// g_thres = (√c/χ²)ε, f_thres = (c/χ³)√(ε³/ρ), t_thres = (χ/c²)ℓ/√(ρε).
    public static func derive(d: Int, ell: Double, rho: Double, eps: Double, c: Double, delta: Double, deltaF: Double) -> PGDParameters {
        let chi = 3 * max(log(Double(d) * ell * deltaF / (c * eps * eps * delta)), 4)
        return PGDParameters(
            eta: c / ell, r: c.squareRoot() / (chi * chi) * eps / ell, gThres: c.squareRoot() / (chi * chi) * eps,
            fThres: c / (chi * chi * chi) * (eps * eps * eps / rho).squareRoot(),
            tThres: Int((chi / (c * c) * ell / (rho * eps).squareRoot()).rounded(.up)))
    }
}

/// A parsed `--method NAME[:k=v,…]`: which method and its options.
///
/// Every method runs as a chain of small transforms built from this spec
/// (`MethodChain` in Distributed): gradient (mini-batch or full) →
/// perturbation → error memory → compressor → average over workers → step,
/// plus a reset rule (alg1), a perturb-when-small rule (pgd) or a curvature
/// step (cnc).
///
/// | method | pipeline |
/// |---|---|
/// | `alg1[:r=R|sigma=S][,batch=B][,variant=neurips|arxiv][,reset=on|off][,I=..,R=..,F=..][,theory][,noise=eager|deferred]` | noise + memory + compressor (+ reset) |
/// | `sgd[:batch=B]` | compressor (default none), no memory |
/// | `ef-sgd[:batch=B]` | memory + compressor |
/// | `psgd:r=R|sigma=S[,batch=B]` | noise, uncompressed |
/// | `pgd[:ell=..,rho=..,eps=..,c=..,delta=..,deltaf=..,eta=..,r=..,gthres=..,fthres=..,tthres=..]` | full gradient, ball perturbation when ‖∇f‖ small, stop rule |
/// | `cnc[:batch=B,r=..,gthres=..,tthres=..]` | SGD (batch) or GD (no batch) with a single-sample gradient step of size r where PGD would perturb |
/// | `qsgd-sgd:bits=b[,batch=B]` | compressor qsgd:S with S = 2^(b−1) − 1, no memory |
public struct MethodSpec: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable {
        case alg1, sgd, efSGD = "ef-sgd", psgd, pgd, cnc, qsgdSGD = "qsgd-sgd"
    }

    public var kind: Kind
    public var text: String
    /// Mini-batch size per worker; 0 = full gradient.
    public var batch: Int = 1
    /// True when the spec text set `batch=` itself (a CLI's --batch then must agree).
    public var batchGiven = false
    public var noise: NoiseSpec = .none
    public var memory = false
    public var reset: ResetRule?
    /// alg1 variant: NeurIPS (reset always on, F = 0) or arXiv (reset optional, F).
    public var variant = "arxiv"
    /// alg1: take η, I, R, F, r from the theory (`TheoryParameters`).
    public var useTheory = false
    /// alg1 with RandomK: draw each coordinate's noise when it is sent
    /// (`noise=deferred`, `DeferredNoise`) instead of every step for all.
    public var deferNoise = false
    /// A compressor the method itself prescribes (qsgd-sgd; none for psgd/pgd).
    public var forcedCompressor: CompressorSpec?
    /// Step size given as a method option (`eta=`), overriding --lr.
    public var eta: Double?
    /// pgd's inputs (ℓ, ρ, ε, c, δ, Δ_f) and overrides, unresolved.
    public var pgdOptions: [String: Double] = [:]
    /// cnc: the curvature step size (default 2η), gradient threshold and wait.
    public var cncR: Double?
    public var gThres: Double?
    public var tThres: Int?

    public var description: String { text }

    static let allowed: [Kind: Set<String>] = [
        .alg1: ["r", "sigma", "batch", "variant", "reset", "I", "R", "F", "theory", "eta", "noise"],
        .sgd: ["batch", "eta"],
        .efSGD: ["batch", "eta"],
        .psgd: ["r", "sigma", "batch", "eta"],
        .pgd: ["ell", "rho", "eps", "c", "delta", "deltaf", "eta", "r", "gthres", "fthres", "tthres"],
        .cnc: ["batch", "r", "gthres", "tthres", "eta"],
        .qsgdSGD: ["bits", "batch", "eta"],
    ]

    /// The compressor this method sends: its own prescription (qsgd-sgd,
    /// psgd, pgd, cnc), else `given`, else none. Giving a different one than
    /// the method prescribes is an error naming both.
    public func compressor(given: CompressorSpec?) throws -> CompressorSpec {
        guard let forced = forcedCompressor else { return given ?? .none }
        if let given, given != forced {
            throw CSGDError("method '\(kind.rawValue)' sends \(forced) messages; drop --compressor \(given)")
        }
        return forced
    }

    public static func parse(_ text: String) throws -> MethodSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let name: String, rest: String?
        if let c = trimmed.firstIndex(of: ":") {
            name = String(trimmed[..<c]).lowercased()
            rest = String(trimmed[trimmed.index(after: c)...])
        } else {
            name = trimmed.lowercased()
            rest = nil
        }
        guard let kind = Kind(rawValue: name) else {
            throw CSGDError("unknown method '\(name)' (expected one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var spec = MethodSpec(kind: kind, text: trimmed)
        var opts: [String: String] = [:]
        for part in (rest.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []) {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw CSGDError("method '\(name)': malformed option list '\(rest ?? "")'") }
            guard allowed[kind]!.contains(key) else {
                throw CSGDError("method '\(name)' does not take option '\(key)' (allowed: \(allowed[kind]!.sorted().joined(separator: ", ")))")
            }
            guard opts[key] == nil else { throw CSGDError("method '\(name)': option '\(key)' given twice") }
            if kv.count == 1 {
                guard key == "theory" else { throw CSGDError("method '\(name)': option '\(key)' needs a value (\(key)=…)") }
                opts[key] = "on"
            } else {
                opts[key] = kv[1]
            }
        }
        func number(_ key: String, min lower: Double = 0, strict: Bool = false) throws -> Double? {
            guard let s = opts[key] else { return nil }
            guard let v = Double(s), v.isFinite else { throw CSGDError("method '\(name)': \(key) = '\(s)' is not a number") }
            if strict ? !(v > lower) : !(v >= lower) {
                throw CSGDError("method '\(name)': \(key) = \(s) must be \(strict ? ">" : "≥") \(lower == 0 ? "0" : String(lower))")
            }
            return v
        }
        func integer(_ key: String, min lower: Int) throws -> Int? {
            guard let s = opts[key] else { return nil }
            guard let v = Int(s) else { throw CSGDError("method '\(name)': \(key) = '\(s)' is not an integer") }
            guard v >= lower else { throw CSGDError("method '\(name)': \(key) = \(v) must be at least \(lower)") }
            return v
        }
        spec.eta = try number("eta", strict: true)
        if let b = try integer("batch", min: 1) { spec.batch = b; spec.batchGiven = true }
        if let r = try number("r") { spec.noise = .radius(r) }
        if let s = try number("sigma") {
            if opts["r"] != nil { throw CSGDError("method '\(name)': give either r (E‖ξ‖² = r²) or sigma (per coordinate), not both") }
            spec.noise = .sigma(s)
        }
        switch kind {
        case .alg1:
            spec.memory = true
            spec.useTheory = opts["theory"] != nil
            let variant = opts["variant"] ?? "arxiv"
            guard variant == "arxiv" || variant == "neurips" else {
                throw CSGDError("method 'alg1': variant '\(variant)' is not neurips or arxiv")
            }
            spec.variant = variant
            let resetText = opts["reset"] ?? (variant == "neurips" ? "on" : "off")
            guard resetText == "on" || resetText == "off" else { throw CSGDError("method 'alg1': reset = '\(resetText)' is not on or off") }
            if variant == "neurips" && resetText == "off" {
                throw CSGDError("method 'alg1': variant=neurips always resets; use variant=arxiv for reset=off")
            }
            let f = try number("F")
            if variant == "neurips", let f, f != 0 { throw CSGDError("method 'alg1': F = \(f) applies to variant=arxiv only (NeurIPS has F = 0)") }
            let noiseMode = opts["noise"] ?? "eager"
            guard noiseMode == "eager" || noiseMode == "deferred" else {
                throw CSGDError("method 'alg1': noise = '\(noiseMode)' is not eager or deferred")
            }
            if noiseMode == "deferred" {
                guard resetText == "off" else {
                    throw CSGDError("method 'alg1': noise=deferred needs reset=off (a reset reads the whole error memory, noise included)")
                }
                if case .none = spec.noise, !spec.useTheory {
                    throw CSGDError("method 'alg1': noise=deferred needs noise: give sigma= or r=")
                }
                spec.deferNoise = true
            }
            if resetText == "on" && !spec.useTheory {
                guard let i = try integer("I", min: 1) else { throw CSGDError("method 'alg1': reset needs I (the escape iterations)") }
                guard let r = try number("R", strict: true) else { throw CSGDError("method 'alg1': reset needs R (the escape radius)") }
                spec.reset = ResetRule(I: i, R: r, F: f ?? 0)
            } else if resetText == "off" {
                for k in ["I", "R", "F"] where opts[k] != nil {
                    throw CSGDError("method 'alg1': \(k) is a reset option; add reset=on")
                }
            } else {
                spec.reset = ResetRule(I: 0, R: 0, F: 0)   // filled from the theory
            }
        case .sgd:
            break
        case .efSGD:
            spec.memory = true
        case .psgd:
            if case .none = spec.noise { throw CSGDError("method 'psgd' needs its noise: r=… (E‖ξ‖² = r²) or sigma=…") }
            spec.forcedCompressor = CompressorSpec.none
        case .pgd:
            spec.batch = 0
            spec.forcedCompressor = CompressorSpec.none
            for (k, v) in opts {
                guard let x = Double(v), x.isFinite, x > 0 else { throw CSGDError("method 'pgd': \(k) = '\(v)' must be a positive number") }
                spec.pgdOptions[k] = x
            }
        case .cnc:
            if opts["batch"] == nil { spec.batch = 0 }
            spec.cncR = try number("r", strict: true)
            spec.noise = .none
            spec.gThres = try number("gthres", strict: true)
            spec.tThres = try integer("tthres", min: 1)
            spec.forcedCompressor = CompressorSpec.none
        case .qsgdSGD:
            guard let bits = try integer("bits", min: 2) else { throw CSGDError("method 'qsgd-sgd' needs bits=b (bits a coordinate, sign included)") }
            guard bits <= 31 else { throw CSGDError("method 'qsgd-sgd': bits = \(bits) must be at most 31") }
            spec.forcedCompressor = .qsgd(levels: (1 << (bits - 1)) - 1, coding: .fixed)
        }
        return spec
    }
}
