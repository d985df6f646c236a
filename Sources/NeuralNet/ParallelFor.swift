import Dispatch

/// Runs `body(0..<n)` on Dispatch's workers and waits; callers give each
/// index disjoint memory to write.
enum ParallelFor {
    struct Unchecked<T>: @unchecked Sendable { let value: T }

    static func run(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 { if n == 1 { body(0) }; return }
        withoutActuallyEscaping(body) { body in
            let shared = Unchecked(value: body)
            DispatchQueue.concurrentPerform(iterations: n) { shared.value($0) }
        }
    }
}
