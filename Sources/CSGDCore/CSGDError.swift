/// A user-facing failure with a one-line message: bad input, a malformed
/// message or file. The CLI prints `description` and exits with status 2.
public struct CSGDError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// `text` on one line, as every error line is printed: a line break or
    /// other control character in it (from a file name, a spec or an option
    /// the user typed) is written as an escape, `\n`, `\r`, `\t` or
    /// `\u{1B}`, so that quoted user text can never split the line.
    public static func oneLine(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            switch s {
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            default:
                let category = s.properties.generalCategory
                if category == .control || category == .lineSeparator || category == .paragraphSeparator {
                    out.append(contentsOf: "\\u{\(String(s.value, radix: 16, uppercase: true))}".unicodeScalars)
                } else {
                    out.append(s)
                }
            }
        }
        return String(out)
    }
}
