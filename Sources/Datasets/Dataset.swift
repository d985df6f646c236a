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
