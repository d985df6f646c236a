import Foundation

/// A small lock-protected free list of reusable objects (workspaces,
/// vectors), so that concurrent callers each get their own and a steady
/// stream of calls allocates nothing after the first few.
final class ObjectPool<T: AnyObject>: @unchecked Sendable {
    private var free: [T] = []
    private let lock = NSLock()

    init() { free.reserveCapacity(16) }

    /// A free object that `fits`, or a new one from `make`.
    func acquire(fits: (T) -> Bool, make: () -> T) -> T {
        lock.lock()
        if let i = free.lastIndex(where: fits) {
            let t = free.remove(at: i)
            lock.unlock()
            return t
        }
        lock.unlock()
        return make()
    }

    func release(_ t: T) {
        lock.lock()
        free.append(t)
        lock.unlock()
    }

    /// Runs `body` with an object from the pool and returns it afterwards.
    func with<R>(fits: (T) -> Bool, make: () -> T, _ body: (T) throws -> R) rethrows -> R {
        let t = acquire(fits: fits, make: make)
        defer { release(t) }
        return try body(t)
    }
}
