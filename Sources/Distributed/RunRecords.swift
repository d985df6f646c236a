import Communication
import Foundation

/// One line of the JSONL log: the state at a logging interval. `metrics`
/// (an evaluator's results, e.g. test accuracy) are written as extra
/// top-level keys of the line; a metric named like a standard key is dropped.
public struct StepRecord: Codable, Sendable {
    public var step: Int
    public var loss: Double
    /// ‖∇f(x_t)‖ of the full gradient at x_t (instantaneous).
    public var gradNorm: Double
    /// Mean over the last 100 steps of ‖∇F_i(x_t, θ_t)‖, the ranks' stochastic
    /// gradients before noise and compression, averaged over ranks (Figure 2's ‖g‖).
    public var stochasticGradNorm: Double
    /// Mean over the last 100 steps of the norm of the averaged update g_t.
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
    public var metrics: [String: Double] = [:]

    public init(step: Int, loss: Double, gradNorm: Double, stochasticGradNorm: Double, updateNorm: Double, errorNorm: Double,
                lambdaMin: Double?, isSOSP: Bool?, relativeError: Double?, resets: Int, uploadBits: Int, downloadBits: Int,
                wallSeconds: Double, metrics: [String: Double] = [:]) {
        self.step = step; self.loss = loss; self.gradNorm = gradNorm; self.stochasticGradNorm = stochasticGradNorm
        self.updateNorm = updateNorm; self.errorNorm = errorNorm; self.lambdaMin = lambdaMin; self.isSOSP = isSOSP
        self.relativeError = relativeError; self.resets = resets; self.uploadBits = uploadBits; self.downloadBits = downloadBits
        self.wallSeconds = wallSeconds; self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case step, loss
        case gradNorm = "grad_norm"
        case stochasticGradNorm = "stochastic_grad_norm"
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

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        loss = try c.decode(Double.self, forKey: .loss)
        gradNorm = try c.decode(Double.self, forKey: .gradNorm)
        stochasticGradNorm = try c.decodeIfPresent(Double.self, forKey: .stochasticGradNorm) ?? 0
        updateNorm = try c.decode(Double.self, forKey: .updateNorm)
        errorNorm = try c.decode(Double.self, forKey: .errorNorm)
        lambdaMin = try c.decodeIfPresent(Double.self, forKey: .lambdaMin)
        isSOSP = try c.decodeIfPresent(Bool.self, forKey: .isSOSP)
        relativeError = try c.decodeIfPresent(Double.self, forKey: .relativeError)
        resets = try c.decode(Int.self, forKey: .resets)
        uploadBits = try c.decode(Int.self, forKey: .uploadBits)
        downloadBits = try c.decode(Int.self, forKey: .downloadBits)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        metrics = try MetricKeys.decode(from: decoder, standard: Set(CodingKeys.allCases.map(\.stringValue)))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(loss, forKey: .loss)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encode(stochasticGradNorm, forKey: .stochasticGradNorm)
        try c.encode(updateNorm, forKey: .updateNorm)
        try c.encode(errorNorm, forKey: .errorNorm)
        try c.encodeIfPresent(lambdaMin, forKey: .lambdaMin)
        try c.encodeIfPresent(isSOSP, forKey: .isSOSP)
        try c.encodeIfPresent(relativeError, forKey: .relativeError)
        try c.encode(resets, forKey: .resets)
        try c.encode(uploadBits, forKey: .uploadBits)
        try c.encode(downloadBits, forKey: .downloadBits)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try MetricKeys.encode(metrics, to: encoder, standard: Set(CodingKeys.allCases.map(\.stringValue)))
    }
}

/// What a run reports at its end (the `--json` summary of `csgd optimize`).
/// `metrics` (the final evaluation) are written as extra top-level keys.
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
    /// The evaluator's results at the final iterate (empty without one).
    public var metrics: [String: Double] = [:]
    /// Rank 0's seconds inside collectives (`TimedCommunicator`), waiting
    /// for slower ranks included; nil when the run was not timed.
    public var communicationSeconds: Double?
    /// Rank 0's wall time outside collectives: `wall_seconds − communication_seconds`
    /// (gradients, compression, decoding, the step, log records).
    public var computeSeconds: Double?
    /// Payload bytes rank 0 sent over the whole run, each message counted
    /// once a receiving rank (see `TimedCommunicator` for the model).
    public var wireBytesSent: Int?
    /// Payload bytes rank 0 received over the whole run (same model).
    public var wireBytesReceived: Int?
    /// Seconds rank 0 spent in the evaluator at the final iterate (e.g.
    /// the test set's forward pass), part of `wall_seconds`; nil without
    /// an evaluator. A command's rate of training leaves it out.
    public var evaluationSeconds: Double?

    public init(steps: Int, finalLoss: Double, gradNorm: Double, lambdaMin: Double?, isSOSP: Bool?, firstSOSPStep: Int?,
                resets: Int, uploadBitsPerWorker: Int, downloadBitsPerWorker: Int, wallSeconds: Double, paramsSHA256: String,
                relativeError: Double?, stoppedEarly: String?, metrics: [String: Double] = [:],
                communicationSeconds: Double? = nil, computeSeconds: Double? = nil,
                wireBytesSent: Int? = nil, wireBytesReceived: Int? = nil) {
        self.steps = steps; self.finalLoss = finalLoss; self.gradNorm = gradNorm; self.lambdaMin = lambdaMin; self.isSOSP = isSOSP
        self.firstSOSPStep = firstSOSPStep; self.resets = resets; self.uploadBitsPerWorker = uploadBitsPerWorker
        self.downloadBitsPerWorker = downloadBitsPerWorker; self.wallSeconds = wallSeconds; self.paramsSHA256 = paramsSHA256
        self.relativeError = relativeError; self.stoppedEarly = stoppedEarly; self.metrics = metrics
        self.communicationSeconds = communicationSeconds; self.computeSeconds = computeSeconds
        self.wireBytesSent = wireBytesSent; self.wireBytesReceived = wireBytesReceived
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
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
        case communicationSeconds = "communication_seconds"
        case computeSeconds = "compute_seconds"
        case wireBytesSent = "wire_bytes_sent"
        case wireBytesReceived = "wire_bytes_received"
        case evaluationSeconds = "eval_seconds"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decode(Int.self, forKey: .steps)
        finalLoss = try c.decode(Double.self, forKey: .finalLoss)
        gradNorm = try c.decode(Double.self, forKey: .gradNorm)
        lambdaMin = try c.decodeIfPresent(Double.self, forKey: .lambdaMin)
        isSOSP = try c.decodeIfPresent(Bool.self, forKey: .isSOSP)
        firstSOSPStep = try c.decodeIfPresent(Int.self, forKey: .firstSOSPStep)
        resets = try c.decode(Int.self, forKey: .resets)
        uploadBitsPerWorker = try c.decode(Int.self, forKey: .uploadBitsPerWorker)
        downloadBitsPerWorker = try c.decode(Int.self, forKey: .downloadBitsPerWorker)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        paramsSHA256 = try c.decode(String.self, forKey: .paramsSHA256)
        relativeError = try c.decodeIfPresent(Double.self, forKey: .relativeError)
        stoppedEarly = try c.decodeIfPresent(String.self, forKey: .stoppedEarly)
        communicationSeconds = try c.decodeIfPresent(Double.self, forKey: .communicationSeconds)
        computeSeconds = try c.decodeIfPresent(Double.self, forKey: .computeSeconds)
        wireBytesSent = try c.decodeIfPresent(Int.self, forKey: .wireBytesSent)
        wireBytesReceived = try c.decodeIfPresent(Int.self, forKey: .wireBytesReceived)
        evaluationSeconds = try c.decodeIfPresent(Double.self, forKey: .evaluationSeconds)
        metrics = try MetricKeys.decode(from: decoder, standard: Set(CodingKeys.allCases.map(\.stringValue)))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(finalLoss, forKey: .finalLoss)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encodeIfPresent(lambdaMin, forKey: .lambdaMin)
        try c.encodeIfPresent(isSOSP, forKey: .isSOSP)
        try c.encodeIfPresent(firstSOSPStep, forKey: .firstSOSPStep)
        try c.encode(resets, forKey: .resets)
        try c.encode(uploadBitsPerWorker, forKey: .uploadBitsPerWorker)
        try c.encode(downloadBitsPerWorker, forKey: .downloadBitsPerWorker)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encode(paramsSHA256, forKey: .paramsSHA256)
        try c.encodeIfPresent(relativeError, forKey: .relativeError)
        try c.encodeIfPresent(stoppedEarly, forKey: .stoppedEarly)
        try c.encodeIfPresent(communicationSeconds, forKey: .communicationSeconds)
        try c.encodeIfPresent(computeSeconds, forKey: .computeSeconds)
        try c.encodeIfPresent(wireBytesSent, forKey: .wireBytesSent)
        try c.encodeIfPresent(wireBytesReceived, forKey: .wireBytesReceived)
        try c.encodeIfPresent(evaluationSeconds, forKey: .evaluationSeconds)
        try MetricKeys.encode(metrics, to: encoder, standard: Set(CodingKeys.allCases.map(\.stringValue)))
    }
}

/// Extra top-level JSON keys holding named numbers (`metrics`).
enum MetricKeys {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func encode(_ metrics: [String: Double], to encoder: Encoder, standard: Set<String>) throws {
        guard !metrics.isEmpty else { return }
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in metrics where !standard.contains(k) { try c.encode(v, forKey: Key(stringValue: k)) }
    }

    static func decode(from decoder: Decoder, standard: Set<String>) throws -> [String: Double] {
        let c = try decoder.container(keyedBy: Key.self)
        var out: [String: Double] = [:]
        for k in c.allKeys where !standard.contains(k.stringValue) {
            if let v = try? c.decode(Double.self, forKey: k) { out[k.stringValue] = v }
        }
        return out
    }
}

/// The last line of a finished run's JSONL log: its `RunSummary` with
/// `"type":"summary"` (step records have no `type`), so that a log alone
/// says which parameters the run ended on (`params_sha256`). A run stopped
/// by a signal or a non-finite iterate has none; a resumed run cuts an
/// earlier summary off with the records after its checkpoint.
public struct LogSummary: Codable, Sendable {
    /// The value of `type` on a summary line.
    public static let type = "summary"

    public var summary: RunSummary

    public init(_ summary: RunSummary) { self.summary = summary }

    enum CodingKeys: String, CodingKey { case type }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard type == Self.type else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "type '\(type)' is not '\(Self.type)'")
        }
        summary = try RunSummary(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.type, forKey: .type)
        try summary.encode(to: encoder)
    }
}
