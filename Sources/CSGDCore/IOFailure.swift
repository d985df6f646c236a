/// A file or device that could not be written or synced (a full disk, an
/// I/O error): a failure of the machine, not of the input. Its message names
/// the file and the OS error (`cannot write 'DIR/step-…/rank-0.ckpt': write:
/// No space left on device`); the CLI prints it on one line and exits with
/// status 1, where a `CSGDError` (bad input) exits with 2.
public struct IOFailure: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
