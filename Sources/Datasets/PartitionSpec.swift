import Foundation
import CSGDCore

/// A parsed `--partition` argument: how a data set's samples are split
/// across W workers, as lists of sample indices (one list a worker).
///
/// - `iid`: a keyed shuffle of all n indices cut into W contiguous shards;
///   the first n mod W shards hold ⌈n/W⌉ samples, the others ⌊n/W⌋.
/// - `by-class`: the paper's setting (Figure 1: 10 workers, one class each).
///   The classes present are taken in increasing order and class number j
///   among them goes to worker j mod W (round-robin): with W equal to the
///   number of classes worker w gets exactly class w; with fewer workers
///   some get several classes. More workers than classes present is an
///   error, since a worker would get no data.
/// - `dirichlet:α`: for each class, proportions p ~ Dir(α, …, α) over the W
///   workers (Gamma variates by Marsaglia–Tsang); the class's samples,
///   shuffled, are cut at the rounded cumulative proportions. Small α gives
///   skewed, nearly one-class shards; large α approaches iid. A worker left
///   with no sample at all is an error.
///
/// Randomness is keyed by the seed with purpose `.shuffle`: step 0 for the
/// iid shuffle, step 2³² + c for the shuffle of class c and 2·2³² + c for its
/// proportions, so each class's draws are independent of the others. Every
/// shard is returned in ascending index order. Errors (W ≤ 0, W > n, α ≤ 0,
/// a worker without data) are one line.
public enum PartitionSpec: Equatable, Sendable, CustomStringConvertible {
    case iid
    case byClass
    case dirichlet(alpha: Double)

    /// The names `parse` accepts.
    public static let names = ["iid", "by-class", "dirichlet:α"]

    /// Parses a `--partition` argument (`SpecParser`'s grammar and errors;
    /// α is the positional value of `dirichlet`, or its option `alpha=`).
    public static func parse(_ text: String) throws -> PartitionSpec {
        var p = try SpecParser(text, kind: "partition", names: ["iid", "by-class", "dirichlet"],
                               aliases: ["byclass": "by-class", "by_class": "by-class"])
        guard p.name == "dirichlet" else {
            try p.read()
            return p.name == "iid" ? .iid : .byClass
        }
        try p.read(options: ["alpha"], positional: .optional)
        switch (p.positional, p.value("alpha")) {
        case let (a?, nil), let (nil, a?): return .dirichlet(alpha: try p.number(a, as: "α", .positive))
        case (nil, nil): throw p.error("needs a concentration α first, as in 'dirichlet:0.5'")
        case (_?, _?): throw p.error("give α once, as in 'dirichlet:0.5' or 'dirichlet:alpha=0.5'")
        }
    }

    public var description: String {
        switch self {
        case .iid: return "iid"
        case .byClass: return "by-class"
        case let .dirichlet(alpha): return "dirichlet:\(alpha)"
        }
    }

    /// The sample indices of each of `workers` workers.
    public func partition(_ dataset: Dataset, workers: Int, seed: UInt64) throws -> [[Int32]] {
        try partition(labels: dataset.labels, classes: dataset.classes, workers: workers, seed: seed)
    }

    /// The sample indices of each of `workers` workers, for samples with
    /// these labels (each below `classes`, at most 256).
    public func partition(labels: [UInt8], classes: Int, workers: Int, seed: UInt64) throws -> [[Int32]] {
        let n = labels.count
        guard workers >= 1 else { throw CSGDError("partition '\(self)': workers W = \(workers) must be at least 1") }
        guard n > 0 else { throw CSGDError("partition '\(self)': the data set has no samples") }
        guard n <= Int(Int32.max) else { throw CSGDError("partition '\(self)': \(n) samples exceed the Int32 index range") }
        guard workers <= n else {
            throw CSGDError("partition '\(self)': \(workers) workers but only \(n) samples; some worker would get no data")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw CSGDError("partition '\(self)': label \(labels[bad]) of sample \(bad) is outside 0..<\(classes)")
        }
        guard workers <= Int(RandomKey.shared) else { throw CSGDError("partition '\(self)': \(workers) workers is too many") }
        switch self {
        case .iid:
            var all = (0..<Int32(n)).map { $0 }
            Self.shuffle(&all, key: RandomKey(seed: seed, step: 0, purpose: .shuffle))
            var shards: [[Int32]] = []
            let base = n / workers, extra = n % workers
            var start = 0
            for w in 0..<workers {
                let size = base + (w < extra ? 1 : 0)
                shards.append(Array(all[start..<(start + size)]).sorted())
                start += size
            }
            return shards
        case .byClass:
            let byClass = Self.indicesByClass(labels)
            let present = byClass.indices.filter { !byClass[$0].isEmpty }
            guard workers <= present.count else {
                throw CSGDError("partition 'by-class': \(workers) workers but only \(present.count) classes present; worker \(present.count) would get no data (use at most \(present.count) workers, or iid or dirichlet:α)")
            }
            var shards = [[Int32]](repeating: [], count: workers)
            for (j, c) in present.enumerated() { shards[j % workers].append(contentsOf: byClass[c]) }
            return shards.map { $0.sorted() }
        case let .dirichlet(alpha):
            guard alpha > 0, alpha.isFinite else { throw CSGDError("partition 'dirichlet': α = \(alpha) must be positive and finite") }
            let byClass = Self.indicesByClass(labels)
            var shards = [[Int32]](repeating: [], count: workers)
            for c in byClass.indices where !byClass[c].isEmpty {
                var members = byClass[c]
                Self.shuffle(&members, key: RandomKey(seed: seed, step: (1 << 32) + UInt64(c), purpose: .shuffle))
                var stream = RandomStream(key: RandomKey(seed: seed, step: (2 << 32) + UInt64(c), purpose: .shuffle))
                let p = Dirichlet.proportions(count: workers, alpha: alpha, stream: &stream)
                var cumulative = 0.0, start = 0
                for w in 0..<workers {
                    cumulative += p[w]
                    let end = w == workers - 1 ? members.count
                        : min(members.count, max(start, Int((cumulative * Double(members.count)).rounded())))
                    shards[w].append(contentsOf: members[start..<end])
                    start = end
                }
            }
            if let empty = shards.firstIndex(where: { $0.isEmpty }) {
                throw CSGDError("partition 'dirichlet:\(alpha)': worker \(empty) of \(workers) gets no samples; use a larger α or fewer workers")
            }
            return shards.map { $0.sorted() }
        }
    }

    /// Sample indices grouped by label (256 lists, ascending).
    static func indicesByClass(_ labels: [UInt8]) -> [[Int32]] {
        var out = [[Int32]](repeating: [], count: 256)
        for (i, l) in labels.enumerated() { out[Int(l)].append(Int32(i)) }
        return out
    }

    /// Fisher–Yates shuffle driven by the stream of `key`.
    static func shuffle(_ a: inout [Int32], key: RandomKey) {
        guard a.count > 1 else { return }
        var stream = RandomStream(key: key)
        a.withUnsafeMutableBufferPointer { p in
            for i in stride(from: p.count - 1, to: 0, by: -1) {
                let j = Int(stream.nextInt(below: UInt64(i + 1)))
                p.swapAt(i, j)
            }
        }
    }
}
