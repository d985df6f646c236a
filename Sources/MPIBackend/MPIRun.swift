#if MPI
import Communication
import Compression
import CSGDCore
import Distributed
import Foundation
import Optimization

/// Runs this process's rank of a data-parallel run under `mpirun -np W`:
/// the same `Trainer` as `InProcessRun`, joined to the others by an
/// `MPICommunicator`. Every rank returns the same summary (the iterate is
/// identical everywhere); by convention only rank 0 reports it. The
/// communicator is wrapped in a `TimedCommunicator`: the summary carries
/// this rank's compute/communication split and payload bytes.
public enum MPIRun {
    /// Runs the method on this rank. `onRecord` is called on rank 0 only.
    /// On an error the other ranks are stopped through `MPI_Abort`.
    public static func run(
        objective: any Objective, method: any Method, compressor given: CompressorSpec?,
        communicator: MPICommunicator, config: TrainerConfiguration, theory: TheoryParameters? = nil,
        evaluator: Evaluator? = nil, onRecord: (@Sendable (StepRecord) -> Void)? = nil
    ) throws -> RunSummary {
        let compressor = try method.compressor(given: given).make(dimension: objective.dimension)
        let timed = TimedCommunicator(communicator)
        let trainer = try Trainer(objective: objective, method: method, compressor: compressor,
                                  communicator: timed, config: config, theory: theory)
        if communicator.rank == 0 { trainer.evaluator = evaluator }
        if communicator.rank == 0, let onRecord {
            return timed.annotate(try trainer.run(onRecord: { onRecord(timed.annotate($0)) }))
        }
        return timed.annotate(try trainer.run())
    }
}
#endif
