/// An objective whose fixed-batch evaluation (`fullGradient`) is a
/// weighted sum of parts computed one after another: f = Σ_c w_c·f_c and
/// ∇f = Σ_c w_c·∇f_c, accumulated in part order (`accumulate`). Ranks that
/// share a process and an iterate may then compute the parts at once, on
/// their own threads, and one of them accumulates them, with the bits of
/// `fullGradient` (a record of a run's loss and ‖∇f‖ then takes the time of
/// one part, not of all of them one after another on one thread).
public protocol FixedBatchParts: Objective {
    /// The number of parts (1: nothing to split).
    var fixedBatchPartCount: Int { get }

    /// Part c's mean loss f_c and weight w_c, its gradient ∇f_c into `g` (d floats).
    func fixedBatchPart(_ c: Int, at x: UnsafeBufferPointer<Float>, into g: UnsafeMutablePointer<Float>) -> (loss: Double, weight: Double)

    /// g ← Σ_c w_c·∇f_c over `parts` (given in part order, every part once),
    /// with `fullGradient`'s rounding; returns Σ_c w_c·f_c in part order.
    func accumulate(_ parts: [(loss: Double, weight: Double, gradient: UnsafePointer<Float>)], into g: UnsafeMutablePointer<Float>) -> Double
}
