/// Internal: estimated text widths, for margins and legend boxes.
///
/// SVG text has no metrics before a browser lays it out, so widths come from
/// per-character advances close to DejaVu Sans (the widest of the fonts the
/// generic family usually resolves to), erring wide so that text is not clipped.
enum TextMetrics {
    /// The width of `text` in px at `fontSize`, bold 8 % wider.
    static func width(_ text: String, fontSize: Double, bold: Bool = false) -> Double {
        let ems = text.unicodeScalars.reduce(0.0) { $0 + advance($1) }
        return ems * fontSize * (bold ? 1.08 : 1)
    }

    /// The widest of several texts.
    static func maxWidth(_ texts: [String], fontSize: Double) -> Double {
        texts.map { width($0, fontSize: fontSize) }.max() ?? 0
    }

    private static func advance(_ c: Unicode.Scalar) -> Double {
        switch c {
        case "0"..."9": return 0.64
        case ".", ",", ":", ";", " ", "!", "|", "'", "i", "j", "l", "I": return 0.32
        case "f", "r", "t", "(", ")", "[", "]", "-", "/": return 0.42
        case "m", "w", "M", "W", "%", "@": return 0.96
        case "\u{2070}"..."\u{207F}", "¹", "²", "³": return 0.42
        case "A"..."Z": return 0.74
        case "a"..."z": return 0.62
        case "\u{2212}", "±", "=", "+", "<", ">", "~": return 0.84
        default: return 0.7
        }
    }
}
