// The checkpoint readers' fuzz targets: a checkpoint's MANIFEST and a
// rank's state file (`rank-R.ckpt`), read from memory exactly as a resume
// reads them from disk.
//
// An input is a mode byte and the rest. The rest is the whole file when the
// mode's bit 7 is set; otherwise it is the body, which the harness seals
// (magic, version, kind, length and SHA-256, `CheckpointFile.seal`), so the
// fuzzer reaches the body's parsing instead of stopping at the checksum.
// For every input:
//   • reading throws nothing but a `CSGDError` naming the file
//     (`checkpoint 'PATH' …`);
// and when it succeeds, writing what was read gives the file back, byte for
// byte: `CheckpointManifest.sealed()` for a MANIFEST, and for a rank file
// `Trainer.checkpointFile(step:elapsed:)` of the trainer it was restored
// into (so every field the reader accepts is one the writer keeps).
// Memory is bounded by the input: every count in a file is checked against
// the bytes that are there before anything is allocated for it (libFuzzer's
// -malloc_limit_mb catches a reader that trusts a count).
//
// Rank files are restored into one of a few trainers (the mode's bits 0-5
// choose), one a method whose transforms keep state: alg1 (error feedback
// with resets and deferred noise), EF-SGD, PGD, PAGD, CNC and PSGD, each on
// a 10-dimensional strict saddle with one rank. The header the restore is
// told to expect is the trainer's own at the step the file gives, as a
// resume passes the MANIFEST's header after checking it against the run.

import Checkpointing
import Communication
import Compression
import CSGDCore
import Distributed
import Optimization
import Problems

enum CheckpointTargets {
    static let path = "fuzz/step-0000000005/MANIFEST"
    static let rankPath = "fuzz/step-0000000005/rank-0.ckpt"

    static var all: [FuzzTarget] { [manifest(), rank()] }

    /// The file an input stands for: the rest, or the rest sealed as a body of `kind`.
    static func file(_ bytes: UnsafeRawBufferPointer, kind: CheckpointFile.Kind) -> [UInt8] {
        let rest = bytes.count > 1 ? Array(bytes[1...]) : []
        guard let mode = bytes.first, mode & 0x80 == 0 else { return rest }
        return CheckpointFile.seal(rest, kind: kind)
    }

    /// The body of a sealed file (what `file(_:kind:)` seals back).
    static func body(_ sealed: [UInt8]) -> [UInt8] {
        Array(sealed[CheckpointFile.headerBytes ..< (sealed.count - CheckpointFile.digestBytes)])
    }

    // MARK: MANIFEST

    static func manifest() -> FuzzTarget {
        let name = "checkpoint-manifest"
        return FuzzTarget(name: name, run: { bytes in
            let f = file(bytes, kind: .manifest)
            let m: CheckpointManifest
            do {
                m = try CheckpointManifest.read(f, path: path)
            } catch {
                checkError(error, target: name, prefix: "checkpoint '\(path)' ", bytes)
                return
            }
            if m.digests.count != m.header.workers || m.digests.contains(where: { $0.count != CheckpointFile.digestBytes }) {
                failInput(name, "a manifest of W = \(m.header.workers) with \(m.digests.count) digests", bytes)
            }
            if m.sealed() != f { failInput(name, "the manifest it read seals to other bytes", bytes) }
        }, seeds: {
            var seeds: [[UInt8]] = []
            for (w, step) in [(1, 5), (2, 100), (4, 1 << 40)] {
                let header = CheckpointHeader(objective: "saddle:d=10", dimension: 10, method: "alg1:sigma=0.01",
                                              compressor: "randomk:1", workers: w, seed: 7, stepSize: 0.1, step: step)
                let digests = (0..<w).map { CheckpointFile.sha256([UInt8(truncatingIfNeeded: $0)]) }
                let sealed = CheckpointManifest(header: header, digests: digests).sealed()
                seeds.append([0] + body(sealed))
                seeds.append([0x80] + sealed)
            }
            return seeds
        })
    }

    // MARK: rank-R.ckpt

    /// (problem, method, compressor, step size) of each trainer.
    static let setups: [(String, String, String?, Double?)] = [
        ("saddle:d=10", "alg1:sigma=0.01", "randomk:0.3", 0.1),
        ("saddle:d=10", "ef-sgd", "topk:0.2", 0.1),
        ("saddle:d=10", "pgd:eps=0.01", nil, nil),
        ("saddle:d=10", "pagd:eps=0.01", nil, nil),
        ("saddle:d=10,noise=0.1", "cnc:batch=1", nil, 0.1),
        ("saddle:d=10", "psgd:sigma=0.01", nil, 0.1),
    ]

    static func makeTrainers() -> [Trainer] {
        setups.map { problem, methodText, compressor, lr in
            do {
                let objective = try ProblemSpec.make(problem)
                let method = try Methods.parse(methodText)
                let spec = try method.compressor(given: try compressor.map(CompressorSpec.parse))
                let t = try Trainer(objective: objective, method: method, compressor: try spec.make(dimension: objective.dimension),
                                    // Timed, as in a run: the traffic totals a rank file carries are restored and saved again.
                                    communicator: TimedCommunicator(InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0)),
                                    config: TrainerConfiguration(steps: 100, seed: 3, learningRate: lr, threadsPerRank: 1))
                for s in 0..<5 { _ = try t.step(s) }   // states that are not all zero
                return t
            } catch {
                fatalError("checkpoint-rank: cannot set up \(methodText) on \(problem): \(error)")
            }
        }
    }

    /// The step and the elapsed seconds a rank file's body holds (nil when
    /// it does not read that far).
    static func stepAndElapsed(_ f: [UInt8], dimension d: Int) -> (step: Int, elapsed: Double?)? {
        guard var r = try? CheckpointFile.open(f, path: rankPath, kind: .rank),
              let h = try? CheckpointHeader.read(from: &r) else { return nil }
        let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: d)
        defer { x.deallocate() }
        do {
            _ = try r.readUInt32("the rank")
            try r.readFloats(into: x, "x")
            for _ in 0..<4 { _ = try r.readInt("a count") }
            return (h.step, try r.readDouble("the elapsed time"))
        } catch {
            return (h.step, nil)
        }
    }

    static func rank() -> FuzzTarget {
        let name = "checkpoint-rank"
        // Built once, on the first input (restores overwrite their state).
        var trainers: [Trainer] = []
        func trainer(_ mode: UInt8?) -> Trainer {
            if trainers.isEmpty { trainers = makeTrainers() }
            return trainers[Int((mode ?? 0) & 0x3F) % trainers.count]
        }
        return FuzzTarget(name: name, run: { bytes in
            let t = trainer(bytes.first)
            let f = file(bytes, kind: .rank)
            let found = stepAndElapsed(f, dimension: t.d)
            let header = t.checkpointHeader(step: found?.step ?? 0)
            do {
                try t.restoreCheckpointFile(f, path: rankPath, header: header, digest: CheckpointFile.sha256(f))
            } catch {
                checkError(error, target: name, prefix: "checkpoint '\(rankPath)' ", bytes)
                return
            }
            guard let elapsed = found?.elapsed else { failInput(name, "restored a file whose elapsed time does not read", bytes) }
            let again = t.checkpointFile(step: header.step, elapsed: elapsed).bytes
            if again != f { failInput(name, "the state it restored saves as other bytes", bytes) }
        }, seeds: {
            var seeds: [[UInt8]] = []
            _ = trainer(nil)
            for (i, t) in trainers.enumerated() {
                let sealed = t.checkpointFile(step: 5, elapsed: 1.5).bytes
                seeds.append([UInt8(i)] + body(sealed))
                seeds.append([0x80 | UInt8(i)] + sealed)
            }
            return seeds
        })
    }
}
