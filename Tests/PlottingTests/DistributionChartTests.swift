import XCTest
@testable import Plotting

final class DistributionChartTests: XCTestCase {
    private func chart() -> DistributionChart {
        var chart = DistributionChart(title: "Escape", xLabel: "method", yLabel: "step", yScale: .log)
        chart.add(DistributionChart.Group(name: "SGD", samples: [100, 120, 120, 120, 140]))
        chart.add(DistributionChart.Group(name: "QSGD", samples: [200, 0, .nan, 260, .infinity, 300]))
        chart.add(DistributionChart.Group(name: "empty", samples: []))
        return chart
    }

    func testOneDotPerShowableSampleAndAMedianBar() throws {
        let svg = try SVGCheck(chart().svg(width: 480, height: 360))
        XCTAssertEqual(svg.series.map(\.name), ["SGD", "QSGD", "empty"])
        let sgd = SVGCheck.paths(svg.series[0].group)
        XCTAssertEqual(sgd.count, 2, "median bar and dots")
        XCTAssertEqual(SVGCheck.subpaths(SVGCheck.attribute("d", of: sgd[1])!), 5)
        XCTAssertEqual(SVGCheck.subpaths(SVGCheck.attribute("d", of: SVGCheck.paths(svg.series[1].group)[1])!), 3)
        XCTAssertTrue(SVGCheck.paths(svg.series[2].group).isEmpty)
        XCTAssertTrue(svg.texts.contains("QSGD\n3 not shown"), "\(svg.texts)")
        XCTAssertTrue(svg.texts.contains("median"))
    }

    func testEqualValuesSpreadSideways() throws {
        let svg = try SVGCheck(chart().svg(width: 480, height: 360))
        let numbers = SVGCheck.numbers(inPath: SVGCheck.attribute("d", of: SVGCheck.paths(svg.series[0].group)[1])!)
        // Each circle starts "M x y a r r 0 1 0 2r 0 a …": 16 numbers.
        let starts = stride(from: 0, to: numbers.count, by: 16).map { (numbers[$0], numbers[$0 + 1]) }
        XCTAssertEqual(starts.count, 5)
        let equal = starts.filter { abs($0.1 - starts[2].1) < 0.01 }
        XCTAssertEqual(equal.count, 3)
        XCTAssertEqual(Set(equal.map(\.0)).count, 3, "three equal samples side by side, not on top of each other")
    }

    func testDeterministicAndEscaped() throws {
        var c = chart()
        c.add(DistributionChart.Group(name: "Top-k & <EF>", samples: [1, 2, 3], key: "Top-k & <EF>"))
        XCTAssertEqual(c.svg(width: 480, height: 360), c.svg(width: 480, height: 360))
        let svg = try SVGCheck(c.svg(width: 480, height: 360))
        XCTAssertTrue(svg.texts.contains("Top-k & <EF>"))
    }

    func testManyLongNamesAreSlanted() throws {
        var chart = DistributionChart(xLabel: "configuration")
        for i in 0..<10 {
            chart.add(DistributionChart.Group(name: "configuration number \(i)", samples: [Double(i), Double(i) + 1]))
        }
        let svg = try SVGCheck(chart.svg(width: 480, height: 360))
        let slanted = svg.elements("text").filter { SVGCheck.attribute("transform", of: $0)?.hasPrefix("rotate(-40") == true }
        XCTAssertEqual(slanted.count, 10)
    }
}
