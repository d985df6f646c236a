import ArgumentParser
import Foundation

/// The `csgd` command: communication-efficient distributed SGD that escapes
/// saddle points. Each subcommand is a thin layer over the library.
@main
struct CSGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csgd",
        abstract: "Compressed SGD with error feedback that provably escapes saddle points.",
        version: BuildInfo.versionLine,
        subcommands: [CompressCommand.self, OptimizeCommand.self, TheoryCommand.self, BenchTrainCommand.self, BenchStepCommand.self, TrainCommand.self,
                      RerunCommand.self, ReproduceCommand.self, ReportCommand.self]
    )

    /// Parses the command line and runs the subcommand; every error, the
    /// argument parser's included, ends as `CLI.exit` says (one line, exit
    /// status 2 for bad input). What a command printed on standard output is
    /// flushed before exit; a failed write is one line and exit status 1.
    static func main() {
        // A closed pipe is a failed write, reported as one, not a signal.
        signal(SIGPIPE, SIG_IGN)
        do {
            let arguments = try ResumeArguments.expand(CLI.attachingNegativeNumbers(Array(CommandLine.arguments.dropFirst())))
            var command = try parseAsRoot(arguments)
            try command.run()
            CLI.flushStandardOutput()
        } catch {
            CLI.exit(error, command: Self.self)
        }
    }
}
