import Checkpointing
import CSGDCore
import Foundation

/// `csgd optimize|train --resume --checkpoint DIR` needs no other option: a
/// fresh run keeps its command line in DIR/COMMAND, and a resume starts
/// from it. An option given again must have the value it had (or the run
/// would not be the same run), except those that do not change the
/// iterates: how long (`--steps`, `--epochs`: a finished run can be
/// continued), where output goes (`--log`, `--json`, `--save-model`,
/// `--save-model-at-checkpoints`),
/// `--max-memory` and `--backend`. The recorded `--init-from` is left out:
/// the checkpoint holds the iterate. A directory without COMMAND (from an older csgd) resumes
/// from the options as given.
enum ResumeArguments {
    /// Options a resume may change.
    static let changeable: Set<String> = ["--steps", "--epochs", "--log", "--json", "--max-memory", "--backend", "--save-model",
                                          "--save-model-at-checkpoints"]
    /// Options of the recorded run a resume leaves out: where it started
    /// (`--init-from`) is in the checkpoint.
    static let dropped: Set<String> = ["--init-from"]
    /// Options of `optimize` and `train` that take no value.
    static let flags: Set<String> = ["--json", "--resume", "--stop-at-sosp", "--nesterov", "--certify", "--help", "-h",
                                     "--save-model-at-checkpoints"]

    /// Older spellings of an option, read as the option they stand for.
    static let aliases: [String: String] = ["--data": "--dataset"]

    /// One option as typed: its name and its value (nil for a flag).
    struct Option: Equatable {
        var name: String
        var value: String?
        var tokens: [String] { value.map { [name, $0] } ?? [name] }

        /// The same option with the same value: the same text, or the same number (`0.05` and `5e-2`).
        static func == (a: Option, b: Option) -> Bool {
            guard a.name == b.name else { return false }
            if a.value == b.value { return true }
            guard let x = a.value.flatMap(Double.init), let y = b.value.flatMap(Double.init) else { return false }
            return x == y
        }
    }

    /// `arguments` (after `csgd`) completed from the checkpoint's recorded
    /// command when they resume a run; unchanged otherwise.
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let command = arguments.first, ["optimize", "train"].contains(command), arguments.contains("--resume") else {
            return arguments
        }
        let given = options(Array(arguments.dropFirst()))
        guard let dir = given.last(where: { $0.name == "--checkpoint" })?.value,
              let recorded = try CheckpointDirectory(dir).recordedCommand() else { return arguments }
        guard recorded.first == command else {
            throw CSGDError("checkpoint directory '\(dir)' holds a run of `csgd \(recorded.first ?? "?")`: resume it with that command")
        }
        let saved = options(Array(recorded.dropFirst()))
        for o in given where !["--resume", "--checkpoint"].contains(o.name) && !changeable.contains(o.name) {
            guard let was = saved.last(where: { $0.name == o.name }) else {
                throw CSGDError("\(o.tokens.joined(separator: " ")) was not given to the run recorded in '\(dir)/COMMAND': a resume continues that run as it was (it may change only \(changeable.sorted().joined(separator: ", ")))")
            }
            guard was == o else {
                throw CSGDError("\(o.tokens.joined(separator: " ")) differs from the run recorded in '\(dir)/COMMAND' (\(was.tokens.joined(separator: " "))): a resume continues that run as it was")
            }
        }
        // The recorded run, less what this command says again or changes, then this command's own.
        let givenNames = Set(given.map(\.name))
        let length: Set<String> = ["--steps", "--epochs"]
        let kept = saved.filter { o in
            if o.name == "--checkpoint" || o.name == "--resume" || dropped.contains(o.name) { return false }
            if givenNames.contains(o.name) { return false }
            if length.contains(o.name) && !givenNames.isDisjoint(with: length) { return false }
            return true
        }
        return [command] + kept.flatMap(\.tokens) + given.flatMap(\.tokens)
    }

    /// The options of a command line, in order: `--name value`,
    /// `--name=value`, or a flag. Anything else stands alone.
    static func options(_ tokens: [String]) -> [Option] {
        var out: [Option] = []
        var i = 0
        while i < tokens.count {
            let t = tokens[i]
            if t.hasPrefix("--"), let eq = t.firstIndex(of: "=") {
                let name = String(t[..<eq])
                out.append(Option(name: aliases[name] ?? name, value: String(t[t.index(after: eq)...])))
            } else if flags.contains(t) || !t.hasPrefix("-") || i + 1 == tokens.count {
                out.append(Option(name: t, value: nil))
            } else {
                out.append(Option(name: aliases[t] ?? t, value: tokens[i + 1]))
                i += 1
            }
            i += 1
        }
        return out
    }
}
