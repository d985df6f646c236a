/// An image classification data set held in memory: `count` samples of
/// shape C×H×W (NCHW, Float32 scaled to [0, 1]) and their class labels.
/// Readers (IDX, CIFAR-10 binary, synthetic) produce it; partitions split
/// its indices across workers; the neural-network objective reads batches
/// from it.
public struct Dataset: Sendable {
    /// A short name, e.g. `fashion-mnist:train`.
    public let name: String
    public let channels: Int
    public let height: Int
    public let width: Int
    /// Number of distinct labels (labels are in 0..<classes).
    public let classes: Int
    /// Samples, each `sampleSize` floats, contiguous.
    public let images: [Float]
    /// One label per sample.
    public let labels: [UInt8]

    public init(name: String, channels: Int, height: Int, width: Int, classes: Int, images: [Float], labels: [UInt8]) {
        precondition(channels > 0 && height > 0 && width > 0)
        precondition(images.count == labels.count * channels * height * width)
        self.name = name
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.images = images
        self.labels = labels
    }

    /// Number of samples.
    public var count: Int { labels.count }
    /// Floats per sample, C·H·W.
    public var sampleSize: Int { channels * height * width }
}

extension Dataset {
    /// Number of samples of each class (`classes` entries).
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for l in labels where Int(l) < classes { counts[Int(l)] += 1 }
        return counts
    }

    /// The first `n` samples (all of them when `n` ≥ `count`; at least one).
    public func prefix(_ n: Int) -> Dataset {
        let k = min(max(n, 1), count)
        if k == count { return self }
        return Dataset(name: name, channels: channels, height: height, width: width, classes: classes,
                       images: Array(images[0..<(k * sampleSize)]), labels: Array(labels[0..<k]))
    }

    /// The samples at `indices`, in that order (e.g. one worker's shard).
    /// - Precondition: every index is in `0 ..< count`.
    public func subset(_ indices: [Int32]) -> Dataset {
        let s = sampleSize
        var out = [Float](repeating: 0, count: indices.count * s)
        out.withUnsafeMutableBufferPointer { o in
            images.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && Int(i) < count, "sample index out of range")
                    (o.baseAddress! + k * s).update(from: src.baseAddress! + Int(i) * s, count: s)
                }
            }
        }
        return Dataset(name: name, channels: channels, height: height, width: width, classes: classes,
                       images: out, labels: indices.map { labels[Int($0)] })
    }
}
