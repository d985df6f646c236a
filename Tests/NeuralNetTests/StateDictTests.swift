import CSGDCore
import XCTest
@testable import NeuralNet

/// `Model.stateDict`: the names and shapes of PyTorch's `state_dict()` for
/// the same network as an `nn.Sequential`, covering the parameter vector
/// and the running state exactly once, with values needing no transposition.
final class StateDictTests: XCTestCase {
    let mnist = TensorShape(1, 28, 28)

    func names(_ m: Model) -> [String] { m.stateDict.map(\.name) }
    func shapes(_ m: Model) -> [[Int]] { m.stateDict.map(\.shape) }

    /// The `.parameters` entries tile 0..<d in order and the `.runningState` ones 0..<stateCount.
    func assertCoversStorage(_ m: Model, file: StaticString = #filePath, line: UInt = #line) {
        var p = 0, s = 0
        for e in m.stateDict {
            switch e.storage {
            case let .parameters(offset): XCTAssertEqual(offset, p, e.name, file: file, line: line); p += e.count
            case let .runningState(offset): XCTAssertEqual(offset, s, e.name, file: file, line: line); s += e.count
            case .batchesTracked: XCTAssertEqual(e.shape, [], e.name, file: file, line: line)
            }
        }
        XCTAssertEqual(p, m.parameterCount, file: file, line: line)
        XCTAssertEqual(s, m.stateCount, file: file, line: line)
    }

    /// nn.Sequential(Conv2d(1,16,3,2,1), ReLU, Conv2d(16,32,3,2,1), ReLU, Conv2d(32,64,7),
    /// ConvTranspose2d(64,32,7), ReLU, ConvTranspose2d(32,16,3,2,1,1), ReLU, ConvTranspose2d(16,1,3,2,1,1), Sigmoid).
    func testMnistAutoencoderHasTorchNames() throws {
        let m = try ModelSpec.parse("mnist-ae").build(input: mnist, classes: 10)
        XCTAssertEqual(names(m), ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias",
                                  "5.weight", "5.bias", "7.weight", "7.bias", "9.weight", "9.bias"])
        XCTAssertEqual(shapes(m), [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [64, 32, 7, 7], [64],
                                   [64, 32, 7, 7], [32], [32, 16, 3, 3], [16], [16, 1, 3, 3], [1]])
        assertCoversStorage(m)
    }

    /// nn.Sequential(Flatten, Linear(784,256), ReLU, Dropout, Linear(256,10)) and without a flatten on flat inputs.
    func testMLPHasTorchNames() throws {
        let m = try ModelSpec.parse("mlp:784-256-10,dropout=0.5").build(input: mnist, classes: 10)
        XCTAssertEqual(names(m), ["1.weight", "1.bias", "4.weight", "4.bias"])
        XCTAssertEqual(shapes(m), [[256, 784], [256], [10, 256], [10]])
        assertCoversStorage(m)
        let flat = try ModelSpec.parse("mlp:6-5-4-3,act=tanh-none").build(input: TensorShape(6), classes: 3)
        XCTAssertEqual(names(flat), ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"])
        XCTAssertEqual(shapes(flat), [[5, 6], [5], [4, 5], [4], [3, 4], [3]])
        assertCoversStorage(flat)
    }

    /// torch_resnet_bench.py's network for depth 8, width 4: stem conv, BN,
    /// ReLU; blocks 3, 4, 5 (main = conv, BN, ReLU, conv, BN; short = conv1×1, BN
    /// where the shape changes); AdaptiveAvgPool2d 6, Flatten 7, Linear 8.
    func testResNetWithBatchNormHasTorchNames() throws {
        let m = try ModelSpec.parse("resnet:8,width=4").build(input: mnist, classes: 10)
        func bn(_ p: String, _ c: Int) -> [(String, [Int])] {
            [(p + ".weight", [c]), (p + ".bias", [c]), (p + ".running_mean", [c]), (p + ".running_var", [c]), (p + ".num_batches_tracked", [])]
        }
        var expected: [(String, [Int])] = [("0.weight", [4, 1, 3, 3])] + bn("1", 4)
        expected += [("3.main.0.weight", [4, 4, 3, 3])] + bn("3.main.1", 4) + [("3.main.3.weight", [4, 4, 3, 3])] + bn("3.main.4", 4)
        expected += [("4.main.0.weight", [8, 4, 3, 3])] + bn("4.main.1", 8) + [("4.main.3.weight", [8, 8, 3, 3])] + bn("4.main.4", 8)
        expected += [("4.short.0.weight", [8, 4, 1, 1])] + bn("4.short.1", 8)
        expected += [("5.main.0.weight", [16, 8, 3, 3])] + bn("5.main.1", 16) + [("5.main.3.weight", [16, 16, 3, 3])] + bn("5.main.4", 16)
        expected += [("5.short.0.weight", [16, 8, 1, 1])] + bn("5.short.1", 16)
        expected += [("8.weight", [10, 16]), ("8.bias", [10])]
        XCTAssertEqual(names(m), expected.map(\.0))
        XCTAssertEqual(shapes(m), expected.map(\.1))
        assertCoversStorage(m)
        // Running statistics sit where the model keeps them: means 0, variances 1 initially.
        let initial = m.initialState()
        for e in m.stateDict {
            guard case let .runningState(offset) = e.storage else { continue }
            let want: Float = e.name.hasSuffix("running_var") ? 1 : 0
            XCTAssertEqual(Array(initial[offset ..< offset + e.count]), Array(repeating: want, count: e.count), e.name)
        }
    }

    /// A Linear's weight is [out, in] in PyTorch's sense: output i for the
    /// input e_j is weight[i][j] + bias[i], reading the tensor row-major.
    func testLinearWeightNeedsNoTransposition() throws {
        let m = try ModelSpec.parse("mlp:4-3,act=none").build(input: TensorShape(4), classes: 3)
        let x = TestData.uniform(m.parameterCount, seed: 11)
        let entries = Dictionary(uniqueKeysWithValues: m.stateDict.map { ($0.name, $0) })
        guard case let .parameters(w)? = entries["0.weight"]?.storage, case let .parameters(b)? = entries["0.bias"]?.storage else {
            return XCTFail("no 0.weight / 0.bias")
        }
        let ws = m.makeWorkspace(batch: 1)
        for j in 0..<4 {
            for k in 0..<4 { ws.input[k] = k == j ? 1 : 0 }
            x.withUnsafeBufferPointer { m.forward(parameters: $0.baseAddress!, workspace: ws, batch: 1, mode: .evaluation) }
            for i in 0..<3 { XCTAssertEqual(ws.output[i], x[w + i * 4 + j] + x[b + i], accuracy: 1e-6, "output \(i), input e_\(j)") }
        }
    }
}
