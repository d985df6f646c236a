import Foundation
import CSGDCore

/// A count K written either as a number of coordinates (`210`) or as a
/// fraction of d (`0.001`, rounded to the nearest count, at least 1).
public enum CoordinateCount: Equatable, Sendable, CustomStringConvertible {
    case count(Int)
    case fraction(Double)

    /// Parses `text`, the positional value of the spec `p`: with a `.` or
    /// an exponent it is a fraction in (0, 1], else a count ≥ 1.
    public static func parse(_ text: String, in p: SpecParser) throws -> CoordinateCount {
        if text.contains(".") || text.lowercased().contains("e") {
            guard Double(text) != nil else { throw p.error("K = '\(text)' is not a number (a count or a fraction of d)") }
            return .fraction(try p.number(text, as: "K", NumberRange(lower: 0, lowerInclusive: false, upper: 1)))
        }
        guard Int(text) != nil else { throw p.error("K = '\(text)' is not a number (a count or a fraction of d)") }
        return .count(try p.integer(text, as: "K", .positive))
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
/// Grammar: `none` (also `identity`), `fp64`, `randomk:K`, `topk:K`,
/// `sketch-topk:K[,rows=R][,cols=C]`, `sign`, `qsgd:S[,coding=elias|fixed]`
/// (also `qsgd:S,fixed`), where K is a count or a fraction of d; parsed by
/// `SpecParser`, K and S being its positional value.
public enum CompressorSpec: Equatable, Sendable, CustomStringConvertible {
    case none
    /// The identity sent as float64 (64·d bits): the uncompressed wire of Kalan et al.'s master–worker SGD.
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

    /// Parses a `--compressor` argument; errors are one line (`SpecParser`'s style).
    public static func parse(_ text: String) throws -> CompressorSpec {
        var p = try SpecParser(text, kind: "compressor", names: names, aliases: ["identity": "none"])
        let k = SpecParser.Positional.required(what: "K", example: "\(p.name):0.01")
        switch p.name {
        case "randomk", "topk":
            try p.read(positional: k)
            let count = try CoordinateCount.parse(p.positional!, in: p)
            return p.name == "randomk" ? .randomK(count) : .topK(count)
        case "sketch-topk":
            try p.read(options: ["rows", "cols"], positional: k)
            return .sketchTopK(try CoordinateCount.parse(p.positional!, in: p),
                               rows: try p.integer("rows", .positive), cols: try p.integer("cols", .positive))
        case "qsgd":
            try p.read(options: ["coding"], shorthands: ["fixed": "coding=fixed", "elias": "coding=elias"],
                       positional: .required(what: "its levels S", example: "qsgd:15"))
            let s = try p.integer(p.positional!, as: "S", .positive)
            guard s <= 1 << 30 else { throw p.error("S = \(s) is too large (at most 2^30)") }
            return .qsgd(levels: s, coding: try p.choice("coding", default: QSGDCoding.elias))
        default:
            try p.read()
            switch p.name {
            case "fp64": return .fp64
            case "sign": return .sign
            default: return .none
            }
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
