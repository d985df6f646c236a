/// Internal: writes SVG 1.1 elements one a line, attributes in the order given, text XML-escaped.
struct SVGWriter {
    /// The elements written so far.
    private(set) var text = ""
    private var depth = 1

    /// An attribute list: names and values in output order (values are escaped here).
    typealias Attributes = [(String, String)]

    /// Opens `<name …>`; `close` ends it.
    mutating func open(_ name: String, _ attributes: Attributes = []) {
        line("<" + name + Self.attributeText(attributes) + ">")
        depth += 1
    }

    /// Writes `</name>`.
    mutating func close(_ name: String) {
        depth -= 1
        line("</" + name + ">")
    }

    /// Writes `<name …/>`.
    mutating func empty(_ name: String, _ attributes: Attributes) {
        line("<" + name + Self.attributeText(attributes) + "/>")
    }

    /// Writes `<name …>text</name>`.
    mutating func element(_ name: String, _ attributes: Attributes = [], text content: String) {
        line("<" + name + Self.attributeText(attributes) + ">" + Self.escape(content) + "</" + name + ">")
    }

    /// Writes markup as it is (already valid SVG).
    mutating func raw(_ markup: String) {
        text += markup
        if !markup.hasSuffix("\n") { text += "\n" }
    }

    private mutating func line(_ s: String) {
        text += String(repeating: "  ", count: depth) + s + "\n"
    }

    private static func attributeText(_ attributes: Attributes) -> String {
        attributes.map { " " + $0.0 + "=\"" + escape($0.1) + "\"" }.joined()
    }

    static func escape(_ s: String) -> String { Markup.escape(s) }

    /// A whole standalone document: the root `<svg>` with size, `viewBox`,
    /// generic font, a `<title>` and a white background, around `body`.
    static func document(width: Double, height: Double, title: String, body: (inout SVGWriter) -> Void) -> String {
        var writer = SVGWriter()
        if !title.isEmpty { writer.element("title", text: title) }
        writer.empty("rect", [("width", "100%"), ("height", "100%"), ("fill", "#ffffff")])
        body(&writer)
        let w = NumberFormat.coordinate(width), h = NumberFormat.coordinate(height)
        let root: Attributes = [
            ("xmlns", "http://www.w3.org/2000/svg"), ("version", "1.1"),
            ("width", w), ("height", h), ("viewBox", "0 0 \(w) \(h)"),
            ("font-family", Style.fontFamily), ("font-size", NumberFormat.coordinate(Style.tickFont)),
            ("fill", Style.text),
        ]
        return "<svg" + attributeText(root) + ">\n" + writer.text + "</svg>\n"
    }
}

extension SVGWriter {
    /// Writes a label at `p` (baseline); a line break starts a grey second line.
    mutating func text(
        _ content: String, at p: Point, anchor: String = "start", size: Double? = nil,
        bold: Bool = false, rotation: Double? = nil, fill: String? = nil
    ) {
        let f = NumberFormat.coordinate
        var attributes: Attributes = [("x", f(p.x)), ("y", f(p.y))]
        if anchor != "start" { attributes.append(("text-anchor", anchor)) }
        if let size, size != Style.tickFont { attributes.append(("font-size", f(size))) }
        if bold { attributes.append(("font-weight", "bold")) }
        if let fill { attributes.append(("fill", fill)) }
        if let rotation { attributes.append(("transform", "rotate(\(f(rotation)) \(f(p.x)) \(f(p.y)))")) }
        let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return element("text", attributes, text: content) }
        open("text", attributes)
        element("tspan", [("x", f(p.x))], text: String(lines[0]))
        let step = f((size ?? Style.tickFont) * Style.lineHeight)
        for line in lines.dropFirst() {
            element("tspan", [("x", f(p.x)), ("dy", step), ("fill", Style.mutedText)], text: String(line))
        }
        close("text")
    }
}
