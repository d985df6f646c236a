import CSGDCore

/// A 2-D transposed convolution (PyTorch's `nn.ConvTranspose2d`, square
/// kernel, groups 1): weight [in, out, k, k] then bias [out]; output side
/// (H − 1)·s − 2p + k + op (op, the output padding, below the stride).
///
/// It is the adjoint of the Conv2d that maps its output back to its input,
/// so forward is one GEMM col[out·k·k, N·H·W] = Wᵀ·X followed by col2im onto
/// the output, plus the bias; backward is im2col of ∂Y, then ∂W = X·colᵀ,
/// ∂X = W·col, ∂b = row sums of ∂Y (no col2im/im2col at all when the
/// column matrix is the output itself, e.g. k7 from a 1×1 input). PyTorch's
/// fan_in for the default initialisation is weight dim 1 × k·k = out·k·k.
public struct ConvTranspose2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let outputPadding: Int
    /// Image = this layer's output, grid = its input.
    public let geometry: ConvGeometry
    public let hasBias: Bool
    public let inputShape: TensorShape
    public let outputShape: TensorShape

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true, input: TensorShape) throws {
        let name = "ConvTranspose2d(\(inChannels)→\(outChannels), k\(kernel), s\(stride), p\(padding), op\(outputPadding))"
        guard inChannels >= 1, outChannels >= 1, kernel >= 1, stride >= 1, padding >= 0, outputPadding >= 0 else {
            throw CSGDError("\(name): sizes must be positive")
        }
        guard outputPadding < stride else { throw CSGDError("\(name): output padding must be smaller than the stride") }
        guard input.channels == inChannels else { throw CSGDError("\(name) cannot take input \(input)") }
        let oh = (input.height - 1) * stride - 2 * padding + kernel + outputPadding
        let ow = (input.width - 1) * stride - 2 * padding + kernel + outputPadding
        guard oh >= 1, ow >= 1, oh + 2 * padding >= kernel, ow + 2 * padding >= kernel else {
            throw CSGDError("\(name): input \(input) gives an empty output")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.outputPadding = outputPadding
        self.hasBias = bias
        geometry = ConvGeometry(kernel: kernel, stride: stride, padding: padding, imageHeight: oh, imageWidth: ow)
        precondition(geometry.gridHeight == input.height && geometry.gridWidth == input.width)
        inputShape = input
        outputShape = TensorShape(outChannels, oh, ow)
    }

    /// Rows of the column matrix, out·k·k (also PyTorch's fan_in).
    var columnRows: Int { outChannels * geometry.taps }
    var weightCount: Int { inChannels * columnRows }
    public var parameterCount: Int { weightCount + (hasBias ? outChannels : 0) }
    public var parameterTensors: [(name: String, shape: [Int])] {
        let w = (name: "weight", shape: [inChannels, outChannels, geometry.kernel, geometry.kernel])
        return hasBias ? [w, (name: "bias", shape: [outChannels])] : [w]
    }
    public var forwardMultiplyAdds: Int { weightCount * geometry.gridArea }

    /// The column matrix, and room for the weight gradient's transpose after it.
    public func scratchCount(batch n: Int) -> Int {
        (geometry.columnsAreImage ? 0 : columnRows * n * geometry.gridArea) + WeightGradient.scratchCount(m: inChannels, k: columnRows, length: n * geometry.gridArea)
    }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        Initialization.weightAndBias(parameters, weightCount: weightCount, fanIn: columnRows, seed: seed, offset: offset)
    }

    public func forward(_ a: LayerForward) {
        let P = a.batch * geometry.gridArea
        let col = geometry.columnsAreImage ? a.output : a.scratch
        BLAS.sgemm(transA: true, transB: false, m: columnRows, n: P, k: inChannels,
                   alpha: 1, a: a.parameters, lda: columnRows, b: a.input, ldb: P, beta: 0, c: col, ldc: P)
        if !geometry.columnsAreImage { geometry.col2im(col, channels: outChannels, batch: a.batch, into: a.output) }
        if hasBias {
            RowOps.addBias(a.output, rows: outChannels, columns: a.batch * geometry.imageArea, bias: a.parameters + weightCount)
        }
    }

    public func backward(_ a: LayerBackward) {
        let P = a.batch * geometry.gridArea
        let dY = UnsafePointer(a.outputGradient)
        let col: UnsafePointer<Float>
        if geometry.columnsAreImage {
            col = dY
        } else {
            geometry.im2col(dY, channels: outChannels, batch: a.batch, into: a.scratch)
            col = UnsafePointer(a.scratch)
        }
        let tail = a.scratch + (geometry.columnsAreImage ? 0 : columnRows * P)
        WeightGradient.compute(a.input, col, m: inChannels, k: columnRows, length: P, into: a.parameterGradient, scratch: tail)
        if hasBias {
            RowOps.rowSums(dY, rows: outChannels, columns: a.batch * geometry.imageArea, into: a.parameterGradient + weightCount)
        }
        if let dX = a.inputGradient {
            BLAS.sgemm(transA: false, transB: false, m: inChannels, n: P, k: columnRows,
                       alpha: 1, a: a.parameters, lda: columnRows, b: col, ldb: P, beta: 0, c: dX, ldc: P)
        }
    }

    public var description: String {
        "ConvTranspose2d(\(inChannels)→\(outChannels), k\(geometry.kernel), s\(geometry.stride), p\(geometry.padding), op\(outputPadding)\(hasBias ? "" : ", no bias"))"
    }
}
