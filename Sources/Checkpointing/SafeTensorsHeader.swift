import CSGDCore
import Foundation

/// The checked header of a safetensors file: its tensors and metadata.
///
/// `parse` applies the format's rules to untrusted bytes and refuses, with
/// a one-line `CSGDError`, anything else: a header that does not start with
/// `{` or is not a JSON object; an entry without a known `dtype`, a `shape`
/// of non-negative integers and two `data_offsets` b ≤ e; a byte range whose
/// length is not the shape's elements times the dtype's size (sizes that
/// overflow included); ranges that, sorted, do not start at 0, leave a gap,
/// overlap, or end anywhere but at the end of the data; metadata that is not
/// string to string.
public struct SafeTensorsHeader: Sendable, Equatable {
    public var entries: [String: SafeTensorsEntry]
    public var metadata: [String: String]
    /// Bytes of data after the header (the sum of the tensors' sizes).
    public var dataLength: Int

    /// The names of the tensors in the order of their data.
    public var namesInDataOrder: [String] {
        entries.sorted { ($0.value.begin, $0.value.end, $0.key) < ($1.value.begin, $1.value.end, $1.key) }.map(\.key)
    }

    /// Checks the JSON header `json` of a file with `dataLength` bytes after it.
    public static func parse(_ json: [UInt8], dataLength: Int) throws -> SafeTensorsHeader {
        guard json.first == UInt8(ascii: "{") else { throw CSGDError("the header does not start with '{'") }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(json))
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw CSGDError("the header is not valid JSON")
        } catch let e as DecodingError {
            throw CSGDError(Self.describe(e))
        }
        var entries: [String: SafeTensorsEntry] = [:]
        for (name, r) in raw.entries {
            guard let size = SafeTensors.dtypeSizes[r.dtype] else { throw CSGDError("tensor '\(name)' has unknown dtype '\(r.dtype)'") }
            guard r.shape.allSatisfy({ $0 >= 0 }) else { throw CSGDError("tensor '\(name)' has a negative dimension in shape \(r.shape)") }
            guard r.data_offsets.count == 2 else { throw CSGDError("tensor '\(name)' has \(r.data_offsets.count) data_offsets, not 2") }
            let (b, e) = (r.data_offsets[0], r.data_offsets[1])
            guard b >= 0, b <= e else { throw CSGDError("tensor '\(name)' has data_offsets [\(b), \(e)], not 0 ≤ begin ≤ end") }
            var bytes = size
            for d in r.shape {
                let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
                guard !overflow else { throw CSGDError("tensor '\(name)' of shape \(r.shape) is larger than a file can hold") }
                bytes = p
            }
            guard e - b == bytes else {
                throw CSGDError("tensor '\(name)' of shape \(r.shape) and dtype \(r.dtype) needs \(bytes) bytes, its data_offsets [\(b), \(e)] give \(e - b)")
            }
            entries[name] = SafeTensorsEntry(dtype: r.dtype, shape: r.shape, begin: b, end: e)
        }
        let header = SafeTensorsHeader(entries: entries, metadata: raw.metadata ?? [:], dataLength: dataLength)
        var next = 0
        for name in header.namesInDataOrder {
            let t = entries[name]!
            guard t.begin == next else {
                throw CSGDError(t.begin < next ? "tensor '\(name)' overlaps the tensor before it (data_offsets [\(t.begin), \(t.end)])"
                                              : "the data has a gap before tensor '\(name)' (bytes \(next) ..< \(t.begin) belong to no tensor)")
            }
            next = t.end
        }
        guard next == dataLength else {
            throw CSGDError(next > dataLength ? "the tensors' data_offsets end at byte \(next), past the \(dataLength) bytes of data in the file"
                                              : "the file has \(dataLength - next) bytes after the last tensor's data")
        }
        return header
    }

    static func describe(_ e: DecodingError) -> String {
        let (path, what): ([any CodingKey], String)
        switch e {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): (path, what) = (c.codingPath, c.debugDescription)
        case let .keyNotFound(key, c): (path, what) = (c.codingPath, "no '\(key.stringValue)'")
        @unknown default: return "the header is malformed"
        }
        guard let first = path.first?.stringValue else { return "the header is malformed: \(what)" }
        let owner = first == SafeTensors.metadataKey ? "the metadata" : "tensor '\(first)'"
        let rest = path.dropFirst().map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        let field = rest.hasPrefix(".") ? String(rest.dropFirst()) : rest
        return field.isEmpty ? "\(owner) is malformed: \(what)" : "\(owner) is malformed at '\(field)': \(what)"
    }
}

/// The header as JSON has it: every key a tensor but `__metadata__`.
private struct RawHeader: Decodable {
    var entries: [String: RawEntry] = [:]
    var metadata: [String: String]?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]

        enum CodingKeys: String, CodingKey { case dtype, shape, data_offsets }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try c.decode(String.self, forKey: .dtype)
            shape = try Self.integers(c, .shape)
            data_offsets = try Self.integers(c, .data_offsets)
        }

        /// A list of integers (not 2.5, not true, not beyond Int), else an error at that key.
        static func integers(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Int] {
            guard c.contains(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription: "no '\(key.stringValue)'"))
            }
            do { return try c.decode([Int].self, forKey: key) } catch {
                throw DecodingError.typeMismatch([Int].self, .init(codingPath: c.codingPath + [key], debugDescription: "not a list of integers"))
            }
        }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for k in c.allKeys {
            if k.stringValue == SafeTensors.metadataKey {
                metadata = try c.decode([String: String].self, forKey: k)
            } else {
                entries[k.stringValue] = try c.decode(RawEntry.self, forKey: k)
            }
        }
    }
}
