import CSGDCore

/// A fully connected layer (PyTorch's `nn.Linear`): weight [out, in] then
/// bias [out]. Its input is a flat vector per sample (shape in×1×1; put a
/// `Flatten` before it), held feature-major (in × N), so forward is one GEMM
/// Y[out, N] = W·X + b and backward ∂W = ∂Y·Xᵀ, ∂X = Wᵀ·∂Y, ∂b = row sums.
public struct Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let hasBias: Bool
    public var inputShape: TensorShape { TensorShape(inFeatures) }
    public var outputShape: TensorShape { TensorShape(outFeatures) }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, input: TensorShape) throws {
        guard inFeatures >= 1, outFeatures >= 1 else { throw CSGDError("Linear(\(inFeatures)→\(outFeatures)): sizes must be positive") }
        guard input.height == 1, input.width == 1, input.channels == inFeatures else {
            throw CSGDError("Linear(\(inFeatures)→\(outFeatures)) cannot take input \(input) (flatten it to \(input.count)x1x1 first)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
    }

    var weightCount: Int { outFeatures * inFeatures }
    public var parameterCount: Int { weightCount + (hasBias ? outFeatures : 0) }
    public var parameterTensors: [(name: String, shape: [Int])] {
        let w = (name: "weight", shape: [outFeatures, inFeatures])
        return hasBias ? [w, (name: "bias", shape: [outFeatures])] : [w]
    }
    public var forwardMultiplyAdds: Int { weightCount }
    public func scratchCount(batch n: Int) -> Int { WeightGradient.scratchCount(m: outFeatures, k: inFeatures, length: n) }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        Initialization.weightAndBias(parameters, weightCount: weightCount, fanIn: inFeatures, seed: seed, offset: offset)
    }

    public func forward(_ a: LayerForward) {
        let n = a.batch
        BLAS.sgemm(transA: false, transB: false, m: outFeatures, n: n, k: inFeatures,
                   alpha: 1, a: a.parameters, lda: inFeatures, b: a.input, ldb: n, beta: 0, c: a.output, ldc: n)
        if hasBias { RowOps.addBias(a.output, rows: outFeatures, columns: n, bias: a.parameters + weightCount) }
    }

    public func backward(_ a: LayerBackward) {
        let n = a.batch
        let dY = UnsafePointer(a.outputGradient)
        WeightGradient.compute(dY, a.input, m: outFeatures, k: inFeatures, length: n, into: a.parameterGradient, scratch: a.scratch)
        if hasBias { RowOps.rowSums(dY, rows: outFeatures, columns: n, into: a.parameterGradient + weightCount) }
        if let dX = a.inputGradient {
            BLAS.sgemm(transA: true, transB: false, m: inFeatures, n: n, k: outFeatures,
                       alpha: 1, a: a.parameters, lda: inFeatures, b: dY, ldb: n, beta: 0, c: dX, ldc: n)
        }
    }

    public var description: String { "Linear(\(inFeatures)→\(outFeatures)\(hasBias ? "" : ", no bias"))" }
}
