import Foundation

/// What a run printed at its end (`--json`), read the same way for
/// `csgd optimize` and `csgd train`: the common figures by name, and every
/// numeric field in `numbers`.
public struct RunOutcome: Decodable, Sendable {
    public var steps: Int
    /// `final_loss` (optimize) or `train_loss` (train).
    public var loss: Double?
    public var wallSeconds: Double
    public var uploadBitsPerWorker: Int
    public var paramsSHA256: String
    public var lambdaMin: Double?
    public var relativeError: Double?
    /// Every numeric top-level field (test_loss, test_accuracy, grad_norm, …).
    public var numbers: [String: Double]

    public init(steps: Int, loss: Double?, wallSeconds: Double, uploadBitsPerWorker: Int, paramsSHA256: String,
                lambdaMin: Double? = nil, relativeError: Double? = nil, numbers: [String: Double] = [:]) {
        self.steps = steps; self.loss = loss; self.wallSeconds = wallSeconds; self.uploadBitsPerWorker = uploadBitsPerWorker
        self.paramsSHA256 = paramsSHA256; self.lambdaMin = lambdaMin; self.relativeError = relativeError; self.numbers = numbers
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func k(_ s: String) -> Key { Key(stringValue: s) }
        steps = try c.decode(Int.self, forKey: k("steps"))
        loss = try c.decodeIfPresent(Double.self, forKey: k("final_loss")) ?? c.decodeIfPresent(Double.self, forKey: k("train_loss"))
        wallSeconds = try c.decode(Double.self, forKey: k("wall_seconds"))
        uploadBitsPerWorker = try c.decode(Int.self, forKey: k("upload_bits_per_worker"))
        paramsSHA256 = try c.decode(String.self, forKey: k("params_sha256"))
        lambdaMin = try c.decodeIfPresent(Double.self, forKey: k("lambda_min"))
        relativeError = try c.decodeIfPresent(Double.self, forKey: k("relative_error"))
        var numbers: [String: Double] = [:]
        for key in c.allKeys { if let v = try? c.decode(Double.self, forKey: key) { numbers[key.stringValue] = v } }
        self.numbers = numbers
    }
}
