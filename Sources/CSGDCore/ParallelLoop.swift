import Dispatch

/// Runs the independent iterations of a loop on the calling thread and
/// Dispatch's worker threads (`concurrentPerform`). Callers give every
/// iteration a disjoint slice of memory to write and make each iteration's
/// result independent of which thread runs it, so the outcome never depends
/// on the thread count.
public enum ParallelLoop {
    /// A value handed to `concurrentPerform`'s workers (raw pointers to
    /// disjoint memory, captured by the loop body).
    struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    /// Runs `body(i)` for every i in 0..<n, concurrently when n > 1.
    public static func run(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 {
            if n == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { shared.value($0) }
        }
    }
}
