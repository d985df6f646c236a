import CSGDCore
import XCTest
@testable import NeuralNet

/// Model specs, parameter layout and counts, PyTorch-like initialisation,
/// the losses' gradients, and a small model overfitting one batch.
final class ModelTests: XCTestCase {
    let mnist = TensorShape(1, 28, 28)

    func testMnistAutoencoderLayoutAndCount() throws {
        let m = try ModelSpec.parse("mnist-ae").build(input: mnist, classes: 10)
        XCTAssertEqual(m.parameterCount, 210_369)
        XCTAssertEqual(m.task, .autoencoder)
        XCTAssertEqual(m.loss, .mse)
        let shapes = m.body.layers.map(\.outputShape)
        XCTAssertEqual(shapes, [TensorShape(16, 14, 14), TensorShape(16, 14, 14), TensorShape(32, 7, 7), TensorShape(32, 7, 7),
                                TensorShape(64, 1, 1), TensorShape(32, 7, 7), TensorShape(32, 7, 7), TensorShape(16, 14, 14),
                                TensorShape(16, 14, 14), mnist, mnist])
        let tensors = m.body.parameterTensors
        XCTAssertEqual(tensors.map(\.shape), [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [64, 32, 7, 7], [64],
                                              [64, 32, 7, 7], [32], [32, 16, 3, 3], [16], [16, 1, 3, 3], [1]])
        XCTAssertEqual(m.body.parameterOffsets, [0, 160, 160, 4800, 4800, 105_216, 205_600, 205_600, 210_224, 210_224, 210_369])
    }

    func testResNetParameterCountsMatchTorchCIFARResNets() throws {
        let cifar = TensorShape(3, 32, 32)
        // kuangliu/pytorch-cifar's ResNet18 and ResNet34 (CIFAR stem, 10 classes).
        XCTAssertEqual(try ModelSpec.parse("resnet:18").build(input: cifar, classes: 10).parameterCount, 11_173_962)
        XCTAssertEqual(try ModelSpec.parse("resnet:34").build(input: cifar, classes: 10).parameterCount, 21_282_122)
        let small = try ModelSpec.parse("resnet:8").build(input: mnist, classes: 10)
        XCTAssertEqual(small.outputShape, TensorShape(10))
        XCTAssertTrue(small.hasBatchNorm)
        XCTAssertEqual(small.stateCount, 2 * (16 + 2 * 16 + 2 * 32 + 32 + 2 * 64 + 64))
    }

    func testMLPAndVGG() throws {
        let m = try ModelSpec.parse("mlp:784-256-10").build(input: mnist, classes: 10)
        XCTAssertEqual(m.parameterCount, 784 * 256 + 256 + 256 * 10 + 10)
        XCTAssertEqual(m.task, .classifier(classes: 10))
        let p = try ModelSpec.parse("mlp:784-128-32-10,act=sigmoid,dropout=0.25").build(input: mnist, classes: 10)
        XCTAssertTrue(p.hasDropout)
        let v = try ModelSpec.parse("vgg:3").build(input: mnist, classes: 10)
        XCTAssertEqual(v.body.layers.filter { $0 is Pool2d }.count, 3)
        XCTAssertEqual(v.outputShape, TensorShape(10))
    }

    /// `act` and `dropout` one a hidden layer: Farrell & Quintero Peña's
    /// shallow net, dense 128 sigmoid, dropout 0.25, dense 32 with no activation.
    func testMLPPerLayerActivationAndDropout() throws {
        let spec = try ModelSpec.parse("mlp:784-128-32-10,act=sigmoid-none,dropout=0.25-0")
        XCTAssertEqual(spec, .mlp(widths: [784, 128, 32, 10], activations: [.sigmoid, nil], dropouts: [0.25, 0]))
        XCTAssertEqual(spec.description, "mlp:784-128-32-10,act=sigmoid-none,dropout=0.25-0")
        XCTAssertEqual(try ModelSpec.parse(spec.description), spec)
        let m = try spec.build(input: mnist, classes: 10)
        XCTAssertEqual(m.body.layers.map { String(describing: type(of: $0)) }, ["Flatten", "Linear", "Activation", "Dropout", "Linear", "Linear"])
        XCTAssertEqual((m.body.layers[2] as? Activation)?.kind, .sigmoid)
        XCTAssertEqual(m.parameterCount, 784 * 128 + 128 + 128 * 32 + 32 + 32 * 10 + 10)
        // One value is every hidden layer's, as before; the spelling stays the one-value one.
        XCTAssertEqual(try ModelSpec.parse("mlp:784-128-32-10,act=sigmoid,dropout=0.25"),
                       .mlp(widths: [784, 128, 32, 10], activation: .sigmoid, dropout: 0.25))
        XCTAssertEqual(try ModelSpec.parse("mlp:784-128-32-10,act=sigmoid,dropout=0.25").description, "mlp:784-128-32-10,act=sigmoid,dropout=0.25")
        XCTAssertEqual(try ModelSpec.parse("mlp:784-128-32-10,act=none-none").build(input: mnist, classes: 10).body.layers.filter { $0 is Activation }.count, 0)
        for (text, message) in [
            ("mlp:784-128-32-10,act=sigmoid-relu-tanh", "model 'mlp': act = 'sigmoid-relu-tanh' gives 3 values for 2 hidden layers"),
            ("mlp:784-128-32-10,dropout=0.25-", "model 'mlp': dropout = '' is not a finite number"),
            ("mlp:784-128-32-10,act=sigmoid-gelu", "model 'mlp': act = 'gelu' is not one of: relu, sigmoid, tanh, none"),
            ("mlp:784-128-32-10,dropout=0.25-1", "model 'mlp': dropout = 1 must be in [0, 1)"),
        ] {
            XCTAssertThrowsError(try ModelSpec.parse(text), text) { e in
                XCTAssertTrue(String(describing: e).hasPrefix(message), "\(text): \(e)")
            }
        }
    }

    /// A dropout Swift prints with a negative exponent is spelled as a
    /// plain decimal, so the `-`-separated description parses back (found
    /// by fuzzing: 'dropout=2.6745986849527124e-28' split into '…e' and '28').
    func testDescriptionsOfTinyDropoutsParseBack() throws {
        for p in [2.6745986849527124e-28, 1e-5, 0.000123, 0.25, 5e-324] {
            let spec = ModelSpec.mlp(widths: [4, 3, 3, 2], activations: [.relu, .relu], dropouts: [p, p])
            XCTAssertFalse(spec.description.contains("e-"), spec.description)
            XCTAssertEqual(try ModelSpec.parse(spec.description), spec, spec.description)
            let twoValues = ModelSpec.mlp(widths: [4, 3, 3, 2], activations: [.relu, .relu], dropouts: [p, 0.5])
            XCTAssertEqual(try ModelSpec.parse(twoValues.description), twoValues, twoValues.description)
            let vgg = ModelSpec.vgg(blocks: 2, width: 8, dropout: p)
            XCTAssertEqual(try ModelSpec.parse(vgg.description), vgg, vgg.description)
        }
        XCTAssertEqual(ModelSpec.number(1e-5), "0.00001")
        XCTAssertEqual(ModelSpec.number(2.5e-7), "0.00000025")
        XCTAssertEqual(ModelSpec.number(0.25), "0.25")
    }

    func testSpecErrorsAreOneLine() throws {
        let bad = [
            ("alexnet", "model 'alexnet' is not known (expected one of: mnist-ae, mlp, resnet, vgg)"),
            ("mlp", "model 'mlp': needs its layer widths first, as in 'mlp:784-256-10'"),
            ("mlp:784-x-10", "model 'mlp': width = 'x' is not an integer"),
            ("mlp:784-0-10", "model 'mlp': width = 0 must be positive"),
            ("mlp:784", "model 'mlp': needs at least an input and an output width"),
            ("mlp:784-10,act=gelu", "model 'mlp': act = 'gelu' is not one of: relu, sigmoid, tanh"),
            ("resnet:19", "model 'resnet': depth = 19 is not 10, 18, 34 or 6k+2"),
            ("resnet:18,depth=3", "model 'resnet': option 'depth' is not known (allowed: width)"),
            ("mnist-ae:loss=l1", "model 'mnist-ae': loss = 'l1' is not one of: mse, bce"),
            ("vgg:0", "model 'vgg': blocks = 0 must be in [1, 6]"),
            ("vgg:3,dropout=0.8", "model 'vgg': dropout 0.8 + 0.1 per block reaches 1 by block 3"),
            ("mlp:784-10,dropout=1.5", "model 'mlp': dropout = 1.5 must be in [0, 1)"),
            ("resnet", "model 'resnet': needs a depth first, as in 'resnet:18'"),
            ("mnist-ae:loss", "model 'mnist-ae': option 'loss' needs a value (loss=…)"),
        ]
        for (text, message) in bad {
            XCTAssertThrowsError(try ModelSpec.parse(text), text) { e in
                XCTAssertTrue(String(describing: e).hasPrefix(message), "\(text): \(e)")
                XCTAssertFalse(String(describing: e).contains("\n"), text)
                XCTAssertTrue(e is CSGDError, text)
            }
        }
        // Accepted spellings parse to the same specs as before.
        XCTAssertEqual(try ModelSpec.parse("MLP:784-256-10,ACT=Tanh"), .mlp(widths: [784, 256, 10], activation: .tanh, dropout: 0))
        XCTAssertEqual(try ModelSpec.parse("mnist-ae:loss=bce"), .mnistAutoencoder(loss: .binaryCrossEntropy))
        XCTAssertEqual(try ModelSpec.parse("resnet:8"), .resnet(depth: 8, width: 16))
        XCTAssertEqual(try ModelSpec.parse("vgg:2,width=8"), .vgg(blocks: 2, width: 8, dropout: 0.2))
        for text in ["mnist-ae", "mlp:784-32-10,dropout=0.25", "resnet:18,width=8", "vgg:3"] {
            let spec = try ModelSpec.parse(text)
            XCTAssertEqual(try ModelSpec.parse(spec.description), spec, text)
        }
        XCTAssertThrowsError(try ModelSpec.parse("mlp:100-10").build(input: mnist, classes: 10))
        XCTAssertThrowsError(try ModelSpec.parse("mlp:784-9").build(input: mnist, classes: 10))
        XCTAssertThrowsError(try ModelSpec.parse("mnist-ae").build(input: TensorShape(1, 20, 20), classes: 10))
    }

    func testCanonicalSpellingsParseBack() throws {
        for text in ["mnist-ae", "mnist-ae:loss=bce", "mlp:784-256-10", "resnet:18", "resnet:8,width=8", "vgg:3,width=16", "MLP:10-5-2,act=tanh"] {
            let s = try ModelSpec.parse(text)
            XCTAssertEqual(try ModelSpec.parse(s.description), s, text)
        }
        XCTAssertEqual(try ModelSpec.parse("resnet:18").description, "resnet:18,width=64")
        XCTAssertEqual(try ModelSpec.parse("resnet:20").description, "resnet:20,width=16")
    }

    func testInitializationIsPyTorchLike() throws {
        let m = try ModelSpec.parse("mnist-ae").build(input: mnist, classes: 10)
        let x = m.initialParameters(seed: 3)
        XCTAssertEqual(x, m.initialParameters(seed: 3))
        XCTAssertNotEqual(x, m.initialParameters(seed: 4))
        // fan_in: Conv2d in·k·k; ConvTranspose2d weight dim 1 (= out)·k·k, as torch.
        let fanIns = [9, 144, 1568, 32 * 49, 16 * 9, 1 * 9]
        var t = 0
        for (i, layer) in m.body.layers.enumerated() where layer.parameterCount > 0 {
            let fan = fanIns[t]
            let offset = m.body.parameterOffsets[i]
            let bound = 1 / Float(fan).squareRoot()
            XCTAssertEqual(Initialization.kaimingBound(fanIn: fan), bound, accuracy: 1e-7)
            let w = Array(x[offset..<(offset + layer.parameterCount)])
            XCTAssertTrue(w.allSatisfy { abs($0) <= bound }, "\(layer) within ±1/√\(fan)")
            if w.count > 1000 {
                let mean = w.reduce(0, +) / Float(w.count)
                let variance = w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)
                XCTAssertEqual(Double(variance), Double(bound * bound / 3), accuracy: 0.05 * Double(bound * bound / 3), "\(layer) uniform variance")
                XCTAssertLessThan(abs(mean), 4 * bound / Float(w.count).squareRoot())
                XCTAssertGreaterThan(w.map(abs).max()!, 0.99 * bound)
            }
            t += 1
        }
        XCTAssertEqual(t, 6)
        // ConvTranspose2d(32→16, k3)'s bound is 1/√144, larger than in·k·k's 1/√288 would give.
        let w = x[205_600..<(205_600 + 4608)].map(abs).max()!
        XCTAssertGreaterThan(w, 1 / Float(288).squareRoot())
        // BatchNorm: weight 1, bias 0.
        let r = try ModelSpec.parse("resnet:8,width=4").build(input: mnist, classes: 10)
        let rp = r.initialParameters(seed: 1)
        XCTAssertEqual(Array(rp[36..<40]), [1, 1, 1, 1])
        XCTAssertEqual(Array(rp[40..<44]), [0, 0, 0, 0])
    }

    func testLossGradients() {
        let shape = TensorShape(3)
        let n = 4
        let logits = TestData.uniform(shape.count * n, seed: 1, lo: -2, hi: 2)
        let probs = TestData.uniform(shape.count * n, seed: 2, lo: 0.05, hi: 0.95)
        let target = TestData.uniform(shape.count * n, seed: 3, lo: 0, hi: 1)
        let labels: [Int32] = [0, 2, 1, 2]
        for loss in Loss.allCases {
            let y = loss == .binaryCrossEntropy ? probs : logits
            func value(_ y: [Float]) -> Double {
                y.withUnsafeBufferPointer { yp in target.withUnsafeBufferPointer { tp in labels.withUnsafeBufferPointer { lp in
                    loss.evaluate(output: yp.baseAddress!, shape: shape, batch: n, target: tp.baseAddress!, labels: lp.baseAddress!,
                                  normalizer: loss.normalizer(batch: n, shape: shape), gradient: nil)
                } } }
            }
            var g = [Float](repeating: 0, count: y.count)
            let v = y.withUnsafeBufferPointer { yp in target.withUnsafeBufferPointer { tp in labels.withUnsafeBufferPointer { lp in
                g.withUnsafeMutableBufferPointer { gp in
                    loss.evaluate(output: yp.baseAddress!, shape: shape, batch: n, target: tp.baseAddress!, labels: lp.baseAddress!,
                                  normalizer: loss.normalizer(batch: n, shape: shape), gradient: gp.baseAddress!)
                }
            } } }
            XCTAssertEqual(v, value(y))
            for i in 0..<y.count {
                var a = y, b = y
                a[i] += 1e-2; b[i] -= 1e-2
                let num = (value(a) - value(b)) / Double(a[i] - b[i])
                XCTAssertEqual(num, Double(g[i]), accuracy: 2e-3 * max(1, abs(num)), "\(loss) ∂y[\(i)]")
            }
        }
        // Known values: MSE of 0 vs 1 is 1; cross-entropy of equal logits is log C.
        XCTAssertEqual(Loss.mse.evaluate(output: [0, 0], shape: TensorShape(2), batch: 1, target: [1, 1], labels: nil,
                                         normalizer: 2, gradient: nil), 1)
        XCTAssertEqual(Loss.crossEntropy.evaluate(output: [0, 0, 0], shape: TensorShape(3), batch: 1, target: nil, labels: [1],
                                                  normalizer: 1, gradient: nil), log(3), accuracy: 1e-12)
    }

    /// Plain gradient descent on one batch must drive the loss down by a large factor.
    func testSmallModelsOverfitOneBatch() throws {
        let cases: [(String, TensorShape, Int, Float, Int, Double)] = [
            ("mlp:12-16-3", TensorShape(3, 2, 2), 3, 0.5, 150, 20),
            ("resnet:8,width=4", TensorShape(1, 6, 6), 3, 0.1, 60, 5),
        ]
        for (spec, shape, classes, lr, steps, factor) in cases {
            let m = try ModelSpec.parse(spec).build(input: shape, classes: classes)
            let data = TestData.dataset(shape, count: 8, classes: classes, seed: 4)
            let runner = BatchRunner(model: m, capacity: 8)
            var x = m.initialParameters(seed: 2)
            var g = [Float](repeating: 0, count: x.count)
            let idx: [Int32] = Array(0..<8)
            func step() -> Double {
                let l = x.withUnsafeBufferPointer { xp in idx.withUnsafeBufferPointer { ip in g.withUnsafeMutableBufferPointer { gp in
                    runner.lossAndGradient(at: xp.baseAddress!, data: data, indices: ip, mode: .deterministic, into: gp.baseAddress!)
                } } }
                for i in 0..<x.count { x[i] -= lr * g[i] }
                return l
            }
            let first = step()
            var last = first
            for _ in 0..<steps { last = step() }
            XCTAssertLessThan(last * factor, first, "\(spec): loss \(first) → \(last)")
        }
    }
}
