/// A user-facing failure with a one-line message: bad input, a malformed
/// message or file. The CLI prints `description` and exits with status 2.
public struct CSGDError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
