import CSGDCore

/// Reads what a `CheckpointWriter` wrote, from a range of one file's bytes.
/// Every failure (the data ends early, a count or a name that does not fit,
/// bytes left over) throws a one-line `CSGDError` naming the file, so a bad
/// checkpoint is always reported, never half-loaded in silence.
public struct CheckpointReader {
    let bytes: [UInt8]
    /// The file the bytes came from (for messages).
    public let file: String
    public private(set) var offset: Int
    let end: Int

    public init(_ bytes: [UInt8], file: String, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.file = file
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    /// Bytes not read yet.
    public var remaining: Int { end - offset }

    /// A one-line error about this file.
    public func error(_ what: String) -> CSGDError {
        CSGDError("checkpoint '\(file)' \(what)")
    }

    mutating func take(_ n: Int, _ what: String) throws -> Range<Int> {
        guard n >= 0, n <= remaining else {
            throw error("is truncated or corrupt: \(what) needs \(n) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += n }
        return offset..<(offset + n)
    }

    public mutating func readUInt32(_ what: String) throws -> UInt32 {
        let r = try take(4, what)
        var v: UInt32 = 0
        for i in r.reversed() { v = v << 8 | UInt32(bytes[i]) }
        return v
    }

    public mutating func readUInt64(_ what: String) throws -> UInt64 {
        let r = try take(8, what)
        var v: UInt64 = 0
        for i in r.reversed() { v = v << 8 | UInt64(bytes[i]) }
        return v
    }

    public mutating func readInt(_ what: String) throws -> Int {
        Int(Int64(bitPattern: try readUInt64(what)))
    }

    public mutating func readDouble(_ what: String) throws -> Double {
        Double(bitPattern: try readUInt64(what))
    }

    public mutating func readString(_ what: String) throws -> String {
        let n = Int(try readUInt32(what))
        let r = try take(n, what)
        guard let s = String(validating: bytes[r], as: UTF8.self) else { throw error("is corrupt: \(what) is not UTF-8") }
        return s
    }

    public mutating func readBytes(_ n: Int, _ what: String) throws -> [UInt8] {
        Array(bytes[try take(n, what)])
    }

    /// Reads a Float array of exactly `into.count` values into `into`.
    public mutating func readFloats(into out: UnsafeMutableBufferPointer<Float>, _ what: String) throws {
        try out.withMemoryRebound(to: UInt32.self) { try readWords(into: $0, what, noun: "floats") }
    }

    /// Reads a UInt32 array of exactly `into.count` values into `into`.
    public mutating func readUInt32s(into out: UnsafeMutableBufferPointer<UInt32>, _ what: String) throws {
        try readWords(into: out, what, noun: "values")
    }

    /// A count, then that many little-endian 32-bit words.
    private mutating func readWords(into out: UnsafeMutableBufferPointer<UInt32>, _ what: String, noun: String) throws {
        let n = try readUInt64(what)
        guard n == UInt64(out.count) else {
            throw error("does not fit this run: \(what) holds \(n) \(noun), this run has \(out.count)")
        }
        let r = try take(4 * out.count, what)
        guard let dst = out.baseAddress else { return }
        bytes.withUnsafeBytes { raw in
            #if _endian(little)
            UnsafeMutableRawPointer(dst).copyMemory(from: raw.baseAddress! + r.lowerBound, byteCount: r.count)
            #else
            for i in 0..<out.count {
                dst[i] = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: r.lowerBound + 4 * i, as: UInt32.self))
            }
            #endif
        }
    }

    /// A reader over the next length-prefixed section; this reader moves past it.
    public mutating func readSection(_ what: String) throws -> CheckpointReader {
        let n = try readUInt64(what)
        guard n <= UInt64(remaining) else { throw error("is truncated or corrupt: \(what) claims \(n) bytes, \(remaining) left") }
        let r = try take(Int(n), what)
        return CheckpointReader(bytes, file: file, range: r)
    }

    /// Throws unless every byte was read.
    public func finish(_ what: String) throws {
        guard remaining == 0 else { throw error("is corrupt: \(remaining) unread bytes after \(what)") }
    }
}
