import CSGDCore

/// The byte sink one checkpoint is built in: little-endian fixed-width
/// integers, Doubles by their bit pattern, length-prefixed UTF-8 strings and
/// Float arrays (a UInt64 count, then the Float32 bit patterns). It notes
/// whether any Float array held a NaN or an Inf (`allFinite`), so that a
/// non-finite state is never written over a good checkpoint. The layout of
/// each part is in docs/checkpoints.md; `CheckpointReader` reads it back.
public struct CheckpointWriter {
    public private(set) var bytes: [UInt8] = []
    /// False once a Float array with a NaN or an Inf was appended.
    public private(set) var allFinite = true

    public init() {}

    public mutating func appendUInt32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func appendUInt64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// An Int as a two's-complement Int64.
    public mutating func appendInt(_ v: Int) { appendUInt64(UInt64(bitPattern: Int64(v))) }

    /// A Double by its IEEE-754 bit pattern (NaN payloads and −0 survive).
    public mutating func appendDouble(_ v: Double) { appendUInt64(v.bitPattern) }

    /// UInt32 byte count, then the UTF-8 bytes.
    public mutating func appendString(_ s: String) {
        let utf8 = Array(s.utf8)
        appendUInt32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Raw bytes, no length.
    public mutating func appendBytes<C: Collection>(_ b: C) where C.Element == UInt8 {
        bytes.append(contentsOf: b)
    }

    /// UInt64 count, then each Float's bit pattern (little-endian).
    public mutating func appendFloats(_ v: UnsafeBufferPointer<Float>) {
        for f in v where !f.isFinite {
            allFinite = false
            break
        }
        v.withMemoryRebound(to: UInt32.self) { appendUInt32s($0) }
    }

    /// UInt64 count, then each UInt32 (little-endian).
    public mutating func appendUInt32s(_ v: UnsafeBufferPointer<UInt32>) {
        appendUInt64(UInt64(v.count))
        bytes.reserveCapacity(bytes.count + 4 * v.count)
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(v))
        #else
        for x in v { withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) } }
        #endif
    }

    /// A length-prefixed section (UInt64 byte count, then what `body` writes).
    public mutating func appendSection(_ body: (inout CheckpointWriter) -> Void) {
        var inner = CheckpointWriter()
        body(&inner)
        appendUInt64(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
        if !inner.allFinite { allFinite = false }
    }
}
