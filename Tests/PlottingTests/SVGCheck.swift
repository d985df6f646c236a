import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// A rendered SVG parsed as XML, with the look-ups the tests need.
struct SVGCheck {
    let document: XMLDocument
    let text: String

    /// Parses `svg`; throws if it is not well-formed XML.
    init(_ svg: String) throws {
        text = svg
        document = try XMLDocument(xmlString: svg, options: [])
    }

    var root: XMLElement { document.rootElement()! }

    /// Every element called `name`, anywhere.
    func elements(_ name: String, in element: XMLElement? = nil) -> [XMLElement] {
        var found: [XMLElement] = []
        func visit(_ e: XMLElement) {
            if e.name == name { found.append(e) }
            for case let child as XMLElement in e.children ?? [] { visit(child) }
        }
        visit(element ?? root)
        return found
    }

    /// The groups with `class="series"`, keyed by their `<title>`, in order.
    var series: [(name: String, group: XMLElement)] {
        elements("g").filter { Self.attribute("class", of: $0) == "series" }.map { group in
            let title = group.elements(forName: "title").first?.stringValue ?? ""
            return (title, group)
        }
    }

    /// The text of every `<text>` element (tspans joined by newlines).
    var texts: [String] {
        elements("text").map { text in
            let spans = elements("tspan", in: text).compactMap(\.stringValue)
            return spans.isEmpty ? (text.stringValue ?? "") : spans.joined(separator: "\n")
        }
    }

    /// The value of attribute `name` of `element` (looked up by hand:
    /// `attribute(forName:)` misses attributes under a default namespace on Linux).
    static func attribute(_ name: String, of element: XMLElement) -> String? {
        element.attributes?.first { $0.name == name }?.stringValue
    }

    /// Every element, depth first.
    var allElements: [XMLElement] {
        var found: [XMLElement] = []
        func visit(_ e: XMLElement) {
            found.append(e)
            for case let child as XMLElement in e.children ?? [] { visit(child) }
        }
        visit(root)
        return found
    }

    /// Every attribute value of every element.
    var attributeValues: [String] {
        allElements.flatMap { ($0.attributes ?? []).compactMap(\.stringValue) }
    }

    /// The numbers in a path's `d` (commands dropped).
    static func numbers(inPath d: String) -> [Double] {
        d.split(whereSeparator: { !"0123456789.-e".contains($0) }).compactMap { Double($0) }
    }

    /// How many subpaths (`M` commands) a path's `d` has.
    static func subpaths(_ d: String) -> Int {
        d.filter { $0 == "M" }.count
    }

    /// The paths directly in a series group.
    static func paths(_ group: XMLElement) -> [XMLElement] {
        group.elements(forName: "path")
    }
}
