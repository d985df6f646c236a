import XCTest
@testable import Plotting

final class HeatMapTests: XCTestCase {
    func testViridisLightnessRises() {
        let luminances = (0...200).map { ColorMap.viridis.color(at: Double($0) / 200).luminance }
        for (a, b) in zip(luminances, luminances.dropFirst()) {
            XCTAssertLessThanOrEqual(a, b + 1e-9)
        }
        XCTAssertEqual(ColorMap.viridis.color(at: 0).hex, "#440154")
        XCTAssertEqual(ColorMap.viridis.color(at: 1).hex, "#FDE725")
        XCTAssertEqual(ColorMap.viridis.color(at: -3), ColorMap.viridis.color(at: 0))
        XCTAssertEqual(ColorMap.viridis.color(at: 7), ColorMap.viridis.color(at: 1))
    }

    func testCellColoursAreMonotoneInTheValue() {
        for scale in [Scale.linear, .log] {
            var map = HeatMap(columns: .categories(["a", "b", "c"]), rows: .categories(["r"]), values: [[0.001, 0.1, 10]])
            map.colorScale = scale
            let values = (0...100).map { 0.001 * pow(10_000, Double($0) / 100) }
            let luminances = values.map { map.color(for: $0)!.luminance }
            for (a, b) in zip(luminances, luminances.dropFirst()) {
                XCTAssertLessThanOrEqual(a, b + 1e-9, "\(scale)")
            }
            XCTAssertEqual(map.color(for: 0.001), ColorMap.viridis.color(at: 0))
            XCTAssertEqual(map.color(for: 10), ColorMap.viridis.color(at: 1))
        }
        var log = HeatMap(columns: .categories(["a"]), rows: .categories(["r"]), values: [[1]])
        log.colorScale = .log
        XCTAssertNil(log.color(for: 0))
        XCTAssertNil(log.color(for: .nan))
    }

    func testOneRectPerCellMissingValuesGrey() throws {
        let map = HeatMap(
            columns: .values([0.01, 0.1, 1], scale: .log), rows: .categories(["2", "4"]),
            values: [[1, .nan, 3], [4, 5]]
        )
        let svg = try SVGCheck(map.svg(width: 500, height: 350))
        let cells = try XCTUnwrap(svg.elements("g").first { SVGCheck.attribute("class", of: $0) == "cells" })
        let rects = svg.elements("rect", in: cells)
        XCTAssertEqual(rects.count, 5)
        XCTAssertEqual(rects.filter { SVGCheck.attribute("fill", of: $0) == Style.missing }.count, 1)
        XCTAssertTrue(svg.texts.contains("0.01"))
        XCTAssertTrue(svg.texts.contains("4"))
        let bar = try XCTUnwrap(svg.elements("g").first { SVGCheck.attribute("class", of: $0) == "colorbar" })
        XCTAssertGreaterThan(svg.elements("rect", in: bar).count, 10)
    }

    func testOverlayAndValuesAndDegenerateInput() throws {
        var map = Examples.heatMap
        let svg = try SVGCheck(map.svg(width: 600, height: 420))
        XCTAssertEqual(svg.series.map(\.name), ["fitted boundary η·W = 0.5"])
        XCTAssertTrue(svg.texts.contains("0.883"))
        XCTAssertTrue(svg.texts.contains("fitted boundary η·W = 0.5"))
        map.values = [[2, 2], [2, 2]]
        XCTAssertNoThrow(try SVGCheck(map.svg(width: 600, height: 420)))
        map.values = []
        map.columns = .values([3, 1, 2], scale: .linear)
        XCTAssertNoThrow(try SVGCheck(map.svg(width: 600, height: 420)))
        XCTAssertEqual(map.svg(width: 300, height: 200), map.svg(width: 300, height: 200))
    }
}
