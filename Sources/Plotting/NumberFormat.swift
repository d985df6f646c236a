import Foundation

/// Deterministic, locale-free text for numbers: SVG coordinates and every label.
///
/// Nothing here goes through `String(format:)` or a formatter: a number becomes
/// an integer `n` and a power of ten `q` (its value `n·10^q`), and the digits of
/// `n` are placed by hand, so the same value gives the same bytes on every
/// machine and in every locale.
enum NumberFormat {
    /// The minus sign of labels (U+2212); coordinates use ASCII `-`.
    static let minus = "\u{2212}"

    /// 10^k as a Double, exact for |k| ≤ 22.
    static func power(_ k: Int) -> Double {
        if (0...22).contains(k) { return exactPowers[k] }
        if (-22 ... -1).contains(k) { return 1 / exactPowers[-k] }
        return pow(10, Double(k))
    }

    private static let exactPowers: [Double] = (0...22).map { k in
        (0..<k).reduce(1.0) { value, _ in value * 10 }
    }

    /// The value `n·10^q`, rounded once.
    static func value(_ n: Int, _ q: Int) -> Double {
        q >= 0 ? Double(n) * power(q) : Double(n) / power(-q)
    }

    /// A coordinate or length: at most two decimals, trailing zeros dropped.
    static func coordinate(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let clamped = Swift.min(Swift.max(x, -1e9), 1e9)
        let (n, q) = stripped(Int((clamped * 100).rounded()), -2)
        return decimal(n, q, minus: "-")
    }

    /// `n·10^q` written out in full with exactly max(0, −q) decimals.
    static func decimal(_ n: Int, _ q: Int, minus: String = NumberFormat.minus) -> String {
        if n == 0 { return "0" }
        var digits = String(n.magnitude)
        if q >= 0 {
            digits += String(repeating: "0", count: q)
        } else {
            let decimals = -q
            if digits.count <= decimals {
                digits = String(repeating: "0", count: decimals - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (n < 0 ? minus : "") + digits
    }

    /// `n·10^q` with the trailing zeros of `n` moved into `q`.
    static func stripped(_ n: Int, _ q: Int) -> (n: Int, q: Int) {
        guard n != 0 else { return (0, 0) }
        var n = n, q = q
        while n % 10 == 0 { n /= 10; q += 1 }
        return (n, q)
    }

    /// `x` rounded to `digits` significant digits, as `n·10^q`; nil for 0 or a non-finite value.
    static func significant(_ x: Double, digits: Int) -> (n: Int, q: Int)? {
        guard x.isFinite, x != 0 else { return nil }
        let digits = Swift.min(Swift.max(digits, 1), 15)
        let exponent = Int(floor(log10(Swift.abs(x))))
        var q = exponent - digits + 1
        var scaled = (q >= 0 ? x / power(q) : x * power(-q)).rounded()
        if Swift.abs(scaled) >= power(digits) {
            q += 1
            scaled = (q >= 0 ? x / power(q) : x * power(-q)).rounded()
        }
        return (Int(scaled), q)
    }

    /// `n·10^q` in e-notation with a hyphen exponent: 2e-4, 1.5e6, −3e-12.
    static func scientific(_ n: Int, _ q: Int) -> String {
        if n == 0 { return "0" }
        let (m, e) = stripped(n, q)
        let digits = String(m.magnitude)
        let exponent = e + digits.count - 1
        var mantissa = String(digits.prefix(1))
        if digits.count > 1 { mantissa += "." + digits.dropFirst() }
        return (m < 0 ? minus : "") + mantissa + "e" + String(exponent)
    }

    /// Labels for exact values `n·10^q` in one style chosen by the largest
    /// magnitude: plain decimals from 0.001 up to 10 000, then k/M/G/T
    /// suffixes (10k, 2.5M), e-notation beyond (1e-5, 3e15).
    static func labels(_ values: [(n: Int, q: Int)]) -> [String] {
        let largest = values.map { Swift.abs(value($0.n, $0.q)) }.max() ?? 0
        if largest == 0 { return values.map { _ in "0" } }
        if largest < 1e-3 || largest >= 1e15 {
            return values.map { scientific($0.n, $0.q) }
        }
        if largest >= 1e4 {
            let unit = largest >= 1e12 ? 12 : largest >= 1e9 ? 9 : largest >= 1e6 ? 6 : 3
            let suffix = ["k", "M", "G", "T"][unit / 3 - 1]
            return values.map { $0.n == 0 ? "0" : decimal($0.n, $0.q - unit) + suffix }
        }
        return values.map { decimal($0.n, $0.q) }
    }

    /// One number in the label style of `labels(_:)`, to `digits` significant digits.
    static func compact(_ x: Double, digits: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x < 0 ? minus : "") + "∞" }
        guard let (n, q) = significant(x, digits: digits) else { return "0" }
        return labels([stripped(n, q)])[0]
    }

    /// 10^k with a superscript exponent: 10⁻³, 10⁰, 10¹².
    static func powerOfTen(_ k: Int) -> String {
        let superscripts: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        let digits = String(k.magnitude).map { superscripts[Int(String($0))!] }
        return "10" + (k < 0 ? "⁻" : "") + String(digits)
    }

    /// A value with its standard error, both to the error's first significant
    /// digit (two when that digit is 1): "−1.98 ± 0.05", "0.512 ± 0.013".
    static func withUncertainty(_ value: Double, error: Double) -> String {
        guard value.isFinite else { return compact(value) }
        guard error.isFinite, error > 0, let first = significant(error, digits: 1) else {
            return compact(value, digits: 4)
        }
        let (e, q) = first.n.magnitude == 1 ? significant(error, digits: 2)! : first
        let scaled = q >= 0 ? value / power(q) : value * power(-q)
        guard Swift.abs(scaled) < 1e15 else { return compact(value, digits: 4) }
        return decimal(Int(scaled.rounded()), q) + " ± " + decimal(e, q)
    }
}
