import CSGDCore
import XCTest
@testable import NeuralNet

/// Conv2d works through its column matrix a block of grid rows at a time
/// (forward, the weight gradient summed over the blocks, the input gradient
/// added block by block). On layers large enough for several blocks, with a
/// short last block, forward and backward are checked against direct Double
/// loops from the definition: y[o](a, b) = Σ W[o, c, i, j]·x[c](a·s − p + i,
/// b·s − p + j) (+ bias), and for L = Σ r·y, ∂W[o, c, i, j] = Σ r[o](a, b)·x[c](…),
/// ∂x[c](…) = Σ r[o](a, b)·W[o, c, i, j], ∂b[o] = Σ r[o].
final class Conv2dBlockTests: XCTestCase {
    struct Reference {
        var y: [Double], dx: [Double], dp: [Double]
    }

    func reference(_ l: Conv2d, x: [Float], p: [Float], r: [Float], n: Int) -> Reference {
        let cin = l.inChannels, cout = l.outChannels, k = l.geometry.kernel, s = l.geometry.stride, pad = l.geometry.padding
        let h = l.inputShape.height, w = l.inputShape.width, oh = l.outputShape.height, ow = l.outputShape.width
        var y = [Double](repeating: 0, count: cout * oh * ow * n)
        var dx = [Double](repeating: 0, count: x.count), dp = [Double](repeating: 0, count: p.count)
        let wc = cout * cin * k * k
        for o in 0..<cout { for a in 0..<oh { for b in 0..<ow { for img in 0..<n {
            let out = ((o * oh + a) * ow + b) * n + img
            let ro = Double(r[out])
            var t = l.hasBias ? Double(p[wc + o]) : 0
            if l.hasBias { dp[wc + o] += ro }
            for c in 0..<cin { for i in 0..<k { for j in 0..<k {
                let yy = a * s - pad + i, xx = b * s - pad + j
                guard yy >= 0 && yy < h && xx >= 0 && xx < w else { continue }
                let wi = ((o * cin + c) * k + i) * k + j, xi = ((c * h + yy) * w + xx) * n + img
                t += Double(p[wi]) * Double(x[xi])
                dp[wi] += ro * Double(x[xi])
                dx[xi] += ro * Double(p[wi])
            } } }
            y[out] = t
        } } } }
        return Reference(y: y, dx: dx, dp: dp)
    }

    func check(_ l: Conv2d, batch n: Int, blocks: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let rows = l.blockRows(batch: n)
        XCTAssertEqual((l.geometry.gridHeight + rows - 1) / rows, blocks, "blocks of \(l)", file: file, line: line)
        XCTAssertNotEqual(l.geometry.gridHeight % rows, 0, "a short last block", file: file, line: line)
        let harness = LayerHarness(l, batch: n, seed: seed)
        let x = TestData.uniform(l.inputShape.count * n, seed: seed &+ 1)
        let r = TestData.uniform(l.outputShape.count * n, seed: seed &+ 2)
        let y = harness.forward(x)
        let (dx, dp) = harness.backward(x, r)
        let ref = reference(l, x: x, p: harness.parameters, r: r, n: n)
        func close(_ a: [Float], _ b: [Double], _ what: String) {
            XCTAssertEqual(a.count, b.count, file: file, line: line)
            var worst = 0.0
            for i in 0..<min(a.count, b.count) { worst = max(worst, abs(Double(a[i]) - b[i]) / max(1, abs(b[i]))) }
            XCTAssertLessThan(worst, 1e-4, "\(l) \(what): largest relative error \(worst)", file: file, line: line)
        }
        close(y, ref.y, "y")
        close(dx, ref.dx, "∂x")
        close(dp, ref.dp, "∂params")
    }

    func testBlocksMatchTheDefinition() throws {
        // 144 column rows × 28 × 8 per grid row: 3 grid rows a block, 10 blocks (the last of 1 row); ∂W computed transposed.
        check(try Conv2d(16, 16, kernel: 3, stride: 1, padding: 1, bias: false, input: TensorShape(16, 28, 28)), batch: 8, blocks: 10, seed: 1)
        // Stride 2, with a bias: 6 grid rows a block of 14 (6, 6, 2).
        check(try Conv2d(16, 32, kernel: 3, stride: 2, padding: 1, input: TensorShape(16, 28, 28)), batch: 8, blocks: 3, seed: 2)
        // The 1×1 stride-2 shortcut, ∂W not transposed (32 ≥ 16): 6 grid rows a block of 14.
        check(try Conv2d(16, 32, kernel: 1, stride: 2, padding: 0, bias: false, input: TensorShape(16, 28, 28)), batch: 64, blocks: 3, seed: 3)
    }

    func testBlockIm2colIsASliceOfTheWhole() {
        let g = ConvGeometry(kernel: 3, stride: 2, padding: 1, imageHeight: 9, imageWidth: 7)
        let c = 3, n = 2, rowLength = g.gridArea * n, rowWidth = g.gridWidth * n
        let x = TestData.uniform(c * 9 * 7 * n, seed: 11)
        var whole = [Float](repeating: .nan, count: c * 9 * rowLength)
        x.withUnsafeBufferPointer { xp in whole.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, channels: c, batch: n, into: $0.baseAddress!) } }
        for rows in [0..<2, 1..<4, 3..<5, 0..<g.gridHeight] {
            var block = [Float](repeating: .nan, count: c * 9 * rows.count * rowWidth)
            x.withUnsafeBufferPointer { xp in
                block.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, channels: c, batch: n, gridRows: rows, into: $0.baseAddress!) }
            }
            for row in 0..<(c * 9) {
                let expected = whole[(row * rowLength + rows.lowerBound * rowWidth) ..< (row * rowLength + rows.upperBound * rowWidth)]
                XCTAssertEqual(Array(block[(row * rows.count * rowWidth) ..< ((row + 1) * rows.count * rowWidth)]), Array(expected), "rows \(rows), column row \(row)")
            }
        }
    }
}
