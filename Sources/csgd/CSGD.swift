import ArgumentParser

/// The `csgd` command: communication-efficient distributed SGD that escapes
/// saddle points. Each subcommand is a thin layer over the library.
@main
struct CSGD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csgd",
        abstract: "Compressed SGD with error feedback that provably escapes saddle points.",
        subcommands: [CompressCommand.self, OptimizeCommand.self, TheoryCommand.self, BenchTrainCommand.self, BenchStepCommand.self, TrainCommand.self,
                      ReproduceCommand.self, ReportCommand.self]
    )
}
