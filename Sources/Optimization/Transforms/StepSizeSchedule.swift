import CSGDCore
import Foundation

/// η_t = η · s(t): the step size of step t scaled by a schedule, set at the
/// head of the chain so that every transform after it (error feedback's
/// memory, the step) sees η_t. A method that sets its own step size for a
/// step (CNC's curvature step) keeps it for that step.
public struct StepSizeSchedule: GradientTransform {
    public let schedule: Schedule

    public init(_ schedule: Schedule) { self.schedule = schedule }

    public func initialState(dimension: Int, workers: Int) {}

    public func update(_ g: inout StepState, state: inout Void, context: inout StepContext) throws -> StepOutcome {
        g.stepSize *= schedule.factor(step: context.step)
        return .proceed
    }
}

/// A step-size schedule s(t) over a run of `steps` steps, with an optional
/// linear warm-up: s(t) = (t + 1)/W for t < W, then the shape, counted from
/// the end of the warm-up.
///
/// - `constant`: 1.
/// - `step:every=S[,gamma=G]`: G^⌊t/S⌋ (G = 0.1 by default), as PyTorch's `StepLR`.
/// - `cosine`: ½(1 + cos(π·t/T)) over the T steps after the warm-up
///   (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts; it reaches 0 at
///   the run's end).
///
/// Every shape takes `warmup=W` (Goyal et al. 2017's gradual warm-up).
public struct Schedule: Equatable, Sendable, CustomStringConvertible {
    public enum Shape: Equatable, Sendable {
        case constant
        case step(every: Int, gamma: Double)
        case cosine
    }

    public var shape: Shape
    public var warmup: Int
    /// The run's steps T (cosine's period), known when the run is set up.
    public var steps: Int

    public init(shape: Shape, warmup: Int = 0, steps: Int) {
        self.shape = shape; self.warmup = warmup; self.steps = steps
    }

    public static let names = ["constant", "step", "cosine"]

    /// Parses `--schedule` (`SpecParser`'s grammar) for a run of `steps` steps.
    public static func parse(_ text: String, steps: Int) throws -> Schedule {
        var p = try SpecParser(text, kind: "schedule", names: names)
        var s = Schedule(shape: .constant, steps: steps)
        switch p.name {
        case "step":
            try p.read(options: ["every", "gamma", "warmup"])
            guard let every = try p.integer("every", .positive) else { throw p.error("needs every=S (steps between decays)") }
            s.shape = .step(every: every, gamma: try p.number("gamma", default: 0.1, NumberRange(lower: 0, lowerInclusive: false, upper: 1)))
        case "cosine":
            try p.read(options: ["warmup"])
            s.shape = .cosine
        default:
            try p.read(options: ["warmup"])
        }
        s.warmup = try p.integer("warmup", .atLeast(0)) ?? 0
        return s
    }

    /// s(t).
    public func factor(step t: Int) -> Double {
        if t < warmup { return Double(t + 1) / Double(warmup) }
        let u = t - warmup
        switch shape {
        case .constant:
            return 1
        case let .step(every, gamma):
            return pow(gamma, Double(u / every))
        case .cosine:
            let span = max(1, steps - warmup)
            return 0.5 * (1 + cos(Double.pi * Double(min(u, span)) / Double(span)))
        }
    }

    public var description: String {
        let w = warmup > 0 ? "warmup=\(warmup)" : ""
        switch shape {
        case .constant: return w.isEmpty ? "constant" : "constant:\(w)"
        case let .step(every, gamma): return "step:every=\(every),gamma=\(gamma)" + (w.isEmpty ? "" : ",\(w)")
        case .cosine: return "cosine:" + (w.isEmpty ? "" : "\(w),") + "over \(steps) steps"
        }
    }
}
