import CSGDCore
import XCTest
@testable import NeuralNet

/// Forward passes against direct Double loops written from PyTorch's
/// definitions (not from im2col): Conv2d y[o](p, q) = b[o] + Σ_{c,i,j}
/// W[o, c, i, j]·x[c](p·s − pad + i, q·s − pad + j); ConvTranspose2d
/// scatters x[c](p, q)·W[c, o, i, j] to y[o](p·s − pad + i, q·s − pad + j);
/// Linear y = Wx + b with W [out, in]. Also output-shape formulas and
/// the im2col/col2im adjoint identity.
final class ForwardReferenceTests: XCTestCase {
    /// Direct convolution on a C×H×W×N batch, Double accumulation.
    func referenceConv(_ x: [Float], _ p: [Float], cin: Int, cout: Int, h: Int, w: Int, k: Int, s: Int, pad: Int, n: Int) -> [Double] {
        let oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1
        var y = [Double](repeating: 0, count: cout * n * oh * ow)
        let wc = cout * cin * k * k
        for o in 0..<cout { for img in 0..<n { for a in 0..<oh { for b in 0..<ow {
            var t = Double(p[wc + o])
            for c in 0..<cin { for i in 0..<k { for j in 0..<k {
                let r = a * s - pad + i, q = b * s - pad + j
                if r >= 0 && r < h && q >= 0 && q < w {
                    t += Double(p[((o * cin + c) * k + i) * k + j]) * Double(x[((c * h + r) * w + q) * n + img])
                }
            } } }
            y[((o * oh + a) * ow + b) * n + img] = t
        } } } }
        return y
    }

    func referenceConvT(_ x: [Float], _ p: [Float], cin: Int, cout: Int, h: Int, w: Int, k: Int, s: Int, pad: Int, op: Int, n: Int) -> [Double] {
        let oh = (h - 1) * s - 2 * pad + k + op, ow = (w - 1) * s - 2 * pad + k + op
        var y = [Double](repeating: 0, count: cout * n * oh * ow)
        let wc = cin * cout * k * k
        for o in 0..<cout { for q in 0..<(oh * ow * n) { y[o * oh * ow * n + q] = Double(p[wc + o]) } }
        for c in 0..<cin { for img in 0..<n { for a in 0..<h { for b in 0..<w {
            let v = Double(x[((c * h + a) * w + b) * n + img])
            for o in 0..<cout { for i in 0..<k { for j in 0..<k {
                let r = a * s - pad + i, q = b * s - pad + j
                if r >= 0 && r < oh && q >= 0 && q < ow {
                    y[((o * oh + r) * ow + q) * n + img] += v * Double(p[((c * cout + o) * k + i) * k + j])
                }
            } } }
        } } } }
        return y
    }

    func assertClose(_ a: [Float], _ b: [Double], tol: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for i in 0..<min(a.count, b.count) {
            XCTAssertEqual(Double(a[i]), b[i], accuracy: tol * max(1, abs(b[i])), "element \(i)", file: file, line: line)
        }
    }

    func testConv2dMatchesDefinition() throws {
        for (k, s, pad, h, w) in [(3, 2, 1, 7, 6), (3, 1, 1, 4, 5), (7, 1, 0, 7, 7), (1, 2, 0, 5, 5), (2, 3, 2, 6, 4)] {
            let l = try Conv2d(2, 3, kernel: k, stride: s, padding: pad, input: TensorShape(2, h, w))
            XCTAssertEqual(l.outputShape.height, (h + 2 * pad - k) / s + 1)
            XCTAssertEqual(l.outputShape.width, (w + 2 * pad - k) / s + 1)
            let harness = LayerHarness(l, batch: 2)
            let x = TestData.uniform(2 * 2 * h * w, seed: UInt64(k * 100 + h))
            assertClose(harness.forward(x), referenceConv(x, harness.parameters, cin: 2, cout: 3, h: h, w: w, k: k, s: s, pad: pad, n: 2))
        }
    }

    func testConvTranspose2dMatchesDefinition() throws {
        for (k, s, pad, op, h, w) in [(3, 2, 1, 1, 4, 3), (7, 1, 0, 0, 1, 1), (3, 1, 1, 0, 3, 3), (4, 3, 1, 2, 2, 3), (1, 1, 0, 0, 2, 2)] {
            let l = try ConvTranspose2d(3, 2, kernel: k, stride: s, padding: pad, outputPadding: op, input: TensorShape(3, h, w))
            XCTAssertEqual(l.outputShape.height, (h - 1) * s - 2 * pad + k + op)
            XCTAssertEqual(l.outputShape.width, (w - 1) * s - 2 * pad + k + op)
            let harness = LayerHarness(l, batch: 2)
            let x = TestData.uniform(2 * 3 * h * w, seed: UInt64(k * 10 + s))
            assertClose(harness.forward(x), referenceConvT(x, harness.parameters, cin: 3, cout: 2, h: h, w: w, k: k, s: s, pad: pad, op: op, n: 2))
        }
    }

    func testLinearMatchesDefinition() throws {
        let l = try Linear(4, 3, input: TensorShape(4))
        let harness = LayerHarness(l, batch: 2)
        let x = TestData.uniform(8, seed: 3)   // feature-major: x[f * 2 + s]
        let y = harness.forward(x)
        let p = harness.parameters
        for o in 0..<3 { for s in 0..<2 {
            var t = Double(p[12 + o])
            for f in 0..<4 { t += Double(p[o * 4 + f]) * Double(x[f * 2 + s]) }
            XCTAssertEqual(Double(y[o * 2 + s]), t, accuracy: 1e-5)
        } }
    }

    func testOutputShapesFollowPyTorchFormulas() throws {
        for h in 1...9 { for k in 1...4 { for s in 1...3 { for pad in 0...2 {
            if h + 2 * pad >= k {
                let c = try Conv2d(1, 1, kernel: k, stride: s, padding: pad, input: TensorShape(1, h, h + 1))
                XCTAssertEqual(c.outputShape, TensorShape(1, (h + 2 * pad - k) / s + 1, (h + 1 + 2 * pad - k) / s + 1))
            } else {
                XCTAssertThrowsError(try Conv2d(1, 1, kernel: k, stride: s, padding: pad, input: TensorShape(1, h, h)))
            }
            for op in 0..<s {
                let oh = (h - 1) * s - 2 * pad + k + op
                if oh >= 1 {
                    let t = try ConvTranspose2d(1, 2, kernel: k, stride: s, padding: pad, outputPadding: op, input: TensorShape(1, h, h))
                    XCTAssertEqual(t.outputShape, TensorShape(2, oh, oh))
                }
            }
        } } } }
    }

    func testBadShapesThrowOneLine() {
        XCTAssertThrowsError(try Conv2d(1, 2, kernel: 5, input: TensorShape(1, 3, 3))) { e in
            XCTAssertFalse(String(describing: e).contains("\n"))
        }
        XCTAssertThrowsError(try Conv2d(2, 2, kernel: 3, input: TensorShape(1, 3, 3)))
        XCTAssertThrowsError(try ConvTranspose2d(1, 1, kernel: 3, stride: 2, outputPadding: 2, input: TensorShape(1, 3, 3)))
        XCTAssertThrowsError(try Linear(4, 2, input: TensorShape(1, 2, 2)))
        XCTAssertThrowsError(try Pool2d(.max, kernel: 4, input: TensorShape(1, 3, 3)))
        XCTAssertThrowsError(try Dropout(1, salt: 0, input: TensorShape(3)))
    }

    func testIm2colAndCol2imAreAdjoint() {
        for (k, s, p, h, w) in [(3, 2, 1, 7, 8), (3, 1, 1, 5, 5), (5, 1, 0, 5, 5), (2, 2, 0, 4, 6), (3, 3, 2, 5, 4)] {
            let g = ConvGeometry(kernel: k, stride: s, padding: p, imageHeight: h, imageWidth: w)
            let c = 2, n = 3
            let x = TestData.uniform(c * n * h * w, seed: UInt64(h * 7 + k))
            let col = TestData.uniform(c * k * k * n * g.gridArea, seed: UInt64(w * 5 + s))
            var a = [Float](repeating: .nan, count: col.count)
            var b = [Float](repeating: .nan, count: x.count)
            x.withUnsafeBufferPointer { xp in a.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, channels: c, batch: n, into: $0.baseAddress!) } }
            col.withUnsafeBufferPointer { cp in b.withUnsafeMutableBufferPointer { g.col2im(cp.baseAddress!, channels: c, batch: n, into: $0.baseAddress!) } }
            var lhs = 0.0, rhs = 0.0
            for i in 0..<col.count { lhs += Double(a[i]) * Double(col[i]) }
            for i in 0..<x.count { rhs += Double(x[i]) * Double(b[i]) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "k\(k) s\(s) p\(p) \(h)x\(w)")
        }
    }
}
