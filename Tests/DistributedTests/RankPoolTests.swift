import CSGDCore
import Communication
import Compression
import Distributed
import Foundation
import Optimization
import Problems
import XCTest

/// W ranks on a bounded pool of threads (`RankThreads`): ranks beyond one a
/// thread run as fibers. The results must not depend on the pool's size, a
/// failing rank must end the others, and what cannot fit is refused up
/// front.
final class RankPoolTests: XCTestCase {
    /// Every collective, from ranks sharing threads: the same values as with a
    /// thread a rank, and as computed directly.
    func testCollectivesOnSharedThreadsMatchOneThreadARank() throws {
        let w = 37, n = 53
        func run(threads: Int) throws -> [[Float]] {
            let fabric = InProcessFabric(size: w)
            return try RankThreads.run(w, threads: threads) { r in
                let comm = InProcessCommunicator(fabric: fabric, rank: r)
                var out: [Float] = []
                var buffer = (0..<n).map { Float(($0 * 31 + r * 7) % 17) - 8 + Float(r) * 0.125 }
                for round in 0..<3 {
                    try buffer.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
                    out += buffer
                    let all = try comm.allGather([UInt8(r), UInt8(round)])
                    out += all.map { Float($0[0]) * 256 + Float($0[1]) }
                    try comm.barrier()
                    var b = [Float(r + round)]
                    try b.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: round % w) }
                    out += b
                }
                return out
            }
        }
        let dedicated = try run(threads: w)
        for t in [1, 2, 5] {
            XCTAssertEqual(try run(threads: t), dedicated, "\(t) threads")
        }
        // The first all-reduce is the rank-ordered sum, the gathers every rank's bytes.
        var sum = [Float](repeating: 0, count: n)
        for r in 0..<w {
            for i in 0..<n { sum[i] += Float((i * 31 + r * 7) % 17) - 8 + Float(r) * 0.125 }
        }
        XCTAssertEqual(Array(dedicated[0][0..<n]), sum)
        XCTAssertEqual(Array(dedicated[5][n..<(n + w)]), (0..<w).map { Float($0) * 256 })
    }

    /// A whole run: the same bits for W = 1 … 64 ranks on 2 threads as with
    /// a thread a rank (the in-process run's schedule does not matter).
    func testRunsOnThePoolGiveTheSameBitsAsAThreadARank() throws {
        let objective = try ProblemSpec.make("phase-retrieval:d=30,n=256")
        let method = try Methods.parse("alg1:sigma=0.01,batch=4")
        for w in [3, 16, 64] {
            let config = TrainerConfiguration(steps: 40, seed: 5, learningRate: 0.01, logEvery: 0, threadsPerRank: 1)
            func hash(threads: Int) throws -> String {
                let fabric = InProcessFabric(size: w)
                let compressor = try method.compressor(given: try CompressorSpec.parse("topk:3"))
                let trainers = try (0..<w).map { r in
                    try Trainer(objective: objective, method: method, compressor: try compressor.make(dimension: objective.dimension),
                                communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config)
                }
                let box = TrainerBox(trainers)
                let s = try RankThreads.run(w, threads: threads) { r in
                    do { return try box.trainers[r].run() } catch {
                        box.trainers[r].communicator.abort(reason: "\(error)"); throw error
                    }
                }
                XCTAssertEqual(Set(s.map(\.paramsSHA256)).count, 1, "W=\(w): ranks disagree")
                return s[0].paramsSHA256
            }
            XCTAssertEqual(try hash(threads: 2), try hash(threads: w), "W=\(w)")
        }
    }

    /// A rank that fails while the others wait in a collective ends them all
    /// (no hang), and its error, not an echo of the abort, is what `run` throws.
    func testAFailingFiberEndsEveryRank() throws {
        struct Boom: Error, Equatable { let rank: Int }
        let w = 20
        let fabric = InProcessFabric(size: w)
        let started = Date()
        XCTAssertThrowsError(try RankThreads.run(w, threads: 2) { r -> Int in
            let comm = InProcessCommunicator(fabric: fabric, rank: r)
            do {
                for step in 0..<10 {
                    if r == 13 && step == 4 { throw Boom(rank: r) }
                    try comm.barrier()
                }
                return r
            } catch {
                comm.abort(reason: "\(error)")
                throw error
            }
        }) { error in
            XCTAssertEqual(error as? Boom, Boom(rank: 13))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// More ranks than the process may map stacks for: refused before any
    /// rank is built, naming the limit and how many would fit.
    func testTooManyRanksAreRefusedUpFrontNamingTheLimit() throws {
        guard let text = try? String(contentsOfFile: "/proc/sys/vm/max_map_count", encoding: .utf8),
              let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw XCTSkip("no /proc/sys/vm/max_map_count here")
        }
        XCTAssertThrowsError(try RankThreads.checkCapacity(workers: limit, threads: 2)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("vm.max_map_count") && message.contains("at most about"), message)
        }
        XCTAssertNoThrow(try RankThreads.checkCapacity(workers: 1000, threads: 2))
    }
}
