import Optimization

/// A test objective built around a real one: everything not implemented by
/// the conforming type (typically `gradient`, to change its timing or its
/// values) is forwarded to `inner`.
protocol ObjectiveWrapper: Objective {
    var inner: any Objective { get }
}

extension ObjectiveWrapper {
    var dimension: Int { inner.dimension }
    var name: String { inner.name }
    var constants: ObjectiveConstants { inner.constants }
    func loss(at x: UnsafeBufferPointer<Float>) -> Double { inner.loss(at: x) }
    func gradient(at x: UnsafeBufferPointer<Float>, batch: BatchKey, into g: UnsafeMutableBufferPointer<Float>) -> Double {
        inner.gradient(at: x, batch: batch, into: g)
    }
    func fullGradient(at x: UnsafeBufferPointer<Float>, into g: UnsafeMutableBufferPointer<Float>) -> Double { inner.fullGradient(at: x, into: g) }
    func hessianVectorProduct(at x: UnsafeBufferPointer<Float>, _ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        inner.hessianVectorProduct(at: x, v, into: out)
    }
    func initialPoint(seed: UInt64, into x: UnsafeMutableBufferPointer<Float>) { inner.initialPoint(seed: seed, into: x) }
    func relativeError(at x: UnsafeBufferPointer<Float>) -> Double? { inner.relativeError(at: x) }
}
