/// The geometry of a square k×k window sliding with stride s over an image
/// zero-padded by p on every side, and the im2col/col2im maps between the
/// image and the column matrix, both batch-innermost like every activation
/// in csgd: the image is C×H×W×N, the column matrix has C·k·k rows and
/// GH·GW·N columns (GH = ⌊(H + 2p − k)/s⌋ + 1 window positions down, GW
/// across).
///
/// Conv2d reads its input through `im2col` and sends input gradients back
/// through `col2im`; ConvTranspose2d is the adjoint, so its "image" is its
/// output and its "grid" its input. Entry ((c, i, j), (y, x, n)) of the
/// column matrix is pixel (c, y·s − p + i, x·s − p + j) of sample n, or 0
/// where the window hangs over the padding; with the batch innermost, each
/// (c, i, j, y, x) moves one contiguous run of N floats. When the window is
/// 1×1 with stride 1 and no padding, or covers the whole unpadded image
/// (k = H = W, p = 0), the column matrix is the image itself
/// (`columnsAreImage`) and no copy is needed.
public struct ConvGeometry: Hashable, Sendable {
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let imageHeight: Int
    public let imageWidth: Int
    public let gridHeight: Int
    public let gridWidth: Int

    /// Window positions along a side of `size` pixels (PyTorch's Conv2d output size).
    public static func positions(size: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (size + 2 * padding - kernel) / stride + 1
    }

    public init(kernel: Int, stride: Int, padding: Int, imageHeight: Int, imageWidth: Int) {
        precondition(kernel >= 1 && stride >= 1 && padding >= 0)
        precondition(imageHeight + 2 * padding >= kernel && imageWidth + 2 * padding >= kernel, "kernel larger than padded image")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        gridHeight = Self.positions(size: imageHeight, kernel: kernel, stride: stride, padding: padding)
        gridWidth = Self.positions(size: imageWidth, kernel: kernel, stride: stride, padding: padding)
    }

    /// k·k.
    @inlinable public var taps: Int { kernel * kernel }
    /// H·W.
    @inlinable public var imageArea: Int { imageHeight * imageWidth }
    /// GH·GW.
    @inlinable public var gridArea: Int { gridHeight * gridWidth }
    /// One window covers the whole image exactly.
    public var isFullWindow: Bool { padding == 0 && kernel == imageHeight && kernel == imageWidth }
    /// k = 1, s = 1, p = 0.
    public var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    /// The column matrix has the same memory layout as the image.
    public var columnsAreImage: Bool { isPointwise || isFullWindow }

    /// The grid positions `lo..<hi` whose tap `t` lands inside a side of `imageSize` pixels.
    @inline(__always)
    func validRange(tap t: Int, gridSize: Int, imageSize: Int) -> (lo: Int, hi: Int) {
        // position g reads pixel g·s − p + t; need 0 ≤ g·s − p + t ≤ size − 1.
        let a = padding - t
        let lo = a <= 0 ? 0 : (a + stride - 1) / stride
        let b = imageSize - 1 + padding - t
        let hi = b < 0 ? 0 : min(gridSize, b / stride + 1)
        return (min(lo, gridSize), max(min(lo, gridSize), hi))
    }

    /// Calls `body` for each row (c, i, j) of the column matrix of a C×H×W×n
    /// image with: the row's offset in the column matrix; `origin`, the
    /// offset in the image of pixel (c, i − p, j − p), the one grid position
    /// (0, 0) reads (grid row y reads from origin + y·s·W·n on, its position
    /// x s·x·n further); and the grid rows `ys` and columns `xs` whose pixels
    /// lie inside the image.
    @inline(__always)
    func forEachColumnRow(channels: Int, batch n: Int,
                          _ body: (_ row: Int, _ origin: Int, _ ys: (lo: Int, hi: Int), _ xs: (lo: Int, hi: Int)) -> Void) {
        let H = imageHeight, W = imageWidth, k = kernel, p = padding
        let rowLength = gridHeight * gridWidth * n
        for c in 0..<channels {
            let plane = c * H * W * n
            for i in 0..<k {
                let ys = validRange(tap: i, gridSize: gridHeight, imageSize: H)
                for j in 0..<k {
                    let xs = validRange(tap: j, gridSize: gridWidth, imageSize: W)
                    body(((c * k + i) * k + j) * rowLength, plane + ((i - p) * W - p + j) * n, ys, xs)
                }
            }
        }
    }

    /// Writes the column matrix of `x` (C×H×W×n) into `col` (C·k·k × GH·GW·n).
    public func im2col(_ x: UnsafePointer<Float>, channels: Int, batch n: Int, into col: UnsafeMutablePointer<Float>) {
        if columnsAreImage {
            col.update(from: x, count: channels * imageArea * n)
            return
        }
        im2col(x, channels: channels, batch: n, gridRows: 0..<gridHeight, into: col)
    }

    /// Writes the columns of grid rows `rows` only (a block of the column
    /// matrix: C·k·k rows of |rows|·GW·n values each) into `col`, so that a
    /// convolution can work through its column matrix a cache-sized block
    /// at a time.
    public func im2col(_ x: UnsafePointer<Float>, channels: Int, batch n: Int, gridRows rows: Range<Int>,
                       into col: UnsafeMutablePointer<Float>) {
        let GW = gridWidth, s = stride, line = stride * imageWidth * n
        let width = rows.count * GW * n
        forEachColumnRow(channels: channels, batch: n) { rowOffset, origin, ys, xs in
            let row = col + rowOffset / (gridHeight * GW * n) * width
            let lo = min(max(ys.lo, rows.lowerBound), rows.upperBound), hi = max(min(ys.hi, rows.upperBound), lo)
            row.update(repeating: 0, count: (lo - rows.lowerBound) * GW * n)
            (row + (hi - rows.lowerBound) * GW * n).update(repeating: 0, count: (rows.upperBound - hi) * GW * n)
            for gy in lo..<hi {
                let dst = row + (gy - rows.lowerBound) * GW * n
                let src = x + (origin + gy * line)
                if xs.lo > 0 { Self.zeroRun(dst, xs.lo * n) }
                if xs.hi < GW { Self.zeroRun(dst + xs.hi * n, (GW - xs.hi) * n) }
                if s == 1 {
                    Self.copyRun(dst + xs.lo * n, src + xs.lo * n, (xs.hi - xs.lo) * n)
                } else {
                    var d = dst + xs.lo * n, q = src + xs.lo * s * n
                    let jump = s * n
                    if n == 8 {
                        for _ in xs.lo..<xs.hi { Self.copy8(d, q); d += 8; q += jump }
                    } else {
                        for _ in xs.lo..<xs.hi { Self.copyRun(d, q, n); d += n; q += jump }
                    }
                }
            }
        }
    }

    /// dst[0..<n] ← src[0..<n]. The runs of a strided convolution are one
    /// pixel's n images, 8 floats at Figure 1's per-worker batch: a call to
    /// memmove a run cost more than the copy, so short runs are copied here.
    @inline(__always)
    static func copyRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        if n > 64 { return dst.update(from: src, count: n) }
        var t = 0
        while t &+ 8 <= n { copy8(dst + t, src + t); t &+= 8 }
        while t < n { dst[t] = src[t]; t &+= 1 }
    }

    /// dst[0..<8] ← src[0..<8] (and, `add8`, +=): one 8-lane load and store,
    /// the whole run at Figure 1's per-worker batch.
    @inline(__always)
    static func copy8(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
        UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func add8(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
        let d = UnsafeMutableRawPointer(dst)
        d.storeBytes(of: d.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(src).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
    }

    /// dst[0..<n] += src[0..<n], 8 lanes at a time (the same bits as one at a time).
    @inline(__always)
    static func addRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var t = 0
        while t &+ 8 <= n { add8(dst + t, src + t); t &+= 8 }
        while t < n { dst[t] += src[t]; t &+= 1 }
    }

    /// dst[0..<n] ← 0, short runs without a call to memset.
    @inline(__always)
    static func zeroRun(_ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        if n > 64 { return dst.update(repeating: 0, count: n) }
        var t = 0
        while t &+ 8 <= n { UnsafeMutableRawPointer(dst + t).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self); t &+= 8 }
        while t < n { dst[t] = 0; t &+= 1 }
    }

    /// The adjoint of `im2col`: `x` (C×H×W×n) ← the sum, over every column
    /// entry, of its value at the pixel it was read from. Overwrites `x`.
    public func col2im(_ col: UnsafePointer<Float>, channels: Int, batch n: Int, into x: UnsafeMutablePointer<Float>) {
        if columnsAreImage {
            x.update(from: col, count: channels * imageArea * n)
            return
        }
        x.update(repeating: 0, count: channels * imageArea * n)
        col2im(col, channels: channels, batch: n, gridRows: 0..<gridHeight, addingInto: x)
    }

    /// The adjoint of the block `im2col(…, gridRows:)`: adds each entry of
    /// the block `col` (C·k·k × |rows|·GW·n) to the pixel of `x` it was
    /// read from.
    public func col2im(_ col: UnsafePointer<Float>, channels: Int, batch n: Int, gridRows rows: Range<Int>,
                       addingInto x: UnsafeMutablePointer<Float>) {
        let GW = gridWidth, s = stride, line = stride * imageWidth * n
        let width = rows.count * GW * n
        forEachColumnRow(channels: channels, batch: n) { rowOffset, origin, ys, xs in
            let row = col + rowOffset / (gridHeight * GW * n) * width
            let lo = min(max(ys.lo, rows.lowerBound), rows.upperBound), hi = max(min(ys.hi, rows.upperBound), lo)
            for gy in lo..<hi {
                let src = row + (gy - rows.lowerBound) * GW * n
                let dst = x + (origin + gy * line)
                if s == 1 {
                    Self.addRun(dst + xs.lo * n, src + xs.lo * n, (xs.hi - xs.lo) * n)
                } else {
                    var a = src + xs.lo * n, b = dst + xs.lo * s * n
                    let jump = s * n
                    if n == 8 {
                        for _ in xs.lo..<xs.hi { Self.add8(b, a); a += 8; b += jump }
                    } else {
                        for _ in xs.lo..<xs.hi { Self.addRun(b, a, n); a += n; b += jump }
                    }
                }
            }
        }
    }
}
