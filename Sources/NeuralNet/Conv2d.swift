import CSGDCore

/// A 2-D convolution (PyTorch's `nn.Conv2d`, square kernel, groups 1):
/// weight [out, in, k, k] then bias [out] in its parameter slice; output
/// side ⌊(H + 2p − k)/s⌋ + 1.
///
/// Forward is Y[out, N·GH·GW] = W[out, in·k·k]·col, col being the column
/// matrix of the whole batch (im2col), then the bias. The column matrix is
/// built a block of grid rows at a time into scratch memory small enough to
/// stay in cache, each block followed at once by its GEMM; backward builds
/// the blocks again from the input (cheaper than keeping col, k·k times the
/// input's size, and reading it back from memory) for ∂W = ∂Y·colᵀ
/// (accumulated over the blocks) and ∂X = col2im(Wᵀ·∂Y); ∂b = row sums of
/// ∂Y. A 1×1 stride-1
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

    /// Floats of column matrix a block should hold at most: 96 Ki floats
    /// (384 KiB), so that a block, written by im2col and read at once by
    /// the GEMM, stays in a core's L2 cache instead of going out to memory.
    static let blockFloats = 96 * 1024

    /// Grid rows a block of the column matrix covers (at least one).
    public func blockRows(batch n: Int) -> Int {
        max(1, min(geometry.gridHeight, Self.blockFloats / max(1, columnRows * geometry.gridWidth * n)))
    }

    /// Floats of one block of the column matrix (0 when the input is its own).
    func blockCount(batch n: Int) -> Int {
        geometry.columnsAreImage ? 0 : columnRows * blockRows(batch: n) * geometry.gridWidth * n
    }

    /// Nothing is kept: backward rebuilds the column matrix from the input,
    /// which costs less than writing it out and reading it back from memory.
    public func savedCount(batch n: Int) -> Int { 0 }
    /// A block of the column matrix, then the weight gradient's own scratch.
    public func scratchCount(batch n: Int) -> Int {
        blockCount(batch: n) + WeightGradient.scratchCount(m: outChannels, k: columnRows, length: n * geometry.gridArea)
    }

    public func initialize(parameters: UnsafeMutableBufferPointer<Float>, state: UnsafeMutableBufferPointer<Float>, seed: UInt64, offset: Int) {
        Initialization.weightAndBias(parameters, weightCount: weightCount, fanIn: columnRows, seed: seed, offset: offset)
    }

    /// Calls `body` for each block of grid rows with the first column of the
    /// block in the output (row offset, in floats), its width in columns, and
    /// the block of the column matrix (im2col of `x`, in `buffer`).
    @inline(__always)
    func forEachBlock(_ x: UnsafePointer<Float>, batch n: Int, buffer: UnsafeMutablePointer<Float>,
                      _ body: (_ offset: Int, _ width: Int, _ col: UnsafePointer<Float>) -> Void) {
        let GH = geometry.gridHeight, rowWidth = geometry.gridWidth * n
        if geometry.columnsAreImage {
            body(0, GH * rowWidth, x)
            return
        }
        let step = blockRows(batch: n)
        var g0 = 0
        while g0 < GH {
            let g1 = min(GH, g0 + step)
            geometry.im2col(x, channels: inChannels, batch: n, gridRows: g0..<g1, into: buffer)
            body(g0 * rowWidth, (g1 - g0) * rowWidth, UnsafePointer(buffer))
            g0 = g1
        }
    }

    public func forward(_ a: LayerForward) {
        let P = a.batch * geometry.gridArea
        forEachBlock(a.input, batch: a.batch, buffer: a.scratch) { offset, width, col in
            BLAS.sgemm(transA: false, transB: false, m: outChannels, n: width, k: columnRows,
                       alpha: 1, a: a.parameters, lda: columnRows, b: col, ldb: width, beta: 0, c: a.output + offset, ldc: P)
        }
        if hasBias { RowOps.addBias(a.output, rows: outChannels, columns: P, bias: a.parameters + weightCount) }
    }

    /// Block by block: ∂W (or ∂Wᵀ, see `WeightGradient`) += ∂Y_block·col_blockᵀ,
    /// then, in the same buffer, ∂col_block = Wᵀ·∂Y_block added into ∂X by col2im.
    public func backward(_ a: LayerBackward) {
        let n = a.batch, P = n * geometry.gridArea
        let dY = UnsafePointer(a.outputGradient)
        let dW = a.parameterGradient
        let transposed = WeightGradient.transposed(m: outChannels, k: columnRows, length: P)
        let dWT = a.scratch + blockCount(batch: n)
        let dX = a.inputGradient
        if let dX, !geometry.columnsAreImage { dX.update(repeating: 0, count: inChannels * geometry.imageArea * n) }
        var first = true
        forEachBlock(a.input, batch: n, buffer: a.scratch) { offset, width, col in
            let beta: Float = first ? 0 : 1
            first = false
            if transposed {
                BLAS.sgemm(transA: false, transB: true, m: columnRows, n: outChannels, k: width,
                           alpha: 1, a: col, lda: width, b: dY + offset, ldb: P, beta: beta, c: dWT, ldc: outChannels)
            } else {
                BLAS.sgemm(transA: false, transB: true, m: outChannels, n: columnRows, k: width,
                           alpha: 1, a: dY + offset, lda: P, b: col, ldb: width, beta: beta, c: dW, ldc: columnRows)
            }
            guard let dX else { return }
            if geometry.columnsAreImage {
                BLAS.sgemm(transA: true, transB: false, m: columnRows, n: P, k: outChannels,
                           alpha: 1, a: a.parameters, lda: columnRows, b: dY, ldb: P, beta: 0, c: dX, ldc: P)
            } else {
                // The block's column matrix is no longer needed: its buffer takes ∂col.
                let dCol = UnsafeMutablePointer(mutating: col)
                BLAS.sgemm(transA: true, transB: false, m: columnRows, n: width, k: outChannels,
                           alpha: 1, a: a.parameters, lda: columnRows, b: dY + offset, ldb: P, beta: 0, c: dCol, ldc: width)
                let g0 = offset / (geometry.gridWidth * n)
                geometry.col2im(dCol, channels: inChannels, batch: n, gridRows: g0..<(g0 + width / (geometry.gridWidth * n)), addingInto: dX)
            }
        }
        if transposed { Transpose.copy(dWT, rows: columnRows, columns: outChannels, into: dW) }
        if hasBias { RowOps.rowSums(dY, rows: outChannels, columns: P, into: dW + weightCount) }
    }

    public var description: String {
        "Conv2d(\(inChannels)→\(outChannels), k\(geometry.kernel), s\(geometry.stride), p\(geometry.padding)\(hasBias ? "" : ", no bias"))"
    }
}
