import Checkpointing
import Communication
import Compression
import CSGDCore
import Foundation
import Optimization
import Problems
import XCTest
@testable import Distributed

/// Checkpoints: every transform's state survives a save and a restore, a
/// resumed run gives the bits of an uninterrupted one, bad files and other
/// runs' checkpoints are refused with one line naming the file or the field,
/// leftovers of an interrupted write never count, and a non-finite state is
/// never saved over a good checkpoint.
final class CheckpointTests: XCTestCase {
    var directories: [String] = []

    override func tearDown() {
        for d in directories { try? FileManager.default.removeItem(atPath: d) }
        directories = []
    }

    func temporaryDirectory() -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-ckpt-\(UUID().uuidString)").path
        directories.append(p)
        return p
    }

    // MARK: transform states

    /// Saves `state`, restores into a fresh state and saves that again:
    /// the two byte strings must be equal and the reader used up.
    func roundTrip<T: GradientTransform>(_ t: T, d: Int, _ fill: (inout T.State) -> Void,
                                         file: StaticString = #filePath, line: UInt = #line) throws -> (T.State, [UInt8]) {
        var a = t.initialState(dimension: d, workers: 2)
        fill(&a)
        var w = CheckpointWriter()
        t.saveState(a, to: &w)
        var b = t.initialState(dimension: d, workers: 2)
        var r = CheckpointReader(w.bytes, file: "memory")
        try t.restoreState(&b, from: &r)
        try r.finish("the state")
        var again = CheckpointWriter()
        t.saveState(b, to: &again)
        XCTAssertEqual(w.bytes, again.bytes, "\(T.self)", file: file, line: line)
        return (b, w.bytes)
    }

    func randomFloats(_ b: FloatBuffer, _ seed: UInt64) {
        RandomFill.gaussian(RandomKey(seed: seed, step: 0, purpose: .test), sigma: 1, into: b.buffer)
    }

    func bits(_ b: FloatBuffer) -> [UInt32] { b.array.map(\.bitPattern) }

    func testEveryTransformStateRoundTrips() throws {
        let d = 37
        let topk = try CompressorSpec.parse("topk:5").make(dimension: d)
        let feedback = ErrorFeedback(topk, noise: 0.1)
        let memory = FloatBuffer(count: d)
        randomFloats(memory, 1)

        let (ef, efBytes) = try roundTrip(feedback, d: d) { $0.memory.copy(from: memory) }
        XCTAssertEqual(bits(ef.memory), bits(memory))
        XCTAssertEqual(efBytes.count, 8 + 4 * d)

        let reset = ErrorReset(rule: ResetRule(I: 5, R: 0.1, F: 0), eta: 0.1, feedback: feedback)
        let anchor = FloatBuffer(count: d)
        randomFloats(anchor, 2)
        let (er, _) = try roundTrip(reset, d: d) { s in
            s.anchor.copy(from: anchor); s.fAnchor = -0.123456789; s.tAnchor = 42; s.feedback.memory.copy(from: memory)
        }
        XCTAssertEqual(bits(er.anchor), bits(anchor))
        XCTAssertEqual(er.fAnchor.bitPattern, (-0.123456789).bitPattern)
        XCTAssertEqual(er.tAnchor, 42)
        XCTAssertEqual(bits(er.feedback.memory), bits(memory))

        let pgd = PerturbWhenSmall(PGDParameters.derive(d: d, ell: 1, rho: 1, eps: 0.01, c: 1, delta: 0.1, deltaF: 1))
        let (fresh, _) = try roundTrip(pgd, d: d) { _ in }
        XCTAssertEqual(fresh.tNoise, Int.min / 2, "a never-perturbed state stays so")
        let (p, _) = try roundTrip(pgd, d: d) { s in s.xTilde.copy(from: anchor); s.fTilde = 3.5; s.tNoise = 17 }
        XCTAssertEqual(bits(p.xTilde), bits(anchor))
        XCTAssertEqual(p.fTilde, 3.5)
        XCTAssertEqual(p.tNoise, 17)

        let cnc = CurvatureStep(gThres: 0.1, tThres: 5, stepSize: 0.2)
        XCTAssertEqual(try roundTrip(cnc, d: d) { _ in }.0.tNoise, Int.min / 2)
        XCTAssertEqual(try roundTrip(cnc, d: d) { $0.tNoise = 99 }.0.tNoise, 99)

        // Transforms whose state is scratch rewritten every step save nothing.
        XCTAssertEqual(try roundTrip(StochasticGradient(batch: 4), d: d) { _ in }.1, [])
        XCTAssertEqual(try roundTrip(CompressMessage(topk), d: d) { _ in }.1, [])
        XCTAssertEqual(try roundTrip(CompressMessage(topk, noise: 0.1), d: d) { _ in }.1, [])
        XCTAssertEqual(try roundTrip(AverageMessages(), d: d) { _ in }.1, [])
        XCTAssertEqual(try roundTrip(SGDStep(), d: d) { _ in }.1, [])

        // A memory of another dimension is refused, naming the file.
        var w = CheckpointWriter()
        feedback.saveState(ef, to: &w)
        var wrong = feedback.initialState(dimension: d + 1, workers: 2)
        var r = CheckpointReader(w.bytes, file: "/x/rank-0.ckpt")
        XCTAssertThrowsError(try feedback.restoreState(&wrong, from: &r)) { e in
            XCTAssertTrue("\(e)".contains("'/x/rank-0.ckpt'") && "\(e)".contains("\(d) floats"), "\(e)")
        }
    }

    func testRecentMeanWindowRoundTrips() throws {
        var a = RecentMean(capacity: 100)
        for i in 0..<150 { a.append(Double(i) * 0.37) }
        var w = CheckpointWriter()
        a.save(to: &w)
        var b = RecentMean(capacity: 100)
        var r = CheckpointReader(w.bytes, file: "memory")
        try b.restore(from: &r, "window")
        try r.finish("window")
        XCTAssertEqual(a.mean.bitPattern, b.mean.bitPattern)
        a.append(1e9); b.append(1e9)
        XCTAssertEqual(a.mean.bitPattern, b.mean.bitPattern)
    }

    func testChainStatesRoundTripAndRefuseAnotherMethod() throws {
        let objective = try ProblemSpec.make("phase-retrieval:d=12,n=40")
        func chain(_ method: String, _ c: String) throws -> TransformChain {
            let m = try Methods.parse(method)
            let built = try m.chain(compressor: try CompressorSpec.parse(c).make(dimension: 12), objective: objective,
                                    context: MethodContext(learningRate: 0.01))
            return TransformChain(built.transforms, dimension: 12, workers: 1)
        }
        let a = try chain("alg1:sigma=0.01,reset=on,I=5,R=0.1", "topk:3")
        var w = CheckpointWriter()
        a.saveStates(to: &w)
        let b = try chain("alg1:sigma=0.01,reset=on,I=5,R=0.1", "topk:3")
        var r = CheckpointReader(w.bytes, file: "f")
        try b.restoreStates(from: &r)
        try r.finish("chain")
        let other = try chain("ef-sgd", "topk:3")
        var r2 = CheckpointReader(w.bytes, file: "/d/rank-0.ckpt")
        XCTAssertThrowsError(try other.restoreStates(from: &r2)) { e in XCTAssertTrue("\(e)".contains("/d/rank-0.ckpt"), "\(e)") }
    }

    // MARK: resuming

    final class Records: @unchecked Sendable {
        let lock = NSLock()
        var all: [StepRecord] = []
        func add(_ r: StepRecord) { lock.lock(); all.append(r); lock.unlock() }
        /// Everything but the wall clock.
        var comparable: [String] {
            all.map { r in
                "\(r.step) \(r.loss.bitPattern) \(r.gradNorm.bitPattern) \(r.stochasticGradNorm.bitPattern) \(r.updateNorm.bitPattern) "
                    + "\(r.errorNorm.bitPattern) \(String(describing: r.lambdaMin)) \(String(describing: r.isSOSP)) \(r.resets) \(r.uploadBits) \(r.downloadBits)"
            }
        }
    }

    struct Setup {
        var problem = "phase-retrieval:d=20,n=200"
        var method = "alg1:sigma=0.01,batch=4"
        var compressor: String? = "randomk:0.25"
        var workers = 1
        var lr: Double? = 0.02
        var seed: UInt64 = 5
        var eps: Double?
    }

    func run(_ s: Setup, steps: Int, checkpoint: CheckpointPolicy? = nil, records: Records? = nil) throws -> RunSummary {
        let objective = try ProblemSpec.make(s.problem)
        let config = TrainerConfiguration(steps: steps, seed: s.seed, learningRate: s.lr, logEvery: 10, epsilon: s.eps,
                                          certifyEvery: s.eps != nil ? 50 : 0, checkpoint: checkpoint)
        var onRecord: (@Sendable (StepRecord) -> Void)?
        if let records { onRecord = { records.add($0) } }
        return try InProcessRun.run(objective: objective, method: try Methods.parse(s.method),
                                    compressor: try s.compressor.map(CompressorSpec.parse), workers: s.workers, config: config,
                                    onRecord: onRecord)
    }

    /// Runs `steps` uninterrupted, then `stopAt` steps with checkpoints
    /// every `every`, then resumes to `steps`: same bits, same records.
    func assertResumeIsExact(_ s: Setup, steps: Int, stopAt: Int, every: Int, file: StaticString = #filePath, line: UInt = #line) throws -> RunSummary {
        let whole = Records(), first = Records(), second = Records()
        let reference = try run(s, steps: steps, records: whole)
        let dir = temporaryDirectory()
        _ = try run(s, steps: stopAt, checkpoint: try Self.interrupted(dir, every: every), records: first)
        let resumeStep = try XCTUnwrap(CheckpointDirectory(dir).newestComplete(), file: file, line: line)
        XCTAssertEqual(resumeStep, (stopAt - 1) / every * every, file: file, line: line)
        let resumed = try run(s, steps: steps, checkpoint: try CheckpointPolicy(directory: dir, every: every, resume: true), records: second)
        let what = "\(s.method) \(s.compressor ?? "-") W=\(s.workers)"
        XCTAssertEqual(resumed.paramsSHA256, reference.paramsSHA256, what, file: file, line: line)
        XCTAssertEqual(resumed.uploadBitsPerWorker, reference.uploadBitsPerWorker, what, file: file, line: line)
        XCTAssertEqual(resumed.downloadBitsPerWorker, reference.downloadBitsPerWorker, what, file: file, line: line)
        XCTAssertEqual(resumed.resets, reference.resets, what, file: file, line: line)
        XCTAssertEqual(resumed.steps, reference.steps, what, file: file, line: line)
        XCTAssertEqual(resumed.firstSOSPStep, reference.firstSOSPStep, what, file: file, line: line)
        XCTAssertEqual(resumed.finalLoss.bitPattern, reference.finalLoss.bitPattern, what, file: file, line: line)
        // The log of the interrupted run up to the checkpoint, then the resumed one: the uninterrupted log.
        let stitched = Records()
        stitched.all = first.all.filter { $0.step < resumeStep } + second.all
        XCTAssertEqual(stitched.comparable, whole.comparable, what, file: file, line: line)
        // The resumed run's clock continues the interrupted one's: the
        // stitched log's wall times never go back.
        let walls = stitched.all.map(\.wallSeconds)
        XCTAssertEqual(walls, walls.sorted(), "\(what): wall seconds \(walls)", file: file, line: line)
        return reference
    }

    func testResumedRunsGiveTheBitsOfUninterruptedOnes() throws {
        var s = Setup()
        _ = try assertResumeIsExact(s, steps: 120, stopAt: 67, every: 20)
        s.method = "ef-sgd:batch=4"; s.compressor = "topk:0.25"; s.workers = 3
        _ = try assertResumeIsExact(s, steps: 120, stopAt: 67, every: 20)
        s.compressor = "qsgd:7"; s.workers = 2
        _ = try assertResumeIsExact(s, steps: 80, stopAt: 45, every: 10)
        s.method = "sgd:batch=4"; s.compressor = "sketch-topk:4"
        _ = try assertResumeIsExact(s, steps: 80, stopAt: 45, every: 10)
        // deferred noise keeps each coordinate's first unsent step
        s.method = "alg1:sigma=0.01,batch=4,noise=deferred"; s.compressor = "randomk:0.25"; s.workers = 2
        _ = try assertResumeIsExact(s, steps: 80, stopAt: 45, every: 10)
    }

    func testResumeKeepsResetAnchorsAndCertificates() throws {
        var s = Setup()
        s.method = "alg1:sigma=0.01,batch=4,reset=on,I=7,R=0.05"; s.compressor = "topk:0.25"; s.workers = 2
        let r = try assertResumeIsExact(s, steps: 100, stopAt: 52, every: 5)
        XCTAssertGreaterThan(r.resets, 3, "the reset rule must act in this run")
        // alg1 escapes the saddle; the first certified step is before the checkpoint.
        let saddle = Setup(problem: "saddle:d=10", method: "alg1:sigma=0.01", compressor: "randomk:0.1", workers: 1, lr: 0.1, seed: 0, eps: 0.05)
        let c = try assertResumeIsExact(saddle, steps: 600, stopAt: 560, every: 50)
        XCTAssertNotNil(c.firstSOSPStep)
    }

    func testResumeKeepsPGDAndCNCState() throws {
        let pgd = Setup(problem: "saddle:d=10", method: "pgd:eps=0.01", compressor: nil, workers: 1, lr: nil, seed: 0, eps: nil)
        let p = try assertResumeIsExact(pgd, steps: 700, stopAt: 330, every: 30)
        XCTAssertLessThan(p.finalLoss, -0.1, "PGD must have perturbed and left the saddle")
        let cnc = Setup(problem: "saddle:d=10,noise=0.1", method: "cnc:batch=1", compressor: nil, workers: 2, lr: 0.1, seed: 0, eps: nil)
        _ = try assertResumeIsExact(cnc, steps: 200, stopAt: 113, every: 10)
    }

    /// A run resumed from a checkpoint that recorded W seconds reports its
    /// wall time (in the summary and in every record) as W plus its own.
    func testResumedWallTimeAddsTheTimeBeforeTheCheckpoint() throws {
        let s = Setup(), dir = temporaryDirectory()
        let policy = try Self.interrupted(dir, every: 10)
        let trainer = try Trainer(objective: try ProblemSpec.make(s.problem), method: try Methods.parse(s.method),
                                  compressor: try CompressorSpec.parse(try XCTUnwrap(s.compressor)).make(dimension: 20),
                                  communicator: InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0),
                                  config: TrainerConfiguration(steps: 40, seed: s.seed, learningRate: s.lr, logEvery: 10, checkpoint: policy))
        for t in 0..<20 { _ = try trainer.step(t) }
        try CheckpointDirectory(dir).create()
        let before = 1000.0
        try trainer.saveCheckpoint(step: 20, elapsed: before, policy: policy)
        let records = Records()
        let t0 = Clock.now()
        let resumed = try run(s, steps: 40, checkpoint: try CheckpointPolicy(directory: dir, every: 10, resume: true), records: records)
        let own = Clock.now() - t0
        XCTAssertEqual(resumed.steps, 40)
        XCTAssertGreaterThanOrEqual(resumed.wallSeconds, before)
        XCTAssertLessThanOrEqual(resumed.wallSeconds, before + own, "the time before the checkpoint is counted once")
        XCTAssertEqual(records.all.map(\.step), [20, 30, 40])
        for r in records.all {
            XCTAssertGreaterThanOrEqual(r.wallSeconds, before, "step \(r.step)")
            XCTAssertLessThanOrEqual(r.wallSeconds, resumed.wallSeconds, "step \(r.step)")
        }
    }

    /// The policy of a run that stands for one interrupted after its last
    /// interval checkpoint: no checkpoint at its last step.
    static func interrupted(_ dir: String, every: Int) throws -> CheckpointPolicy {
        var p = try CheckpointPolicy(directory: dir, every: every)
        p.final = false
        return p
    }

    /// A finished run ends with a checkpoint at its last step (between two
    /// interval ones), from which a longer run continues to the bits of one
    /// that never stopped.
    func testAFinishedRunCanBeContinued() throws {
        let s = Setup()
        let dir = temporaryDirectory()
        _ = try run(s, steps: 47, checkpoint: try CheckpointPolicy(directory: dir, every: 10))
        XCTAssertEqual(CheckpointDirectory(dir).completeSteps(), [47])
        let longer = try run(s, steps: 90, checkpoint: try CheckpointPolicy(directory: dir, every: 10, resume: true))
        XCTAssertEqual(longer.paramsSHA256, try run(s, steps: 90).paramsSHA256)
        XCTAssertEqual(CheckpointDirectory(dir).completeSteps(), [90])
    }

    // MARK: bad input

    /// A complete checkpoint at step 20 of a W = 2 run.
    func writtenCheckpoint() throws -> (dir: String, setup: Setup) {
        var s = Setup()
        s.workers = 2
        let dir = temporaryDirectory()
        _ = try run(s, steps: 25, checkpoint: try Self.interrupted(dir, every: 10))
        XCTAssertEqual(CheckpointDirectory(dir).completeSteps(), [20], "older checkpoints are removed")
        return (dir, s)
    }

    func resumeError(_ s: Setup, dir: String, steps: Int = 40, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try run(s, steps: steps, checkpoint: try CheckpointPolicy(directory: dir, every: 10, resume: true))
            XCTFail("resumed from a bad checkpoint", file: file, line: line)
            return ""
        } catch let e as CSGDError {
            XCTAssertFalse(e.message.contains("\n"), "one line: \(e.message)", file: file, line: line)
            return e.message
        } catch {
            XCTFail("not a CSGDError: \(error)", file: file, line: line)
            return ""
        }
    }

    func copy(_ dir: String) throws -> String {
        let to = temporaryDirectory()
        try FileManager.default.copyItem(atPath: dir, toPath: to)
        return to
    }

    func testCorruptTruncatedAndForeignFilesAreRejectedNamingTheFile() throws {
        let (dir, s) = try writtenCheckpoint()
        typealias Damage = (name: String, file: String, expect: String, damage: (inout [UInt8]) -> Void)
        let cases: [Damage] = [
            ("truncated", "rank-1.ckpt", "truncated", { $0.removeLast($0.count / 2) }),
            ("truncated to a magic prefix", "rank-1.ckpt", "truncated", { $0.removeLast($0.count - 5) }),
            ("empty", "rank-0.ckpt", "truncated", { $0 = [] }),
            ("bit flip", "rank-0.ckpt", "checksum", { $0[$0.count / 2] ^= 0x10 }),
            ("bit flip in the checksum", "rank-1.ckpt", "checksum", { $0[$0.count - 1] ^= 0x01 }),
            ("wrong magic", "rank-0.ckpt", "bad magic", { $0[0] = UInt8(ascii: "X") }),
            ("another version", "rank-1.ckpt", "version", { $0[8] = 9 }),
            ("trailing bytes", "rank-1.ckpt", "corrupt", { $0.append(0) }),
            ("manifest truncated", "MANIFEST", "truncated", { $0.removeLast(7) }),
            ("manifest bit flip", "MANIFEST", "checksum", { $0[30] ^= 0x80 }),
            ("manifest wrong magic", "MANIFEST", "bad magic", { $0[3] = 0 }),
        ]
        for c in cases {
            let d = try copy(dir)
            let path = CheckpointDirectory(d).stepPath(20) + "/" + c.file
            var bytes = try CheckpointFile.read(path)
            c.damage(&bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let message = resumeError(s, dir: d)
            XCTAssertTrue(message.contains("'\(path)'"), "\(c.name): \(message)")
            XCTAssertTrue(message.contains(c.expect), "\(c.name): \(message)")
        }
        // Another rank's file (valid on its own) in rank 1's place: its digest is not the manifest's.
        let d = try copy(dir)
        let step = CheckpointDirectory(d).stepPath(20)
        try FileManager.default.removeItem(atPath: step + "/rank-1.ckpt")
        try FileManager.default.copyItem(atPath: step + "/rank-0.ckpt", toPath: step + "/rank-1.ckpt")
        let foreign = resumeError(s, dir: d)
        XCTAssertTrue(foreign.contains("'\(step)/rank-1.ckpt'") && foreign.contains("MANIFEST"), foreign)
        // A missing rank file.
        try FileManager.default.removeItem(atPath: step + "/rank-1.ckpt")
        XCTAssertTrue(resumeError(s, dir: d).contains("cannot read checkpoint '\(step)/rank-1.ckpt'"))
        // The untouched original still resumes.
        XCTAssertNoThrow(try run(s, steps: 40, checkpoint: try CheckpointPolicy(directory: dir, every: 10, resume: true)))
    }

    /// A rank file whose first ε-SOSP step is below −1 (the "none yet" it
    /// writes) is corrupt and refused naming the file; found by fuzzing the
    /// reader, which took −62975 as "none" and saved it back as −1.
    /// `trainer`'s rank file for step 5 with the 8-byte fields that follow
    /// the header, the rank, x and `afterCounts` counts set to `words`
    /// (little-endian), sealed again.
    static func rankFile(of trainer: Trainer, path: String, afterCounts: Int, words: [UInt64]) throws -> [UInt8] {
        var bytes = trainer.checkpointFile(step: 5, elapsed: 2).bytes
        var r = try CheckpointFile.open(bytes, path: path, kind: .rank)
        _ = try CheckpointHeader.read(from: &r)
        _ = try r.readUInt32("rank")
        var x = [Float](repeating: 0, count: trainer.d)
        try x.withUnsafeMutableBufferPointer { try r.readFloats(into: $0, "x") }
        for _ in 0..<afterCounts { _ = try r.readInt("count") }
        var o = r.offset
        for v in words {
            withUnsafeBytes(of: v.littleEndian) { bytes.replaceSubrange(o ..< o + 8, with: $0) }
            o += 8
        }
        return CheckpointFile.seal(Array(bytes[CheckpointFile.headerBytes ..< bytes.count - CheckpointFile.digestBytes]), kind: .rank)
    }

    func testAFirstSOSPStepBelowMinusOneIsRefused() throws {
        let trainer = try Trainer(objective: try ProblemSpec.make("saddle:d=10"), method: try Methods.parse("sgd"),
                                  compressor: try CompressorSpec.parse("none").make(dimension: 10),
                                  communicator: InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0),
                                  config: TrainerConfiguration(steps: 10, learningRate: 0.1))
        let path = "ckpt/step-0000000005/rank-0.ckpt"
        // The saved file with the first-SOSP field (after the header, the
        // rank, x and three counts) set to `first`, sealed again.
        func file(first: Int) throws -> [UInt8] {
            try Self.rankFile(of: trainer, path: path, afterCounts: 3, words: [UInt64(bitPattern: Int64(first))])
        }
        let header = trainer.checkpointHeader(step: 5)
        for first in [-1, 7] {
            let f = try file(first: first)
            XCTAssertNoThrow(try trainer.restoreCheckpointFile(f, path: path, header: header, digest: CheckpointFile.sha256(f)))
            XCTAssertEqual(trainer.firstSOSPStep, first >= 0 ? first : nil)
            XCTAssertEqual(trainer.checkpointFile(step: 5, elapsed: 2).bytes, f, "restored and saved back byte for byte")
        }
        for first in [-2, -62975, Int.min] {
            let f = try file(first: first)
            XCTAssertThrowsError(try trainer.restoreCheckpointFile(f, path: path, header: header, digest: CheckpointFile.sha256(f))) { e in
                XCTAssertEqual((e as? CSGDError)?.message, "checkpoint '\(path)' is corrupt: the first ε-SOSP step is \(first)")
            }
        }
    }

    /// The traffic so far and the elapsed time a rank file carries are
    /// restored as they are (a restore sets them, even on a rank that has
    /// counted traffic of its own: found by fuzzing, a restored file saved
    /// back as other bytes) and saved back byte for byte; negative or
    /// non-finite ones are corruption.
    func testTrafficTotalsAndElapsedTimeRoundTripAndAreChecked() throws {
        let timed = TimedCommunicator(InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0))
        let trainer = try Trainer(objective: try ProblemSpec.make("saddle:d=10"), method: try Methods.parse("sgd"),
                                  compressor: try CompressorSpec.parse("none").make(dimension: 10),
                                  communicator: timed, config: TrainerConfiguration(steps: 10, learningRate: 0.1))
        for t in 0..<3 { _ = try trainer.step(t) }
        let path = "ckpt/step-0000000005/rank-0.ckpt"
        // The saved file with (elapsed, sent, received, seconds), after the
        // header, the rank, x and four counts, set to these values, sealed again.
        func file(_ elapsed: Double, _ sent: Int64, _ received: Int64, _ seconds: Double) throws -> [UInt8] {
            try Self.rankFile(of: trainer, path: path, afterCounts: 4,
                              words: [elapsed.bitPattern, UInt64(bitPattern: sent), UInt64(bitPattern: received), seconds.bitPattern])
        }
        let header = trainer.checkpointHeader(step: 5)
        let f = try file(7.5, 1_000_003, 2_000_005, 0.25)
        XCTAssertNoThrow(try trainer.restoreCheckpointFile(f, path: path, header: header, digest: CheckpointFile.sha256(f)))
        XCTAssertEqual(timed.bytesSent, 1_000_003)
        XCTAssertEqual(timed.bytesReceived, 2_000_005)
        XCTAssertEqual(timed.communicationSeconds, 0.25)
        XCTAssertEqual(trainer.checkpointFile(step: 5, elapsed: 7.5).bytes, f, "restored and saved back byte for byte")
        // Restored again over the totals it now holds: set, not added.
        let again = try file(7.5, 10, 20, 0.5)
        XCTAssertNoThrow(try trainer.restoreCheckpointFile(again, path: path, header: header, digest: CheckpointFile.sha256(again)))
        XCTAssertEqual([timed.bytesSent, timed.bytesReceived], [10, 20])
        XCTAssertEqual(trainer.checkpointFile(step: 5, elapsed: 7.5).bytes, again)
        let bad: [((Double, Int64, Int64, Double), String)] = [
            ((-1, 0, 0, 0), "the elapsed time is -1.0 s"),
            ((.nan, 0, 0, 0), "the elapsed time is nan s"),
            ((1, -5, 0, 0), "its traffic so far is -5 bytes sent, 0 received in 0.0 s"),
            ((1, 0, .min, 0), "its traffic so far is 0 bytes sent, \(Int64.min) received in 0.0 s"),
            ((1, 0, 0, .infinity), "its traffic so far is 0 bytes sent, 0 received in inf s"),
        ]
        for ((e, s, r, c), says) in bad {
            let g = try file(e, s, r, c)
            XCTAssertThrowsError(try trainer.restoreCheckpointFile(g, path: path, header: header, digest: CheckpointFile.sha256(g))) { err in
                XCTAssertEqual((err as? CSGDError)?.message, "checkpoint '\(path)' is corrupt: \(says)")
            }
        }
    }

    func testAnotherRunsCheckpointNamesTheMismatch() throws {
        let (dir, s) = try writtenCheckpoint()
        let cases: [(String, (inout Setup) -> Void)] = [
            ("objective 'phase-retrieval:d=20,n=200,", { $0.problem = "phase-retrieval:d=21,n=200" }),
            ("method 'alg1:sigma=0.01,batch=4', this run has 'ef-sgd:batch=4'", { $0.method = "ef-sgd:batch=4" }),
            ("compressor 'randomk:5', this run has 'randomk:4'", { $0.compressor = "randomk:4" }),
            ("workers W = 2, this run has W = 3", { $0.workers = 3 }),
            ("seed 5, this run has 6", { $0.seed = 6 }),
            ("step size η = 0.02, this run has η = 0.03", { $0.lr = 0.03 }),
        ]
        for (expect, change) in cases {
            var other = s
            change(&other)
            let m = resumeError(other, dir: dir)
            XCTAssertTrue(m.contains("cannot resume from '\(CheckpointDirectory(dir).stepPath(20))'") && m.contains(expect), m)
        }
        // The dimension alone (a header from an objective of the same name).
        let h = CheckpointHeader(objective: "o", dimension: 10, method: "m", compressor: "c", workers: 1, seed: 0, stepSize: 0.1, step: 5)
        var other = h
        other.dimension = 11
        other.step = 9
        XCTAssertEqual(h.mismatch(with: other, source: "S"), "cannot resume from 'S': it was written with dimension d = 10, this run has d = 11")
        other.dimension = 10
        XCTAssertNil(h.mismatch(with: other, source: "S"), "the step is not part of a run's identity")
        // A checkpoint past the run's end.
        XCTAssertTrue(resumeError(s, dir: dir, steps: 15).contains("past --steps 15"))
    }

    func testMissingCheckpointAndOccupiedDirectoryAreErrors() throws {
        let empty = temporaryDirectory()
        XCTAssertEqual(resumeError(Setup(), dir: empty), "--resume: no complete checkpoint in '\(empty)'")
        let (dir, s) = try writtenCheckpoint()
        XCTAssertThrowsError(try run(s, steps: 25, checkpoint: try CheckpointPolicy(directory: dir, every: 10))) { e in
            XCTAssertTrue("\(e)".contains("already holds a checkpoint (step 20)"), "\(e)")
        }
    }

    func testPolicyFlags() throws {
        XCTAssertNil(try CheckpointPolicy.fromFlags(directory: nil, every: nil, resume: false))
        XCTAssertEqual(try CheckpointPolicy.fromFlags(directory: "d", every: nil, resume: true)?.every, CheckpointPolicy.defaultEvery)
        for (dir, every, resume, message) in [(nil, 5, false, "--checkpoint-every 5 needs --checkpoint DIR"),
                                              (nil, nil, true, "--resume needs --checkpoint DIR"),
                                              ("d", 0, false, "--checkpoint-every 0 must be at least 1"),
                                              ("d", -3, true, "--checkpoint-every -3 must be at least 1")] as [(String?, Int?, Bool, String)] {
            XCTAssertThrowsError(try CheckpointPolicy.fromFlags(directory: dir, every: every, resume: resume)) { e in
                XCTAssertEqual("\(e)", message)
            }
        }
    }

    // MARK: atomic writes and leftovers

    func testAtomicWriteLeavesNoTemporaryAndLeftoversNeverCount() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/f.ckpt"
        try CheckpointFile.writeAtomically([1, 2, 3], to: path)
        try CheckpointFile.writeAtomically([4, 5], to: path)
        XCTAssertEqual(try CheckpointFile.read(path), [4, 5])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["f.ckpt"])
        XCTAssertEqual(CheckpointFile.temporaryPath(for: path), dir + "/.f.ckpt.tmp")

        // A run killed mid-checkpoint: a newer step with rank files and a
        // temporary (even complete) manifest but no MANIFEST; stray
        // temporaries in the complete one. The complete step counts.
        let (ck, s) = try writtenCheckpoint()
        let layout = CheckpointDirectory(ck)
        try layout.createStep(30)
        for name in ["rank-0.ckpt", "rank-1.ckpt"] {
            try FileManager.default.copyItem(atPath: layout.stepPath(20) + "/" + name, toPath: layout.stepPath(30) + "/" + name)
        }
        try FileManager.default.copyItem(atPath: layout.manifestPath(step: 20), toPath: CheckpointFile.temporaryPath(for: layout.manifestPath(step: 30)))
        try Data([9, 9, 9]).write(to: URL(fileURLWithPath: CheckpointFile.temporaryPath(for: layout.rankPath(step: 20, rank: 0))))
        XCTAssertEqual(layout.steps(), [20, 30])
        XCTAssertEqual(layout.newestComplete(), 20)
        let reference = try run(s, steps: 40)
        var resume = try Self.interrupted(ck, every: 10)
        resume.resume = true
        let resumed = try run(s, steps: 40, checkpoint: resume)
        XCTAssertEqual(resumed.paramsSHA256, reference.paramsSHA256)
        // The resumed run rewrote step 30 completely and pruned the older ones.
        XCTAssertEqual(layout.completeSteps(), [30])
        XCTAssertNoThrow(try CheckpointManifest.load(layout.manifestPath(step: 30)))
    }

    // MARK: non-finite states

    func testANonFiniteStateNeverReplacesTheLastGoodCheckpoint() throws {
        let dir = temporaryDirectory()
        let objective = try ProblemSpec.make("phase-retrieval:d=10,n=40")
        let policy = try CheckpointPolicy(directory: dir, every: 3)
        let trainer = try Trainer(objective: objective, method: try Methods.parse("ef-sgd"),
                                  compressor: try CompressorSpec.parse("topk:2").make(dimension: 10),
                                  communicator: InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0),
                                  config: TrainerConfiguration(steps: 10, learningRate: 0.01, checkpoint: policy))
        for t in 0..<3 { _ = try trainer.step(t) }
        try CheckpointDirectory(dir).create()
        try trainer.saveCheckpoint(step: 3, elapsed: 0, policy: policy)
        let good = try CheckpointFile.read(CheckpointDirectory(dir).rankPath(step: 3, rank: 0))
        for t in 3..<6 { _ = try trainer.step(t) }
        trainer.parameters[4] = .infinity
        XCTAssertThrowsError(try trainer.saveCheckpoint(step: 6, elapsed: 0, policy: policy)) { e in
            XCTAssertEqual((e as? NonFiniteIterate)?.step, 6, "\(e)")
        }
        XCTAssertEqual(CheckpointDirectory(dir).steps(), [3], "nothing of step 6 was written")
        XCTAssertEqual(try CheckpointFile.read(CheckpointDirectory(dir).rankPath(step: 3, rank: 0)), good)

        // A run that diverges: it stops with NonFiniteIterate, its newest
        // checkpoint is complete, finite and resumable.
        let diverging = temporaryDirectory()
        var s = Setup()
        s.method = "sgd:batch=4"; s.compressor = nil; s.lr = 3
        XCTAssertThrowsError(try run(s, steps: 200, checkpoint: try CheckpointPolicy(directory: diverging, every: 2))) { e in
            XCTAssertTrue(e is NonFiniteIterate, "\(e)")
        }
        let last = try XCTUnwrap(CheckpointDirectory(diverging).newestComplete())
        XCTAssertGreaterThan(last, 0)
        let back = try run(s, steps: last, checkpoint: try CheckpointPolicy(directory: diverging, every: 2, resume: true))
        XCTAssertTrue(back.finalLoss.isFinite)
        XCTAssertEqual(back.steps, last)
    }
}
