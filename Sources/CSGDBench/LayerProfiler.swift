import CSGDCore
import NeuralNet

/// Where a training step's time goes: each layer of a model (residual
/// blocks opened into their layers) run alone on a batch (random inputs and output gradients), forward and
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

    /// A layer to time alone: where its parameters and state sit in the
    /// model's vectors, and whether it is the model's first layer.
    struct Entry {
        var name: String
        var layer: any Layer
        var parameterOffset: Int
        var stateOffset: Int
        var first: Bool
    }

    /// The model's top-level layers, with each residual block opened into
    /// its main path's and shortcut's layers and the block itself (whose
    /// own work, the sum and its ReLU, is its time less its layers').
    static func entries(of model: Model) -> [(entry: Entry, parts: [Entry])] {
        var list: [(Entry, [Entry])] = []
        let body = model.body
        for (i, layer) in body.layers.enumerated() {
            let p = body.parameterOffsets[i], s = body.stateOffsets[i]
            let top = Entry(name: layer.description, layer: layer, parameterOffset: p, stateOffset: s, first: i == 0)
            guard let block = layer as? ResidualBlock else { list.append((top, [])); continue }
            var parts: [Entry] = []
            for (j, l) in block.main.layers.enumerated() {
                parts.append(Entry(name: "block \(i) main: \(l)", layer: l, parameterOffset: p + block.main.parameterOffsets[j],
                                   stateOffset: s + block.main.stateOffsets[j], first: false))
            }
            if let short = block.shortcut {
                for (j, l) in short.layers.enumerated() {
                    parts.append(Entry(name: "block \(i) shortcut: \(l)", layer: l,
                                       parameterOffset: p + block.main.parameterCount + short.parameterOffsets[j],
                                       stateOffset: s + block.main.stateCount + short.stateOffsets[j], first: false))
                }
            }
            var own = top
            own.name = "block \(i): sum + ReLU (block less its layers)"
            list.append((own, parts))
        }
        return list
    }

    /// Best-of-`reps` times for every layer of `model` at batch `n`, each
    /// residual block's layers separately (the first layer's backward skips
    /// its input gradient, as in training).
    public static func profile(model: Model, batch n: Int, reps: Int = 20) -> [Row] {
        var rows: [Row] = []
        let x = FloatBuffer(model.initialParameters(seed: 1))
        let state = FloatBuffer(model.initialState())
        let g = FloatBuffer(count: model.parameterCount)
        func time(_ e: Entry) -> Row {
            let layer = e.layer
            let input = FloatBuffer(count: layer.inputShape.count * n)
            let output = FloatBuffer(count: layer.outputShape.count * n)
            let dOut = FloatBuffer(count: layer.outputShape.count * n)
            let dIn = FloatBuffer(count: layer.inputShape.count * n)
            let saved = FloatBuffer(count: max(1, layer.savedCount(batch: n)))
            let scratch = FloatBuffer(count: max(1, layer.scratchCount(batch: n)))
            for j in 0..<input.count { input.pointer[j] = Float(j % 23) / 23 }
            for j in 0..<dOut.count { dOut.pointer[j] = Float(j % 19) / 19 - 0.5 }
            let p = x.pointer + e.parameterOffset
            let s = state.pointer + e.stateOffset
            let mode = ForwardMode.training(dropout: RandomKey(seed: 1, purpose: .minibatch))
            let fwd = Clock.best(reps: reps) {
                layer.forward(LayerForward(parameters: p, state: s, input: input.pointer, output: output.pointer,
                                           saved: saved.pointer, scratch: scratch.pointer, batch: n, mode: mode))
            }
            let bwd = Clock.best(reps: reps) {
                layer.backward(LayerBackward(parameters: p, state: s, input: input.pointer, output: output.pointer,
                                             outputGradient: dOut.pointer, inputGradient: e.first ? nil : dIn.pointer,
                                             parameterGradient: g.pointer + e.parameterOffset,
                                             saved: saved.pointer, scratch: scratch.pointer, batch: n, mode: mode))
            }
            var reshape = 0.0
            if let c = layer as? Conv2d, !c.geometry.columnsAreImage {
                // Block by block into the layer's scratch, as the layer does; im2col runs
                // in forward and again in backward (Conv2d keeps no column matrix).
                let step = c.blockRows(batch: n), GH = c.geometry.gridHeight
                let blocks = stride(from: 0, to: GH, by: step).map { $0 ..< min(GH, $0 + step) }
                reshape += 2 * Clock.best(reps: reps) {
                    for rows in blocks { c.geometry.im2col(input.pointer, channels: c.inChannels, batch: n, gridRows: rows, into: scratch.pointer) }
                }
                if !e.first {
                    reshape += Clock.best(reps: reps) {
                        for rows in blocks {
                            c.geometry.col2im(scratch.pointer, channels: c.inChannels, batch: n, gridRows: rows, addingInto: dIn.pointer)
                        }
                    }
                }
            } else if let c = layer as? ConvTranspose2d, !c.geometry.columnsAreImage {
                reshape += Clock.best(reps: reps) { c.geometry.col2im(scratch.pointer, channels: c.outChannels, batch: n, into: output.pointer) }
                reshape += Clock.best(reps: reps) { c.geometry.im2col(dOut.pointer, channels: c.outChannels, batch: n, into: scratch.pointer) }
            }
            let gemmFlops = 2.0 * Double(layer.forwardMultiplyAdds * n) * (e.first ? 2 : 3)
            return Row(layer: e.name, forward_ms: fwd * 1000, backward_ms: bwd * 1000, reshape_ms: reshape * 1000,
                       gemm_flops: layer is Conv2d || layer is ConvTranspose2d || layer is Linear ? gemmFlops : 0)
        }
        for (top, parts) in entries(of: model) {
            let partRows = parts.map(time)
            var own = time(top)
            if !parts.isEmpty {
                own.forward_ms = max(0, own.forward_ms - partRows.reduce(0) { $0 + $1.forward_ms })
                own.backward_ms = max(0, own.backward_ms - partRows.reduce(0) { $0 + $1.backward_ms })
                own.reshape_ms = 0
                own.gemm_flops = 0
            }
            rows += partRows + [own]
        }
        return rows
    }
}
