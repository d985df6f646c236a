/// Text for XML and HTML documents.
public enum Markup {
    /// `s` safe in XML text and attribute values: `& < > " '` become entities,
    /// control characters XML 1.0 forbids (and line breaks) become spaces.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20, "\u{7F}", "\u{FFFE}", "\u{FFFF}": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
