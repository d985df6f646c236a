import Checkpointing
import Compression
import CSGDCore
import Foundation
import Optimization
import PropertyBased
import PropertyTestSupport
import Testing

/// One generated rank state, laid out as a rank's checkpoint file is
/// (`Trainer.checkpointFile`): the run's header (the RNG state of a run is
/// its key: the seed, and the step t every stream is derived from), the rank,
/// the parameters x_t, the counters, the elapsed time, then the states of an
/// error reset around error feedback (anchor, f(anchor), its step, the error
/// memory e). Floats and Doubles are arbitrary bit patterns (NaN payloads,
/// ±∞, −0 and subnormals among them); steps and counters reach 2^62.
struct RankStateCase: Sendable, CustomTestStringConvertible {
    var header: CheckpointHeader
    var rank: UInt32
    var parameters: [Float]
    var memory: [Float]
    var anchor: [Float]
    var fAnchor: Double
    var tAnchor: Int
    var counters: [Int]
    var elapsed: Double

    var testDescription: String {
        "d=\(parameters.count) step \(header.step) seed \(header.seed) rank \(rank) of \(header.workers), t' = \(tAnchor), counters \(counters)"
    }

    static let floats = Gen.frequency(
        (6, Gen.float(in: -1000...1000)),
        (2, Gen.uint32().map { Float(bitPattern: $0) }),
        (1, Gen.element(of: [0, -0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                             .infinity, -.infinity, .nan, Float(bitPattern: 0xFFC0_1234)] as [Float]).map { $0! })
    )

    static let doubles = Gen.frequency(
        (2, Gen.double(in: -1e6...1e6)),
        (1, Gen.uint64().map { Double(bitPattern: $0) })
    )

    static let text = Gen.frequency(
        (3, Gen.letterOrNumber),
        (1, Gen.character(in: ":"..."=")),
        (1, Gen.character(in: "α"..."ω")),
        (1, Gen.character(in: "😀"..."🙏"))
    ).string(of: 0...40)

    static let steps = Gen.frequency(
        (1, Gen.int(in: 0...1000)),
        (1, Gen.int(in: 0...(1 << 62)))
    )

    static let generator = zip(
        zip(text, Gen.int(in: 1...300), text, text, Gen.int(in: 1...4096), Gen.uint64(), doubles, steps),
        Gen.uint32(in: 0...4095),
        floats.array(of: 3),
        doubles, steps,
        steps.array(of: 4),
        doubles,
        Gen.uint64()
    ).map { h, rank, three, fAnchor, tAnchor, counters, elapsed, vectorSeed in
        let (objective, d, method, compressor, workers, seed, eta, step) = h
        // x, e and the anchor: d values cycling through generated ones, so
        // every special value is present at sizes up to 300 without
        // generating each coordinate separately.
        func vector(_ salt: UInt64) -> [Float] {
            var s = RandomStream(key: RandomKey(seed: vectorSeed, step: salt, purpose: .test))
            return (0..<d).map { i in i % 5 == 0 ? three[Int(s.nextInt(below: 3))] : Float(bitPattern: s.nextUInt32()) }
        }
        return RankStateCase(
            header: CheckpointHeader(objective: objective, dimension: d, method: method, compressor: compressor,
                                     workers: workers, seed: seed, stepSize: eta, step: step),
            rank: rank % UInt32(workers), parameters: vector(0), memory: vector(1), anchor: vector(2),
            fAnchor: fAnchor, tAnchor: tAnchor, counters: counters, elapsed: elapsed)
    }

    func transform() -> ErrorReset {
        let feedback = ErrorFeedback(Identity(dimension: parameters.count), noise: 0)
        return ErrorReset(rule: ResetRule(I: 5, R: 0.1, F: 0), eta: 0.1, feedback: feedback)
    }

    /// The sealed rank file, and whether every Float in it was finite.
    func sealed() -> (bytes: [UInt8], finite: Bool) {
        var w = CheckpointWriter()
        header.write(to: &w)
        w.appendUInt32(rank)
        parameters.withUnsafeBufferPointer { w.appendFloats($0) }
        for c in counters { w.appendInt(c) }
        w.appendDouble(elapsed)
        let t = transform()
        var state = t.initialState(dimension: parameters.count, workers: Int(header.workers))
        anchor.withUnsafeBufferPointer { state.anchor.buffer.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        memory.withUnsafeBufferPointer { state.feedback.memory.buffer.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        state.fAnchor = fAnchor
        state.tAnchor = tAnchor
        t.saveState(state, to: &w)
        return (CheckpointFile.seal(w.bytes, kind: .rank), w.allFinite)
    }

    /// Reads a file `sealed` wrote (the contents of `path`) back into a case.
    static func read(_ bytes: [UInt8], path: String, like shape: RankStateCase) throws -> RankStateCase {
        var r = try CheckpointFile.open(bytes, path: path, kind: .rank)
        let header = try CheckpointHeader.read(from: &r)
        let rank = try r.readUInt32("the rank")
        var x = [Float](repeating: 0, count: shape.parameters.count)
        try x.withUnsafeMutableBufferPointer { try r.readFloats(into: $0, "the parameters x_t") }
        let counters = try (0..<shape.counters.count).map { _ in try r.readInt("a counter") }
        let elapsed = try r.readDouble("the elapsed time")
        let t = shape.transform()
        var state = t.initialState(dimension: x.count, workers: Int(header.workers))
        try t.restoreState(&state, from: &r)
        try r.finish("the transforms' states")
        return RankStateCase(header: header, rank: rank, parameters: x, memory: state.feedback.memory.array,
                             anchor: state.anchor.array, fAnchor: state.fAnchor, tAnchor: state.tAnchor,
                             counters: counters, elapsed: elapsed)
    }

    /// Every field of two headers, η by bit pattern, strings by UTF-8 bytes.
    static func sameBits(_ h: CheckpointHeader, _ g: CheckpointHeader) -> Bool {
        Array(h.objective.utf8) == Array(g.objective.utf8) && h.dimension == g.dimension
            && Array(h.method.utf8) == Array(g.method.utf8) && Array(h.compressor.utf8) == Array(g.compressor.utf8)
            && h.workers == g.workers && h.seed == g.seed && h.stepSize.bitPattern == g.stepSize.bitPattern && h.step == g.step
    }

    /// Every field, Floats and Doubles by bit pattern, strings by UTF-8 bytes.
    func sameBits(as o: RankStateCase) -> Bool {
        Self.sameBits(header, o.header)
            && rank == o.rank && parameters.map(\.bitPattern) == o.parameters.map(\.bitPattern)
            && memory.map(\.bitPattern) == o.memory.map(\.bitPattern) && anchor.map(\.bitPattern) == o.anchor.map(\.bitPattern)
            && fAnchor.bitPattern == o.fAnchor.bitPattern && tAnchor == o.tAnchor && counters == o.counters
            && elapsed.bitPattern == o.elapsed.bitPattern
    }
}

/// Checkpoint files over generated rank states: rank files and manifests
/// written and read back bit for bit (through the disk, atomically), and
/// rank files refused with a one-line error naming the file after any single
/// byte is changed, the file is cut short or extended.
@Suite struct CheckpointProperties {
    func temporaryDirectory() throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("csgd-ckpt-props-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test func rankStatesRoundTripBitExactly() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        await seededPropertyCheck(count: 150, seed: 0xC4E0_0001, input: RankStateCase.generator) { s in
            let (bytes, finite) = s.sealed()
            #expect(finite == (s.parameters + s.memory + s.anchor).allSatisfy(\.isFinite))
            let path = dir + "/rank-\(s.rank).ckpt"
            try CheckpointFile.writeAtomically(bytes, to: path)
            let onDisk = try CheckpointFile.read(path)
            #expect(onDisk == bytes)
            #expect(!FileManager.default.fileExists(atPath: CheckpointFile.temporaryPath(for: path)))
            let back = try RankStateCase.read(onDisk, path: path, like: s)
            #expect(back.sameBits(as: s))
            // Written again, the state gives the same file.
            #expect(back.sealed().bytes == bytes)
        }
    }

    /// A MANIFEST for W generated rank files (W ≤ 12 here): written and
    /// loaded back with the same header bits and the files' digests in rank order.
    @Test func manifestsRoundTripBitExactly() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = zip(RankStateCase.generator, Gen.int(in: 1...12))
        await seededPropertyCheck(count: 60, seed: 0xC4E0_0003, input: input) { s, workers in
            var header = s.header
            header.workers = workers
            let digests = (0..<workers).map { r -> [UInt8] in
                var state = s
                state.header = header
                state.rank = UInt32(r)
                return CheckpointFile.sha256(state.sealed().bytes)
            }
            let path = dir + "/MANIFEST"
            try CheckpointFile.writeAtomically(CheckpointManifest(header: header, digests: digests).sealed(), to: path)
            let back = try CheckpointManifest.load(path)
            #expect(RankStateCase.sameBits(back.header, header))
            #expect(back.digests == digests)
            #expect(Set(digests).count == workers, "two ranks' files with the same digest")
        }
    }

    /// Any one byte changed (any position: magic, version, kind, length,
    /// body, checksum; any non-zero XOR), a cut at any length, or bytes
    /// appended: `open` refuses it in one line naming the file.
    @Test func damagedFilesAreRefusedNamingTheFile() async {
        let input = zip(RankStateCase.generator, Gen.double(in: 0..<1), Gen.uint8(in: 1...255), Gen.int(in: 1...64))
        await seededPropertyCheck(count: 600, seed: 0xC4E0_0002, input: input) { s, where_, mask, extra in
            let bytes = s.sealed().bytes
            let path = "/checkpoints/step-\(s.header.step)/rank-\(s.rank).ckpt"
            let i = Int(where_ * Double(bytes.count))
            var flipped = bytes
            flipped[i] ^= mask
            var cut = bytes
            cut.removeLast(1 + i % bytes.count)
            let longer = bytes + [UInt8](repeating: mask, count: extra)
            for (what, damaged) in [("byte \(i) ^ \(mask)", flipped), ("cut to \(cut.count) bytes", cut), ("\(extra) bytes appended", longer)] {
                do {
                    _ = try RankStateCase.read(damaged, path: path, like: s)
                    Issue.record("\(what): accepted")
                } catch {
                    let message = String(describing: error)
                    #expect(message.contains("'\(path)'") && !message.contains("\n"), "\(what): \(message)")
                }
            }
        }
    }
}
