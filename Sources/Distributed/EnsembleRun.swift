import CSGDCore
import Compression
import Foundation
import Optimization

/// Runs the ensemble of Kalan et al. 2019 (Appendix, Algorithm 1; `Ensemble`)
/// around any method: L in-process runs one after another from the same x₀
/// (the base seed's), each with its own seed (`Ensemble.trialSeed`), then
/// the vote over their final iterates.
///
/// The summary is the chosen trial's (its iterate: loss, ‖∇f‖, certificate,
/// relative error, parameters' hash), with what the whole ensemble cost:
/// upload and download bits, wall, compute and communication seconds and
/// wire bytes summed over the L trials (over those that finished: a trial
/// that diverged reports nothing). Its metrics add `ensemble_trials`
/// (L), `ensemble_chosen` (1-based), `ensemble_agreeing` (results in the
/// chosen one's ball), `ensemble_consensus` (1 when at least L/2 agree, i.e.
/// Algorithm 1 returns a result; 0 otherwise) and `ensemble_radius`. Every
/// log record carries its trial's number as `trial`. A trial whose iterate
/// stops being finite is a result that agrees with none; the ensemble fails
/// only when every trial does.
public enum EnsembleRun {
    public static func run(
        _ ensemble: Ensemble, objective: any Objective, method: any Method, compressor: CompressorSpec?, workers: Int,
        config: TrainerConfiguration, theory: TheoryParameters? = nil,
        onRecord: (@Sendable (StepRecord) -> Void)? = nil
    ) throws -> RunSummary {
        var summaries: [RunSummary?] = []
        var results: [[Float]] = []
        var lastFailure: Error?
        for l in 1...ensemble.trials {
            var c = config
            c.startSeed = config.startSeed ?? config.seed
            c.seed = Ensemble.trialSeed(base: config.seed, trial: l)
            let tagged: (@Sendable (StepRecord) -> Void)? = onRecord.map { report in
                { @Sendable (r: StepRecord) in
                    var r = r
                    r.metrics["trial"] = Double(l)
                    report(r)
                }
            }
            do {
                let ran = try InProcessRun.runKeepingParameters(objective: objective, method: method, compressor: compressor,
                                                                workers: workers, config: c, theory: theory, onRecord: tagged)
                summaries.append(ran.summary)
                results.append(ran.parameters)
            } catch let e as NonFiniteIterate {
                lastFailure = e
                summaries.append(nil)
                results.append([Float](repeating: .nan, count: objective.dimension))
            }
        }
        let pick = ensemble.select(results)
        guard var out = summaries[pick.chosen] else { throw lastFailure! }
        let ran = summaries.compactMap { $0 }
        out.uploadBitsPerWorker = ran.map(\.uploadBitsPerWorker).reduce(0, +)
        out.downloadBitsPerWorker = ran.map(\.downloadBitsPerWorker).reduce(0, +)
        out.wallSeconds = ran.map(\.wallSeconds).reduce(0, +)
        out.communicationSeconds = sum(ran.map(\.communicationSeconds))
        out.computeSeconds = sum(ran.map(\.computeSeconds))
        out.wireBytesSent = sum(ran.map(\.wireBytesSent))
        out.wireBytesReceived = sum(ran.map(\.wireBytesReceived))
        out.metrics["ensemble_trials"] = Double(ensemble.trials)
        out.metrics["ensemble_chosen"] = Double(pick.chosen + 1)
        out.metrics["ensemble_agreeing"] = Double(pick.agreeing)
        out.metrics["ensemble_consensus"] = pick.consensus ? 1 : 0
        out.metrics["ensemble_radius"] = pick.radius
        return out
    }

    static func sum<T: AdditiveArithmetic>(_ xs: [T?]) -> T? {
        xs.contains { $0 == nil } ? nil : xs.reduce(T.zero) { $0 + $1! }
    }
}
