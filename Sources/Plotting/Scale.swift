import Foundation

/// How data values map to positions along an axis.
public enum Scale: Hashable, Sendable {
    /// Positions proportional to the value.
    case linear
    /// Positions proportional to log₁₀ of the value; values ≤ 0 cannot be shown.
    case log

    /// The value in axis units (itself, or its log₁₀); nil when it cannot be
    /// shown: NaN, ±∞, or ≤ 0 on a log scale.
    public func transform(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch self {
        case .linear: return value
        case .log: return value > 0 ? log10(value) : nil
        }
    }

    /// The value at a position in axis units.
    public func inverse(_ u: Double) -> Double {
        switch self {
        case .linear: return u
        case .log: return pow(10, u)
        }
    }

    /// The span in axis units that covers `values`, widened by `padding` (a
    /// fraction of the span) on both sides. Values that cannot be shown are
    /// skipped; with none, 0…1 (linear) or 1…10 (log); with all equal, ±10 %
    /// of the value (±1 around 0) or half a decade.
    func span(covering values: [Double], padding: Double) -> ClosedRange<Double> {
        let us = values.compactMap(transform)
        guard let lo = us.min(), let hi = us.max() else { return 0...1 }
        let width = hi - lo
        if width <= 1e-12 * Swift.max(Swift.abs(lo), Swift.abs(hi)) || width == 0 {
            switch self {
            case .linear:
                let half = lo == 0 ? 1 : Swift.abs(lo) * 0.1
                return (lo - half)...(hi + half)
            case .log:
                return (lo - 0.5)...(hi + 0.5)
            }
        }
        let pad = width * Swift.max(padding, 0)
        return (lo - pad)...(hi + pad)
    }

    /// Ticks over the span `u` (axis units) for an axis `length` px long;
    /// `spacing` is the least room in px a label wants.
    func ticks(over u: ClosedRange<Double>, length: Double, spacing: Double) -> Ticks {
        let room = Swift.max(2, Swift.min(10, Int(length / spacing)))
        switch self {
        case .linear: return Ticks.linear(from: u.lowerBound, to: u.upperBound, intervals: room)
        case .log: return Ticks.log(from: inverse(u.lowerBound), to: inverse(u.upperBound), maxLabels: room + 1)
        }
    }
}
