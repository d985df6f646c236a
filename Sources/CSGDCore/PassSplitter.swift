import Foundation

/// Runs one pass of a rank's step on this thread and `ways − 1` parked helper
/// threads, for a rank that has cores to itself (W = 1 on a multi-core
/// machine). Parts are fixed ranges of fixed blocks, so results are the same
/// bits whatever the number of ways. A pass is a `SplitPass` object made
/// once (its fields set before each run), so `run` allocates nothing;
/// helpers sleep on semaphores between passes and exit when the splitter is
/// released.
public final class PassSplitter {
    public let ways: Int
    let shared: PassSplitterShared

    /// `ways` ≥ 2 parts (the caller's thread is part 0).
    public init(ways: Int) {
        precondition(ways >= 2, "a splitter needs at least two ways")
        self.ways = ways
        shared = PassSplitterShared(helpers: ways - 1)
        for i in 1..<ways {
            let s = shared
            let t = Thread { s.serve(part: i) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    deinit { shared.stop() }

    /// CPU seconds the helper threads spent in passes (for `bench-step`).
    public var helperCPUSeconds: Double { shared.cpuSeconds }

    /// Calls `pass.run(part:of:)` for every part in `0 ..< ways`
    /// concurrently, part 0 on this thread; returns when all have returned.
    public func run(_ pass: SplitPass) {
        shared.job = pass
        for s in shared.start { s.signal() }
        pass.run(part: 0, of: ways)
        for _ in 1..<ways { shared.done.wait() }
        shared.job = nil
    }
}

/// One pass that a `PassSplitter` shares out: part `part` of `ways`.
public protocol SplitPass: AnyObject {
    func run(part: Int, of ways: Int)
}

/// What a splitter shares with its helper threads.
final class PassSplitterShared: @unchecked Sendable {
    var job: SplitPass?
    let ways: Int
    let start: [DispatchSemaphore]
    let done = DispatchSemaphore(value: 0)
    var stopping = false
    let lock = NSLock()
    var cpu = 0.0

    init(helpers: Int) {
        ways = helpers + 1
        start = (0..<helpers).map { _ in DispatchSemaphore(value: 0) }
    }

    var cpuSeconds: Double { lock.lock(); defer { lock.unlock() }; return cpu }

    func serve(part: Int) {
        while true {
            start[part - 1].wait()
            if stopping { return }
            let c0 = Clock.threadCPU()
            job!.run(part: part, of: ways)
            let c = Clock.threadCPU() - c0
            lock.lock(); cpu += c; lock.unlock()
            done.signal()
        }
    }

    func stop() {
        stopping = true
        for s in start { s.signal() }
    }
}
