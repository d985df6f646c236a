import CSGDCore
import Compression

/// A parsed `--method NAME[:k=v,…]`: one method's typed options, and how
/// they become the method's chain of transforms for a run.
///
/// Each method is one file in `Methods/`: a type conforming to this
/// protocol (its options, read from a spec by `SpecParser`) and one builder
/// function that returns its chain from resolved, typed values, in the
/// manner of optax (`alg1(noise:compressor:reset:…)`, `sgd(…)`, …). The
/// registry `Methods.all` lists the types; `Methods.parse` reads a spec.
/// The run code sees only this protocol: the name, the spec's text, the
/// mini-batch, the compressor the method prescribes, whether it needs the
/// theory's parameters, and `chain` (and `PerturbedMethod` for a run's
/// `--noise`).
public protocol Method: Sendable {
    /// The name a spec starts with (`alg1`).
    static var name: String { get }
    /// Reads the options of a spec whose name is `name` (`spec.read` is
    /// this function's to call, with the options the method takes).
    static func parse(_ spec: inout SpecParser) throws -> Self
    /// The options every method has: the spec's text, mini-batch, `eta=`.
    var common: CommonOptions { get set }
    /// The compressor the method sends with, whatever the run asks (nil:
    /// the run's choice, by default none).
    var prescribedCompressor: CompressorSpec? { get }
    /// Whether `chain` needs `MethodContext.theory` (alg1's `theory`).
    var usesTheory: Bool { get }
    /// The method's transforms for `objective`, sending with `compressor`
    /// (of the objective's dimension), with its step size and thresholds
    /// resolved from its options and `context`.
    /// - Throws: `CSGDError` when no step size can be found or the method
    ///   cannot run with this compressor or objective.
    func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain
}

/// A method that adds artificial noise ξ_t, which a run may set (`csgd
/// train --noise σ`) when the spec gives none.
public protocol PerturbedMethod: Method {
    var noise: NoiseSpec { get set }
}

extension Method {
    public var prescribedCompressor: CompressorSpec? { nil }
    public var usesTheory: Bool { false }

    /// The method's name (`alg1`).
    public var name: String { Self.name }
    /// The spec as written (for reports and checkpoint headers).
    public var text: String { common.text }
    /// Mini-batch size per worker; 0 = the full gradient.
    public var batch: Int {
        get { common.batch }
        set { common.batch = newValue }
    }
    /// Whether the spec set `batch=` itself (a run's --batch must then agree).
    public var batchIsSet: Bool { common.batchIsSet }

    /// A `CSGDError` about this method in `SpecParser`'s style: `method 'NAME': message`.
    public func error(_ message: String) -> CSGDError {
        CSGDError(SpecParser.prefix(kind: "method", name: name) + message)
    }

    /// η for this method's chain: its `eta=`, else the run's, else
    /// `fallback`, else the objective's suggestion for its mini-batch
    /// (`MethodContext.stepSize`).
    public func stepSize(objective: any Objective, context: MethodContext, fallback: Double? = nil) throws -> Double {
        try context.stepSize(common.eta, fallback: fallback, method: name, objective: objective, batch: batch)
    }

    /// The compressor this method sends: its own prescription, else
    /// `given`, else none. Giving a different one than the method
    /// prescribes is an error naming both.
    public func compressor(given: CompressorSpec?) throws -> CompressorSpec {
        guard let prescribed = prescribedCompressor else { return given ?? .none }
        if let given, given != prescribed {
            throw error("sends \(prescribed) messages; drop --compressor \(given)")
        }
        return prescribed
    }
}

/// A method whose spec takes only the common options (`batch=`, `eta=`) and
/// whose chain is its builder of (compressor, η, batch): SGD, EF-SGD.
public protocol PlainMethod: Method {
    init(common: CommonOptions)
    /// The method's builder.
    static var builder: PlainBuilder { get }
}

/// A builder of a `PlainMethod`'s chain from the compressor, η and the mini-batch.
public typealias PlainBuilder = @Sendable (_ compressor: any Compressor, _ eta: Double, _ batch: Int) -> MethodChain

extension PlainMethod {
    public static func parse(_ p: inout SpecParser) throws -> Self {
        try p.read(options: ["batch", "eta"])
        return Self(common: try p.commonOptions())
    }

    public func chain(compressor: any Compressor, objective: any Objective, context: MethodContext) throws -> MethodChain {
        Self.builder(compressor, try stepSize(objective: objective, context: context), batch)
    }
}

/// What every method's spec carries: its text, the mini-batch and `eta=`.
public struct CommonOptions: Sendable, Equatable {
    /// The spec as written, e.g. `alg1:sigma=0.01`.
    public var text: String
    /// Mini-batch size per worker; 0 = the full gradient.
    public var batch: Int
    /// True when the spec set `batch=` itself.
    public var batchIsSet: Bool
    /// The step size given as a method option (`eta=`); it wins over --lr.
    public var eta: Double?

    public init(text: String, batch: Int = 1, batchIsSet: Bool = false, eta: Double? = nil) {
        self.text = text; self.batch = batch; self.batchIsSet = batchIsSet; self.eta = eta
    }
}

/// The artificial noise ξ_t added to every worker's gradient: none, an
/// isotropic Gaussian with E‖ξ‖² = r² (ξ ~ N(0, (r²/d)I), Algorithm 1's
/// radius), or a per-coordinate standard deviation σ (ξ ~ N(0, σ²I), the
/// experiments' form).
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

/// What a method may read from the run beyond its own options: the step
/// size given for the run (`--lr`), the ε and ρ of the ε-SOSP test, the
/// theory's parameters (for alg1's `theory`) and the collective its error
/// feedback's messages use (`--collective`).
public struct MethodContext: Sendable {
    public var learningRate: Double?
    public var epsilon: Double?
    public var rho: Double?
    public var theory: TheoryParameters?
    /// How error feedback's non-linear messages travel (methods with error
    /// feedback read it; the others always all-gather).
    public var collective: Collective

    public init(learningRate: Double? = nil, epsilon: Double? = nil, rho: Double? = nil, theory: TheoryParameters? = nil,
                collective: Collective = .allgather) {
        self.learningRate = learningRate; self.epsilon = epsilon; self.rho = rho; self.theory = theory
        self.collective = collective
    }

    /// η: a method's own `eta=`, else the run's (--lr), else `fallback`
    /// (a method's derived η), else the objective's suggestion for the
    /// mini-batch. Throws unless it is positive and finite.
    public func stepSize(_ own: Double?, fallback: Double? = nil, method: String, objective: any Objective, batch: Int) throws -> Double {
        let eta = own ?? learningRate ?? fallback ?? objective.suggestedStepSize(batch: max(1, batch))
        guard let eta, eta > 0, eta.isFinite else {
            throw CSGDError(SpecParser.prefix(kind: "method", name: method) + "no step size on '\(objective.name)': pass --lr η")
        }
        return eta
    }
}

/// A method's transforms in order (run by `TransformChain`) and the step
/// size η every step starts with.
public struct MethodChain {
    public var transforms: [any GradientTransform]
    public var eta: Double

    public init(transforms: [any GradientTransform], eta: Double) {
        self.transforms = transforms
        self.eta = eta
    }
}

extension SpecParser {
    /// `batch=` (≥ 1) and `eta=` (> 0), with `batch` when the spec sets none.
    func commonOptions(batch: Int = 1) throws -> CommonOptions {
        let b = try integer("batch", .positive)
        return CommonOptions(text: text, batch: b ?? batch, batchIsSet: b != nil, eta: try number("eta", .positive))
    }

    /// The noise of `r=` (E‖ξ‖² = r²) or `sigma=` (per coordinate), both ≥ 0
    /// and not both; `.none` when neither is given.
    func noise() throws -> NoiseSpec {
        let r = try number("r", .nonNegative), sigma = try number("sigma", .nonNegative)
        switch (r, sigma) {
        case let (r?, nil): return .radius(r)
        case let (nil, s?): return .sigma(s)
        case (nil, nil): return .none
        case (_?, _?): throw error("give either r (E‖ξ‖² = r²) or sigma (per coordinate), not both")
        }
    }
}
