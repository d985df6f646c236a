import CSGDCore

/// What a checkpoint says about the run that wrote it: the objective's spec
/// and dimension d, the method's spec text, the compressor, the number of
/// ranks W, the seed, the resolved step size η, and the step t it holds
/// (the state before step t runs). A run resumes only from a checkpoint whose
/// every field but the step equals its own; `mismatch` names the first field
/// that differs, in one line.
public struct CheckpointHeader: Equatable, Sendable {
    public var objective: String
    public var dimension: Int
    public var method: String
    public var compressor: String
    public var workers: Int
    public var seed: UInt64
    public var stepSize: Double
    public var step: Int

    public init(objective: String, dimension: Int, method: String, compressor: String, workers: Int, seed: UInt64,
                stepSize: Double, step: Int) {
        self.objective = objective; self.dimension = dimension; self.method = method; self.compressor = compressor
        self.workers = workers; self.seed = seed; self.stepSize = stepSize; self.step = step
    }

    public func write(to w: inout CheckpointWriter) {
        w.appendString(objective)
        w.appendUInt64(UInt64(dimension))
        w.appendString(method)
        w.appendString(compressor)
        w.appendUInt32(UInt32(workers))
        w.appendUInt64(seed)
        w.appendDouble(stepSize)
        w.appendUInt64(UInt64(step))
    }

    public static func read(from r: inout CheckpointReader) throws -> CheckpointHeader {
        let objective = try r.readString("the objective's name")
        let d = try r.readUInt64("the dimension")
        let method = try r.readString("the method")
        let compressor = try r.readString("the compressor")
        let w = try r.readUInt32("W")
        let seed = try r.readUInt64("the seed")
        let eta = try r.readDouble("the step size")
        let step = try r.readUInt64("the step")
        guard d <= UInt64(Int.max), step <= UInt64(Int.max) else { throw r.error("is corrupt: its dimension or step is out of range") }
        return CheckpointHeader(objective: objective, dimension: Int(d), method: method, compressor: compressor,
                                workers: Int(w), seed: seed, stepSize: eta, step: Int(step))
    }

    /// The first field (other than the step) in which `run` differs from
    /// this checkpoint, as a one-line message about `source`; nil when they agree.
    public func mismatch(with run: CheckpointHeader, source: String) -> String? {
        func says(_ what: String, _ mine: String, _ theirs: String) -> String {
            "cannot resume from '\(source)': it was written with \(what) \(mine), this run has \(theirs)"
        }
        if objective != run.objective { return says("objective", "'\(objective)'", "'\(run.objective)'") }
        if dimension != run.dimension { return says("dimension", "d = \(dimension)", "d = \(run.dimension)") }
        if method != run.method { return says("method", "'\(method)'", "'\(run.method)'") }
        if compressor != run.compressor { return says("compressor", "'\(compressor)'", "'\(run.compressor)'") }
        if workers != run.workers { return says("workers", "W = \(workers)", "W = \(run.workers)") }
        if seed != run.seed { return says("seed", "\(seed)", "\(run.seed)") }
        if stepSize.bitPattern != run.stepSize.bitPattern { return says("step size", "η = \(stepSize)", "η = \(run.stepSize)") }
        return nil
    }
}
