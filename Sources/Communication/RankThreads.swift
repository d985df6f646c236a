import Foundation

/// Runs W ranks in one process, one dedicated thread a rank: every rank must
/// be live at once, since each collective waits for all of them.
///
/// `body(r)` runs on rank r's thread and its results come back by rank. A
/// rank that throws should abort its communicator first (so that no other
/// rank waits forever in a collective); `run` waits for every rank, then
/// rethrows the first error that is not an echo of another rank's abort
/// (`CommunicatorError`), else the first error. A single rank runs on the
/// calling thread.
public enum RankThreads {
    /// Stack of each rank thread: deep enough for the networks' recursion.
    public static let stackSize = 8 << 20

    public static func run<T>(_ workers: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        precondition(workers >= 1, "at least one rank")
        if workers == 1 { return [try body(0)] }
        let results = Results<T>(count: workers)
        for r in 0..<workers {
            let thread = Thread {
                results.set(r, Result { try body(r) })
            }
            thread.stackSize = stackSize
            thread.start()
        }
        let all = results.waitAll()
        let errors = all.compactMap { r -> Error? in if case let .failure(e) = r { return e }; return nil }
        if let e = errors.first(where: { !($0 is CommunicatorError) }) ?? errors.first { throw e }
        return all.map { if case let .success(v) = $0 { return v }; fatalError("unreachable: no error and no value") }
    }

    /// Per-rank results written by the rank threads.
    final class Results<T>: @unchecked Sendable {
        private var values: [Result<T, Error>?]
        private let condition = NSCondition()
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ r: Int, _ v: Result<T, Error>) {
            condition.lock(); values[r] = v; condition.broadcast(); condition.unlock()
        }
        func waitAll() -> [Result<T, Error>] {
            condition.lock()
            while values.contains(where: { $0 == nil }) { condition.wait() }
            defer { condition.unlock() }
            return values.map { $0! }
        }
    }
}
