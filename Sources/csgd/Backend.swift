import Communication
import ArgumentParser
import CSGDCore
import Compression
import Distributed
import Foundation
import Optimization
#if MPI
import MPIBackend
#endif

/// Where the ranks of a run live: `inproc` (W ranks in this process, on at most one thread a core) or
/// `mpi` (one process a rank under `mpirun -np W`, with the package trait
/// MPI built in). Both run the same Trainer and give the same bits.
enum Backend: String, ExpressibleByArgument, CaseIterable {
    case inproc
    case mpi

    /// Runs a method over this backend's ranks. Returns the summary and
    /// whether this process reports it (always for inproc; rank 0 under MPI).
    func run(
        objective: any Objective, method: any Method, compressor: CompressorSpec?, workers: Int?,
        config: TrainerConfiguration, theory: TheoryParameters?, evaluator: Evaluator? = nil,
        onRecord: (@Sendable (StepRecord) -> Void)?
    ) throws -> (summary: RunSummary, reports: Bool) {
        switch self {
        case .inproc:
            let s = try InProcessRun.run(objective: objective, method: method, compressor: compressor, workers: workers ?? 1,
                                         config: config, theory: theory, onRecord: onRecord, evaluator: evaluator)
            return (s, true)
        case .mpi:
            #if MPI
            let comm = try Self.mpiCommunicator(workers: workers)
            do {
                let s = try MPIRun.run(objective: objective, method: method, compressor: compressor, communicator: comm,
                                       config: config, theory: theory, evaluator: evaluator, onRecord: onRecord)
                return (s, comm.rank == 0)
            } catch let e as CommunicatorError {
                throw e
            } catch {
                // Every rank computes the same iterate, so a NaN or a bad
                // setting shows on all of them; say it once, then stop them all.
                if comm.rank == 0 { throw error }
                MPICommunicator.finalize()
                // A stop by a signal is rank 0's to report (status 0); a
                // file that cannot be written ends every rank with 1.
                Foundation.exit(error is RunStopped ? 0 : error is IOFailure ? 1 : 3)
            }
            #else
            throw CSGDError("--backend mpi: this csgd was built without Open MPI; rebuild with `swift build -c release --traits MPI`")
            #endif
        }
    }

    /// This process's rank as mpirun announces it in the environment (0 for
    /// inproc or outside mpirun), known before MPI is initialised.
    var launchRank: Int {
        guard self == .mpi else { return 0 }
        return CLI.mpirunRank ?? 0
    }

    /// The number of ranks mpirun started (nil outside mpirun).
    static var launchSize: Int? {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) }
    }

    /// Ends MPI in this process, if it was started.
    static func finish() {
        #if MPI
        if MPICommunicator.launchedByMPIRun { MPICommunicator.finalize() }
        #endif
    }

    #if MPI
    static func mpiCommunicator(workers: Int?) throws -> MPICommunicator {
        guard MPICommunicator.launchedByMPIRun else {
            throw CSGDError("--backend mpi must be launched by mpirun, e.g. `mpirun -np 4 csgd … --backend mpi`")
        }
        let comm = try MPICommunicator()
        if let workers, workers != comm.size {
            throw CSGDError("--workers \(workers) differs from mpirun's -np \(comm.size); drop --workers under --backend mpi")
        }
        return comm
    }
    #endif
}
