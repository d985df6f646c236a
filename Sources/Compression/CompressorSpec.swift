import Foundation
import CSGDCore

/// A count K written either as a number of coordinates (`210`) or as a
/// fraction of d (`0.001`, rounded to the nearest count, at least 1).
public enum CoordinateCount: Equatable, Sendable, CustomStringConvertible {
    case count(Int)
    case fraction(Double)

    /// Parses `text`; a value with a `.` or an exponent is a fraction.
    public static func parse(_ text: String, what: String) throws -> CoordinateCount {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.contains(".") || t.lowercased().contains("e") {
            guard let f = Double(t), f.isFinite else { throw CSGDError("\(what): '\(text)' is not a number") }
            guard f > 0 && f <= 1 else { throw CSGDError("\(what): fraction \(text) is outside (0, 1]") }
            return .fraction(f)
        }
        guard let k = Int(t) else { throw CSGDError("\(what): '\(text)' is not a number") }
        guard k > 0 else { throw CSGDError("\(what): K = \(k) must be positive") }
        return .count(k)
    }

    /// K for dimension d; throws when K > d.
    public func resolve(dimension d: Int, what: String) throws -> Int {
        switch self {
        case let .count(k):
            guard k <= d else { throw CSGDError("\(what): K = \(k) exceeds the dimension d = \(d)") }
            return k
        case let .fraction(f):
            return min(d, max(1, Int((f * Double(d)).rounded())))
        }
    }

    public var description: String {
        switch self {
        case let .count(k): return String(k)
        case let .fraction(f): return String(f)
        }
    }
}

/// How QSGD writes its (sign, level) pairs.
public enum QSGDCoding: String, Equatable, Sendable, CaseIterable {
    /// Elias-ω codes of the gaps between non-zeros and of the levels (QSGD §3.2).
    case elias
    /// ⌈log₂(S+1)⌉ + 1 bits a coordinate.
    case fixed
}

/// A parsed `--compressor` argument: which compressor and its parameters,
/// before the dimension is known.
///
/// Grammar: `none`, `fp64`, `randomk:K`, `topk:K`, `sketch-topk:K[,rows=R][,cols=C]`,
/// `sign`, `qsgd:S[,coding=elias|fixed]` (also `qsgd:S,fixed`), where K is a
/// count or a fraction of d.
public enum CompressorSpec: Equatable, Sendable, CustomStringConvertible {
    case none
    /// The identity sent as float64 (64·d bits): the seed's uncompressed wire.
    case fp64
    case randomK(CoordinateCount)
    case topK(CoordinateCount)
    case sketchTopK(CoordinateCount, rows: Int?, cols: Int?)
    case sign
    case qsgd(levels: Int, coding: QSGDCoding)

    /// The names `parse` accepts.
    public static let names = ["none", "fp64", "randomk", "topk", "sketch-topk", "sign", "qsgd"]

    /// The specs `all` stands for in tools (one representative of each kind).
    public static let representatives: [String] = [
        "none", "fp64", "randomk:0.01", "topk:0.01", "sketch-topk:0.01", "sign", "qsgd:15,coding=fixed", "qsgd:15",
    ]

    public static func parse(_ text: String) throws -> CompressorSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let (name, rest): (String, String?) = {
            if let c = trimmed.firstIndex(of: ":") {
                return (String(trimmed[..<c]).lowercased(), String(trimmed[trimmed.index(after: c)...]))
            }
            return (trimmed.lowercased(), nil)
        }()
        let args = rest.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
        func noArgs() throws {
            if rest != nil { throw CSGDError("compressor '\(name)' takes no parameters, got '\(rest!)'") }
        }
        func positional() throws -> String {
            guard let first = args.first, !first.isEmpty, !first.contains("=") else {
                throw CSGDError("compressor '\(name)' needs a parameter, as in '\(name):\(name == "qsgd" ? "15" : "0.01")'")
            }
            return first
        }
        func options(allowed: Set<String>) throws -> [String: String] {
            var out: [String: String] = [:]
            for a in args.dropFirst() {
                if a == "fixed" || a == "elias", allowed.contains("coding") { out["coding"] = a; continue }
                let kv = a.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, !kv[1].isEmpty else { throw CSGDError("compressor '\(name)': malformed option '\(a)' (expected key=value)") }
                guard allowed.contains(kv[0]) else {
                    throw CSGDError("compressor '\(name)': unknown option '\(kv[0])' (allowed: \(allowed.sorted().joined(separator: ", ")))")
                }
                guard out[kv[0]] == nil else { throw CSGDError("compressor '\(name)': option '\(kv[0])' given twice") }
                out[kv[0]] = kv[1]
            }
            return out
        }
        func positiveInt(_ s: String, _ what: String) throws -> Int {
            guard let v = Int(s) else { throw CSGDError("compressor '\(name)': \(what) '\(s)' is not an integer") }
            guard v > 0 else { throw CSGDError("compressor '\(name)': \(what) = \(v) must be positive") }
            return v
        }
        switch name {
        case "none", "identity":
            try noArgs(); return .none
        case "fp64":
            try noArgs(); return .fp64
        case "sign":
            try noArgs(); return .sign
        case "randomk", "topk":
            let k = try CoordinateCount.parse(try positional(), what: "compressor '\(name)'")
            _ = try options(allowed: [])
            return name == "randomk" ? .randomK(k) : .topK(k)
        case "sketch-topk":
            let k = try CoordinateCount.parse(try positional(), what: "compressor '\(name)'")
            let o = try options(allowed: ["rows", "cols"])
            let r = try o["rows"].map { s in try positiveInt(s, "rows") }
            let c = try o["cols"].map { s in try positiveInt(s, "cols") }
            return .sketchTopK(k, rows: r, cols: c)
        case "qsgd":
            let p = try positional()
            guard let s = Int(p) else { throw CSGDError("compressor 'qsgd': levels S = '\(p)' is not an integer") }
            guard s >= 1 else { throw CSGDError("compressor 'qsgd': levels S = \(s) must be at least 1") }
            guard s <= 1 << 30 else { throw CSGDError("compressor 'qsgd': levels S = \(s) is too large (at most 2^30)") }
            let o = try options(allowed: ["coding"])
            var coding = QSGDCoding.elias
            if let c = o["coding"] {
                guard let v = QSGDCoding(rawValue: c) else { throw CSGDError("compressor 'qsgd': coding '\(c)' is not elias or fixed") }
                coding = v
            }
            return .qsgd(levels: s, coding: coding)
        default:
            throw CSGDError("unknown compressor '\(name)' (expected one of: \(names.joined(separator: ", ")))")
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .fp64: return "fp64"
        case let .randomK(k): return "randomk:\(k)"
        case let .topK(k): return "topk:\(k)"
        case let .sketchTopK(k, r, c):
            return "sketch-topk:\(k)" + (r.map { ",rows=\($0)" } ?? "") + (c.map { ",cols=\($0)" } ?? "")
        case .sign: return "sign"
        case let .qsgd(s, coding): return "qsgd:\(s),coding=\(coding.rawValue)"
        }
    }
}
