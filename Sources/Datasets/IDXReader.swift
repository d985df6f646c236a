import CSGDCore

/// Reader for the IDX files of MNIST and Fashion-MNIST, raw or gzip.
///
/// An IDX file is a 4-byte big-endian magic number (0x00000803 for a stack
/// of unsigned-byte images, 0x00000801 for a vector of unsigned-byte labels),
/// then one big-endian UInt32 per dimension (count, rows, columns for
/// images; count for labels), then the bytes, row-major. A file whose first
/// bytes are the gzip magic 1f 8b is inflated first, whatever its name. The
/// reader checks everything a header claims against what the file holds and
/// throws a one-line error naming the file: a bad magic number, a truncated
/// header, fewer data bytes than the header promises, bytes after them, a
/// zero dimension, labels outside 0..<classes, or a label count that differs
/// from the image count.
public enum IDXReader {
    /// Magic number of an IDX image file (unsigned bytes, 3 dimensions).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic number of an IDX label file (unsigned bytes, 1 dimension).
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// Largest number of data bytes a header may promise (16 GiB).
    static let maximumDataBytes = 1 << 34

    /// The images of an IDX image file: `count` images of `rows`×`columns`
    /// bytes, row-major.
    public struct Images: Sendable {
        public let count: Int
        public let rows: Int
        public let columns: Int
        public let pixels: [UInt8]
    }

    /// Reads an IDX image file (magic 0x00000803). `budget`: what the images
    /// may take in memory (default: what the system has available); a
    /// header declaring more is refused before anything is read.
    public static func readImages(path: String, budget: MemoryBudget = .limit(nil)) throws -> Images {
        try readImages(try DataFile(path: path, budget: budget))
    }

    /// Reads the contents of an IDX image file from memory (`name` stands
    /// for its path in errors); the same checks as `readImages(path:)`.
    public static func readImages(bytes: UnsafeRawBufferPointer, name: String, budget: MemoryBudget = .limit(nil)) throws -> Images {
        try readImages(try DataFile(bytes: bytes, path: name, budget: budget))
    }

    static func readImages(_ file: DataFile) throws -> Images {
        let path = file.path
        let dims = try readHeader(file, expectedMagic: imagesMagic, kind: "images", dimensions: 3)
        let (count, rows, columns) = (dims[0], dims[1], dims[2])
        guard count > 0 else { throw CSGDError("\(path): header declares 0 images") }
        guard rows > 0, columns > 0 else { throw CSGDError("\(path): header declares images of \(rows)×\(columns) pixels") }
        let (perImage, o1) = rows.multipliedReportingOverflow(by: columns)
        let (total, o2) = count.multipliedReportingOverflow(by: perImage)
        guard !o1, !o2, total <= maximumDataBytes else {
            throw CSGDError("\(path): header promises \(count) images of \(rows)×\(columns), more than the \(maximumDataBytes) bytes this reader accepts")
        }
        // The bytes and the Float32 pixels they become.
        try file.budget.require(5 * Double(total), for: "\(path): its data (\(count) images of \(rows)×\(columns), as its header declares)")
        let pixels = try readData(file, bytes: total, what: "\(count) images of \(rows)×\(columns)")
        return Images(count: count, rows: rows, columns: columns, pixels: pixels)
    }

    /// Reads an IDX label file (magic 0x00000801); with `classes`, every
    /// label must be below it.
    public static func readLabels(path: String, classes: Int? = nil, budget: MemoryBudget = .limit(nil)) throws -> [UInt8] {
        try readLabels(try DataFile(path: path, budget: budget), classes: classes)
    }

    /// Reads the contents of an IDX label file from memory (`name` stands
    /// for its path in errors); the same checks as `readLabels(path:classes:)`.
    public static func readLabels(bytes: UnsafeRawBufferPointer, name: String, classes: Int? = nil,
                                  budget: MemoryBudget = .limit(nil)) throws -> [UInt8] {
        try readLabels(try DataFile(bytes: bytes, path: name, budget: budget), classes: classes)
    }

    static func readLabels(_ file: DataFile, classes: Int?) throws -> [UInt8] {
        let path = file.path
        let dims = try readHeader(file, expectedMagic: labelsMagic, kind: "labels", dimensions: 1)
        let count = dims[0]
        guard count > 0 else { throw CSGDError("\(path): header declares 0 labels") }
        try file.budget.require(Double(count), for: "\(path): its data (\(count) labels, as its header declares)")
        let labels = try readData(file, bytes: count, what: "\(count) labels")
        if let classes {
            try labels.withUnsafeBufferPointer { l in
                for i in 0..<l.count where Int(l[i]) >= classes {
                    throw CSGDError("\(path): label \(l[i]) at index \(i) is outside 0..<\(classes)")
                }
            }
        }
        return labels
    }

    /// Reads an image file and its label file into a `Dataset` (one channel,
    /// pixels scaled by 1/255).
    public static func readDataset(
        imagesPath: String, labelsPath: String, name: String, classes: Int
    ) throws -> Dataset {
        let images = try readImages(path: imagesPath)
        let labels = try readLabels(path: labelsPath, classes: classes)
        guard labels.count == images.count else {
            throw CSGDError("\(labelsPath): \(labels.count) labels, but \(imagesPath) holds \(images.count) images")
        }
        return Dataset(
            name: name, channels: 1, height: images.rows, width: images.columns, classes: classes,
            images: PixelScaling.floats(images.pixels), labels: labels)
    }

    /// Reads and checks the magic number and `dimensions` sizes.
    static func readHeader(_ file: DataFile, expectedMagic: UInt32, kind: String, dimensions: Int) throws -> [Int] {
        let headerBytes = 4 + 4 * dimensions
        let head = try file.read(upTo: 4)
        if head.isEmpty { throw CSGDError("\(file.path): empty file (expected an IDX \(kind) file)") }
        guard head.count == 4 else {
            throw CSGDError("\(file.path): truncated header: \(head.count) of \(headerBytes) bytes")
        }
        let magic = bigEndian(head, 0)
        guard magic == expectedMagic else {
            let other = magic == imagesMagic ? " (an IDX images file)" : magic == labelsMagic ? " (an IDX labels file)" : ""
            throw CSGDError("\(file.path): bad magic number \(hex(magic))\(other), expected \(hex(expectedMagic)) for IDX \(kind)")
        }
        let rest = try file.read(upTo: 4 * dimensions)
        guard rest.count == 4 * dimensions else {
            throw CSGDError("\(file.path): truncated header: \(4 + rest.count) of \(headerBytes) bytes")
        }
        return (0..<dimensions).map { Int(bigEndian(rest, 4 * $0)) }
    }

    /// Reads exactly `bytes` data bytes and checks that nothing follows.
    static func readData(_ file: DataFile, bytes: Int, what: String) throws -> [UInt8] {
        let data = try file.read(upTo: bytes)
        guard data.count == bytes else {
            throw CSGDError("\(file.path): truncated: the header promises \(what) (\(bytes) bytes) but only \(data.count) follow it")
        }
        let extra = try file.countRemaining()
        guard extra == 0 else {
            throw CSGDError("\(file.path): \(extra) bytes after the \(bytes) bytes of \(what) the header promises")
        }
        return data
    }

    static func bigEndian(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}
