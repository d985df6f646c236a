import CSGDCore
import Foundation

/// The machine a figure was measured on: CPU model, cores, the instruction
/// path csgd's kernels take, and when.
public struct MachineInfo: Codable, Equatable, Sendable {
    public var cpu: String
    public var cores: Int
    public var instructionPath: String
    public var date: String

    public init(cpu: String, cores: Int, instructionPath: String, date: String) {
        self.cpu = cpu; self.cores = cores; self.instructionPath = instructionPath; self.date = date
    }

    /// This machine now; `instructionPath` is the caller's (the kernels know it).
    public static func current(instructionPath: String) -> MachineInfo {
        let model = CPUModel.name
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return MachineInfo(cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                           instructionPath: instructionPath, date: f.string(from: Date()))
    }
}
