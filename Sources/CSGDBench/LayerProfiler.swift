import CSGDCore
import NeuralNet

/// Where a training step's time goes: each top-level layer of a model run
/// alone on a batch (random inputs and output gradients), forward and
/// backward timed separately, and for convolutions the part spent in
/// im2col/col2im (timed on the same buffers), the rest being GEMM, bias and
/// sums. For `csgd bench-train --profile`; it measures, it asserts nothing.
public enum LayerProfiler {
    /// One layer's best times at the profiled batch size.
    public struct Row: Sendable, Codable {
        public var layer: String
        public var forward_ms: Double
        public var backward_ms: Double
        /// im2col/col2im time inside forward + backward (convolutions only).
        public var reshape_ms: Double
        public var gemm_flops: Double
    }

    /// Best-of-`reps` times for every top-level layer of `model` at batch `n`
    /// (the first layer's backward skips its input gradient, as in training).
    public static func profile(model: Model, batch n: Int, reps: Int = 20) -> [Row] {
        var rows: [Row] = []
        let x = FloatBuffer(model.initialParameters(seed: 1))
        let state = FloatBuffer(model.initialState())
        let g = FloatBuffer(count: model.parameterCount)
        for (i, layer) in model.body.layers.enumerated() {
            let input = FloatBuffer(count: layer.inputShape.count * n)
            let output = FloatBuffer(count: layer.outputShape.count * n)
            let dOut = FloatBuffer(count: layer.outputShape.count * n)
            let dIn = FloatBuffer(count: layer.inputShape.count * n)
            let saved = FloatBuffer(count: max(1, layer.savedCount(batch: n)))
            let scratch = FloatBuffer(count: max(1, layer.scratchCount(batch: n)))
            for j in 0..<input.count { input.pointer[j] = Float(j % 23) / 23 }
            for j in 0..<dOut.count { dOut.pointer[j] = Float(j % 19) / 19 - 0.5 }
            let p = x.pointer + model.body.parameterOffsets[i]
            let s = state.pointer + model.body.stateOffsets[i]
            let mode = ForwardMode.training(dropout: RandomKey(seed: 1, purpose: .minibatch))
            let fwd = Clock.best(reps: reps) {
                layer.forward(LayerForward(parameters: p, state: s, input: input.pointer, output: output.pointer,
                                           saved: saved.pointer, scratch: scratch.pointer, batch: n, mode: mode))
            }
            let bwd = Clock.best(reps: reps) {
                layer.backward(LayerBackward(parameters: p, state: s, input: input.pointer, output: output.pointer,
                                             outputGradient: dOut.pointer, inputGradient: i == 0 ? nil : dIn.pointer,
                                             parameterGradient: g.pointer + model.body.parameterOffsets[i],
                                             saved: saved.pointer, scratch: scratch.pointer, batch: n, mode: mode))
            }
            var reshape = 0.0
            if let c = layer as? Conv2d, !c.geometry.columnsAreImage {
                reshape += Clock.best(reps: reps) { c.geometry.im2col(input.pointer, channels: c.inChannels, batch: n, into: saved.pointer) }
                if i > 0 {
                    reshape += Clock.best(reps: reps) { c.geometry.col2im(saved.pointer, channels: c.inChannels, batch: n, into: dIn.pointer) }
                }
            } else if let c = layer as? ConvTranspose2d, !c.geometry.columnsAreImage {
                reshape += Clock.best(reps: reps) { c.geometry.col2im(scratch.pointer, channels: c.outChannels, batch: n, into: output.pointer) }
                reshape += Clock.best(reps: reps) { c.geometry.im2col(dOut.pointer, channels: c.outChannels, batch: n, into: scratch.pointer) }
            }
            let gemmFlops = 2.0 * Double(layer.forwardMultiplyAdds * n) * (i == 0 ? 2 : 3)
            rows.append(Row(layer: layer.description, forward_ms: fwd * 1000, backward_ms: bwd * 1000, reshape_ms: reshape * 1000,
                            gemm_flops: layer is Conv2d || layer is ConvTranspose2d || layer is Linear ? gemmFlops : 0))
        }
        return rows
    }
}
