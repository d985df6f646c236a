import CSGDCore
import Dispatch
import Foundation

/// Runs an experiment's unfinished runs, up to `jobs` at once, and keeps
/// each finished one in the store (log, summary, command line), written
/// under temporary names and renamed at the end. A run that exits non-zero
/// is kept as failed (`KEY.failed` holds its last error line): the same
/// arguments give the same failure, so it is not retried either.
public struct RunScheduler: Sendable {
    public var store: RunStore
    public var launcher: any RunLauncher
    public var jobs: Int

    public init(store: RunStore, launcher: any RunLauncher, jobs: Int) {
        self.store = store; self.launcher = launcher; self.jobs = max(1, jobs)
    }

    /// Progress after each run: runs done (finished before included), the
    /// total, seconds since this call began, and the estimated seconds left.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var elapsed: Double
        public var remaining: Double?
    }

    /// The failure kept for a run, if it failed.
    public func failure(_ run: RunSpec) -> String? {
        (try? String(contentsOf: failureURL(run), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func failureURL(_ run: RunSpec) -> URL { store.runsDirectory.appendingPathComponent("\(run.key).failed") }

    func isDone(_ run: RunSpec) -> Bool {
        store.isFinished(run) || FileManager.default.fileExists(atPath: failureURL(run).path)
    }

    /// Runs every run not yet done; `progress` is called after each (on any thread, one call at a time).
    public func run(_ runs: [RunSpec], progress: @escaping @Sendable (Progress) -> Void) throws {
        try store.prepare()
        removeLeftovers()
        let unique = Array(Dictionary(runs.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }).values)
            .sorted { $0.key < $1.key }
        let pending = unique.filter { !isDone($0) }
        let state = SchedulerState(total: unique.count, alreadyDone: unique.count - pending.count)
        progress(state.snapshot())
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        let queue = DispatchQueue(label: "csgd.reproduce.runs", attributes: .concurrent)
        for run in pending {
            if state.error != nil { break }
            slots.wait()
            group.enter()
            queue.async {
                defer { slots.signal(); group.leave() }
                do {
                    try self.execute(run)
                    state.finishOne(progress)
                } catch {
                    state.fail(error)
                }
            }
        }
        group.wait()
        if let e = state.error { throw e }
    }

    /// Deletes the temporary files of runs that a killed reproduction left
    /// behind (`.KEY.tmp-PID.*` whose process PID no longer exists);
    /// finished runs and a live reproduction's files are never touched.
    func removeLeftovers() {
        let dir = store.runsDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for n in names where n.hasPrefix(".") {
            guard let r = n.range(of: ".tmp-"),
                  let pid = Int32(n[r.upperBound...].prefix { $0.isNumber }) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: dir.appendingPathComponent(n))
            }
        }
    }

    /// One run: launch, then keep its files or its failure.
    func execute(_ run: RunSpec) throws {
        let tag = ".\(run.key).tmp-\(getpid())"
        let dir = store.runsDirectory
        let log = dir.appendingPathComponent("\(tag).jsonl"), out = dir.appendingPathComponent("\(tag).out")
        let err = dir.appendingPathComponent("\(tag).err")
        defer { for u in [log, out, err] { try? FileManager.default.removeItem(at: u) } }
        let status = try launcher.launch(arguments: run.arguments + ["--log", log.path, "--json"], stdout: out, stderr: err)
        try Files.writeAtomically(Data((run.commandLine + "\n").utf8), to: store.argumentsURL(run))
        guard status == 0 else {
            let lines = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
                .split(separator: "\n").map(String.init)
            let message = lines.last(where: { !$0.hasPrefix("\r") && !$0.isEmpty }) ?? "exit status \(status)"
            // Status 1 is the machine's failure (a file that could not be
            // written: a full disk), not the arguments': it is not kept, so
            // that --resume runs it again.
            if status == 1 {
                let prefix = "csgd: error: "
                throw IOFailure("run \(run.key) failed: " + (message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message))
            }
            try Files.writeAtomically(Data("exit \(status): \(message)\n".utf8), to: failureURL(run))
            return
        }
        let stdout = String(decoding: try Files.read(out), as: UTF8.self)
        guard let summary = stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw CSGDError("run \(run.key) printed no JSON summary: \(run.commandLine)")
        }
        if !FileManager.default.fileExists(atPath: log.path), !FileManager.default.createFile(atPath: log.path, contents: nil) {
            throw CSGDError("cannot create \(log.path)")
        }
        try Files.rename(log, to: store.logURL(run))
        try Files.writeAtomically(Data((summary + "\n").utf8), to: store.summaryURL(run))
    }
}

/// Counts shared by the scheduler's run threads.
final class SchedulerState: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private let total: Int
    private let alreadyDone: Int
    private var finishedHere = 0
    private var firstError: Error?

    init(total: Int, alreadyDone: Int) { self.total = total; self.alreadyDone = alreadyDone }

    var error: Error? { lock.lock(); defer { lock.unlock() }; return firstError }

    func fail(_ e: Error) { lock.lock(); if firstError == nil { firstError = e }; lock.unlock() }

    /// Counts a finished run and reports, under the lock (one report at a time, in order).
    func finishOne(_ report: (RunScheduler.Progress) -> Void) {
        lock.lock(); defer { lock.unlock() }
        finishedHere += 1
        report(snapshotLocked())
    }

    func snapshot() -> RunScheduler.Progress { lock.lock(); defer { lock.unlock() }; return snapshotLocked() }

    private func snapshotLocked() -> RunScheduler.Progress {
        let elapsed = Date().timeIntervalSince(start)
        let left = total - alreadyDone - finishedHere
        let eta: Double? = finishedHere > 0 ? elapsed / Double(finishedHere) * Double(left) : (left == 0 ? 0 : nil)
        return .init(done: alreadyDone + finishedHere, total: total, elapsed: elapsed, remaining: eta)
    }
}
