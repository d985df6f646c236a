import XCTest
@testable import CSGDCore

final class RandomStreamTests: XCTestCase {
    let key = RandomKey(seed: 2021, step: 3, worker: 1, purpose: .test)

    func testStreamIsBlocksInOrder() {
        var s = RandomStream(key: key)
        var words: [UInt32] = []
        for _ in 0..<12 { words.append(s.nextUInt32()) }
        var expected: [UInt32] = []
        for b in 0..<3 {
            let w = key.block(UInt32(b))
            expected += [w.0, w.1, w.2, w.3]
        }
        XCTAssertEqual(words, expected)
    }

    func testPositionRoundTrips() {
        var s = RandomStream(key: key)
        for _ in 0..<7 { _ = s.nextUInt32() }
        XCTAssertEqual(s.position, 7)
        let next = s.nextUInt32()
        var t = RandomStream(key: key)
        t.position = 7
        XCTAssertEqual(t.nextUInt32(), next)
        t.position = 12
        XCTAssertEqual(t.position, 12)
        XCTAssertEqual(t.nextUInt32(), key.block(3).0)
    }

    func testBoundedIntegersAreUniform() {
        // Chi-square over 7 bins, 70_000 draws: 6 degrees of freedom, the
        // 99.99% quantile is 27.9.
        var s = RandomStream(key: key)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[Int(s.nextInt(below: 7))] += 1 }
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - 10_000, 2) / 10_000 }
        XCTAssertLessThan(chi2, 27.9, "counts \(counts)")
        // Bounds at the edges.
        for _ in 0..<100 { XCTAssertEqual(s.nextInt(below: 1), 0) }
        XCTAssertLessThan(s.nextInt(below: 1 << 32), 1 << 32)
    }

    func testUnitFloatsAndGaussians() {
        var s = RandomStream(key: key)
        var sum = 0.0, sum2 = 0.0
        let n = 40_000
        for _ in 0..<n {
            let u = s.nextUnitFloat()
            XCTAssert(u >= 0 && u < 1)
            let g = s.nextGaussian()
            sum += g; sum2 += g * g
        }
        // Standard errors: mean 1/sqrt(n) = 0.005, variance sqrt(2/n) = 0.007.
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.025)
        XCTAssertEqual(sum2 / Double(n), 1, accuracy: 0.035)
    }

    func testBulkFillsDoNotDependOnChunking() {
        let n = 1001
        let whole = FloatBuffer(count: n), parts = FloatBuffer(count: n)
        RandomFill.gaussian(key, sigma: 0.5, into: whole.buffer)
        RandomFill.gaussian(key, sigma: 0.5, into: UnsafeMutableBufferPointer(rebasing: parts.buffer[0..<400]))
        RandomFill.gaussian(key, sigma: 0.5, into: UnsafeMutableBufferPointer(rebasing: parts.buffer[400..<n]), offset: 400)
        XCTAssertEqual(whole.array, parts.array)
        RandomFill.uniform(key, into: whole.buffer)
        RandomFill.uniform(key, into: UnsafeMutableBufferPointer(rebasing: parts.buffer[0..<100]))
        RandomFill.uniform(key, into: UnsafeMutableBufferPointer(rebasing: parts.buffer[100..<n]), offset: 100)
        XCTAssertEqual(whole.array, parts.array)
        XCTAssert(whole.array.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    func testGaussianFillMoments() {
        let n = 100_000
        let g = FloatBuffer(count: n)
        RandomFill.gaussian(key, sigma: 2, into: g.buffer)
        let mean = g.array.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = Kernels.sumSquares(g.readOnly) / Double(n) - mean * mean
        // σ² = 4; standard errors 0.0063 (mean) and 4·sqrt(2/n) = 0.018 (variance).
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 4, accuracy: 0.09)
        // Accumulate adds the same numbers again.
        let before = g.array
        RandomFill.gaussian(key, sigma: 2, into: g.buffer, accumulate: true)
        for i in stride(from: 0, to: n, by: 997) { XCTAssertEqual(g[i], 2 * before[i], accuracy: 1e-5) }
    }
}
