import Communication
import Compression
import CSGDCore
import Foundation
@testable import Optimization
import Problems
import XCTest
@testable import Distributed

/// The two-stage exchange without owner memory, for methods without error
/// feedback and an unbiased compressor (QSGD; fp64, which is exact): the
/// bits a rank receives stay within 2.5 whole messages as W grows, the
/// update is bit for bit the one computed serially (block-wise QSGD, decode,
/// rank-ordered sum, the owner's re-quantization of the mean), its mean over
/// many independent roundings is the mean gradient ḡ within the variance
/// bound E‖u − ḡ‖² ≤ ω‖ḡ‖² + (1 + ω)(ω/W²) Σ‖g_i‖², fp64's two stages give
/// the all-gather's update, and QSGD-SGD still fits the planted ReLU.
final class UnbiasedScatterTests: XCTestCase {
    /// qsgd-sgd:bits=8 (fixed width), its Elias-coded twin, a coarse QSGD and fp64.
    static let specs = ["qsgd:127,coding=fixed", "qsgd:127", "qsgd:15", "fp64"]

    static func key(step t: Int, rank r: Int) -> RandomKey { RandomKey(seed: 33, step: UInt64(t), worker: UInt32(r), purpose: .quantization) }

    /// What one rank saw: each step's update and bits, and one whole message's bits.
    struct Outcome: Sendable {
        var updates: [[Float]] = []
        var download: [Int] = []
        var bytesReceived: [Int] = []
        var wholeMessageBits: [Int] = []
    }

    /// `steps` steps of `gradient(step, rank)` compressed and averaged through
    /// the two-stage exchange without memory (what `CompressMessage` does).
    static func distributed(_ spec: String, d: Int, workers w: Int, steps: Int, collective: Collective = .scatter,
                            gradient: @escaping @Sendable (Int, Int) -> [Float]) throws -> [Outcome] {
        let c = try CompressorSpec.parse(spec).make(dimension: d)
        return try onRanks(w, timeout: 60) { r, base in
            let comm = TimedCommunicator(base)
            let ex = makeMessageExchange(c, collective: collective, workers: w, memory: false)
            if collective == .scatter {
                XCTAssertTrue(ex is ScatterMessageExchange<QSGD> || ex is ScatterMessageExchange<Float64Wire>, spec)
                XCTAssertNil(ex.ownerMemory, "no owner memory without error feedback")
            }
            let avg = FloatBuffer(count: d)
            var out = Outcome()
            for t in 0..<steps {
                let g = gradient(t, r)
                try g.withUnsafeBufferPointer { v in
                    out.wholeMessageBits.append(ex.compressor.bitsOfWholeMessage(v, key: key(step: t, rank: r)))
                    _ = try ex.compress(v, key: key(step: t, rank: r), communicator: comm)
                }
                let before = comm.bytesReceived
                let (_, down) = try ex.average(into: avg.buffer, key: key(step: t, rank: r), communicator: comm)
                out.updates.append(Array(avg.readOnly))
                out.download.append(down)
                out.bytesReceived.append(comm.bytesReceived - before)
            }
            return out
        }
    }

    func testBitsReceivedPerRankStayWithinTwoAndAHalfMessages() throws {
        let d = 20_000
        for spec in Self.specs {
            for w in [2, 4, 8, 16] {
                let outcomes = try Self.distributed(spec, d: d, workers: w, steps: 2) { t, r in ScatterExchangeTests.gradient(d, step: t, rank: r) }
                for (r, o) in outcomes.enumerated() {
                    ScatterExchangeTests.assertReceivedWithinTwoAndAHalf(download: o.download, bytes: o.bytesReceived,
                                                                         whole: o.wholeMessageBits, workers: w, "\(spec) W=\(w) rank \(r)")
                }
            }
        }
    }

    /// The exchange computed serially: rank r's block j quantized with the
    /// block key (seed, t, W·r + j) and sent through the wire format, decoded,
    /// added in rank order (scaled by 1/W, from 0), quantized again with the
    /// owner's key; the update is the owners' messages decoded.
    static func serial(_ spec: String, d: Int, workers w: Int, steps: Int,
                       gradient: (Int, Int) -> [Float]) throws -> (updates: [[Float]], download: [[Int]]) {
        let c = try CompressorSpec.parse(spec).make(dimension: d)
        func open<C: BlockCompressor>(_ c: C) throws -> (updates: [[Float]], download: [[Int]]) {
            let bounds = (0...w).map { d * $0 / w }
            let blocks = (0..<w).map { c.block(length: bounds[$0 + 1] - bounds[$0]) }
            var updates: [[Float]] = [], download: [[Int]] = []
            for t in 0..<steps {
                var sent = [[C.Message]]()   // [sender][block]
                for r in 0..<w {
                    let g = gradient(t, r)
                    var row = [C.Message]()
                    for j in 0..<w {
                        var m = blocks[j].makeMessage()
                        let bkey = key(step: t, rank: r).with(purpose: .blockQuantization).forWorker(r * w + j)
                        g.withUnsafeBufferPointer { blocks[j].compress(UnsafeBufferPointer(rebasing: $0[bounds[j] ..< bounds[j + 1]]), key: bkey, into: &m) }
                        row.append(try blocks[j].decode(blocks[j].encode(m), key: bkey))
                    }
                    sent.append(row)
                }
                var update = [Float](repeating: 0, count: d)
                var owned = [Int]()
                for j in 0..<w {
                    var mean = [Float](repeating: 0, count: bounds[j + 1] - bounds[j])
                    mean.withUnsafeMutableBufferPointer { p in
                        for r in 0..<w { blocks[j].add(sent[r][j], scaledBy: 1 / Float(w), into: p) }
                    }
                    var u = blocks[j].makeMessage()
                    let okey = key(step: t, rank: j).with(purpose: .ownerQuantization).forWorker(j)
                    mean.withUnsafeBufferPointer { blocks[j].compress($0, key: okey, into: &u) }
                    let received = try blocks[j].decode(blocks[j].encode(u), key: okey)
                    update.withUnsafeMutableBufferPointer { blocks[j].decompress(received, into: UnsafeMutableBufferPointer(rebasing: $0[bounds[j] ..< bounds[j + 1]])) }
                    owned.append(blocks[j].bits(of: u))
                }
                updates.append(update)
                download.append((0..<w).map { r in
                    (0..<w).filter { $0 != r }.reduce(0) { $0 + blocks[r].bits(of: sent[$1][r]) + owned[$1] }
                })
            }
            return (updates, download)
        }
        guard let b = c as? any BlockCompressor else { throw CSGDError("\(spec) is not a block compressor") }
        return try open(b)
    }

    func testUpdateEqualsTheSerialComputationBitForBit() throws {
        // d not a multiple of W: slices of 200 and 201 coordinates.
        let d = 1003, w = 5, steps = 3
        let gradient: @Sendable (Int, Int) -> [Float] = { t, r in ScatterExchangeTests.gradient(d, step: t, rank: r) }
        for spec in Self.specs {
            let outcomes = try Self.distributed(spec, d: d, workers: w, steps: steps, gradient: gradient)
            let ref = try Self.serial(spec, d: d, workers: w, steps: steps, gradient: gradient)
            for (r, o) in outcomes.enumerated() {
                for t in 0..<steps {
                    XCTAssertEqual(o.updates[t].map(\.bitPattern), ref.updates[t].map(\.bitPattern), "\(spec) rank \(r) step \(t)")
                    XCTAssertEqual(o.download[t], ref.download[t][r], "\(spec) rank \(r) step \(t): bits received")
                }
            }
        }
    }

    /// fp64 is exact: the two stages are a reduce-scatter and an all-gather of
    /// the same rank-ordered float32 sums, so the update is the all-gather's, bit for bit.
    func testFloat64TwoStagesGiveTheAllGathersUpdate() throws {
        let d = 1003, w = 4
        let gradient: @Sendable (Int, Int) -> [Float] = { t, r in ScatterExchangeTests.gradient(d, step: t, rank: r) }
        let scattered = try Self.distributed("fp64", d: d, workers: w, steps: 2, gradient: gradient)
        let gathered = try Self.distributed("fp64", d: d, workers: w, steps: 2, collective: .allgather, gradient: gradient)
        for r in 0..<w {
            for t in 0..<2 {
                XCTAssertEqual(scattered[r].updates[t].map(\.bitPattern), gathered[r].updates[t].map(\.bitPattern), "rank \(r) step \(t)")
                XCTAssertEqual(Double(scattered[r].download[t]), 1.5 * Double(64 * d), accuracy: 64 * 4, "2(W − 1)/W of a message")
            }
        }
    }

    /// The ranks' vectors fixed, N steps draw N independent sets of roundings:
    /// the mean of the N updates u is ḡ within what the variance allows
    /// (E‖mean − ḡ‖² = E‖u − ḡ‖²/N), and the empirical E‖u − ḡ‖² is within the
    /// bound ω‖ḡ‖² + (1 + ω)(ω/W²) Σ‖g_i‖² (ω the blocks' largest β).
    func testTwoStageUpdateIsUnbiasedWithinTheVarianceBound() throws {
        let d = 256, w = 4, trials = 2000
        let fixed: @Sendable (Int, Int) -> [Float] = { _, r in
            // Rank r's vector: a shared direction plus its own, so ḡ is not small beside the g_i.
            let a = ScatterExchangeTests.gradient(d, step: 0, rank: 0), b = ScatterExchangeTests.gradient(d, step: 1, rank: r)
            return (0..<d).map { 1.5 * a[$0] + b[$0] }
        }
        let g = (0..<w).map { fixed(0, $0) }
        let gbar = (0..<d).map { i in (0..<w).reduce(Float(0)) { $0 + g[$1][i] } / Float(w) }
        let sumSquares = { (v: [Float]) in v.reduce(0.0) { $0 + Double($1) * Double($1) } }
        for spec in ["qsgd:3", "qsgd:127,coding=fixed"] {
            let c = try XCTUnwrap(try CompressorSpec.parse(spec).make(dimension: d) as? QSGD)
            let omega = (0..<w).map { c.block(length: d * ($0 + 1) / w - d * $0 / w).varianceBound }.max()!
            let bound = omega * sumSquares(gbar) + (1 + omega) * omega / Double(w * w) * g.map(sumSquares).reduce(0, +)
            let updates = try Self.distributed(spec, d: d, workers: w, steps: trials, gradient: fixed)[0].updates
            var mean = [Double](repeating: 0, count: d)
            var mse = 0.0
            for u in updates {
                for i in 0..<d {
                    mean[i] += Double(u[i]) / Double(trials)
                    mse += (Double(u[i]) - Double(gbar[i])) * (Double(u[i]) - Double(gbar[i])) / Double(trials)
                }
            }
            let bias = (0..<d).reduce(0.0) { $0 + (mean[$1] - Double(gbar[$1])) * (mean[$1] - Double(gbar[$1])) }
            XCTAssertGreaterThan(mse, 0, spec)
            XCTAssertLessThanOrEqual(mse, 1.05 * bound, "\(spec): E‖u − ḡ‖² against the bound (ω = \(omega))")
            // Over d = 256 coordinates ‖mean − ḡ‖² concentrates near mse/N; twice that is a wide margin.
            XCTAssertLessThan(bias, 2 * mse / Double(trials), "\(spec): ‖mean of u − ḡ‖² = \(bias), mse = \(mse)")
            XCTAssertLessThan(bias, 1e-2 * sumSquares(gbar), "\(spec): the mean of u within 10% of ḡ in norm")
        }
    }

    func testAutoTakesTheTwoStagesOnlyForUnbiasedCompressors() throws {
        let q = QSGD(dimension: 1000, levels: 127, coding: .fixed)
        XCTAssertTrue(Collective.auto.scatters(q, workers: 4, memory: false))
        XCTAssertFalse(Collective.auto.scatters(q, workers: 2, memory: false))
        XCTAssertTrue(Collective.auto.scatters(Float64Wire(dimension: 1000), workers: 4, memory: false))
        XCTAssertFalse(Collective.scatter.scatters(TopK(dimension: 1000, k: 10), workers: 4, memory: false))
        XCTAssertFalse(Collective.auto.scatters(ScaledSign(dimension: 1000), workers: 4, memory: false))
        XCTAssertThrowsError(try Collective.scatter.check(TopK(dimension: 1000, k: 10), memory: false))
        XCTAssertNoThrow(try Collective.scatter.check(TopK(dimension: 1000, k: 10), memory: true))
        XCTAssertNoThrow(try Collective.scatter.check(q, memory: false))
        XCTAssertEqual(qsgdSGD(compressor: q, eta: 0.1, collective: .auto).exchange(workers: 4), .scatter)
        XCTAssertEqual(qsgdSGD(compressor: q, eta: 0.1, collective: .auto).exchange(workers: 2), .allGather)
        XCTAssertEqual(sgd(compressor: TopK(dimension: 1000, k: 10), eta: 0.1, collective: .auto).exchange(workers: 4), .allGather)
        XCTAssertEqual(sgd(compressor: Identity(dimension: 1000), eta: 0.1, collective: .auto).exchange(workers: 4), .allReduce)
        XCTAssertEqual(psgd(noise: 0.1, compressor: q, eta: 0.1, collective: .auto).exchange(workers: 4), .scatter)
        XCTAssertEqual(sgd(compressor: q, eta: 0.1).exchange(workers: 4), .allGather, "the library's default is the all-gather")
    }

    func run(_ method: String, workers: Int, collective: Collective) throws -> RunSummary {
        var config = TrainerConfiguration(steps: 300, seed: 0, logEvery: 100)
        config.collective = collective
        return try InProcessRun.run(objective: try ProblemSpec.make("relu:d=100,n=1000"), method: try Methods.parse(method),
                                    compressor: nil, workers: workers, config: config)
    }

    /// QSGD-SGD on the planted ReLU (Kalan et al.'s setting) through the two
    /// stages converges as through the all-gather, receiving fewer bits.
    func testQSGDSGDFitsThePlantedReLUThroughTheTwoStages() throws {
        let method = "qsgd-sgd:batch=80,bits=8"
        let scattered = try run(method, workers: 4, collective: .scatter)
        let gathered = try run(method, workers: 4, collective: .allgather)
        XCTAssertLessThan(try XCTUnwrap(scattered.relativeError), 1e-3)
        XCTAssertLessThan(try XCTUnwrap(gathered.relativeError), 1e-3)
        XCTAssertNotEqual(scattered.paramsSHA256, gathered.paramsSHA256, "the two stages re-quantize")
        XCTAssertLessThan(Double(scattered.downloadBitsPerWorker), 0.6 * Double(gathered.downloadBitsPerWorker))
    }
}
