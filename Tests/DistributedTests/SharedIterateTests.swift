import CSGDCore
import Communication
import Compression
import Datasets
@testable import Distributed
import NeuralNet
import Foundation
import Optimization
import Problems
import XCTest

/// In-process ranks hold one iterate, moved once a write, and ranks on one
/// thread share a gradient buffer when their method consumes it before any
/// collective: the bits must be those of W ranks each with copies of its own
/// on a thread of its own.
final class SharedIterateTests: XCTestCase {
    /// The parts cover 0..<d exactly, in rank order, each end a multiple of 64 (or d).
    func testIteratePartsTileTheVectorOnBlocksOf64() {
        for d in [1, 63, 64, 65, 1000, 210_369] {
            for w in [1, 2, 3, 10, 64, 1000] {
                var next = 0
                for r in 0..<w {
                    let p = StepContext.iteratePart(rank: r, of: w, dimension: d)
                    XCTAssertEqual(p.lowerBound, next, "d=\(d) W=\(w) rank \(r)")
                    XCTAssertTrue(p.upperBound == d || p.upperBound % 64 == 0, "d=\(d) W=\(w) rank \(r): \(p)")
                    next = p.upperBound
                }
                XCTAssertEqual(next, d, "d=\(d) W=\(w)")
            }
        }
        // Blocks are shared out evenly: no part holds more than one block over another.
        let parts = (0..<10).map { StepContext.iteratePart(rank: $0, of: 10, dimension: 64 * 95).count / 64 }
        XCTAssertEqual(Set(parts), [9, 10])
    }

    /// Which chains may keep their gradients in a buffer of the thread.
    func testOnlyChainsThatConsumeTheGradientBeforeCommunicatingShareIt() throws {
        let objective = try ProblemSpec.make("phase-retrieval:d=30,n=256")
        let cases: [(String, String, Bool)] = [
            ("sgd:batch=4", "randomk:5", true), ("alg1:sigma=0.01,batch=4", "randomk:5", true),
            ("ef-sgd:batch=4", "none", true),
            ("sgd:batch=4", "none", false),                             // the message is v itself until the average
            ("ef-sgd:batch=4", "sketch-topk:4,rows=3,cols=16", true),   // error feedback consumes it first
            ("sgd:batch=4", "sketch-topk:4,rows=3,cols=16", false),     // C(v) reads v after an all-reduce
        ]
        for (m, c, expected) in cases {
            let method = try Methods.parse(m)
            let compressor = try method.compressor(given: try CompressorSpec.parse(c)).make(dimension: objective.dimension)
            let t = try Trainer(objective: objective, method: method, compressor: compressor,
                                communicator: InProcessCommunicator(fabric: InProcessFabric(size: 1), rank: 0),
                                config: TrainerConfiguration(steps: 1, learningRate: 0.01))
            XCTAssertEqual(t.chain.localDiesBeforeCommunicating, expected, "\(m) with \(c)")
        }
    }

    /// Every method that moves x (the step, the error reset, PGD's and
    /// PAGD's perturbations, PAGD's step, CNC's curvature step), momentum
    /// and weight decay, and a chain whose gradient stays live across a
    /// collective: `InProcessRun` (one iterate, ranks on the pool's threads)
    /// gives the bits of ranks with their own iterates, a thread each.
    func testSharedIterateGivesTheBitsOfOwnIterates() throws {
        let pr = try ProblemSpec.make("phase-retrieval:d=30,n=256")
        let saddle = try ProblemSpec.make("saddle:d=20,start=random")
        let cases: [(any Objective, String, String, OptimizerOptions)] = [
            (pr, "sgd:batch=4", "none", OptimizerOptions()),
            (pr, "ef-sgd:batch=4", "none", OptimizerOptions()),
            (pr, "psgd:r=0.01,batch=4", "none", OptimizerOptions()),
            (pr, "sgd:batch=4", "sketch-topk:4,rows=3,cols=16", OptimizerOptions()),
            (pr, "alg1:sigma=0.01,batch=4", "randomk:5", OptimizerOptions()),
            (saddle, "alg1:sigma=0.01,reset=on,I=5,R=0.5", "topk:3", OptimizerOptions()),
            (saddle, "pgd:eps=0.05,rho=1", "none", OptimizerOptions()),
            (saddle, "pagd:ell=1,rho=1,eps=0.05", "none", OptimizerOptions()),
            (pr, "cnc:batch=4", "none", OptimizerOptions()),
            (pr, "sgd:batch=4", "randomk:5", OptimizerOptions(momentum: 0.9, nesterov: true, weightDecay: 0.01)),
        ]
        for (objective, m, c, optimizer) in cases {
            let method = try Methods.parse(m)
            let spec = try CompressorSpec.parse(c)
            for w in [3, 8] {
                var config = TrainerConfiguration(steps: 60, seed: 4, learningRate: 0.01, logEvery: 0, threadsPerRank: 1)
                config.optimizer = optimizer
                let shared = try InProcessRun.run(objective: objective, method: method, compressor: spec, workers: w, config: config)
                let fabric = InProcessFabric(size: w)
                let compressor = try method.compressor(given: spec)
                let trainers = try (0..<w).map { r in
                    try Trainer(objective: objective, method: method, compressor: try compressor.make(dimension: objective.dimension),
                                communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config)
                }
                XCTAssertFalse(trainers[0].sharesIterate)
                let box = TrainerBox(trainers)
                let own = try RankThreads.run(w, threads: w) { r in
                    do { return try box.trainers[r].run() } catch {
                        box.trainers[r].communicator.abort(reason: "\(error)"); throw error
                    }
                }
                XCTAssertEqual(shared.paramsSHA256, own[0].paramsSHA256, "\(m) with \(c), W = \(w)")
                XCTAssertEqual(shared.steps, own[0].steps, "\(m) with \(c), W = \(w)")
                XCTAssertEqual(shared.resets, own[0].resets, "\(m) with \(c), W = \(w)")
            }
        }
    }
    /// `none` straight into the SGD step: the in-process ranks average into
    /// one `SharedUpdate`, each writing its blocks, and take ‖u‖ from every
    /// rank's block terms. The iterate and every record's ‖u‖ must be those
    /// of ranks that average alone; d = 6,000 is six blocks of the
    /// reductions, the last one short, so at W = 8 some ranks have none.
    func testSharedUpdateGivesTheBitsAndNormsOfOwnAverages() throws {
        let objective = try ProblemSpec.make("phase-retrieval:d=6000,n=64")
        let method = try Methods.parse("sgd:batch=4")
        let spec = try CompressorSpec.parse("none")
        for w in [3, 8] {
            let config = TrainerConfiguration(steps: 30, seed: 5, learningRate: 1e-5, logEvery: 5, threadsPerRank: 1)
            let sharedRecords = RecordBox(), ownRecords = RecordBox()
            let shared = try InProcessRun.run(objective: objective, method: method, compressor: spec, workers: w, config: config,
                                              onRecord: { sharedRecords.append($0) })
            let fabric = InProcessFabric(size: w)
            let trainers = try (0..<w).map { r in
                try Trainer(objective: objective, method: method, compressor: try method.compressor(given: spec).make(dimension: objective.dimension),
                            communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config)
            }
            let box = TrainerBox(trainers)
            let own = try RankThreads.run(w, threads: w) { r in
                do { return try box.trainers[r].run(onRecord: r == 0 ? { ownRecords.append($0) } : nil) } catch {
                    box.trainers[r].communicator.abort(reason: "\(error)"); throw error
                }
            }
            XCTAssertEqual(shared.paramsSHA256, own[0].paramsSHA256, "W = \(w)")
            XCTAssertEqual(sharedRecords.values.count, 7, "W = \(w)")
            XCTAssertEqual(sharedRecords.values.map(\.updateNorm), ownRecords.values.map(\.updateNorm), "W = \(w)")
            XCTAssertEqual(sharedRecords.values.map(\.loss), ownRecords.values.map(\.loss), "W = \(w)")
        }
    }

    /// The shared path is the one taken: after one step of ranks given a
    /// `SharedUpdate`, it holds the average of their gradients, and the
    /// step's ‖u‖ is its norm.
    func testRanksGivenASharedUpdateAverageIntoIt() throws {
        let objective = try ProblemSpec.make("phase-retrieval:d=3000,n=64")
        let method = try Methods.parse("sgd:batch=4")
        let spec = try CompressorSpec.parse("none")
        let w = 3, d = objective.dimension
        let config = TrainerConfiguration(steps: 1, seed: 2, learningRate: 1e-5, logEvery: 1, threadsPerRank: 1)
        let x = FloatBuffer(count: d)
        objective.initialPoint(seed: config.seed, into: x.buffer)
        let storage = FloatBuffer(count: d)
        let update = SharedUpdate(values: storage.buffer, storage: storage)
        let fabric = InProcessFabric(size: w)
        let trainers = try (0..<w).map { r in
            try Trainer(objective: objective, method: method, compressor: try method.compressor(given: spec).make(dimension: d),
                        communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config, sharedIterate: x, sharedUpdate: update)
        }
        XCTAssertTrue(trainers[0].sharesIterate)
        let x0 = x.array
        let records = RecordBox()
        let box = TrainerBox(trainers)
        _ = try RankThreads.run(w, threads: w) { r in
            do { return try box.trainers[r].run(onRecord: r == 0 ? { records.append($0) } : nil) } catch {
                box.trainers[r].communicator.abort(reason: "\(error)"); throw error
            }
        }
        let u = storage.array
        XCTAssertGreaterThan(Kernels.norm2(storage.readOnly), 0)
        XCTAssertEqual(records.values.last!.updateNorm, Kernels.norm2(storage.readOnly))
        // x_1 = x_0 − η·u on every coordinate, with the step's own rounding.
        let x1 = x.array
        for i in stride(from: 0, to: d, by: 97) { XCTAssertEqual(x1[i], x0[i] + Float(-1e-5) * u[i], accuracy: 1e-6 * max(1, abs(x0[i]))) }
    }

    /// A record's fixed batch in parts: in-process ranks evaluate the parts
    /// of a network's fixed batch at once and rank 0 sums them. Every
    /// record's loss and ‖∇f‖ must be those of ranks that evaluate it whole
    /// (iterates of their own: rank 0 alone), at W = 2 (fewer ranks than the
    /// three parts: not split), 3 and 5.
    func testRecordsSplitTheFixedBatchWithTheBitsOfOneRank() throws {
        let shape = TensorShape(1, 4, 4), count = 60
        var s = RandomStream(key: RandomKey(seed: 7, step: 1, purpose: .test))
        let data = Dataset(name: "test", channels: 1, height: 4, width: 4, classes: 3,
                           images: (0..<(count * 16)).map { _ in s.nextUnitFloat() }, labels: (0..<count).map { _ in UInt8(s.nextInt(below: 3)) })
        let model = try ModelSpec.parse("mlp:16-8-3").build(input: shape, classes: 3)
        let method = try Methods.parse("sgd:batch=4")
        let spec = try CompressorSpec.parse("none")
        for w in [2, 3, 5] {
            let shards = (0..<w).map { r in (0..<Int32(count)).filter { Int($0) % w == r } }
            // 40 samples in parts of 16: 16, 16 and 8.
            let objective = try NetworkObjective(model: model, data: data, shards: shards, batchSize: 4, evaluation: data,
                                                 evaluationIndices: Array(0..<40), evaluationChunk: 16)
            XCTAssertEqual(objective.fixedBatchPartCount, 3)
            let config = TrainerConfiguration(steps: 20, seed: 3, learningRate: 0.1, logEvery: 5, threadsPerRank: 1)
            let sharedRecords = RecordBox(), ownRecords = RecordBox()
            let x = FloatBuffer(count: objective.dimension)
            objective.initialPoint(seed: config.seed, into: x.buffer)
            let fabric = InProcessFabric(size: w)
            let shared = try (0..<w).map { r in
                try Trainer(objective: objective, method: method, compressor: try method.compressor(given: spec).make(dimension: objective.dimension),
                            communicator: InProcessCommunicator(fabric: fabric, rank: r), config: config, sharedIterate: x)
            }
            let sharedBox = TrainerBox(shared)
            _ = try RankThreads.run(w, threads: w) { r in
                do { return try sharedBox.trainers[r].run(onRecord: r == 0 ? { sharedRecords.append($0) } : nil) } catch {
                    sharedBox.trainers[r].communicator.abort(reason: "\(error)"); throw error
                }
            }
            let ownFabric = InProcessFabric(size: w)
            let own = try (0..<w).map { r in
                try Trainer(objective: objective, method: method, compressor: try method.compressor(given: spec).make(dimension: objective.dimension),
                            communicator: InProcessCommunicator(fabric: ownFabric, rank: r), config: config)
            }
            let ownBox = TrainerBox(own)
            _ = try RankThreads.run(w, threads: w) { r in
                do { return try ownBox.trainers[r].run(onRecord: r == 0 ? { ownRecords.append($0) } : nil) } catch {
                    ownBox.trainers[r].communicator.abort(reason: "\(error)"); throw error
                }
            }
            XCTAssertEqual(shared[0].recordsInParts, w >= 3 ? 5 : 0, "W = \(w)")
            XCTAssertEqual(own[0].recordsInParts, 0)
            XCTAssertEqual(sharedRecords.values.count, 5, "W = \(w)")
            XCTAssertEqual(sharedRecords.values.map(\.loss), ownRecords.values.map(\.loss), "W = \(w)")
            XCTAssertEqual(sharedRecords.values.map(\.gradNorm), ownRecords.values.map(\.gradNorm), "W = \(w)")
            XCTAssertGreaterThan(sharedRecords.values.last!.gradNorm, 0)
        }
    }
}
