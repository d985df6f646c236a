import Distributed
import Foundation
import LibraryUsageExample
import Optimization
import XCTest

/// The article "Using csgd as a library" runs as written: its code is the
/// example package's sources (Examples/LibraryUsage), built here as the
/// module LibraryUsageExample.
final class LibraryUsageTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let article = "Sources/Distributed/Distributed.docc/UsingCSGDAsALibrary.md"
    static let sources = [
        "Examples/LibraryUsage/Sources/LibraryUsage/DoubleWell.swift",
        "Examples/LibraryUsage/Sources/LibraryUsage/TrainDoubleWell.swift",
        "Examples/LibraryUsage/Sources/library-usage/main.swift",
    ]

    /// Algorithm 1 leaves the saddle that gradient descent cannot leave and
    /// ends at a certified ε-SOSP, every worker uploads exactly 32·K bits a
    /// step, and the run replays bit for bit.
    func testAlgorithm1EscapesTheSaddleWithRandomKBits() throws {
        let steps = 400, k = 10
        let summary = try trainDoubleWell(dimension: 100, k: k, workers: 4, steps: steps, seed: 1)
        XCTAssertEqual(summary.steps, steps)
        XCTAssertLessThan(summary.finalLoss, DoubleWell.saddleValue)
        XCTAssertLessThan(summary.finalLoss, 0.01, "the run should reach the noise floor around a minimiser ±e₁ (f = 0)")
        XCTAssertEqual(summary.isSOSP, true, "the last iterate should be certified an ε-SOSP")
        XCTAssertGreaterThan(try XCTUnwrap(summary.lambdaMin), 0, "λ_min is −1 at the saddle, positive near ±e₁")
        XCTAssertEqual(summary.uploadBitsPerWorker, steps * 32 * k)
        XCTAssertEqual(summary.paramsSHA256.count, 64)
        let again = try trainDoubleWell(dimension: 100, k: k, workers: 4, steps: steps, seed: 1)
        XCTAssertEqual(again.paramsSHA256, summary.paramsSHA256)
        XCTAssertEqual(again.finalLoss, summary.finalLoss)
    }

    /// The control the article states: without Algorithm 1's noise, SGD on
    /// the same workers never leaves the saddle, whose gradient is exactly 0.
    func testSGDWithoutNoiseStaysOnTheSaddle() throws {
        let summary = try InProcessRun.run(
            objective: DoubleWell(dimension: 100), method: try Methods.parse("sgd"), compressor: nil, workers: 4,
            config: TrainerConfiguration(steps: 400, seed: 1, learningRate: 0.1))
        XCTAssertEqual(summary.finalLoss, DoubleWell.saddleValue)
    }

    /// The objective's derivatives agree with each other: the Hessian–vector
    /// product against differences of gradients, the gradient against
    /// differences of the loss.
    func testDoubleWellDerivatives() {
        let f = DoubleWell(dimension: 3)
        let x: [Float] = [0.5, -0.25, 2], v: [Float] = [1, 0.5, -1]
        var g = [Float](repeating: 0, count: 3), hv = g, gPlus = g, gMinus = g
        let h: Float = 1e-2
        x.withUnsafeBufferPointer { xp in
            _ = g.withUnsafeMutableBufferPointer { f.fullGradient(at: xp, into: $0) }
            v.withUnsafeBufferPointer { vp in hv.withUnsafeMutableBufferPointer { f.hessianVectorProduct(at: xp, vp, into: $0) } }
        }
        let xPlus = zip(x, v).map { $0 + h * $1 }, xMinus = zip(x, v).map { $0 - h * $1 }
        xPlus.withUnsafeBufferPointer { p in _ = gPlus.withUnsafeMutableBufferPointer { f.fullGradient(at: p, into: $0) } }
        xMinus.withUnsafeBufferPointer { p in _ = gMinus.withUnsafeMutableBufferPointer { f.fullGradient(at: p, into: $0) } }
        for i in 0..<3 { XCTAssertEqual(hv[i], (gPlus[i] - gMinus[i]) / (2 * h), accuracy: 1e-3) }
        let fPlus = xPlus.withUnsafeBufferPointer { f.loss(at: $0) }, fMinus = xMinus.withUnsafeBufferPointer { f.loss(at: $0) }
        let directional = zip(g, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual((fPlus - fMinus) / (2 * Double(h)), directional, accuracy: 1e-3)
    }

    /// Every source file of the example appears verbatim as one of the
    /// article's Swift code blocks, so the article shows the code that is
    /// compiled and tested.
    func testArticleQuotesTheExampleSources() throws {
        let article = try String(contentsOf: Self.root.appendingPathComponent(Self.article), encoding: .utf8)
        let blocks = Self.swiftBlocks(article)
        for path in Self.sources {
            let source = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
            XCTAssertTrue(blocks.contains(source), "\(Self.article) has no code block equal to \(path)")
        }
    }

    /// The contents of the article's ```swift fenced blocks, each ending in a newline.
    static func swiftBlocks(_ text: String) -> [String] {
        var blocks: [String] = [], current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.map { $0 + "\n" }.joined())
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }
}
