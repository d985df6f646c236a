import Foundation
import CSGDCore
import Optimization

/// A parsed `--problem NAME[:key=value,…]` argument: which synthetic objective
/// and its options, before anything is generated.
///
/// Names and their options (defaults in parentheses; every problem also takes
/// `noise=σ` (0), additive N(0, σ²) oracle noise per coordinate keyed by the
/// mini-batch key, and `seed=S` (1) for its data and planted solution):
/// - `saddle`: `d` (10), `gamma` (1), `start=saddle|random` (saddle), `scale` (1), `noise-e1` (0:
///   oracle noise N(0, σ₁²) on the first coordinate only)
/// - `matrix-factorization`: `n` (20), `r` (2), `start=random|zero` (random), `scale` (0.01)
/// - `phase-retrieval`: `d` (20), `n` (200), `start=random|zero` (random), `scale` (0.1)
/// - `tensor-decomposition`: `d` (10), `k` (d), `start=random|saddle|zero` (random), `s` (2), `scale` (0.5)
/// - `relu`: `d` (1000), `n` (10000), `init=random|gradient` (random), `scale` (1),
///   `init-step` (4), `wmean` (200), `wvar` (3)
///
/// Every failure is a `CSGDError` whose one line names the offending part.
/// `description` is the canonical spelling with every option, which parses
/// back to the same spec and is the built objective's `name`.
public enum ProblemSpec: Equatable, Sendable, CustomStringConvertible {
    case saddle(StrictSaddle.Options)
    case matrixFactorization(MatrixFactorization.Options)
    case phaseRetrieval(PhaseRetrieval.Options)
    case tensorDecomposition(TensorDecomposition.Options)
    case relu(PlantedReLU.Options)

    /// The names `parse` accepts.
    public static let names = ["saddle", "matrix-factorization", "phase-retrieval", "tensor-decomposition", "relu"]

    /// The options each name accepts.
    public static func allowedOptions(for name: String) -> [String]? {
        switch name {
        case "saddle": return StrictSaddle.Options.keys
        case "matrix-factorization": return MatrixFactorization.Options.keys
        case "phase-retrieval": return PhaseRetrieval.Options.keys
        case "tensor-decomposition": return TensorDecomposition.Options.keys
        case "relu": return PlantedReLU.Options.keys
        default: return nil
        }
    }

    /// Parses a `--problem` argument (`SpecParser`'s grammar and errors) and validates it.
    public static func parse(_ text: String) throws -> ProblemSpec {
        var p = try SpecParser(text, kind: "problem", names: names)
        try p.read(options: allowedOptions(for: p.name)!)
        let o = SpecOptions(p)
        let name = p.name
        let spec: ProblemSpec
        switch name {
        case "saddle": spec = .saddle(try StrictSaddle.Options(o))
        case "matrix-factorization": spec = .matrixFactorization(try MatrixFactorization.Options(o))
        case "phase-retrieval": spec = .phaseRetrieval(try PhaseRetrieval.Options(o))
        case "tensor-decomposition": spec = .tensorDecomposition(try TensorDecomposition.Options(o))
        default: spec = .relu(try PlantedReLU.Options(o))
        }
        try spec.validate()
        return spec
    }

    /// Checks the options' ranges (d ≥ 1, r ≤ n, σ ≥ 0, …).
    public func validate() throws {
        switch self {
        case let .saddle(o): try o.validate()
        case let .matrixFactorization(o): try o.validate()
        case let .phaseRetrieval(o): try o.validate()
        case let .tensorDecomposition(o): try o.validate()
        case let .relu(o): try o.validate()
        }
    }

    /// Generates the data and builds the objective.
    public func make() throws -> any Objective {
        switch self {
        case let .saddle(o): return try StrictSaddle(o)
        case let .matrixFactorization(o): return try MatrixFactorization(o)
        case let .phaseRetrieval(o): return try PhaseRetrieval(o)
        case let .tensorDecomposition(o): return try TensorDecomposition(o)
        case let .relu(o): return try PlantedReLU(o)
        }
    }

    /// `parse(text).make()`.
    public static func make(_ text: String) throws -> any Objective { try parse(text).make() }

    /// The dimension d the objective will have.
    public var dimension: Int {
        switch self {
        case let .saddle(o): return o.d
        case let .matrixFactorization(o): return o.n * o.r
        case let .phaseRetrieval(o): return o.d
        case let .tensorDecomposition(o): return o.d
        case let .relu(o): return o.d
        }
    }

    /// Bytes the problem's data take once made (samples, planted matrices
    /// and the scratch their gradients use), from its options alone, so a
    /// problem too large for the machine is refused before it is made.
    public var dataBytes: Double {
        switch self {
        case let .saddle(o): return 8 * Double(o.d)
        case let .matrixFactorization(o): return 4 * Double(o.n) * Double(o.r) + 16 * Double(o.n) * Double(o.n)
        case let .phaseRetrieval(o): return 4 * Double(o.n) * Double(o.d) + 8 * Double(o.n + o.d)
        case let .tensorDecomposition(o): return 8 * Double(o.components) * Double(o.d)
        case let .relu(o): return 4 * Double(o.n) * Double(o.d) + 8 * Double(o.n + o.d)
        }
    }

    public var description: String {
        switch self {
        case let .saddle(o): return o.description
        case let .matrixFactorization(o): return o.description
        case let .phaseRetrieval(o): return o.description
        case let .tensorDecomposition(o): return o.description
        case let .relu(o): return o.description
        }
    }
}
