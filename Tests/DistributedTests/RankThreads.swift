import Communication
import Distributed
import Foundation
import XCTest

/// Runs `body(rank, communicator)` on W rank threads joined by one in-process
/// fabric (the library's `RankThreads.run`) and returns the results by rank.
/// A rank that throws aborts the others (so none waits forever in a
/// collective) and its error is rethrown. Ranks still running after `timeout`
/// seconds fail the test and are aborted, which ends every rank waiting in a
/// collective.
func onRanks<T>(_ w: Int, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                _ body: @escaping @Sendable (Int, InProcessCommunicator) throws -> T) throws -> [T] {
    let fabric = InProcessFabric(size: w)
    let outcome = RanksOutcome<T>()
    let runner = Thread {
        outcome.finish(Result {
            try RankThreads.run(w) { r in
                let comm = InProcessCommunicator(fabric: fabric, rank: r)
                do { return try body(r, comm) } catch { comm.abort(reason: "\(error)"); throw error }
            }
        })
    }
    runner.stackSize = RankThreads.stackSize
    runner.start()
    if !outcome.wait(seconds: timeout) {
        XCTFail("ranks did not finish within \(timeout) s", file: file, line: line)
        InProcessCommunicator(fabric: fabric, rank: 0).abort(reason: "the test's \(timeout) s timeout")
        guard outcome.wait(seconds: 10) else { throw RanksTimedOut(seconds: timeout) }
    }
    return try outcome.result!.get()
}

/// Ranks that neither finished nor stopped when aborted.
struct RanksTimedOut: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "ranks still running \(seconds) s after the start and 10 s after an abort" }
}

/// What `RankThreads.run` returned or threw, handed from the thread that ran it.
final class RanksOutcome<T>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stored: Result<[T], Error>?

    var result: Result<[T], Error>? { lock.lock(); defer { lock.unlock() }; return stored }

    func finish(_ r: Result<[T], Error>) {
        lock.lock(); stored = r; lock.unlock()
        done.signal()
    }

    /// True when the outcome arrived within `seconds`.
    func wait(seconds: Double) -> Bool {
        guard done.wait(timeout: .now() + seconds) == .success else { return false }
        done.signal()   // later waits return at once
        return true
    }
}
