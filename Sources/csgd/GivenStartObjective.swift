import Optimization

/// An objective that starts from a given point (`--init-from`) instead of
/// its seeded initial point, and is otherwise the objective it wraps: every
/// other requirement is forwarded, so losses, gradients, names and
/// checkpoint compatibility are the wrapped objective's.
final class GivenStartObjective: Objective, Sendable {
    let base: any Objective
    /// x₀, `base.dimension` floats; read only.
    let start: [Float]

    init(_ base: any Objective, start: [Float]) {
        precondition(start.count == base.dimension, "x₀ has \(start.count) floats, the objective \(base.dimension)")
        self.base = base
        self.start = start
    }

    var dimension: Int { base.dimension }
    var name: String { base.name }
    var constants: ObjectiveConstants { base.constants }
    var solution: [Float]? { base.solution }
    var finiteSampleCount: Int? { base.finiteSampleCount }

    func loss(at x: UnsafeBufferPointer<Float>) -> Double { base.loss(at: x) }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        base.gradient(at: x, batch: batch, into: g)
    }
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double { base.fullGradient(at: x, into: g) }
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        base.hessianVectorProduct(at: x, v, into: out)
    }
    func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? { base.relativeError(at: x) }
    func hessian(at x: UnsafeBufferPointer<Float>) -> [Double]? { base.hessian(at: x) }
    func suggestedStepSize(batch: Int) -> Double? { base.suggestedStepSize(batch: batch) }

    /// The given point, whatever the seed.
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) {
        _ = x.update(fromContentsOf: start)
    }
}
