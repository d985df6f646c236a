import XCTest
@testable import Plotting

final class PanelTests: XCTestCase {
    private func frames(_ svg: SVGCheck) -> [(x: Double, width: Double)] {
        svg.elements("g").filter { SVGCheck.attribute("class", of: $0) == "cell" }.map { cell in
            let frame = svg.elements("rect", in: cell).first { SVGCheck.attribute("fill", of: $0) == nil }!
            return (Double(SVGCheck.attribute("x", of: frame)!)!, Double(SVGCheck.attribute("width", of: frame)!)!)
        }
    }

    func testSharedXLinesUpPlotsAndLabelsOnlyTheBottom() throws {
        let panel = Examples.panel
        let svg = try SVGCheck(panel.svg(width: 640, height: 640))
        let cells = frames(svg)
        XCTAssertEqual(cells.count, 3)
        XCTAssertTrue(cells.allSatisfy { abs($0.x - cells[0].x) < 0.01 && abs($0.width - cells[0].width) < 0.01 })
        XCTAssertEqual(svg.texts.filter { $0 == "step" }.count, 1)
        XCTAssertEqual(svg.texts.filter { $0 == "1000" }.count, 1, "x tick labels only under the bottom chart")
        XCTAssertEqual(panel.svg(width: 640, height: 640), panel.svg(width: 640, height: 640))
    }

    func testGridAndSharedRanges() throws {
        var short = LineChart(xLabel: "step")
        short.add(Series(name: "a", x: [0, 10], y: [1, 2]))
        var long = LineChart(xLabel: "step")
        long.add(Series(name: "b", x: [0, 1000], y: [1, 2]))
        var column = Panel(sharesX: true)
        column.add(short)
        column.add(long)
        let shared = try SVGCheck(column.svg(width: 400, height: 500))
        XCTAssertTrue(shared.texts.contains("1000"), "the union of the x ranges")
        XCTAssertFalse(shared.texts.contains("10"), "the short chart's own ticks are gone")

        var grid = Panel(title: "Grid", columns: 2)
        grid.add(short)
        grid.add(long)
        grid.add(Examples.heatMap)
        grid.add(Examples.escapeSteps)
        let svg = try SVGCheck(grid.svg(width: 900, height: 600))
        XCTAssertEqual(frames(svg).count, 4)
        XCTAssertTrue(svg.texts.contains("Grid"))
        XCTAssertTrue(svg.texts.contains("10"))
    }

    private struct Badge: Chart {
        func svg(width: Double, height: Double) -> String {
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\"><circle cx=\"5\" cy=\"5\" r=\"5\"/></svg>"
        }
    }

    func testChartsFromElsewhereAreNested() throws {
        var panel = Panel(columns: 2)
        panel.add(Badge())
        panel.add(Examples.rateFit)
        let svg = try SVGCheck(panel.svg(width: 800, height: 300))
        XCTAssertEqual(svg.elements("svg").count, 2)
        XCTAssertEqual(svg.elements("circle").count, 1)
    }
}
