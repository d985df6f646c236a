/// A run that stopped on a non-finite iterate: the step and what was seen.
public struct NonFiniteIterate: Error, CustomStringConvertible {
    public let step: Int
    public init(step: Int) { self.step = step }
    public var description: String { "non-finite iterate (NaN or Inf) at step \(step); stopping" }
}
