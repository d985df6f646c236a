/// One tensor of a model's PyTorch `state_dict()`: its name, its shape, and
/// where csgd keeps its values.
///
/// Names are those of the same network written as a PyTorch
/// `nn.Sequential` of the model's layers: `"<index>.weight"`,
/// `"<index>.bias"` for every layer with parameters, the index counting
/// every module of the Sequential (activations, pooling, flatten and
/// dropout too). A BatchNorm also has `running_mean`, `running_var` (kept
/// in csgd's running state, not in the parameters) and
/// `num_batches_tracked` (a 64-bit integer scalar). Two layouts follow the
/// PyTorch modules they stand for:
///
/// - csgd's global average pool is `nn.AdaptiveAvgPool2d(1)` followed by
///   `nn.Flatten()`, two modules, so it takes two indices;
/// - a residual block is a module with a `main` Sequential and, when the
///   shape changes, a `short` Sequential (projection and BatchNorm):
///   `3.main.0.weight`, `3.main.1.running_mean`, `5.short.0.weight`, … (He et
///   al.'s basic block, `scripts/torch-resnet-bench`'s `Block`).
///
/// Weight shapes are PyTorch's: Linear [out, in], Conv2d [out, in, k, k],
/// ConvTranspose2d [in, out, k, k]; csgd stores each row-major in that very
/// shape, so the values need no transposition.
public struct StateDictEntry: Sendable, Equatable {
    /// Where the values live.
    public enum Storage: Sendable, Equatable {
        /// `count` floats of the flat parameter vector from `offset`.
        case parameters(offset: Int)
        /// `count` floats of the running state (BatchNorm statistics) from `offset`.
        case runningState(offset: Int)
        /// BatchNorm's `num_batches_tracked`: how many batches the running
        /// statistics average (an Int64 scalar, not stored by csgd).
        case batchesTracked
    }

    public var name: String
    public var shape: [Int]
    public var storage: Storage
    /// Elements: the product of the shape (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

extension Model {
    /// The tensors of the model's PyTorch `state_dict()`, in its order
    /// (module by module; a module's parameters, then its buffers).
    /// Together the `.parameters` entries cover the flat parameter vector
    /// once, in order, and the `.runningState` entries the running state.
    public var stateDict: [StateDictEntry] {
        var out: [StateDictEntry] = []
        Self.collect(body, prefix: "", parameters: 0, state: 0, into: &out)
        return out
    }

    private static func collect(_ layer: any Layer, prefix: String, parameters p: Int, state s: Int, into out: inout [StateDictEntry]) {
        switch layer {
        case let q as Sequential:
            var index = 0
            for (i, l) in q.layers.enumerated() {
                collect(l, prefix: "\(prefix)\(index).", parameters: p + q.parameterOffsets[i], state: s + q.stateOffsets[i], into: &out)
                index += l is GlobalAveragePool ? 2 : 1
            }
        case let r as ResidualBlock:
            collect(r.main, prefix: prefix + "main.", parameters: p, state: s, into: &out)
            if let short = r.shortcut {
                collect(short, prefix: prefix + "short.", parameters: p + r.main.parameterCount, state: s + r.main.stateCount, into: &out)
            }
        case let b as BatchNorm2d:
            let c = b.channels
            out.append(StateDictEntry(name: prefix + "weight", shape: [c], storage: .parameters(offset: p)))
            out.append(StateDictEntry(name: prefix + "bias", shape: [c], storage: .parameters(offset: p + c)))
            out.append(StateDictEntry(name: prefix + "running_mean", shape: [c], storage: .runningState(offset: s)))
            out.append(StateDictEntry(name: prefix + "running_var", shape: [c], storage: .runningState(offset: s + c)))
            out.append(StateDictEntry(name: prefix + "num_batches_tracked", shape: [], storage: .batchesTracked))
        default:
            var offset = p
            for t in layer.parameterTensors {
                out.append(StateDictEntry(name: prefix + t.name, shape: t.shape, storage: .parameters(offset: offset)))
                offset += t.shape.reduce(1, *)
            }
        }
    }
}
