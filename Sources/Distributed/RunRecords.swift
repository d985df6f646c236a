import Foundation

/// One line of the JSONL log: the state at a logging interval.
public struct StepRecord: Codable, Sendable {
    public var step: Int
    public var loss: Double
    /// ‖∇f(x_t)‖ of the full gradient.
    public var gradNorm: Double
    /// Mean over the last 100 steps of the norm of the averaged update g_t (Figure 2's ‖g‖).
    public var updateNorm: Double
    /// Mean over workers of ‖e⁽ⁱ⁾_t‖ (0 without error feedback).
    public var errorNorm: Double
    public var lambdaMin: Double?
    public var isSOSP: Bool?
    /// ‖x − x*‖/‖x*‖ where the problem has a planted solution.
    public var relativeError: Double?
    public var resets: Int
    public var uploadBits: Int
    public var downloadBits: Int
    public var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case step, loss
        case gradNorm = "grad_norm"
        case updateNorm = "update_norm"
        case errorNorm = "error_norm"
        case lambdaMin = "lambda_min"
        case isSOSP = "is_sosp"
        case relativeError = "relative_error"
        case resets
        case uploadBits = "upload_bits"
        case downloadBits = "download_bits"
        case wallSeconds = "wall_seconds"
    }
}

/// What a run reports at its end (the `--json` summary of `csgd optimize`).
public struct RunSummary: Codable, Sendable {
    public var steps: Int
    public var finalLoss: Double
    public var gradNorm: Double
    public var lambdaMin: Double?
    public var isSOSP: Bool?
    public var firstSOSPStep: Int?
    public var resets: Int
    /// Σ over steps of this worker's message bits (exact wire sizes).
    public var uploadBitsPerWorker: Int
    /// Σ over steps of the bits this worker received.
    public var downloadBitsPerWorker: Int
    public var wallSeconds: Double
    /// SHA-256 of the final parameters' bytes (Float32, little-endian).
    public var paramsSHA256: String
    public var relativeError: Double?
    /// Why the run ended before `steps` (PGD's stop rule), if it did.
    public var stoppedEarly: String?

    enum CodingKeys: String, CodingKey {
        case steps
        case finalLoss = "final_loss"
        case gradNorm = "grad_norm"
        case lambdaMin = "lambda_min"
        case isSOSP = "is_sosp"
        case firstSOSPStep = "first_sosp_step"
        case resets
        case uploadBitsPerWorker = "upload_bits_per_worker"
        case downloadBitsPerWorker = "download_bits_per_worker"
        case wallSeconds = "wall_seconds"
        case paramsSHA256 = "params_sha256"
        case relativeError = "relative_error"
        case stoppedEarly = "stopped_early"
    }
}

/// A run that stopped on a non-finite iterate: the step and what was seen.
public struct NonFiniteIterate: Error, CustomStringConvertible {
    public let step: Int
    public var description: String { "non-finite iterate (NaN or Inf) at step \(step); stopping" }
}
