import CSGDCore

/// When and where a run checkpoints (`TrainerConfiguration.checkpoint`):
/// the directory, the interval N in steps (a checkpoint holds the state
/// before step t for every t that N divides, t > 0), and whether the run
/// continues from the newest complete checkpoint there (`resume`), and
/// whether it saves one more at its last step (`final`). Without
/// `resume` the directory must hold no complete checkpoint, so two runs are
/// never mixed. See docs/checkpoints.md for the layout and the format.
public struct CheckpointPolicy: Sendable, Equatable {
    /// The interval when none is given.
    public static let defaultEvery = 1000

    public var directory: String
    public var every: Int
    public var resume: Bool
    /// Whether the run also saves a checkpoint at the step it ends on (when
    /// no interval checkpoint falls there), so that a finished run can be
    /// continued with a larger --steps. On by default.
    public var final = true
    /// The command line that started the run (`csgd` arguments), kept in
    /// DIR/COMMAND by a fresh run so that `--resume --checkpoint DIR` needs
    /// nothing else (nil: not kept).
    public var command: [String]?

    /// - Throws: `CSGDError` when `every` < 1.
    public init(directory: String, every: Int = CheckpointPolicy.defaultEvery, resume: Bool = false) throws {
        guard every >= 1 else { throw CSGDError("--checkpoint-every \(every) must be at least 1") }
        guard !directory.isEmpty else { throw CSGDError("--checkpoint needs a directory") }
        self.directory = directory
        self.every = every
        self.resume = resume
    }

    /// The policy of the command-line flags `--checkpoint DIR`,
    /// `--checkpoint-every N` and `--resume` (nil: no checkpoints).
    /// - Throws: `CSGDError` for N without DIR, --resume without DIR, N < 1.
    public static func fromFlags(directory: String?, every: Int?, resume: Bool) throws -> CheckpointPolicy? {
        guard let directory else {
            if let every { throw CSGDError("--checkpoint-every \(every) needs --checkpoint DIR") }
            if resume { throw CSGDError("--resume needs --checkpoint DIR") }
            return nil
        }
        return try CheckpointPolicy(directory: directory, every: every ?? defaultEvery, resume: resume)
    }
}
