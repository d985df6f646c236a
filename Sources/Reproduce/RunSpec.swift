import Crypto
import Foundation

/// One run of an experiment: a `csgd` command line (without `--log` and
/// `--json`, which the runner adds) and a label for plots and tables.
///
/// A run is keyed by its full command line, seed included: the same
/// arguments always name the same run, so a finished run is never repeated
/// (`--resume`, or a re-run after a kill) and gives the same numbers.
public struct RunSpec: Codable, Hashable, Sendable {
    /// The arguments after `csgd`, e.g. `["train", "--model", "mnist-ae", …]`.
    public var arguments: [String]
    /// Which curve or group this run belongs to (e.g. "topk 0.1%, σ = 0.01").
    public var group: String
    /// The seed, also present in `arguments`; runs of a group differ by it.
    public var seed: Int

    public init(arguments: [String], group: String, seed: Int) {
        self.arguments = arguments; self.group = group; self.seed = seed
    }

    /// The first 16 hex digits of SHA-256 of the arguments joined by NUL.
    public var key: String {
        let digest = SHA256.hash(data: Data(arguments.joined(separator: "\u{0}").utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The command as a user would type it (arguments quoted where needed).
    public var commandLine: String {
        (["csgd"] + arguments).map(Shell.quote).joined(separator: " ")
    }
}

/// Quoting for command lines shown to a user.
enum Shell {
    static func quote(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:=/+%@")
        if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
