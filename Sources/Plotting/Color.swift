import Foundation

/// An sRGB colour with 8-bit channels, written as `#RRGGBB`.
public struct Color: Hashable, Sendable {
    /// Red, 0–255.
    public var red: UInt8
    /// Green, 0–255.
    public var green: UInt8
    /// Blue, 0–255.
    public var blue: UInt8

    /// A colour from its three channels.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// A colour from `#RRGGBB` or `RRGGBB`; nil for anything else.
    public init?(hex: String) {
        let digits = hex.hasPrefix("#") ? String(hex.dropFirst()) : hex
        guard digits.count == 6, digits.allSatisfy(\.isHexDigit), let value = UInt32(digits, radix: 16) else { return nil }
        self.init(red: UInt8(value >> 16), green: UInt8((value >> 8) & 0xFF), blue: UInt8(value & 0xFF))
    }

    /// `#RRGGBB` in upper-case hex.
    public var hex: String {
        let digits = Array("0123456789ABCDEF")
        return "#" + String([red, green, blue].flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }

    /// Relative luminance (WCAG): 0 for black, 1 for white.
    public var luminance: Double {
        func linear(_ c: UInt8) -> Double {
            let s = Double(c) / 255
            return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// The colour a fraction `t` of the way to `other` (channels interpolated, rounded).
    public func mixed(with other: Color, _ t: Double) -> Color {
        func channel(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded())
        }
        return Color(red: channel(red, other.red), green: channel(green, other.green), blue: channel(blue, other.blue))
    }
}

/// The Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
extension Color {
    /// Okabe–Ito black.
    public static let black = Color(red: 0, green: 0, blue: 0)
    /// Okabe–Ito orange, #E69F00.
    public static let orange = Color(red: 0xE6, green: 0x9F, blue: 0x00)
    /// Okabe–Ito sky blue, #56B4E9.
    public static let skyBlue = Color(red: 0x56, green: 0xB4, blue: 0xE9)
    /// Okabe–Ito bluish green, #009E73.
    public static let bluishGreen = Color(red: 0x00, green: 0x9E, blue: 0x73)
    /// Okabe–Ito yellow, #F0E442 (weak on white: use for fills rather than thin lines).
    public static let yellow = Color(red: 0xF0, green: 0xE4, blue: 0x42)
    /// Okabe–Ito blue, #0072B2.
    public static let blue = Color(red: 0x00, green: 0x72, blue: 0xB2)
    /// Okabe–Ito vermillion, #D55E00.
    public static let vermillion = Color(red: 0xD5, green: 0x5E, blue: 0x00)
    /// Okabe–Ito reddish purple, #CC79A7.
    public static let reddishPurple = Color(red: 0xCC, green: 0x79, blue: 0xA7)
    /// A neutral mid grey, #7F7F7F, for references and baselines.
    public static let grey = Color(red: 0x7F, green: 0x7F, blue: 0x7F)
    /// White.
    public static let white = Color(red: 0xFF, green: 0xFF, blue: 0xFF)
}
