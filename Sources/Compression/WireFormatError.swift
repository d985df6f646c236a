/// Why a byte string is not a valid message. Decoders throw it for any input
/// they cannot prove well-formed; they never trap, read out of bounds or
/// allocate more than the message's declared dimension allows.
public enum WireFormatError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The bytes ended before the message did.
    case truncated(neededBits: Int, availableBits: Int)
    /// Whole bytes were left over after a complete message.
    case trailingBytes(Int)
    /// The unused bits of the last byte were not zero.
    case nonZeroPadding
    /// A field held a value the format does not allow.
    case invalid(String)

    public var description: String {
        switch self {
        case let .truncated(n, a): return "malformed message: truncated (needed \(n) more bits, \(a) left)"
        case let .trailingBytes(n): return "malformed message: \(n) trailing bytes after the message"
        case .nonZeroPadding: return "malformed message: non-zero padding bits"
        case let .invalid(why): return "malformed message: \(why)"
        }
    }
}
