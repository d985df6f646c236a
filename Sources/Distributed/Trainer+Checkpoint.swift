import Checkpointing
import Communication
import Optimization
import CSGDCore
import Foundation

/// `Trainer+Checkpoint`: how the W ranks of a run save and restore one
/// checkpoint together (every function here is collective: all ranks call
/// it at the same step).
///
/// Saving the state before step t: each rank serialises its own part (x_t,
/// its bookkeeping, its transforms' states, its error memory among them);
/// the ranks agree that every part is finite (a NaN or Inf state stops the
/// run with `NonFiniteIterate` and writes nothing, so the last good
/// checkpoint stays); each writes `rank-R.ckpt` atomically; an all-gather of
/// the files' SHA-256 digests is the barrier after which every file is
/// durable; rank 0 then writes the MANIFEST, fsyncs DIR (the new step's
/// name) and removes older checkpoints.
/// Under MPI each process writes only its own file, so DIR must be a
/// directory every rank sees. Restoring: each rank reads the newest complete
/// checkpoint's MANIFEST, checks the run against its header, checks its own
/// file against the manifest's digest and reads it; the ranks then agree, so
/// one rank's bad file stops every rank with the same one-line error.
extension Trainer {
    /// This run as a checkpoint header at step t.
    public func checkpointHeader(step t: Int) -> CheckpointHeader {
        // The optimizer's additions belong to the method: a resume must use the same.
        let extra = config.optimizer.description
        return CheckpointHeader(objective: objective.name, dimension: d, method: method.text + (extra.isEmpty ? "" : " +" + extra),
                         compressor: compressorName,
                         workers: communicator.size, seed: config.seed, stepSize: eta, step: t)
    }

    /// This rank's checkpoint file for the state before step t, and whether
    /// every Float in it is finite.
    public func checkpointFile(step t: Int, elapsed: Double) -> (bytes: [UInt8], finite: Bool) {
        var w = CheckpointWriter()
        checkpointHeader(step: t).write(to: &w)
        w.appendUInt32(UInt32(communicator.rank))
        w.appendFloats(x.readOnly)
        w.appendInt(resets)
        w.appendInt(uploadBits)
        w.appendInt(downloadBits)
        w.appendInt(firstSOSPStep ?? -1)
        w.appendDouble(elapsed)
        // The traffic so far (0 without a timing communicator), so a resumed run counts all of it.
        let timed = communicator as? TimedCommunicator
        w.appendInt(timed?.bytesSent ?? 0)
        w.appendInt(timed?.bytesReceived ?? 0)
        w.appendDouble(timed?.communicationSeconds ?? 0)
        updateNorms.save(to: &w)
        gradientNorms.save(to: &w)
        chain.saveStates(to: &w)
        return (CheckpointFile.seal(w.bytes, kind: .rank), w.allFinite)
    }

    /// Restores this rank from its file's bytes (the contents of `path`),
    /// which must hash to `digest` and carry `header`.
    public func restoreCheckpointFile(_ bytes: [UInt8], path: String, header: CheckpointHeader, digest: [UInt8]) throws {
        var r = try CheckpointFile.open(bytes, path: path, kind: .rank)
        guard CheckpointFile.sha256(bytes) == digest else {
            throw r.error("does not match its MANIFEST (another checkpoint's file, or changed since)")
        }
        let h = try CheckpointHeader.read(from: &r)
        guard h == header else { throw r.error("does not match its MANIFEST: the headers differ") }
        let rank = Int(try r.readUInt32("the rank"))
        guard rank == communicator.rank else { throw r.error("holds rank \(rank)'s state where rank \(communicator.rank)'s belongs") }
        // A shared iterate is restored once, by rank 0; every rank's file
        // holds the same x_t, which the others read past (into their scratch).
        try r.readFloats(into: sharesIterate && communicator.rank != 0 ? scratch.buffer : x.buffer, "the parameters x_t")
        resets = try r.readInt("the reset count")
        uploadBits = try r.readInt("the upload bits")
        downloadBits = try r.readInt("the download bits")
        let first = try r.readInt("the first ε-SOSP step")
        // −1 is "none yet" (what `checkpointFile` writes for nil); below it is corruption.
        guard first >= -1 else { throw r.error("is corrupt: the first ε-SOSP step is \(first)") }
        firstSOSPStep = first >= 0 ? first : nil
        let elapsed = try r.readDouble("the elapsed time")
        guard elapsed >= 0, elapsed.isFinite else { throw r.error("is corrupt: the elapsed time is \(elapsed) s") }
        elapsedBefore = elapsed
        let sent = try r.readInt("the bytes sent"), received = try r.readInt("the bytes received")
        let seconds = try r.readDouble("the communication time")
        guard sent >= 0, received >= 0, seconds >= 0, seconds.isFinite else {
            throw r.error("is corrupt: its traffic so far is \(sent) bytes sent, \(received) received in \(seconds) s")
        }
        (communicator as? TimedCommunicator)?.resumeTotals(bytesSent: sent, bytesReceived: received, communicationSeconds: seconds)
        try updateNorms.restore(from: &r, "the update-norm window")
        try gradientNorms.restore(from: &r, "the gradient-norm window")
        try chain.restoreStates(from: &r)
        try r.finish("the transforms' states")
    }

    /// At the start of `run`: resumes from the newest complete checkpoint
    /// (`policy.resume`) or checks that the directory holds none. Returns
    /// the first step to run.
    func openCheckpoints(_ policy: CheckpointPolicy) throws -> Int {
        let dir = CheckpointDirectory(policy.directory)
        var first = 0
        var failure: Error?
        do {
            if !policy.resume {
                createdCheckpointDirectory = !FileManager.default.fileExists(atPath: dir.path)
                try dir.create()
            }
            // Rank 0 holds the directory's lock for the run (a missing
            // directory under --resume is refused by restoreNewest).
            if communicator.rank == 0, FileManager.default.fileExists(atPath: dir.path) {
                checkpointLock = try CheckpointLock(directory: dir.path)
            }
            if policy.resume {
                first = try restoreNewest(dir)
            } else {
                if let t = dir.newestComplete() {
                    throw CSGDError("checkpoint directory '\(dir.path)' already holds a checkpoint (step \(t)): pass --resume to continue it, or give an empty directory")
                }
                if communicator.rank == 0, let command = policy.command { try dir.writeCommand(command) }
            }
        } catch {
            failure = error
        }
        try uncounted { try agree(failure) }
        return first
    }

    /// At the end of `run`, however it ended: releases the directory's lock
    /// and, when a fresh run ended without a complete checkpoint (it failed
    /// or diverged before the first), removes the command line it kept and,
    /// when it made the directory, what else it left there (the lock file,
    /// unfinished steps) and the directory, so a failed run leaves no empty
    /// checkpoint directory.
    func closeCheckpoints() {
        defer { checkpointLock = nil }
        guard checkpointLock != nil, let policy = config.checkpoint, !policy.resume else { return }
        let dir = CheckpointDirectory(policy.directory)
        guard dir.newestComplete() == nil else { return }
        // No checkpoint: the command line it kept for a resume goes too.
        unlink(dir.commandPath)
        guard createdCheckpointDirectory else { return }
        for t in dir.steps() { try? FileManager.default.removeItem(atPath: dir.stepPath(t)) }
        unlink((dir.path as NSString).appendingPathComponent(CheckpointLock.fileName))
        rmdir(dir.path)   // fails, harmlessly, if anything else is in it
    }

    /// Restores this rank from the newest complete checkpoint in `dir`; returns its step.
    func restoreNewest(_ dir: CheckpointDirectory) throws -> Int {
        guard let t = dir.newestComplete() else { throw CSGDError("--resume: no complete checkpoint in '\(dir.path)'") }
        let manifestPath = dir.manifestPath(step: t)
        let manifest = try CheckpointManifest.load(manifestPath)
        let header = manifest.header
        if let m = header.mismatch(with: checkpointHeader(step: header.step), source: dir.stepPath(t)) { throw CSGDError(m) }
        guard header.step == t else {
            throw CSGDError("checkpoint '\(manifestPath)' is corrupt: it says step \(header.step) in the directory of step \(t)")
        }
        guard t <= config.steps else {
            throw CSGDError("cannot resume from '\(dir.stepPath(t))': it is at step \(t), past --steps \(config.steps)")
        }
        let path = dir.rankPath(step: t, rank: communicator.rank)
        try restoreCheckpointFile(try CheckpointFile.read(path), path: path, header: header, digest: manifest.digests[communicator.rank])
        return t
    }

    /// Saves the state before step t (see the type's comment).
    func saveCheckpoint(step t: Int, elapsed: Double, policy: CheckpointPolicy) throws {
        let dir = CheckpointDirectory(policy.directory)
        let (bytes, finite) = checkpointFile(step: t, elapsed: elapsed)
        try uncounted { try agree(finite ? nil : NonFiniteIterate(step: t)) }
        var failure: Error?
        do {
            try dir.createStep(t)
            try CheckpointFile.writeAtomically(bytes, to: dir.rankPath(step: t, rank: communicator.rank))
        } catch {
            failure = error
        }
        // Every rank's digest (or its failure): the barrier after which
        // every rank's file is durable.
        let all = try uncounted { try communicator.allGather(failure.map(Self.failureBytes) ?? [0] + CheckpointFile.sha256(bytes)) }
        try Self.raiseFirstFailure(all)
        guard communicator.rank == 0 else { return }
        try config.onCheckpoint?(t, x.readOnly, dir.stepPath(t))
        let manifest = CheckpointManifest(header: checkpointHeader(step: t), digests: all.map { Array($0.dropFirst()) })
        try CheckpointFile.writeAtomically(manifest.sealed(), to: dir.manifestPath(step: t))
        try CheckpointFile.syncDirectory(dir.path)
        dir.prune(before: t)
    }

    /// `body`'s collectives kept out of the run's traffic figures: a
    /// checkpoint's exchanges are not the method's communication, and a
    /// resumed run must report what an uninterrupted one does.
    func uncounted<T>(_ body: () throws -> T) rethrows -> T {
        guard let timed = communicator as? TimedCommunicator else { return try body() }
        return try timed.uncounted(body)
    }

    /// Every rank tells whether it failed; if any did, all throw the
    /// lowest such rank's error (a `NonFiniteIterate` or an `IOFailure` stays one).
    func agree(_ failure: Error?) throws {
        try Self.raiseFirstFailure(try communicator.allGather(failure.map(Self.failureBytes) ?? [0]))
    }

    /// A failure as gathered bytes: 1 and the step of a non-finite state,
    /// 3 and the message of an `IOFailure` (a full disk), or 2 and the message.
    static func failureBytes(_ e: Error) -> [UInt8] {
        if let n = e as? NonFiniteIterate { return [1] + withUnsafeBytes(of: UInt64(n.step).littleEndian) { Array($0) } }
        if let io = e as? IOFailure { return [3] + Array(io.message.utf8) }
        return [2] + Array(String(describing: e).utf8)
    }

    static func raiseFirstFailure(_ all: [[UInt8]]) throws {
        for b in all {
            switch b.first {
            case 1?:
                var step: UInt64 = 0
                for byte in b.dropFirst().reversed() { step = step << 8 | UInt64(byte) }
                throw NonFiniteIterate(step: Int(step))
            case 2?:
                throw CSGDError(String(decoding: b.dropFirst(), as: UTF8.self))
            case 3?:
                throw IOFailure(String(decoding: b.dropFirst(), as: UTF8.self))
            default:
                continue
            }
        }
    }
}
