import Communication
import CSGDCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Stopping a run on SIGTERM or SIGINT (a batch scheduler's notice, Ctrl-C).
///
/// `StopSignal.install(resumable:)` sets a `sigaction` handler for both
/// signals. With `resumable` (a run with a checkpoint directory) the first
/// signal only stores its number in one atomic flag, the one piece of global
/// state a signal requires (a handler gets no context); every rank polls
/// that flag between steps and the ranks agree (`Trainer.agreedStop`, an
/// 8-byte all-gather about every 10 ms), so all of them stop before the same
/// step t, write the checkpoint of the state before t and throw
/// `RunStopped`. A second signal, or any signal of a run without
/// checkpoints, writes one fixed line on standard error and ends the
/// process at once with status 128 + the signal number (143 for SIGTERM,
/// 130 for SIGINT), as a shell reports a process killed by it: what the
/// handler does is async-signal-safe (an atomic store, `write(2)`,
/// `_exit(2)`). Files stay consistent either way: checkpoints are written
/// atomically and the log one whole line a `write(2)`.
public enum StopSignal {
    /// The signals handled.
    public static let handled: [Int32] = [SIGTERM, SIGINT]

    /// Installs the handlers for the rest of the process.
    public static func install(resumable: Bool) {
        _ = pendingStopSignal.load(ordering: .relaxed)   // initialised before any handler can run
        for s in handled {
            var action = sigaction()
            if resumable {
                action.__sigaction_handler.sa_handler = stopBetweenSteps
            } else {
                action.__sigaction_handler.sa_handler = stopNow
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
    }

    /// The signal that asked the run to stop, if one did.
    public static var pending: Int32? {
        let s = pendingStopSignal.load(ordering: .acquiring)
        return s == 0 ? nil : s
    }

    /// SIGTERM, SIGINT or `signal N`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        default: return "signal \(signal)"
        }
    }
}

/// A run stopped by a signal after writing the checkpoint of the state
/// before `step` in `directory`: `--resume` continues it to the same bits.
public struct RunStopped: Error, CustomStringConvertible, Sendable {
    public let signal: Int32
    public let step: Int
    public let directory: String

    public var description: String {
        "stopped by \(StopSignal.name(signal)) at step \(step); resume with --resume --checkpoint \(directory)"
    }
}

/// The first stop signal's number (0: none yet). Set by the handler only.
private let pendingStopSignal = Atomic<Int32>(0)

/// The handler of a run with checkpoints: the first signal is stored for
/// the ranks to see between steps; a second one stops the process now.
private func stopBetweenSteps(_ signal: Int32) {
    let (exchanged, _) = pendingStopSignal.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing)
    if !exchanged { stopNow(signal) }
}

/// One fixed line on standard error and exit status 128 + `signal`
/// (async-signal-safe: no allocation, no lock).
private func stopNow(_ signal: Int32) {
    let line: StaticString
    switch signal {
    case SIGTERM: line = "csgd: stopped by SIGTERM without writing a checkpoint of the step reached\n"
    case SIGINT: line = "csgd: stopped by SIGINT without writing a checkpoint of the step reached\n"
    default: line = "csgd: stopped by a signal\n"
    }
    _ = write(2, line.utf8Start, line.utf8CodeUnitCount)
    _exit(128 + signal)
}

/// The schedule of a run's stop polls: the step of the next one, and the
/// interval and time of the last (rank 0's clock).
struct StopPoll {
    /// The wall time between polls the interval is tuned to.
    static let period = 0.01
    static let maximumInterval = 4096
    var next: Int?
    var interval = 1
    var time = 0.0
}

extension Trainer {
    /// The signal all ranks agree stops the run before step t, if any: only
    /// with `config.stopsOnSignal` and a checkpoint policy, for t past the
    /// run's first step, and at the poll steps. Each poll all-gathers every
    /// rank's view of the flag and rank 0's choice of the steps to the next
    /// poll, so every rank polls at the same steps: rank 0 scales the
    /// interval so that polls come about every `StopPoll.period` seconds
    /// (at most doubling it a poll; tiny steps would otherwise pay a
    /// collective each). The largest signal number wins. The gather runs
    /// on the communicator under the timing decorator, so the run's traffic
    /// and time figures stay the method's; which steps poll never changes
    /// the iterates.
    func agreedStop(before t: Int, first: Int) throws -> Int32? {
        guard config.stopsOnSignal, config.checkpoint != nil, t > first else { return nil }
        if stopPoll.next == nil { stopPoll.next = t; stopPoll.time = Clock.now() }
        guard t >= stopPoll.next! else { return nil }
        var proposal = 0
        if communicator.rank == 0 {
            let now = Clock.now(), elapsed = max(now - stopPoll.time, 1e-9)
            let scaled = Double(stopPoll.interval) * StopPoll.period / elapsed
            proposal = max(1, min(StopPoll.maximumInterval, 2 * stopPoll.interval, Int(min(scaled, 1e9))))
            stopPoll.time = now
        }
        let mine: [Int32] = [(StopSignal.pending ?? 0).littleEndian, Int32(proposal).littleEndian]
        var agreed: Int32 = 0, interval = proposal
        if communicator.size > 1 {
            let base = (communicator as? TimedCommunicator)?.base ?? communicator
            try mine.withUnsafeBytes { own in
                try base.allGather(own) { r, theirs in
                    guard theirs.count == 8 else { throw CommunicatorError.mismatch("stop-signal poll of \(theirs.count) bytes") }
                    agreed = max(agreed, Int32(littleEndian: theirs.loadUnaligned(as: Int32.self)))
                    if r == 0 { interval = Int(Int32(littleEndian: theirs.loadUnaligned(fromByteOffset: 4, as: Int32.self))) }
                }
            }
        } else {
            agreed = StopSignal.pending ?? 0
        }
        stopPoll.interval = max(1, interval)
        stopPoll.next = t + stopPoll.interval
        return agreed == 0 ? nil : agreed
    }
}
