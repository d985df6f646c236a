import CFiber
import CSGDCore
import Foundation

/// Runs W ranks in one process on a bounded pool of T OS threads.
///
/// Every rank must be live at once, since each collective waits for all of
/// them, but a rank need not own a thread: with T < W, thread i runs ranks
/// i, i + T, i + 2T, … as fibers (`RankFiber`), each on a stack of its own,
/// and a rank waiting in a collective suspends so that its thread runs the
/// next. A thread with one rank runs it on its own stack. The results do not
/// depend on T: collectives combine the ranks' data in rank order.
///
/// `body(r)` runs as rank r and its results come back by rank. A rank that
/// throws should abort its communicator first (so that no other rank waits
/// forever in a collective); `run` waits for every rank, then rethrows the
/// first error that is not an echo of another rank's abort
/// (`CommunicatorError`), else the first error. A single rank runs on the
/// calling thread. Threads and fiber stacks are made before any rank starts:
/// if one cannot be, `run` throws without running anything.
public enum RankThreads {
    /// Stack of each rank (thread or fiber): deep enough for the networks'
    /// recursion. Reserved, not committed: a rank's stack costs the pages it
    /// touches.
    public static let stackSize = 8 << 20

    /// The pool's threads when the caller does not say: one a core.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Throws, naming the limit, when W ranks cannot run on T threads on
    /// this system: each rank beyond one a thread is a fiber whose stack and
    /// guard page take two memory maps, and a process has at most
    /// `vm.max_map_count` of them. Cheap; call it before building the ranks.
    public static func checkCapacity(workers: Int, threads: Int) throws {
        let t = max(1, min(workers, threads))
        guard workers > 1 else { return }
        // A thread's stack and guard page are two maps as well.
        let needed = (t < workers ? workers + t : t) * Int(csgd_fiber_maps_per_fiber())
        guard let limit = readInt("/proc/sys/vm/max_map_count") else { return }
        let inUse = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8))?.utf8.lazy.filter { $0 == 10 }.count ?? 0
        let spare = 4096   // for the run's own allocations
        if needed + inUse + spare > limit {
            let most = max(0, (limit - inUse - spare) / Int(csgd_fiber_maps_per_fiber()))
            throw CSGDError("\(workers) workers on \(t) threads need \(needed) memory maps for their stacks, "
                + "over this system's limit of \(limit) (vm.max_map_count, \(inUse) in use); at most about \(most) workers fit")
        }
    }

    /// Runs `body` as ranks 0..<workers on `threads` OS threads (at most W;
    /// nil: `defaultThreads`).
    public static func run<T>(_ workers: Int, threads: Int? = nil, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        precondition(workers >= 1, "at least one rank")
        if workers == 1 { return [try body(0)] }
        let t = max(1, min(workers, threads ?? defaultThreads))
        try checkCapacity(workers: workers, threads: t)
        let results = Results<T>(count: workers)
        let gate = StartGate()
        var lanes: [Lane] = []
        for i in 0..<t {
            let ranks = Array(stride(from: i, to: workers, by: t))
            let waker = PoolThreadWaker()
            var fibers: [RankFiber] = []
            if ranks.count > 1 {
                for r in ranks {
                    fibers.append(try RankFiber(rank: r, stackBytes: stackSize, waker: waker) {
                        results.set(r, Result { try body(r) })
                    })
                }
            }
            let single = ranks[0]
            lanes.append(Lane(waker: waker, fibers: fibers, direct: ranks.count == 1 ? { results.set(single, Result { try body(single) }) } : nil))
        }
        var started: [pthread_t] = []
        var failure: Int32 = 0
        for lane in lanes {
            let context = Unmanaged.passRetained(LaneStart(lane: lane, gate: gate)).toOpaque()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, stackSize)
            var thread = pthread_t()
            let rc = pthread_create(&thread, &attributes, { context in
                let start = Unmanaged<LaneStart>.fromOpaque(context!).takeRetainedValue()
                if start.gate.waitOpen() { start.lane.run() }
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
            if rc != 0 {
                Unmanaged<LaneStart>.fromOpaque(context).release()
                failure = rc
                break
            }
            started.append(thread)
        }
        gate.open(run: failure == 0)
        for thread in started { pthread_join(thread, nil) }
        if failure != 0 {
            throw CSGDError("cannot start worker thread \(started.count + 1) of \(t): \(String(cString: strerror(failure)))")
        }
        let all = results.all()
        let errors = all.compactMap { r -> Error? in if case let .failure(e) = r { return e }; return nil }
        if let e = errors.first(where: { !($0 is CommunicatorError) }) ?? errors.first { throw e }
        return all.map { if case let .success(v) = $0 { return v }; fatalError("unreachable: no error and no value") }
    }

    /// One pool thread's ranks: a rank run directly, or fibers resumed in
    /// turn until all have finished, sleeping while every one waits.
    final class Lane: @unchecked Sendable {
        let waker: PoolThreadWaker
        let fibers: [RankFiber]
        let direct: (() -> Void)?
        init(waker: PoolThreadWaker, fibers: [RankFiber], direct: (() -> Void)?) {
            self.waker = waker; self.fibers = fibers; self.direct = direct
        }
        func run() {
            if let direct { return direct() }
            var live = fibers
            while true {
                for f in live { f.resume() }
                live.removeAll { $0.finished }
                if live.isEmpty { return }
                waker.sleep()
            }
        }
    }

    final class LaneStart {
        let lane: Lane
        let gate: StartGate
        init(lane: Lane, gate: StartGate) { self.lane = lane; self.gate = gate }
    }

    /// Holds the pool's threads until all exist; tells them to run or to end.
    final class StartGate: @unchecked Sendable {
        private let condition = NSCondition()
        private var decision: Bool?
        func open(run: Bool) { condition.lock(); decision = run; condition.broadcast(); condition.unlock() }
        func waitOpen() -> Bool {
            condition.lock(); defer { condition.unlock() }
            while decision == nil { condition.wait() }
            return decision!
        }
    }

    /// Per-rank results written by the ranks.
    final class Results<T>: @unchecked Sendable {
        private var values: [Result<T, Error>?]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ r: Int, _ v: Result<T, Error>) { lock.lock(); values[r] = v; lock.unlock() }
        /// Every rank's result; called after every thread has ended.
        func all() -> [Result<T, Error>] {
            lock.lock(); defer { lock.unlock() }
            return values.map { $0! }
        }
    }

    private static func readInt(_ path: String) -> Int? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
