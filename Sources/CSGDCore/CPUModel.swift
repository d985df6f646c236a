import Foundation

/// The processor a run computes on, as the kernel names it: the first
/// "model name" of /proc/cpuinfo (e.g. "AMD EPYC 9R14 96-Core Processor").
public enum CPUModel {
    /// The model name, or "unknown CPU" where /proc/cpuinfo has none.
    public static let name: String = parse((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    /// The first `model name : …` value of a /proc/cpuinfo text.
    public static func parse(_ cpuinfo: String) -> String {
        cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).dropFirst().first }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .flatMap { $0.isEmpty ? nil : $0 } ?? "unknown CPU"
    }
}
