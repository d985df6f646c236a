import Communication
import Compression
import CSGDCore
import Foundation
@testable import Optimization
import Problems
import XCTest
@testable import Distributed

/// The two-stage exchange (DoubleSqueeze's worker and owner compression,
/// `ScatterMessageExchange`): the bits a rank receives stay within 2.5 whole
/// messages as W grows, the update is bit for bit the one computed serially
/// (block-wise compression, decode, rank-ordered sum, the owner's second
/// compression with its memory), and Algorithm 1 still escapes a saddle
/// with it.
final class ScatterExchangeTests: XCTestCase {
    static let specs = ["topk:0.01", "sign", "qsgd:15", "qsgd:127,coding=fixed", "fp64"]

    static func key(step t: Int, rank r: Int) -> RandomKey { RandomKey(seed: 21, step: UInt64(t), worker: UInt32(r), purpose: .quantization) }

    /// Rank r's stochastic gradient at step t: Gaussian, a different scale a rank.
    static func gradient(_ d: Int, step t: Int, rank r: Int) -> [Float] {
        let b = FloatBuffer(count: d)
        RandomFill.gaussian(RandomKey(seed: 5, step: UInt64(t), worker: UInt32(r), purpose: .test), sigma: 1 + Float(r) / 4, into: b.buffer)
        return Array(b.readOnly)
    }

    /// What one rank saw over the steps: each step's update, bits and wire bytes.
    struct Outcome: Sendable {
        var updates: [[Float]] = []
        var upload: [Int] = []
        var download: [Int] = []
        var bytesReceived: [Int] = []
        var wholeMessageBits: [Int] = []
        var memory: [Float] = []
    }

    /// `steps` steps of error feedback through the two-stage exchange on W ranks.
    static func distributed(_ spec: String, d: Int, workers w: Int, steps: Int) throws -> [Outcome] {
        let c = try CompressorSpec.parse(spec).make(dimension: d)
        return try onRanks(w) { r, base in
            let comm = TimedCommunicator(base)
            let ex = makeMessageExchange(c, collective: .scatter, workers: w)
            XCTAssertTrue(ex is ScatterMessageExchange<TopK> || ex is ScatterMessageExchange<ScaledSign>
                || ex is ScatterMessageExchange<QSGD> || ex is ScatterMessageExchange<Float64Wire>, "\(spec)")
            let e = FloatBuffer(count: d), avg = FloatBuffer(count: d)
            var out = Outcome()
            for t in 0..<steps {
                let g = gradient(d, step: t, rank: r)
                let ep = e.buffer
                for i in 0..<d { ep[i] += g[i] }
                out.wholeMessageBits.append(ex.compressor.bitsOfWholeMessage(UnsafeBufferPointer(ep), key: key(step: t, rank: r)))
                _ = try ex.compressKeepingResidual(ep, key: key(step: t, rank: r), communicator: comm)
                let before = comm.bytesReceived
                let (up, down) = try ex.average(into: avg.buffer, key: key(step: t, rank: r), communicator: comm)
                out.updates.append(Array(avg.readOnly))
                out.upload.append(up)
                out.download.append(down)
                out.bytesReceived.append(comm.bytesReceived - before)
            }
            out.memory = Array(ex.ownerMemory!)
            return out
        }
    }

    func testBitsReceivedPerRankStayWithinTwoAndAHalfMessages() throws {
        let d = 20_000
        for spec in Self.specs {
            for w in [2, 4, 8, 16] {
                let outcomes = try Self.distributed(spec, d: d, workers: w, steps: 2)
                for (r, o) in outcomes.enumerated() {
                    Self.assertReceivedWithinTwoAndAHalf(download: o.download, bytes: o.bytesReceived, whole: o.wholeMessageBits,
                                                         workers: w, "\(spec) W=\(w) rank \(r)")
                }
            }
        }
    }

    /// Each step's bits received stay within 2.5 whole messages; they are the
    /// wire's (each of the 2(W − 1) blocks padded to whole bytes); and at
    /// W = 16 under a quarter of the all-gather's W − 1 = 15 whole messages
    /// (the two stages stay near 2(W − 1)/W).
    static func assertReceivedWithinTwoAndAHalf(download: [Int], bytes: [Int], whole: [Int], workers w: Int, _ what: String,
                                                file: StaticString = #filePath, line: UInt = #line) {
        for t in download.indices {
            let ratio = Double(download[t]) / Double(whole[t])
            XCTAssertLessThanOrEqual(ratio, 2.5, "\(what) step \(t)", file: file, line: line)
            XCTAssertGreaterThanOrEqual(8 * bytes[t], download[t], file: file, line: line)
            XCTAssertLessThan(8 * bytes[t], download[t] + 8 * 2 * (w - 1), file: file, line: line)
        }
        if w == 16, let last = download.indices.last {
            XCTAssertLessThan(Double(download[last]), 0.25 * Double(15 * whole[last]), what, file: file, line: line)
        }
    }

    /// The exchange computed serially: each rank's blocks compressed with the
    /// block keys and sent through the wire format, decoded, added in rank
    /// order (scaled by 1/W, from 0), added to the owner's memory, compressed
    /// again with the owner's key; the update is the owners' messages decoded.
    static func serial(_ spec: String, d: Int, workers w: Int, steps: Int) throws -> (updates: [[Float]], download: [[Int]], memories: [[Float]]) {
        let c = try CompressorSpec.parse(spec).make(dimension: d)
        func open<C: BlockCompressor>(_ c: C) throws -> (updates: [[Float]], download: [[Int]], memories: [[Float]]) {
            let bounds = (0...w).map { d * $0 / w }
            let blocks = (0..<w).map { c.block(length: bounds[$0 + 1] - bounds[$0]) }
            var worker = [[Float]](repeating: [Float](repeating: 0, count: d), count: w)
            var owner = (0..<w).map { [Float](repeating: 0, count: bounds[$0 + 1] - bounds[$0]) }
            var updates: [[Float]] = [], download: [[Int]] = []
            for t in 0..<steps {
                var sent = [[C.Message]]()   // [sender][block]
                for r in 0..<w {
                    let g = gradient(d, step: t, rank: r)
                    for i in 0..<d { worker[r][i] += g[i] }
                    var row = [C.Message]()
                    for j in 0..<w {
                        var m = blocks[j].makeMessage()
                        let bkey = key(step: t, rank: r).with(purpose: .blockQuantization).forWorker(r * w + j)
                        worker[r].withUnsafeMutableBufferPointer { v in
                            blocks[j].compressKeepingResidual(UnsafeMutableBufferPointer(rebasing: v[bounds[j] ..< bounds[j + 1]]), key: bkey, into: &m)
                        }
                        row.append(try blocks[j].decode(blocks[j].encode(m), key: bkey))
                    }
                    sent.append(row)
                }
                var update = [Float](repeating: 0, count: d)
                var owned = [Int]()
                for j in 0..<w {
                    var mean = [Float](repeating: 0, count: owner[j].count)
                    mean.withUnsafeMutableBufferPointer { p in
                        for r in 0..<w { blocks[j].add(sent[r][j], scaledBy: 1 / Float(w), into: p) }
                    }
                    for i in owner[j].indices { owner[j][i] += mean[i] }
                    var u = blocks[j].makeMessage()
                    let okey = key(step: t, rank: j).with(purpose: .ownerQuantization).forWorker(j)
                    owner[j].withUnsafeMutableBufferPointer { blocks[j].compressKeepingResidual($0, key: okey, into: &u) }
                    let received = try blocks[j].decode(blocks[j].encode(u), key: okey)
                    update.withUnsafeMutableBufferPointer { blocks[j].decompress(received, into: UnsafeMutableBufferPointer(rebasing: $0[bounds[j] ..< bounds[j + 1]])) }
                    owned.append(blocks[j].bits(of: u))
                }
                updates.append(update)
                download.append((0..<w).map { r in
                    (0..<w).filter { $0 != r }.reduce(0) { $0 + blocks[r].bits(of: sent[$1][r]) + owned[$1] }
                })
            }
            return (updates, download, owner)
        }
        guard let b = c as? any BlockCompressor else { throw CSGDError("\(spec) is not a block compressor") }
        return try open(b)
    }

    func testUpdateEqualsTheSerialComputationBitForBit() throws {
        // d not a multiple of W: slices of 250 and 251 coordinates.
        let d = 1003, w = 4, steps = 3
        for spec in Self.specs {
            let outcomes = try Self.distributed(spec, d: d, workers: w, steps: steps)
            let ref = try Self.serial(spec, d: d, workers: w, steps: steps)
            for (r, o) in outcomes.enumerated() {
                for t in 0..<steps {
                    XCTAssertEqual(o.updates[t].map(\.bitPattern), ref.updates[t].map(\.bitPattern), "\(spec) rank \(r) step \(t)")
                    XCTAssertEqual(o.download[t], ref.download[t][r], "\(spec) rank \(r) step \(t): bits received")
                }
                XCTAssertEqual(Array(o.memory.prefix(ref.memories[r].count)).map(\.bitPattern), ref.memories[r].map(\.bitPattern),
                               "\(spec) rank \(r): owner memory")
                XCTAssertTrue(o.memory.dropFirst(ref.memories[r].count).allSatisfy { $0 == 0 })
            }
            // The owners compress again: the update is not the plain mean of the workers' blocks.
            if spec != "fp64" { XCTAssertTrue(ref.memories.contains { $0.contains { $0 != 0 } }, spec) }
        }
    }

    /// Every slice is one owner's: with W = 3 ranks the slices differ by at most
    /// one coordinate and cover d, and TopK keeps about K/d of each.
    func testBlocksCoverTheCoordinates() throws {
        let c = TopK(dimension: 1000, k: 10)
        let ex = ScatterMessageExchange(c, workers: 3)
        XCTAssertEqual(ex.bounds, [0, 333, 666, 1000])
        XCTAssertEqual(ex.blocks.map(\.dimension), [333, 333, 334])
        XCTAssertEqual(ex.blocks.map(\.k), [3, 3, 3])
        XCTAssertEqual(ex.ownerMemory?.count, 334)
        // QSGD: S·√(d_j/d) levels a block keep the variance bound β = min(d/S², √d/S).
        let q = QSGD(dimension: 1600, levels: 127)
        let qb = ScatterMessageExchange(q, workers: 16).blocks
        XCTAssertEqual(qb.map(\.levels), [Int](repeating: 32, count: 16))
        // s_j = 31.75 levels exactly: 32 on the grid, the norm scaled by 32/31.75, in a 16-bit field.
        for b in qb {
            XCTAssertEqual(b.varianceBound, q.varianceBound, accuracy: 1e-6 * q.varianceBound)
            XCTAssertEqual(Double(b.normScale), 32 / 31.75, accuracy: 1e-6)
            XCTAssertEqual(b.normBits, 16)
        }
        // qsgd:15 on 64 blocks: 1.875 levels a block, 2 on the grid.
        let e = ScatterMessageExchange(QSGD(dimension: 64 * 1000, levels: 15), workers: 64).blocks
        XCTAssertEqual(Set(e.map(\.levels)), [2])
        XCTAssertEqual(e[0].varianceBound, QSGD(dimension: 64 * 1000, levels: 15).varianceBound, accuracy: 1e-5)
    }

    /// Elias-coded QSGD's sparse messages past W = 16: the blocks' fractional
    /// levels and 16-bit norms keep the bits received within 2.5 messages.
    func testEliasQSGDStaysWithinTwoAndAHalfMessagesAtLargeW() throws {
        let d = 64_000
        for w in [32, 64] {
            let o = try Self.distributed("qsgd:15", d: d, workers: w, steps: 1)[w / 2]
            XCTAssertLessThanOrEqual(Double(o.download[0]) / Double(o.wholeMessageBits[0]), 2.5, "W=\(w)")
        }
    }

    /// Forwards every collective but `allToAll`, which takes the protocol's
    /// default (through `allGather`).
    final class WithoutAllToAll: Communicator {
        let base: Communicator
        init(_ base: Communicator) { self.base = base }
        var rank: Int { base.rank }
        var size: Int { base.size }
        func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws { try base.allReduceSum(buffer) }
        func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] { try base.allGather(bytes) }
        func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws { try base.broadcast(buffer, root: root) }
        func barrier() throws { try base.barrier() }
        func abort(reason: String) { base.abort(reason: reason) }
    }

    /// Rank s sends rank j the block "s→j" of s + j + 1 bytes: every rank gets,
    /// in rank order, the blocks addressed to it, in-process (lent memory),
    /// through the default, and counted by `TimedCommunicator`.
    func testAllToAllDeliversEachBlockToItsRank() throws {
        let w = 5
        let blocks: @Sendable (Int) -> (bytes: [UInt8], counts: [Int]) = { s in
            let parts = (0..<w).map { j in [UInt8](repeating: UInt8(16 * s + j), count: s + j + 1) }
            return (parts.flatMap { $0 }, parts.map(\.count))
        }
        for useDefault in [false, true] {
            let got = try onRanks(w) { r, base -> ([[UInt8]], Int, Int) in
                let comm = TimedCommunicator(useDefault ? WithoutAllToAll(base) : base)
                var received: [[UInt8]] = []
                let (bytes, counts) = blocks(r)
                try bytes.withUnsafeBytes { raw in
                    try comm.allToAll(raw, counts: counts) { s, block in
                        XCTAssertEqual(s, received.count)
                        received.append(Array(block))
                    }
                }
                XCTAssertThrowsError(try [UInt8](repeating: 0, count: 3).withUnsafeBytes { try comm.allToAll($0, counts: [1, 1]) { _, _ in } })
                return (received, comm.bytesSent, comm.bytesReceived)
            }
            for (r, (received, sent, receivedBytes)) in got.enumerated() {
                XCTAssertEqual(received, (0..<w).map { s in [UInt8](repeating: UInt8(16 * s + r), count: s + r + 1) }, "rank \(r), default \(useDefault)")
                XCTAssertEqual(sent, (0..<w).filter { $0 != r }.reduce(0) { $0 + r + $1 + 1 })
                XCTAssertEqual(receivedBytes, (0..<w).filter { $0 != r }.reduce(0) { $0 + r + $1 + 1 })
            }
        }
    }

    /// With the lengths known in advance the same blocks arrive and are
    /// counted the same (in-process through the protocol's checked default,
    /// the path Open MPI skips the length exchange on); a rank's own length
    /// announced wrongly is refused on every rank before anything moves.
    func testCollectivesWithKnownLengthsDeliverAndCountTheSame() throws {
        let w = 4
        let got = try onRanks(w) { r, base -> ([[UInt8]], [[UInt8]], Int, Int) in
            let comm = TimedCommunicator(base)
            let parts = (0..<w).map { j in [UInt8](repeating: UInt8(16 * r + j), count: r + j + 1) }
            var toMe: [[UInt8]] = [], gathered: [[UInt8]] = []
            try parts.flatMap { $0 }.withUnsafeBytes { raw in
                try comm.allToAll(raw, counts: parts.map(\.count), receiving: (0..<w).map { $0 + r + 1 }) { _, block in toMe.append(Array(block)) }
            }
            let mine = [UInt8](repeating: UInt8(r), count: 2 * r + 1)
            try mine.withUnsafeBytes { raw in
                try comm.allGather(raw, lengths: (0..<w).map { 2 * $0 + 1 }) { _, block in gathered.append(Array(block)) }
            }
            XCTAssertThrowsError(try mine.withUnsafeBytes { try comm.allGather($0, lengths: [Int](repeating: 0, count: w)) { _, _ in } })
            return (toMe, gathered, comm.bytesSent, comm.bytesReceived)
        }
        for (r, (toMe, gathered, sent, received)) in got.enumerated() {
            XCTAssertEqual(toMe, (0..<w).map { s in [UInt8](repeating: UInt8(16 * s + r), count: s + r + 1) })
            XCTAssertEqual(gathered, (0..<w).map { s in [UInt8](repeating: UInt8(s), count: 2 * s + 1) })
            let others = (0..<w).filter { $0 != r }
            XCTAssertEqual(sent, others.reduce(0) { $0 + r + $1 + 1 } + (w - 1) * (2 * r + 1))
            XCTAssertEqual(received, others.reduce(0) { $0 + r + $1 + 1 } + others.reduce(0) { $0 + 2 * $1 + 1 })
        }
    }

    /// `fixedBits` is what every message of a fixed-length block compressor
    /// takes (the lengths the collectives then skip exchanging), and nil for
    /// Elias-coded QSGD, whose bits depend on the vector.
    func testFixedBitsAreEveryMessagesBits() throws {
        let d = 1000
        let v = (0..<d).map { Float(sin(Double($0) * 0.37)) * Float($0 % 7) }
        func check<C: BlockCompressor>(_ c: C) {
            for length in [1, 63, 250] {
                let b = c.block(length: length)
                let m = v.prefix(length).withUnsafeBufferPointer { b.compress($0, key: RandomKey(seed: 3, step: 1, worker: 0, purpose: .quantization)) }
                XCTAssertEqual(b.fixedBits, b.bits(of: m), "\(c) block of \(length)")
            }
        }
        check(TopK(dimension: d, k: 10))
        check(ScaledSign(dimension: d))
        check(QSGD(dimension: d, levels: 127, coding: .fixed))
        check(Float64Wire(dimension: d))
        XCTAssertNil(QSGD(dimension: d, levels: 15).block(length: 250).fixedBits)
    }

    func testAutoScattersNonLinearCompressorsFromThreeRanks() throws {
        let topk = TopK(dimension: 1000, k: 5)
        XCTAssertFalse(Collective.auto.scatters(topk, workers: 2))
        XCTAssertTrue(Collective.auto.scatters(topk, workers: 3))
        XCTAssertTrue(Collective.auto.scatters(topk, workers: 15))
        XCTAssertFalse(Collective.auto.scatters(topk, workers: 16), "slices under 64 coordinates")
        XCTAssertTrue(Collective.scatter.scatters(topk, workers: 16))
        XCTAssertFalse(Collective.allgather.scatters(topk, workers: 8))
        XCTAssertTrue(Collective.scatter.scatters(topk, workers: 2))
        XCTAssertFalse(Collective.scatter.scatters(topk, workers: 1001), "d < W")
        XCTAssertFalse(Collective.auto.scatters(RandomK(dimension: 100, k: 5), workers: 4))
        XCTAssertFalse(Collective.auto.scatters(Identity(dimension: 100), workers: 4))
        XCTAssertThrowsError(try Collective.scatter.check(RandomK(dimension: 100, k: 5)))
        XCTAssertNoThrow(try Collective.scatter.check(ScaledSign(dimension: 100)))
        XCTAssertThrowsError(try Collective.parse("ring"))
        let chain = efSGD(compressor: topk, eta: 0.1, collective: .auto)
        XCTAssertEqual(chain.exchange(workers: 2), .allGather)
        XCTAssertEqual(chain.exchange(workers: 4), .scatter)
        XCTAssertEqual(efSGD(compressor: RandomK(dimension: 100, k: 5), eta: 0.1, collective: .auto).exchange(workers: 4), .allReduce)
    }

    func run(_ problem: String, compressor: String, workers: Int, collective: Collective, steps: Int) throws -> RunSummary {
        var config = TrainerConfiguration(steps: steps, seed: 0, learningRate: 0.1, logEvery: 100, epsilon: 0.05, certifyEvery: 50)
        config.collective = collective
        return try InProcessRun.run(objective: try ProblemSpec.make(problem), method: try Methods.parse("alg1:sigma=0.01"),
                                    compressor: try CompressorSpec.parse(compressor), workers: workers, config: config)
    }

    /// Algorithm 1 with the two-stage exchange leaves the strict saddle and is
    /// certified at an ε-SOSP (λ_min > 0), and receives fewer bits than with
    /// the all-gather (on d = 100 the blocks' headers weigh: not 2/W of them).
    func testAlgorithm1EscapesTheSaddleThroughTheTwoStages() throws {
        for (c, w) in [("topk:0.1", 4), ("sign", 8)] {
            let s = try run("saddle:d=100", compressor: c, workers: w, collective: .scatter, steps: 800)
            XCTAssertEqual(s.isSOSP, true, "\(c) W=\(w): \(s)")
            XCTAssertGreaterThan(try XCTUnwrap(s.firstSOSPStep, "\(c) W=\(w)"), 0)
            XCTAssertLessThan(s.finalLoss, -0.24, "\(c) W=\(w): f* = −0.25")
            XCTAssertGreaterThan(try XCTUnwrap(s.lambdaMin), 0)
            let gathered = try run("saddle:d=100", compressor: c, workers: w, collective: .allgather, steps: 50)
            let scattered = try run("saddle:d=100", compressor: c, workers: w, collective: .scatter, steps: 50)
            XCTAssertLessThan(scattered.downloadBitsPerWorker, gathered.downloadBitsPerWorker, "\(c) W=\(w)")
        }
    }
}

extension Compressor {
    /// The bits of C(v) on all d coordinates: what one rank's all-gathered message costs.
    func bitsOfWholeMessage(_ v: UnsafeBufferPointer<Float>, key: RandomKey) -> Int {
        var m = makeMessage()
        compress(v, key: key, into: &m)
        return bits(of: m)
    }
}
