import CSGDCore

/// A 2-D convolution (PyTorch's `nn.Conv2d`, square kernel, groups 1):
/// weight [out, in, k, k] then bias [out] in its parameter slice; output
/// side ⌊(H + 2p − k)/s⌋ + 1.
///
/// Forward is im2col over the whole batch into scratch memory, then one
/// GEMM Y[out, N·GH·GW] = W[out, in·k·k]·col, then the bias. Backward
/// rebuilds col from the input (cheaper than keeping it: it is k·k times
/// the input's size, so saving it meant writing and re-reading that much
/// memory), then ∂W = ∂Y·colᵀ, ∂b = row sums of ∂Y, ∂X = col2im(Wᵀ·∂Y). A 1×1 stride-1
/// unpadded convolution, or one whose window covers the whole input (the
/// autoencoder's k7 layer), skips im2col: with the batch innermost the input
/// is its own column matrix.
public struct Conv2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let geometry: ConvGeometry
    public let hasBias: Bool
    public let inputShape: TensorShape
    public let outputShape: TensorShape

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, input: TensorShape) throws {
        guard inChannels >= 1, outChannels >= 1, kernel >= 1, stride >= 1, padding >= 0 else {
            throw CSGDError("Conv2d(\(inChannels)→\(outChannels), k\(kernel), s\(stride), p\(padding)): sizes must be positive")
        }
        guard input.channels == inChannels else {
            throw CSGDError("Conv2d(\(inChannels)→\(outChannels)) cannot take input \(input)")
        }
        guard input.height + 2 * padding >= kernel, input.width + 2 * padding >= kernel else {
            throw CSGDError("Conv2d kernel \(kernel) is larger than its padded input \(input) (padding \(padding))")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.hasBias = bias
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding, imageHeight: input.height, imageWidth: input.width)
        inputShape = input
        outputShape = TensorShape(outChannels, geometry.gridHeight, geometry.gridWidth)
    }

    /// Rows of the column matrix, in·k·k (also fan_in).
    var columnRows: Int { inChannels * geometry.taps }
    var weightCount: Int { outChannels * columnRows }
    public var parameterCount: Int { weightCount + (hasBias ? outChannels : 0) }
    public var parameterTensors: [(name: String, shape: [Int])] {
        let w = (name: "weight", shape: [outChannels, inChannels, geometry.kernel, geometry.kernel])
        return hasBias ? [w, (name: "bias", shape: [outChannels])] : [w]
    }
    public var forwardMultiplyAdds: Int { weightCount * geometry.gridArea }

    /// Floats of the column matrix (0 when the input is its own).
    func columnCount(batch n: Int) -> Int { geometry.columnsAreImage ? 0 : columnRows * n * geometry.gridArea }
    /// Nothing is kept: backward rebuilds the column matrix from the input,
    /// which costs less than writing it out and reading it back from memory.
    public func savedCount(batch n: Int) -> Int { 0 }
    /// The column matrix, then the weight gradient's own scratch.
    public func scratchCount(batch n: Int) -> Int {
        columnCount(batch: n) + WeightGradient.scratchCount(m: outChannels, k: columnRows, length: n * geometry.gridArea)
    }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        Initialization.weightAndBias(parameters, weightCount: weightCount, fanIn: columnRows, seed: seed, offset: offset)
    }

    public func forward(_ a: LayerForward) {
        let P = a.batch * geometry.gridArea
        let col: UnsafePointer<Float>
        if geometry.columnsAreImage {
            col = a.input
        } else {
            geometry.im2col(a.input, channels: inChannels, batch: a.batch, into: a.scratch)
            col = UnsafePointer(a.scratch)
        }
        BLAS.sgemm(transA: false, transB: false, m: outChannels, n: P, k: columnRows,
                   alpha: 1, a: a.parameters, lda: columnRows, b: col, ldb: P, beta: 0, c: a.output, ldc: P)
        if hasBias { RowOps.addBias(a.output, rows: outChannels, columns: P, bias: a.parameters + weightCount) }
    }

    public func backward(_ a: LayerBackward) {
        let P = a.batch * geometry.gridArea
        let dY = UnsafePointer(a.outputGradient)
        let col: UnsafePointer<Float>
        if geometry.columnsAreImage {
            col = a.input
        } else {
            geometry.im2col(a.input, channels: inChannels, batch: a.batch, into: a.scratch)
            col = UnsafePointer(a.scratch)
        }
        WeightGradient.compute(dY, col, m: outChannels, k: columnRows, length: P, into: a.parameterGradient,
                               scratch: a.scratch + columnCount(batch: a.batch))
        if hasBias { RowOps.rowSums(dY, rows: outChannels, columns: P, into: a.parameterGradient + weightCount) }
        guard let dX = a.inputGradient else { return }
        if geometry.columnsAreImage {
            BLAS.sgemm(transA: true, transB: false, m: columnRows, n: P, k: outChannels,
                       alpha: 1, a: a.parameters, lda: columnRows, b: dY, ldb: P, beta: 0, c: dX, ldc: P)
        } else {
            BLAS.sgemm(transA: true, transB: false, m: columnRows, n: P, k: outChannels,
                       alpha: 1, a: a.parameters, lda: columnRows, b: dY, ldb: P, beta: 0, c: a.scratch, ldc: P)
            geometry.col2im(a.scratch, channels: inChannels, batch: a.batch, into: dX)
        }
    }

    public var description: String {
        "Conv2d(\(inChannels)→\(outChannels), k\(geometry.kernel), s\(geometry.stride), p\(geometry.padding)\(hasBias ? "" : ", no bias"))"
    }
}
