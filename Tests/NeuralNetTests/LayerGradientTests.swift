import CSGDCore
import XCTest
@testable import NeuralNet

/// Every layer's backward (input and parameter gradients) against central
/// differences of L = Σ r·y, r random. Forward runs in Float with sums in
/// Double. Layers linear in x and in the parameters (convolutions, Linear,
/// pooling, flatten, dropout with a fixed key) have exact central
/// differences up to rounding: h = 1e-2, tolerance 2e-3·max(1, |g|).
/// Piecewise-linear ones get inputs at least 0.05 from their kinks, more
/// than h. Smooth nonlinear ones (Sigmoid, Tanh, BatchNorm) use h = 1e-2 and
/// tolerance 5e-3: the O(h²) truncation is below 1e-4 at these scales.
final class LayerGradientTests: XCTestCase {
    let h: Float = 1e-2

    func testConv2dStride2Padded() throws {
        let l = try Conv2d(2, 3, kernel: 3, stride: 2, padding: 1, input: TensorShape(2, 5, 6))
        XCTAssertEqual(l.outputShape, TensorShape(3, 3, 3))
        LayerHarness(l, batch: 2).checkGradients(input: TestData.uniform(2 * 2 * 30, seed: 1), h: h, tol: 2e-3)
    }

    func testConv2dStride1SamePaddingNoBias() throws {
        let l = try Conv2d(3, 2, kernel: 3, stride: 1, padding: 1, bias: false, input: TensorShape(3, 4, 4))
        LayerHarness(l, batch: 2).checkGradients(input: TestData.uniform(2 * 3 * 16, seed: 2), h: h, tol: 2e-3)
    }

    func testConv2dFullWindow() throws {
        let l = try Conv2d(2, 4, kernel: 5, input: TensorShape(2, 5, 5))
        XCTAssertEqual(l.outputShape, TensorShape(4, 1, 1))
        XCTAssertTrue(l.geometry.isFullWindow)
        LayerHarness(l, batch: 3).checkGradients(input: TestData.uniform(3 * 50, seed: 3), h: h, tol: 2e-3)
    }

    func testConv2dPointwiseAndStridedPointwise() throws {
        let a = try Conv2d(3, 2, kernel: 1, input: TensorShape(3, 3, 3))
        XCTAssertTrue(a.geometry.isPointwise)
        LayerHarness(a, batch: 2).checkGradients(input: TestData.uniform(2 * 27, seed: 4), h: h, tol: 2e-3)
        let b = try Conv2d(3, 2, kernel: 1, stride: 2, input: TensorShape(3, 5, 5))
        XCTAssertEqual(b.outputShape, TensorShape(2, 3, 3))
        LayerHarness(b, batch: 2).checkGradients(input: TestData.uniform(2 * 75, seed: 5), h: h, tol: 2e-3)
    }

    /// Long weight-gradient sums (≥ 512 terms) take the transposed GEMM path.
    func testWeightGradientsWithLongSums() throws {
        let c = try Conv2d(1, 2, kernel: 3, padding: 1, input: TensorShape(1, 16, 16))
        XCTAssertTrue(WeightGradient.transposed(m: 2, k: 9, length: 2 * 256))
        LayerHarness(c, batch: 2).checkGradients(input: TestData.uniform(512, seed: 30), h: h, tol: 2e-3, samples: 12)
        let t = try ConvTranspose2d(2, 3, kernel: 2, stride: 2, input: TensorShape(2, 16, 16))
        LayerHarness(t, batch: 2).checkGradients(input: TestData.uniform(1024, seed: 31), h: h, tol: 2e-3, samples: 12)
        let l = try Linear(5, 3, input: TensorShape(5))
        LayerHarness(l, batch: 512).checkGradients(input: TestData.uniform(5 * 512, seed: 32), h: h, tol: 2e-3, samples: 12)
    }

    func testConvTranspose2dStride2OutputPadding() throws {
        let l = try ConvTranspose2d(3, 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, input: TensorShape(3, 3, 4))
        XCTAssertEqual(l.outputShape, TensorShape(2, 6, 8))
        LayerHarness(l, batch: 2).checkGradients(input: TestData.uniform(2 * 36, seed: 6), h: h, tol: 2e-3)
    }

    func testConvTranspose2dFromPoint() throws {
        let l = try ConvTranspose2d(4, 2, kernel: 4, input: TensorShape(4, 1, 1))
        XCTAssertEqual(l.outputShape, TensorShape(2, 4, 4))
        LayerHarness(l, batch: 3).checkGradients(input: TestData.uniform(12, seed: 7), h: h, tol: 2e-3)
    }

    func testConvTranspose2dPointwise() throws {
        let l = try ConvTranspose2d(3, 2, kernel: 1, input: TensorShape(3, 2, 3))
        LayerHarness(l, batch: 2).checkGradients(input: TestData.uniform(36, seed: 8), h: h, tol: 2e-3)
    }

    func testLinear() throws {
        let l = try Linear(5, 3, input: TensorShape(5))
        LayerHarness(l, batch: 4).checkGradients(input: TestData.uniform(20, seed: 9), h: h, tol: 2e-3)
    }

    func testActivations() {
        let shape = TensorShape(2, 3, 3)
        let x = TestData.awayFromZero(2 * shape.count, seed: 10)
        LayerHarness(Activation(.relu, input: shape), batch: 2).checkGradients(input: x, h: h, tol: 2e-3)
        LayerHarness(Activation(.sigmoid, input: shape), batch: 2).checkGradients(input: x, h: h, tol: 5e-3)
        LayerHarness(Activation(.tanh, input: shape), batch: 2).checkGradients(input: x, h: h, tol: 5e-3)
    }

    func testBatchNormTrainingAndEvaluation() throws {
        let shape = TensorShape(3, 2, 2)
        let l = try BatchNorm2d(3, input: shape)
        var harness = LayerHarness(l, batch: 3)
        let x = TestData.uniform(3 * shape.count, seed: 11)
        harness.checkGradients(input: x, h: h, tol: 5e-3, mode: .deterministic)
        harness.state = [0.1, -0.2, 0.3, 0.5, 1.5, 2.0]
        harness.checkGradients(input: x, h: h, tol: 2e-3, mode: .evaluation)
    }

    func testBatchNormRunningStatisticsFollowTorch() throws {
        let shape = TensorShape(2, 1, 3)
        let l = try BatchNorm2d(2, input: shape)
        var harness = LayerHarness(l, batch: 2)
        harness.state = [0.5, -1, 2, 3]
        // Channel 0 holds 1...6, channel 1 holds 6 × 2.
        let x: [Float] = [1, 2, 3, 4, 5, 6, 2, 2, 2, 2, 2, 2]
        var st = harness.state
        var y = [Float](repeating: 0, count: 12)
        harness.parameters.withUnsafeBufferPointer { p in x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            st.withUnsafeMutableBufferPointer { sp in
                l.forward(LayerForward(parameters: p.baseAddress!, state: sp.baseAddress!, input: xp.baseAddress!, output: yp.baseAddress!,
                                       saved: harness.saved.pointer, scratch: harness.scratch.pointer, batch: 2,
                                       mode: ForwardMode(batchStatistics: true, runningUpdate: 0.1)))
            }
        } } }
        // mean ← 0.9·mean + 0.1·μ; var ← 0.9·var + 0.1·σ²·M/(M − 1) (unbiased, as torch).
        XCTAssertEqual(st[0], 0.9 * 0.5 + 0.1 * 3.5, accuracy: 1e-6)
        XCTAssertEqual(st[1], 0.9 * -1 + 0.1 * 2, accuracy: 1e-6)
        XCTAssertEqual(st[2], 0.9 * 2 + 0.1 * 3.5, accuracy: 1e-5)   // Σ(x − 3.5)² = 17.5, /5
        XCTAssertEqual(st[3], 0.9 * 3, accuracy: 1e-6)
        // Normalised with the biased variance 17.5/6 and ε = 1e-5.
        let g = harness.parameters[0], b = harness.parameters[2]
        XCTAssertEqual(y[0], g * (1 - 3.5) / (17.5 / 6 + 1e-5).squareRoot() + b, accuracy: 1e-5)
        // Evaluation uses the running statistics.
        harness.state = st
        let e = harness.forward(x, mode: .evaluation)
        XCTAssertEqual(e[0], g * (1 - st[0]) / (st[2] + 1e-5).squareRoot() + b, accuracy: 1e-5)
    }

    func testDropoutMasksDoNotDependOnTheSplit() throws {
        let shape = TensorShape(2, 2, 2)
        let l = try Dropout(0.3, salt: 4, input: shape)
        let key = RandomKey(seed: 9, step: 3, worker: 1, purpose: .minibatch)
        let x = TestData.uniform(4 * shape.count, seed: 17, lo: 1, hi: 2)
        let whole = LayerHarness(l, batch: 4).forward(x, mode: .training(dropout: key))
        // Samples 2 and 3 alone, as the second part of a split batch.
        var part = [Float](repeating: 0, count: 2 * shape.count)
        for f in 0..<shape.count { for s in 0..<2 { part[f * 2 + s] = x[f * 4 + 2 + s] } }
        let y = LayerHarness(l, batch: 2).forward(part, mode: ForwardMode.training(dropout: key).part(startingAt: 2))
        for f in 0..<shape.count { for s in 0..<2 { XCTAssertEqual(y[f * 2 + s], whole[f * 4 + 2 + s]) } }
        XCTAssertNotEqual(whole, LayerHarness(l, batch: 4).forward(x, mode: .training(dropout: key.at(step: 4))))
    }

    func testPooling() throws {
        let shape = TensorShape(2, 5, 4)
        // Distinct values at least 0.05 apart: no ties inside a window, none crossed by ±h.
        let n = 2 * shape.count
        var x = (0..<n).map { Float($0) * 0.05 - 2 }
        var s = RandomStream(key: RandomKey(seed: 12, purpose: .test))
        for i in stride(from: n - 1, to: 0, by: -1) { x.swapAt(i, Int(s.nextInt(below: UInt64(i + 1)))) }
        let m = try Pool2d(.max, kernel: 2, input: shape)
        XCTAssertEqual(m.outputShape, TensorShape(2, 2, 2))
        LayerHarness(m, batch: 2).checkGradients(input: x, h: h / 10, tol: 2e-3)
        let a = try Pool2d(.average, kernel: 3, stride: 1, input: shape)
        XCTAssertEqual(a.outputShape, TensorShape(2, 3, 2))
        LayerHarness(a, batch: 2).checkGradients(input: x, h: h, tol: 2e-3)
        LayerHarness(GlobalAveragePool(input: shape), batch: 2).checkGradients(input: x, h: h, tol: 2e-3)
    }

    func testFlattenIsPyTorchOrder() {
        let shape = TensorShape(2, 2, 3)
        let l = Flatten(input: shape)
        // Sample-major values 0..<24 → csgd's layout; output must be features (c, h, w) × n.
        let nchw = (0..<24).map(Float.init)
        let y = LayerHarness(l, batch: 2).forward(TestData.toSampleInnermost(nchw, shape: shape, batch: 2))
        for s in 0..<2 { for f in 0..<12 { XCTAssertEqual(y[f * 2 + s], nchw[s * 12 + f]) } }
        LayerHarness(l, batch: 2).checkGradients(input: TestData.uniform(24, seed: 13), h: h, tol: 2e-3)
    }

    func testDropoutWithFixedKey() throws {
        let shape = TensorShape(3, 2, 2)
        let l = try Dropout(0.5, salt: 1, input: shape)
        let mode = ForwardMode.training(dropout: RandomKey(seed: 3, purpose: .minibatch))
        let x = TestData.uniform(4 * shape.count, seed: 14)
        let y = LayerHarness(l, batch: 4).forward(x, mode: mode)
        let zeros = y.filter { $0 == 0 }.count
        XCTAssertGreaterThan(zeros, 8)
        XCTAssertLessThan(zeros, 40)
        for i in 0..<y.count where y[i] != 0 { XCTAssertEqual(y[i], 2 * x[i], accuracy: 1e-6) }
        XCTAssertEqual(LayerHarness(l, batch: 4).forward(x, mode: .evaluation), x)
        LayerHarness(l, batch: 4).checkGradients(input: x, h: h, tol: 2e-3, mode: mode)
    }

    func testResidualBlocks() throws {
        let shape = TensorShape(2, 4, 4)
        let x = TestData.uniform(2 * shape.count, seed: 15)
        let projected = try ResidualBlock.basic(2, 3, stride: 2, input: shape)
        XCTAssertNotNil(projected.shortcut)
        XCTAssertEqual(projected.outputShape, TensorShape(3, 2, 2))
        LayerHarness(projected, batch: 2).checkGradients(input: x, h: 1e-3, tol: 2e-2, samples: 16)
        let identity = try ResidualBlock.basic(2, 2, stride: 1, input: shape)
        XCTAssertNil(identity.shortcut)
        LayerHarness(identity, batch: 2).checkGradients(input: x, h: 1e-3, tol: 2e-2, samples: 16)
    }

    func testSequentialStack() throws {
        let c = try Conv2d(1, 2, kernel: 3, stride: 2, padding: 1, input: TensorShape(1, 6, 6))
        let t = try ConvTranspose2d(2, 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1, input: c.outputShape)
        let s = try Sequential([c, Activation(.tanh, input: c.outputShape), t, Activation(.sigmoid, input: t.outputShape)])
        XCTAssertEqual(s.outputShape, TensorShape(1, 6, 6))
        LayerHarness(s, batch: 2).checkGradients(input: TestData.uniform(72, seed: 16), h: h, tol: 5e-3)
    }
}
