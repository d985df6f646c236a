import Foundation

/// The training losses, as PyTorch defines them with `reduction='mean'`:
/// `mse` (nn.MSELoss: mean over every element of (y − t)²), `bce`
/// (nn.BCELoss on probabilities: mean over every element of
/// −[t·log y + (1 − t)·log(1 − y)], logs clamped at −100 and the gradient's
/// denominator y(1 − y) at 1e-12 as torch does), and `cross-entropy`
/// (nn.CrossEntropyLoss on logits: mean over the batch of
/// log Σ_c e^{z_c} − z_label).
///
/// `evaluate` handles part of a batch: it sums this part's terms, divides by
/// the whole batch's normaliser and writes ∂loss/∂output with the same
/// scaling, so the parts of a split batch add up to the whole.
public enum Loss: String, Sendable, CaseIterable {
    case mse
    case binaryCrossEntropy = "bce"
    case crossEntropy = "cross-entropy"

    /// Whether the loss compares the output with labels (else with an image).
    public var usesLabels: Bool { self == .crossEntropy }

    /// The divisor of the summed terms for a batch of `n` outputs of `shape`.
    public func normalizer(batch n: Int, shape: TensorShape) -> Double {
        usesLabels ? Double(n) : Double(n * shape.count)
    }

    /// Σ of this part's terms / `normalizer`; writes the gradient when asked.
    /// Outputs and image targets are C×H×W×n; logits are classes × n;
    /// `labels` holds n class indices.
    public func evaluate(output y: UnsafePointer<Float>, shape: TensorShape, batch n: Int,
                         target: UnsafePointer<Float>?, labels: UnsafePointer<Int32>?, normalizer: Double,
                         gradient: UnsafeMutablePointer<Float>?) -> Double {
        let count = n * shape.count
        let inv = Float(1 / normalizer)
        var total = 0.0
        switch self {
        case .mse:
            let t = target!
            var acc = SIMD8<Float>()
            var i = 0
            while i + 8 <= count {
                let d = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(t + i).loadUnaligned(as: SIMD8<Float>.self)
                acc += d * d
                if let g = gradient { UnsafeMutableRawPointer(g + i).storeBytes(of: d * (2 * inv), as: SIMD8<Float>.self) }
                i += 8
                if i & 1023 == 0 { total += Double(acc.sum()); acc = SIMD8<Float>() }
            }
            total += Double(acc.sum())
            while i < count {
                let d = y[i] - t[i]
                total += Double(d * d)
                gradient?[i] = 2 * inv * d
                i += 1
            }
        case .binaryCrossEntropy:
            let t = target!
            for i in 0..<count {
                let p = y[i], q = t[i]
                let lp = max(Foundation.log(Double(p)), -100), lq = max(Foundation.log(Double(1 - p)), -100)
                total -= Double(q) * lp + Double(1 - q) * lq
                gradient?[i] = inv * (p - q) / max((1 - p) * p, 1e-12)
            }
        case .crossEntropy:
            let classes = shape.count
            let lab = labels!
            for s in 0..<n {
                var m = -Float.infinity
                for c in 0..<classes { m = max(m, y[c * n + s]) }
                var z = 0.0
                for c in 0..<classes { z += Foundation.exp(Double(y[c * n + s] - m)) }
                let label = Int(lab[s])
                precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
                total += Foundation.log(z) + Double(m) - Double(y[label * n + s])
                if let g = gradient {
                    for c in 0..<classes {
                        let p = Float(Foundation.exp(Double(y[c * n + s] - m)) / z)
                        g[c * n + s] = inv * (p - (c == label ? 1 : 0))
                    }
                }
            }
        }
        return total / normalizer
    }
}
