import CSGDCore
import Compression
import Distributed
import Foundation
import Optimization

/// What `optimize` and `train` share around a run: the log and progress on
/// the reporting rank, the backend call, and the exit codes (2 for bad
/// input, 3 for a non-finite iterate, naming the kept log and checkpoint).
/// Returns nil on ranks that do not report (MPI ranks other than 0).
struct RunDriver {
    var backend: Backend
    var logPath: String?
    var resume: Bool
    var checkpoint: CheckpointPolicy?

    func run(objective: any Objective, method: MethodSpec, compressor: CompressorSpec, workers: Int?,
             config: TrainerConfiguration, theory: TheoryParameters? = nil, evaluator: Evaluator? = nil) throws -> RunSummary? {
        let reporter = backend.launchRank == 0
        let logWriter = try CLI.orExit { try reporter ? logPath.map { try JSONLWriter(path: $0, resuming: resume) } : nil }
        let progress = Progress(total: reporter ? config.steps : 0)
        let summary: RunSummary
        do {
            let ran = try backend.run(objective: objective, method: method, compressor: compressor, workers: workers,
                                      config: config, theory: theory, evaluator: evaluator) { record in
                logWriter?.write(record)
                progress.update(record)
            }
            guard ran.reports else { Backend.finish(); return nil }
            summary = ran.summary
        } catch let e as CSGDError {
            progress.finish()
            CLI.fail(e.message, status: 2)
        } catch let e as NonFiniteIterate {
            progress.finish()
            let kept = checkpoint.flatMap { p in
                CheckpointDirectory(p.directory).newestComplete().map { "; last good checkpoint (step \($0)) kept in \(p.directory)" }
            }
            CLI.fail(e.description + (logPath.map { "; log kept in \($0)" } ?? "") + (kept ?? ""), status: 3)
        } catch {
            progress.finish()
            CLI.fail(String(describing: error), status: 1)
        }
        progress.finish()
        logWriter?.close()
        return summary
    }
}
