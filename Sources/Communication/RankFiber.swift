import CFiber
import CSGDCore
import Foundation

/// A rank run as a fiber: one of several ranks sharing an OS thread of a
/// `RankThreads` pool. A rank that must wait for the others (in a
/// collective) suspends its fiber instead of blocking the thread, so the
/// thread runs its other ranks meanwhile; whoever ends the wait wakes the
/// thread (`PoolThreadWaker`). On a thread of its own a rank is no fiber
/// (`current` is nil) and waits by blocking.
public final class RankFiber {
    /// The rank this fiber runs.
    public let rank: Int
    /// The pool thread it runs on; a fiber never changes threads.
    let waker: PoolThreadWaker
    private let body: () -> Void
    private(set) var handle: OpaquePointer?

    /// Reserves the fiber's stack. Throws when the memory cannot be mapped.
    init(rank: Int, stackBytes: Int, waker: PoolThreadWaker, body: @escaping () -> Void) throws {
        self.rank = rank
        self.waker = waker
        self.body = body
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard let h = csgd_fiber_create(stackBytes, { argument in
            Unmanaged<RankFiber>.fromOpaque(argument!).takeUnretainedValue().body()
        }, me) else {
            throw CSGDError("cannot reserve a \(stackBytes >> 20) MiB stack for worker \(rank): \(String(cString: strerror(errno)))")
        }
        handle = h
    }

    deinit { csgd_fiber_destroy(handle) }

    /// The fiber running on this thread, nil on a thread's own stack.
    public static var current: RankFiber? {
        guard let f = csgd_fiber_current() else { return nil }
        return Unmanaged<RankFiber>.fromOpaque(csgd_fiber_argument(f)!).takeUnretainedValue()
    }

    /// Runs the fiber until it suspends or finishes (the pool thread's loop).
    func resume() { csgd_fiber_resume(handle) }

    /// True once the rank's body has returned.
    var finished: Bool { csgd_fiber_finished(handle) != 0 }

    /// Back to the pool thread's loop; called on this fiber, after arranging
    /// for `waker` to be woken when the wait may be over.
    public func suspend() { csgd_fiber_suspend(handle) }

    /// The pool thread's wake-up, to register where the wait ends.
    public var thread: PoolThreadWaker { waker }
}

/// What a pool thread whose ranks all wait sleeps on. A wake that comes
/// before the sleep is kept, so none is lost.
public final class PoolThreadWaker: @unchecked Sendable {
    private let condition = NSCondition()
    private var woken = false

    /// Ends the thread's sleep (or the next one, if it is not asleep).
    public func wake() {
        condition.lock(); woken = true; condition.signal(); condition.unlock()
    }

    func sleep() {
        condition.lock()
        while !woken { condition.wait() }
        woken = false
        condition.unlock()
    }
}
