import CSGDCore
import Datasets
import XCTest
@testable import NeuralNet

/// Deterministic test data and a harness that runs one layer alone.
enum TestData {
    /// `count` uniforms in [lo, hi) from the test stream of `seed`.
    static func uniform(_ count: Int, seed: UInt64, lo: Float = -1, hi: Float = 1) -> [Float] {
        var s = RandomStream(key: RandomKey(seed: seed, purpose: .test))
        return (0..<count).map { _ in lo + (hi - lo) * s.nextUnitFloat() }
    }

    /// Uniforms in ±[gap, 1): bounded away from 0 (kinks of ReLU).
    static func awayFromZero(_ count: Int, seed: UInt64, gap: Float = 0.05) -> [Float] {
        uniform(count, seed: seed).map { v in v < 0 ? min(v, -gap) : max(v, gap) }
    }

    /// A data set of `count` random images of `shape` with labels below `classes`.
    static func dataset(_ shape: TensorShape, count: Int, classes: Int, seed: UInt64) -> Dataset {
        var s = RandomStream(key: RandomKey(seed: seed, step: 1, purpose: .test))
        let images = (0..<(count * shape.count)).map { _ in s.nextUnitFloat() }
        let labels = (0..<count).map { _ in UInt8(s.nextInt(below: UInt64(classes))) }
        return Dataset(name: "test", channels: shape.channels, height: shape.height, width: shape.width,
                       classes: classes, images: images, labels: labels)
    }

    /// N×C×H×W (sample-major) → C×H×W×N (csgd's layout, sample innermost).
    static func toSampleInnermost(_ x: [Float], shape: TensorShape, batch n: Int) -> [Float] {
        let f = shape.count
        var y = [Float](repeating: 0, count: x.count)
        for s in 0..<n { for q in 0..<f { y[q * n + s] = x[s * f + q] } }
        return y
    }
}

/// Runs a layer's forward and backward on arrays, with its own saved and
/// scratch memory.
struct LayerHarness {
    let layer: any Layer
    let batch: Int
    var parameters: [Float]
    var state: [Float]
    let saved: FloatBuffer
    let scratch: FloatBuffer

    init(_ layer: any Layer, batch: Int, seed: UInt64 = 1, perturb: Float = 0.1) {
        self.layer = layer
        self.batch = batch
        var p = [Float](repeating: 0, count: layer.parameterCount)
        var s = [Float](repeating: 0, count: layer.stateCount)
        p.withUnsafeMutableBufferPointer { pp in
            s.withUnsafeMutableBufferPointer { ss in layer.initialize(parameters: pp, state: ss, seed: seed, offset: 0) }
        }
        // Move away from the initial values (BatchNorm's 1 and 0) so every term matters.
        let noise = TestData.uniform(p.count, seed: seed &+ 77)
        for i in 0..<p.count { p[i] += perturb * noise[i] }
        parameters = p
        state = s
        saved = FloatBuffer(count: max(1, layer.savedCount(batch: batch)))
        scratch = FloatBuffer(count: max(1, layer.scratchCount(batch: batch)))
    }

    func forward(_ x: [Float], parameters p: [Float]? = nil, mode: ForwardMode = .deterministic) -> [Float] {
        var y = [Float](repeating: 0, count: layer.outputShape.count * batch)
        var st = state
        let params = p ?? parameters
        params.withUnsafeBufferPointer { pp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    st.withUnsafeMutableBufferPointer { sp in
                        layer.forward(LayerForward(parameters: pp.baseAddress ?? UnsafePointer(saved.pointer), state: sp.baseAddress ?? scratch.pointer,
                                                   input: xp.baseAddress!, output: yp.baseAddress!, saved: saved.pointer,
                                                   scratch: scratch.pointer, batch: batch, mode: mode))
                    }
                }
            }
        }
        return y
    }

    /// (∂L/∂x, ∂L/∂params) for L = Σ r·y, after a forward at (x, parameters).
    func backward(_ x: [Float], _ r: [Float], mode: ForwardMode = .deterministic, wantInput: Bool = true) -> ([Float], [Float]) {
        let y = forward(x, mode: mode)
        var dx = [Float](repeating: .nan, count: x.count)
        var dp = [Float](repeating: .nan, count: parameters.count)
        var dy = r
        let st = state
        parameters.withUnsafeBufferPointer { pp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        dp.withUnsafeMutableBufferPointer { dpp in
                            dy.withUnsafeMutableBufferPointer { dyp in
                                st.withUnsafeBufferPointer { sp in
                                    layer.backward(LayerBackward(
                                        parameters: pp.baseAddress ?? UnsafePointer(saved.pointer), state: sp.baseAddress ?? UnsafePointer(scratch.pointer),
                                        input: xp.baseAddress!, output: yp.baseAddress!, outputGradient: dyp.baseAddress!,
                                        inputGradient: wantInput ? dxp.baseAddress! : nil,
                                        parameterGradient: dpp.baseAddress ?? scratch.pointer, saved: saved.pointer,
                                        scratch: scratch.pointer, batch: batch, mode: mode))
                                }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(dy, r, "backward must leave the output gradient unchanged")
        return (dx, dp)
    }

    /// Σ r·y in Double.
    func objective(_ x: [Float], _ r: [Float], parameters p: [Float]? = nil, mode: ForwardMode = .deterministic) -> Double {
        let y = forward(x, parameters: p, mode: mode)
        var s = 0.0
        for i in 0..<y.count { s += Double(r[i]) * Double(y[i]) }
        return s
    }

    /// Checks backward against central differences (step h, Float forward,
    /// Double sums) on up to `samples` coordinates of the input and of the
    /// parameters: |numeric − analytic| ≤ tol·max(1, |analytic|).
    func checkGradients(input x: [Float], h: Float, tol: Double, samples: Int = 24, seed: UInt64 = 5,
                        mode: ForwardMode = .deterministic, checkInput: Bool = true,
                        file: StaticString = #filePath, line: UInt = #line) {
        let r = TestData.uniform(layer.outputShape.count * batch, seed: seed)
        let (dx, dp) = backward(x, r, mode: mode, wantInput: checkInput)
        var stream = RandomStream(key: RandomKey(seed: seed, step: 9, purpose: .test))
        func coords(_ n: Int) -> [Int] {
            n <= samples ? Array(0..<n) : (0..<samples).map { _ in Int(stream.nextInt(below: UInt64(n))) }
        }
        if checkInput {
            for i in coords(x.count) {
                var a = x, b = x
                a[i] += h; b[i] -= h
                let num = (objective(a, r, mode: mode) - objective(b, r, mode: mode)) / Double(a[i] - b[i])
                XCTAssertLessThanOrEqual(abs(num - Double(dx[i])), tol * max(1, abs(Double(dx[i]))),
                                         "\(layer) ∂x[\(i)]: numeric \(num) analytic \(dx[i])", file: file, line: line)
            }
        }
        for i in coords(parameters.count) {
            var a = parameters, b = parameters
            a[i] += h; b[i] -= h
            let num = (objective(x, r, parameters: a, mode: mode) - objective(x, r, parameters: b, mode: mode)) / Double(a[i] - b[i])
            XCTAssertLessThanOrEqual(abs(num - Double(dp[i])), tol * max(1, abs(Double(dp[i]))),
                                     "\(layer) ∂p[\(i)]: numeric \(num) analytic \(dp[i])", file: file, line: line)
        }
    }
}
