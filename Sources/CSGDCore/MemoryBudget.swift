import Foundation

/// The memory a command may use, checked before it allocates: a run whose
/// estimated footprint exceeds it is refused in one line naming both
/// figures, instead of failing an allocation (which aborts the process) or
/// being killed by the system part-way. The limit is `--max-memory` when
/// given, else the memory the system reports available now (Linux's
/// `MemAvailable`; unlimited where it cannot be read).
public struct MemoryBudget: Sendable, Equatable {
    /// The limit in bytes.
    public let bytes: Int
    /// Where the limit comes from, as the error line names it.
    public let source: String

    public init(bytes: Int, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// `--max-memory` if given (bytes), else what the system has available.
    public static func limit(_ maxBytes: Int?) -> MemoryBudget {
        if let maxBytes { return MemoryBudget(bytes: maxBytes, source: "--max-memory") }
        if let a = availableBytes() { return MemoryBudget(bytes: a, source: "the memory available") }
        return MemoryBudget(bytes: Int.max, source: "no limit")
    }

    /// The system's available memory (`MemAvailable` in /proc/meminfo).
    public static func availableBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kb = Int(fields[1]) { return kb * 1024 }
        }
        return nil
    }

    /// Throws unless `bytes` (an estimate, as a Double so that products of
    /// huge sizes cannot overflow) fits in the budget; `what` names the
    /// thing that needs it ("--dim 4294967296", "model 'mlp:…'").
    public func require(_ bytes: Double, for what: String) throws {
        guard bytes.isFinite, bytes <= Double(self.bytes) else {
            throw CSGDError("\(what) needs about \(Self.format(bytes)) of memory, more than \(source) (\(Self.format(Double(self.bytes))))")
        }
    }

    /// `bytes` in the largest binary unit that keeps a figure ≥ 1 ("1.5 GiB").
    public static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more than any machine has" }
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = bytes, i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        if i == 0 { return "\(Int(v)) bytes" }
        return String(format: v >= 100 ? "%.0f %@" : "%.1f %@", v, units[i])
    }

    /// Parses a size: a number of bytes with an optional binary unit, `K`,
    /// `M`, `G`, `T` (or `KiB`… ; case-insensitive): `512M`, `8G`, `1.5GiB`.
    public static func parse(_ text: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        var digits = Substring(t)
        var scale = 1.0
        let units: [(String, Double)] = [("kib", 0x1p10), ("mib", 0x1p20), ("gib", 0x1p30), ("tib", 0x1p40),
                                         ("k", 0x1p10), ("m", 0x1p20), ("g", 0x1p30), ("t", 0x1p40), ("b", 1)]
        for (suffix, s) in units where t.lowercased().hasSuffix(suffix) {
            digits = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let v = Double(digits.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0, v * scale < 0x1p62 else {
            throw CSGDError("--max-memory '\(text)' is not a positive size such as 512M, 8G or 1.5GiB")
        }
        return max(1, Int(v * scale))
    }
}
