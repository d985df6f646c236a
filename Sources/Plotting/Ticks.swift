import Foundation

/// One labelled tick: a value in data units and its text.
public struct Tick: Hashable, Sendable {
    /// Where the tick sits, in data units.
    public var value: Double
    /// The tick's label; a line break starts a second, smaller line.
    public var label: String

    /// A tick at `value` reading `label`.
    public init(value: Double, label: String) {
        self.value = value
        self.label = label
    }
}

/// The ticks of an axis: labelled major ticks and unlabelled minor ones.
///
/// Linear axes step by 1, 2 or 5 times a power of ten; log axes put labels on
/// decades (10⁻³ … 10²) with minor ticks at 2…9 times each decade, on every
/// second or third decade when there are many, and on 1-2-5 steps when the
/// span holds fewer than two decades. Labels are exact decimals of the tick
/// values (no floating-point noise) in one style per axis.
public struct Ticks: Hashable, Sendable {
    /// The labelled ticks, ascending.
    public var major: [Tick]
    /// The unlabelled ticks, ascending.
    public var minor: [Double]

    /// Ticks from given lists.
    public init(major: [Tick], minor: [Double] = []) {
        self.major = major
        self.minor = minor
    }

    /// Linear ticks on the round steps in `lo…hi`: the smallest 1-2-5 step
    /// giving at most `intervals` intervals. 0…1 gives 0, 0.2, …, 1.
    public static func linear(from lo: Double, to hi: Double, intervals: Int = 5) -> Ticks {
        guard lo.isFinite, hi.isFinite else { return Ticks(major: []) }
        let (lo, hi) = (Swift.min(lo, hi), Swift.max(lo, hi))
        let span = hi - lo
        guard span > 0 else {
            return Ticks(major: [Tick(value: lo, label: NumberFormat.compact(lo, digits: 6))])
        }
        let intervals = Double(Swift.max(intervals, 1))
        var q = Int(floor(log10(span / intervals)))
        var m = 10
        for candidate in [1, 2, 5, 10] where span / (Double(candidate) * NumberFormat.power(q)) <= intervals * (1 + 1e-9) {
            m = candidate
            break
        }
        if m == 10 { m = 1; q += 1 }
        let step = Double(m) * NumberFormat.power(q)
        let first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9)
        guard Swift.abs(first) < 1e14, Swift.abs(last) < 1e14 else {
            let ends = [lo, hi].map { Tick(value: $0, label: NumberFormat.compact($0, digits: 8)) }
            return Ticks(major: ends)
        }
        if last - first < 1, intervals < 10 {
            return linear(from: lo, to: hi, intervals: Int(intervals) * 2)
        }
        guard first <= last else { return Ticks(major: []) }
        let exact = (Int(first)...Int(last)).map { (n: $0 * m, q: q) }
        return Ticks(major: labelled(exact))
    }

    /// Log₁₀ ticks over `lo…hi` (data units, both > 0) with at most `maxLabels`
    /// labelled ticks: decades when the span holds three or more (or two and
    /// the 1-2-5 steps would be too few or too many), else 1-2-5 steps when
    /// three or more fit, else linear steps. A lower end ≤ 0 is taken as three
    /// decades under `hi`; `hi` ≤ 0, NaN or ±∞ gives no ticks. 1e-3…1e2 gives the six
    /// decades 10⁻³ … 10² and minor ticks at 2…9 of each.
    public static func log(from lo: Double, to hi: Double, maxLabels: Int = 8) -> Ticks {
        guard hi.isFinite, !lo.isNaN else { return Ticks(major: []) }
        let upper = Swift.max(lo, hi)
        guard upper.isFinite, upper > 0 else { return Ticks(major: []) }
        let least = Swift.min(lo, hi)
        let lower = least.isFinite && least > 0 ? least : upper / 1000
        let uLo = log10(lower), uHi = log10(upper)
        let kLo = Int(ceil(uLo - 1e-9)), kHi = Int(floor(uHi + 1e-9))
        func inside(_ m: Int, _ k: Int) -> Bool {
            let u = log10(Double(m)) + Double(k)
            return u >= uLo - 1e-9 && u <= uHi + 1e-9
        }
        let decadesBelow = Int(floor(uLo)), decadesAbove = Int(floor(uHi))
        let decades = kLo <= kHi ? Array(kLo...kHi) : []
        let steps = (decadesBelow...decadesAbove).flatMap { k in [1, 2, 5].filter { inside($0, k) }.map { (n: $0, q: k) } }
        if decades.count >= 3 || (decades.count == 2 && (steps.count < 3 || steps.count > maxLabels)) {
            let stride = Swift.max(1, Int(ceil(Double(decades.count) / Double(Swift.max(maxLabels, 2)))))
            var labelled = decades.filter { ($0 % stride + stride) % stride == 0 }
            if labelled.count < 2 { labelled = Array(Swift.stride(from: kLo, through: kHi, by: stride)) }
            let major = labelled.map { Tick(value: NumberFormat.power($0), label: NumberFormat.powerOfTen($0)) }
            let minor: [Double]
            if stride == 1 {
                minor = (decadesBelow...decadesAbove).flatMap { k in
                    (2...9).filter { inside($0, k) }.map { NumberFormat.value($0, k) }
                }
            } else {
                minor = decades.filter { !labelled.contains($0) }.map { NumberFormat.power($0) }
            }
            return Ticks(major: major, minor: minor)
        }
        if steps.count >= 3 {
            let others = (decadesBelow...decadesAbove).flatMap { k in
                [3, 4, 6, 7, 8, 9].filter { inside($0, k) }.map { NumberFormat.value($0, k) }
            }
            return Ticks(major: labelled(steps), minor: others)
        }
        let linear = Ticks.linear(from: lower, to: upper, intervals: Swift.max(2, Swift.min(maxLabels - 1, 5)))
        return Ticks(major: linear.major.filter { $0.value > 0 })
    }

    private static func labelled(_ exact: [(n: Int, q: Int)]) -> [Tick] {
        zip(exact, NumberFormat.labels(exact)).map { Tick(value: NumberFormat.value($0.n, $0.q), label: $1) }
    }
}
