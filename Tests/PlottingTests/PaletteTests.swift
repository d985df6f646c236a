import XCTest
@testable import Plotting

final class PaletteTests: XCTestCase {
    private func colours(_ svg: String) throws -> [String: String] {
        let check = try SVGCheck(svg)
        return Dictionary(uniqueKeysWithValues: check.series.map { name, group in
            (name, SVGCheck.attribute("stroke", of: SVGCheck.paths(group).last!)!)
        })
    }

    func testRegisteredNamesKeepTheirColourInEveryChart() throws {
        var palette = Palette()
        palette.register(["SGD", "QSGD", "Top-k"])
        var a = LineChart(), b = LineChart()
        a.palette = palette
        b.palette = palette
        for name in ["SGD", "QSGD", "Top-k"] { a.add(Series(name: name, x: [0, 1], y: [0, 1])) }
        for name in ["Top-k", "new", "SGD"] { b.add(Series(name: name, x: [0, 1], y: [0, 1])) }
        let ca = try colours(a.svg()), cb = try colours(b.svg())
        XCTAssertEqual(ca["SGD"], Color.blue.hex)
        XCTAssertEqual(ca["QSGD"], Color.vermillion.hex)
        XCTAssertEqual(ca["Top-k"], cb["Top-k"])
        XCTAssertEqual(ca["SGD"], cb["SGD"])
        XCTAssertFalse([cb["Top-k"], cb["SGD"]].contains(cb["new"]), "an unregistered name takes a colour no other series uses")
    }

    func testFixedStylesAndOverrides() throws {
        var palette = Palette()
        palette.setStyle(SeriesStyle(color: .black, dash: .dashed), for: "theory")
        palette.register(["theory", "SGD"])
        XCTAssertEqual(palette.style(for: "theory")?.color, .black)
        XCTAssertEqual(palette.style(for: "SGD")?.color, .blue)
        let resolved = palette.resolve([("theory", nil), ("SGD", SeriesStyle(color: .orange)), ("x", nil)])
        XCTAssertEqual(resolved.map(\.color), [.black, .orange, .blue])
        XCTAssertEqual(resolved.map(\.dash), [.dashed, .solid, .solid])
    }

    func testManySeriesStayDistinct() {
        let resolved = Palette.standard.resolve((0..<20).map { ("s\($0)", nil) })
        let looks = Set(resolved.map { "\($0.color.hex) \($0.dash)" })
        XCTAssertEqual(looks.count, 20)
        XCTAssertEqual(Palette.okabeIto.count, 8)
        XCTAssertEqual(Set(Palette.okabeIto).count, 8)
    }

    func testColourHex() {
        XCTAssertEqual(Color(hex: "#0072b2"), .blue)
        XCTAssertEqual(Color.vermillion.hex, "#D55E00")
        XCTAssertNil(Color(hex: "#12345"))
        XCTAssertNil(Color(hex: "zzzzzz"))
    }
}
