import Foundation
import CSGDCore

/// A synthetic image classification set, `synthetic[:n=N,classes=K,shape=CxHxW,seed=S,test=M,noise=σ]`.
///
/// Each class has a prototype image: for every channel, a coarse grid of
/// (at most) 4×4 uniform values in [0, 1] drawn from the key (seed,
/// purpose `.initialization`), bilinearly stretched to H×W, so that classes
/// differ in smooth, large-scale patterns. Sample i has label `i mod K` and
/// pixels `clamp(prototype[label] + σ·z, 0, 1)` with z standard normal from
/// the key (seed, step 1 for the training split or 2 for the test split,
/// purpose `.syntheticData`). Everything is a pure function of the options, so the
/// same spec gives the same bytes on every machine, and a linear classifier
/// can learn it (at the default σ = 0.3 the classes are well separated).
/// Defaults: n = 2000 training samples, test = n/5 (at least 1), K = 10,
/// shape 1x28x28, seed 1, σ = 0.3.
public struct SyntheticSpec: Equatable, Sendable, CustomStringConvertible {
    public var count = 2000
    /// Test samples; `nil` means `max(1, count / 5)`.
    public var testCount: Int? = nil
    public var classes = 10
    public var channels = 1
    public var height = 28
    public var width = 28
    public var seed: UInt64 = 1
    public var noise: Double = 0.3

    /// Largest number of floats (samples × C·H·W) a split may hold.
    public static let maximumFloats = 1 << 30
    /// Side of the coarse grid each prototype is drawn on.
    static let grid = 4

    public init() {}

    /// The options `synthetic:` takes.
    public static let keys = ["n", "classes", "shape", "seed", "test", "noise"]

    /// Reads the options of a `synthetic[:…]` spec whose items `p` has read
    /// (`keys`), with `SpecParser`'s one-line errors.
    public static func parse(_ p: SpecParser) throws -> SyntheticSpec {
        var s = SyntheticSpec()
        s.count = try p.integer("n", default: s.count, .positive)
        s.testCount = try p.integer("test", .positive)
        s.classes = try p.integer("classes", default: s.classes, .positive)
        guard s.classes <= 256 else { throw p.error("classes = \(s.classes) exceeds 256 (labels are bytes)") }
        if let shape = p.value("shape") {
            let parts = shape.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 3, let c = parts[0], let h = parts[1], let w = parts[2] else {
                throw p.error("shape = '\(shape)' is not CxHxW (e.g. 1x28x28)")
            }
            guard c > 0, h > 0, w > 0 else { throw p.error("shape = \(shape) has a dimension ≤ 0") }
            (s.channels, s.height, s.width) = (c, h, w)
        }
        s.seed = try p.unsigned("seed") ?? s.seed
        s.noise = try p.number("noise", default: s.noise, .nonNegative)
        _ = try s.floats(s.count)
        _ = try s.floats(s.effectiveTestCount)
        return s
    }

    /// Test samples actually generated.
    public var effectiveTestCount: Int { testCount ?? max(1, count / 5) }

    /// Floats per sample.
    public var sampleSize: Int { channels * height * width }

    /// Floats in a split of `n` samples, or a one-line error when too many.
    func floats(_ n: Int) throws -> Int {
        let (per, o1) = channels.multipliedReportingOverflow(by: height)
        let (per2, o2) = per.multipliedReportingOverflow(by: width)
        let (total, o3) = per2.multipliedReportingOverflow(by: n)
        guard !o1, !o2, !o3, total <= Self.maximumFloats else {
            throw CSGDError("dataset 'synthetic': \(n) samples of \(channels)x\(height)x\(width) exceed \(Self.maximumFloats) floats")
        }
        return total
    }

    /// The prototypes: `classes` images of C×H×W, in [0, 1].
    func prototypes() -> [Float] {
        let gh = min(Self.grid, height), gw = min(Self.grid, width)
        var coarse = [Float](repeating: 0, count: classes * channels * gh * gw)
        coarse.withUnsafeMutableBufferPointer {
            RandomFill.uniform(RandomKey(seed: seed, step: 0, purpose: .initialization), into: $0)
        }
        var out = [Float](repeating: 0, count: classes * sampleSize)
        // Bilinear stretch of each gh×gw grid onto h×w (corner-aligned).
        func axis(_ i: Int, _ n: Int, _ g: Int) -> (Int, Int, Float) {
            guard n > 1, g > 1 else { return (0, 0, 0) }
            let t = Float(i) * Float(g - 1) / Float(n - 1)
            let lo = min(Int(t), g - 2)
            return (lo, lo + 1, t - Float(lo))
        }
        coarse.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                for plane in 0..<(classes * channels) {
                    let cg = plane * gh * gw, co = plane * height * width
                    for y in 0..<height {
                        let (y0, y1, fy) = axis(y, height, gh)
                        for x in 0..<width {
                            let (x0, x1, fx) = axis(x, width, gw)
                            let top = c[cg + y0 * gw + x0] * (1 - fx) + c[cg + y0 * gw + x1] * fx
                            let bottom = c[cg + y1 * gw + x0] * (1 - fx) + c[cg + y1 * gw + x1] * fx
                            o[co + y * width + x] = top * (1 - fy) + bottom * fy
                        }
                    }
                }
            }
        }
        return out
    }

    /// Generates one split.
    public func generate(split: DatasetSplit) throws -> Dataset {
        let n = split == .train ? count : effectiveTestCount
        let total = try floats(n)
        let protos = prototypes()
        let size = sampleSize
        var images = [Float](repeating: 0, count: total)
        let labels = (0..<n).map { UInt8(truncatingIfNeeded: $0 % classes) }
        let key = RandomKey(seed: seed, step: split == .train ? 1 : 2, purpose: .syntheticData)
        images.withUnsafeMutableBufferPointer { img in
            RandomFill.gaussian(key, sigma: Float(noise), into: img)
            protos.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    let base = i * size, pb = (i % classes) * size
                    for j in 0..<size {
                        img[base + j] = min(1, max(0, img[base + j] + p[pb + j]))
                    }
                }
            }
        }
        return Dataset(name: "synthetic:\(split.rawValue)", channels: channels, height: height, width: width,
                       classes: classes, images: images, labels: labels)
    }

    public var description: String {
        var s = "synthetic:n=\(count),classes=\(classes),shape=\(channels)x\(height)x\(width),seed=\(seed)"
        if let testCount { s += ",test=\(testCount)" }
        s += ",noise=\(noise)"
        return s
    }
}
