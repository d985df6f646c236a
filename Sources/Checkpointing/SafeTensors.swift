import CSGDCore
import Foundation

/// The safetensors file format (Hugging Face's, the one PyTorch, JAX and
/// NumPy load with the `safetensors` package): an 8-byte little-endian
/// header length N, N bytes of a UTF-8 JSON object
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, …,
/// "__metadata__": {"key": "value", …}}` (padded with spaces), then the raw
/// little-endian tensor data, each tensor's bytes at [b, e) of that data,
/// the tensors end to end with no gap and nothing after the last.
///
/// `encode` writes such a file's bytes; `SafeTensorsFile` reads one and
/// refuses anything the format's rules do not allow (`SafeTensorsHeader`).
public enum SafeTensors {
    /// The largest header the format allows (the reference reader's limit): 100 MB.
    public static let maximumHeaderBytes = 100_000_000
    /// The key of the string-to-string metadata in the header.
    public static let metadataKey = "__metadata__"

    /// The element types of the format and their sizes in bytes (the
    /// sub-byte float types of newer versions are not read).
    public static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    /// One tensor to write: its name, element type, shape and little-endian bytes.
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }

        /// A Float32 tensor (dtype F32) of `shape` holding `values` in order.
        public init(name: String, shape: [Int], floats values: UnsafeBufferPointer<Float>) {
            var b = [UInt8](repeating: 0, count: 4 * values.count)
            b.withUnsafeMutableBytes { raw in
                for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
            self.init(name: name, dtype: "F32", shape: shape, bytes: b)
        }

        /// A 64-bit integer tensor (dtype I64) of `shape` holding `values`.
        public init(name: String, shape: [Int], int64s values: [Int64]) {
            var b = [UInt8](repeating: 0, count: 8 * values.count)
            b.withUnsafeMutableBytes { raw in
                for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
            self.init(name: name, dtype: "I64", shape: shape, bytes: b)
        }
    }

    /// The bytes of a safetensors file holding `tensors` (their data in the
    /// order given) and `metadata`. The header's keys are sorted and it is
    /// padded with spaces to a multiple of 8 bytes, so the data is aligned.
    /// Throws a `CSGDError` for a tensor whose bytes do not match its dtype
    /// and shape, an unknown dtype, or a name given twice or reserved.
    public static func encode(_ tensors: [Tensor], metadata: [String: String]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header[metadataKey] = metadata }
        var offset = 0
        for t in tensors {
            guard t.name != metadataKey, header[t.name] == nil else { throw CSGDError("safetensors: tensor name '\(t.name)' is reserved or given twice") }
            guard let size = dtypeSizes[t.dtype] else { throw CSGDError("safetensors: tensor '\(t.name)' has unknown dtype '\(t.dtype)'") }
            var bytes: Int? = size
            for d in t.shape {
                let p = bytes.map { $0.multipliedReportingOverflow(by: d) }
                bytes = d < 0 || p?.overflow != false ? nil : p!.partialValue
            }
            guard bytes == t.bytes.count else {
                throw CSGDError("safetensors: tensor '\(t.name)' of shape \(t.shape) and dtype \(t.dtype) has \(t.bytes.count) bytes")
            }
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for t in tensors { out.append(contentsOf: t.bytes) }
        return out
    }
}

/// One tensor's entry in a safetensors header: its element type, shape and
/// byte range [begin, end) within the data that follows the header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public var dtype: String
    public var shape: [Int]
    public var begin: Int
    public var end: Int

    public init(dtype: String, shape: [Int], begin: Int, end: Int) {
        self.dtype = dtype; self.shape = shape; self.begin = begin; self.end = end
    }

    /// Elements: the product of the shape (1 for a scalar, shape []).
    public var count: Int { shape.reduce(1, *) }
}
