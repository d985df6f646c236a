import CSGDCore

/// Reader for CIFAR-10's binary version (`cifar-10-binary.tar.gz`).
///
/// Each batch file is a sequence of 3073-byte records: one label byte
/// (0–9) and 3072 pixel bytes, the 32×32 red plane, then green, then blue,
/// each row-major, which is already CHW. The training split is
/// `data_batch_1.bin` … `data_batch_5.bin` (50,000 images), the test split
/// `test_batch.bin` (10,000). They are looked for in the given directory and
/// then in its `cifar-10-batches-bin` subdirectory, where the archive unpacks
/// them. A batch may also be gzip-compressed (told by its first bytes). A
/// file whose size is not a whole number of records, or a label above 9, is
/// a one-line error naming the file.
public enum CIFAR10Reader {
    /// Bytes per record: one label and 3 × 32 × 32 pixels.
    public static let recordSize = 1 + 3 * 32 * 32
    /// Number of classes.
    public static let classes = 10
    /// The subdirectory the official archive unpacks to.
    public static let subdirectory = "cifar-10-batches-bin"

    /// The batch file names of a split.
    public static func fileNames(_ split: DatasetSplit) -> [String] {
        switch split {
        case .train: return (1...5).map { "data_batch_\($0).bin" }
        case .test: return ["test_batch.bin"]
        }
    }

    /// One batch file's records: pixel bytes (3072 a record, CHW) and labels.
    public static func readBatch(path: String) throws -> (pixels: [UInt8], labels: [UInt8]) {
        try readBatch(try DataFile(path: path))
    }

    /// Reads a batch file's contents from memory (`name` stands for its path
    /// in errors); the same checks as `readBatch(path:)`.
    public static func readBatch(bytes: UnsafeRawBufferPointer, name: String, budget: MemoryBudget = .limit(nil)) throws -> (pixels: [UInt8], labels: [UInt8]) {
        try readBatch(try DataFile(bytes: bytes, path: name, budget: budget))
    }

    static func readBatch(_ file: DataFile) throws -> (pixels: [UInt8], labels: [UInt8]) {
        let path = file.path
        // The records and the Float32 pixels they become: at most a fifth of the budget.
        let most = min(DataFile.maximumFileSize, file.budget.bytes / 5)
        let bytes = try file.read(upTo: most + 1)
        if bytes.count > most {
            try file.budget.require(5 * Double(bytes.count), for: "\(path): its data (more than \(bytes.count - 1) bytes of records)")
        }
        guard !bytes.isEmpty else { throw CSGDError("\(path): empty file (expected CIFAR-10 records of \(recordSize) bytes)") }
        let records = bytes.count / recordSize
        let leftover = bytes.count % recordSize
        guard leftover == 0 else {
            throw CSGDError("\(path): truncated: \(records) whole records of \(recordSize) bytes and \(leftover) bytes left over")
        }
        let pixelBytes = recordSize - 1
        var labels = [UInt8](repeating: 0, count: records)
        var pixels = [UInt8](repeating: 0, count: records * pixelBytes)
        try bytes.withUnsafeBufferPointer { src in
            try labels.withUnsafeMutableBufferPointer { l in
                try pixels.withUnsafeMutableBufferPointer { p in
                    for r in 0..<records {
                        let label = src[r * recordSize]
                        guard Int(label) < classes else {
                            throw CSGDError("\(path): label \(label) in record \(r) is outside 0..<\(classes) (not a CIFAR-10 binary batch?)")
                        }
                        l[r] = label
                        UnsafeMutableRawPointer(p.baseAddress! + r * pixelBytes).copyMemory(
                            from: src.baseAddress! + r * recordSize + 1, byteCount: pixelBytes)
                    }
                }
            }
        }
        return (pixels, labels)
    }

    /// The directory that holds a split's batches: `directory` itself, or its
    /// `cifar-10-batches-bin` subdirectory; throws naming the missing file.
    public static func resolveDirectory(_ directory: String, split: DatasetSplit) throws -> String {
        let first = fileNames(split)[0]
        let sub = DatasetSpec.join(directory, subdirectory)
        for dir in [directory, sub] where DataFile.isRegularFile(DatasetSpec.join(dir, first)) {
            return dir
        }
        throw CSGDError(
            "missing \(DatasetSpec.join(directory, first)) (also looked in \(sub)/); no Debian package provides CIFAR-10: "
                + "unpack its binary version (cifar-10-binary.tar.gz) and pass that directory")
    }

    /// Reads a split into a `Dataset` of 3×32×32 images scaled by 1/255.
    public static func load(directory: String, split: DatasetSplit) throws -> Dataset {
        let dir = try resolveDirectory(directory, split: split)
        var batches: [(pixels: [UInt8], labels: [UInt8])] = []
        for name in fileNames(split) {
            let path = DatasetSpec.join(dir, name)
            guard DataFile.isRegularFile(path) else {
                throw CSGDError("missing \(path); no Debian package provides CIFAR-10: unpack its binary version (cifar-10-binary.tar.gz) there")
            }
            batches.append(try readBatch(path: path))
        }
        let count = batches.reduce(0) { $0 + $1.labels.count }
        let pixelBytes = recordSize - 1
        var labels: [UInt8] = []
        labels.reserveCapacity(count)
        let images = [Float](unsafeUninitializedCapacity: count * pixelBytes) { out, initialized in
            var at = 0
            for b in batches {
                b.pixels.withUnsafeBufferPointer { PixelScaling.append($0, to: out.baseAddress! + at) }
                at += b.pixels.count
            }
            initialized = at
        }
        for b in batches { labels.append(contentsOf: b.labels) }
        return Dataset(name: "cifar10:\(split.rawValue)", channels: 3, height: 32, width: 32,
                       classes: classes, images: images, labels: labels)
    }
}
