import Distributed

/// One quantity of a group of runs along the steps: the mean and the 10% and
/// 90% quantiles at every step all runs logged.
public struct GroupCurve: Sendable {
    public var steps: [Double]
    public var mean: [Double]
    public var low: [Double]
    public var high: [Double]

    /// The curve of `value` over `runs` at the steps every run logged.
    public init(_ runs: [RunResult], _ value: (StepRecord) -> Double?) {
        var byStep: [Int: [Double]] = [:]
        for r in runs {
            for rec in r.records { if let v = value(rec), v.isFinite { byStep[rec.step, default: []].append(v) } }
        }
        let steps = byStep.keys.filter { byStep[$0]!.count == runs.count }.sorted()
        self.steps = steps.map(Double.init)
        mean = steps.map { Statistics.mean(byStep[$0]!) }
        low = steps.map { Statistics.quantile(byStep[$0]!, 0.1) }
        high = steps.map { Statistics.quantile(byStep[$0]!, 0.9) }
    }
}
