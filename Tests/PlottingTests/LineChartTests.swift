import XCTest
@testable import Plotting

final class LineChartTests: XCTestCase {
    private func chart() -> LineChart {
        var chart = LineChart(title: "Loss", xLabel: "step", yLabel: "loss", yScale: .log)
        let x = (0..<50).map(Double.init)
        chart.add(Series(name: "plain", x: x, y: x.map { 1 + $0 }))
        chart.add(Series(name: "banded", x: x, y: x.map { 2 + $0 }, band: Band(lower: x.map { 1.5 + $0 }, upper: x.map { 3 + $0 })))
        chart.add(Series(name: "marked", x: x, y: x.map { 3 + $0 }, style: SeriesStyle(marker: .square)))
        chart.add(Series(name: "points", x: x, y: x.map { 4 + $0 }, style: .points))
        return chart
    }

    func testParsesWithSizeAndViewBox() throws {
        let svg = try SVGCheck(chart().svg(width: 640, height: 400))
        XCTAssertEqual(svg.root.name, "svg")
        XCTAssertEqual(SVGCheck.attribute("width", of: svg.root), "640")
        XCTAssertEqual(SVGCheck.attribute("height", of: svg.root), "400")
        XCTAssertEqual(SVGCheck.attribute("viewBox", of: svg.root), "0 0 640 400")
        XCTAssertEqual(SVGCheck.attribute("xmlns", of: svg.root) ?? svg.root.uri, "http://www.w3.org/2000/svg")
        XCTAssertTrue(SVGCheck.attribute("font-family", of: svg.root)!.hasSuffix("sans-serif"))
        XCTAssertFalse(svg.text.contains("<style"))
        XCTAssertFalse(svg.text.contains("<script"))
        XCTAssertFalse(svg.text.contains("href"))
    }

    func testPathsPerSeries() throws {
        let svg = try SVGCheck(chart().svg(width: 640, height: 400))
        let series = svg.series
        XCTAssertEqual(series.map(\.name), ["plain", "banded", "marked", "points"])
        XCTAssertEqual(series.map { SVGCheck.paths($0.group).count }, [1, 2, 2, 1])
        XCTAssertTrue(series.allSatisfy { SVGCheck.paths($0.group).allSatisfy { SVGCheck.subpaths(SVGCheck.attribute("d", of: $0)!) >= 1 } })
        let band = SVGCheck.paths(series[1].group)[0]
        XCTAssertEqual(SVGCheck.attribute("fill-opacity", of: band), "0.2")
        let points = SVGCheck.paths(series[3].group)[0]
        XCTAssertEqual(SVGCheck.subpaths(SVGCheck.attribute("d", of: points)!), 50, "one marker per point")
        let marked = SVGCheck.paths(series[2].group)[1]
        XCTAssertEqual(SVGCheck.subpaths(SVGCheck.attribute("d", of: marked)!), 25, "long lines get about 20 markers")
    }

    func testNonFiniteValuesMakeGaps() throws {
        var chart = LineChart()
        chart.add(Series(name: "gappy", x: [0, 1, 2, 3, 4, 5, 6, 7], y: [1, 2, .nan, 3, 4, .infinity, 5, 6]))
        let svg = try SVGCheck(chart.svg(width: 400, height: 300))
        let d = SVGCheck.attribute("d", of: SVGCheck.paths(svg.series[0].group)[0])!
        XCTAssertEqual(SVGCheck.subpaths(d), 3)
        XCTAssertEqual(SVGCheck.numbers(inPath: d).count, 12)
    }

    func testNonPositiveValuesOnLogAxesAreGapsNotErrors() throws {
        var chart = LineChart(xScale: .log, yScale: .log)
        chart.add(Series(name: "s", x: [-1, 0, 1, 10, 100, 1000], y: [1, 1, 0.1, 0, 0.001, 0.0001]))
        let text = chart.svg(width: 400, height: 300)
        let svg = try SVGCheck(text)
        let d = SVGCheck.attribute("d", of: SVGCheck.paths(svg.series[0].group)[0])!
        XCTAssertEqual(SVGCheck.subpaths(d), 2, "the point at 1 alone, then 100–1000")
        XCTAssertTrue(d.hasPrefix("M") && d.contains("h0"), "a lone point is drawn as a dot")
        for value in svg.attributeValues {
            XCTAssertFalse(value.lowercased().contains("nan") || value.lowercased().contains("inf"), value)
        }
        XCTAssertTrue(svg.texts.contains("10⁻⁴"))
    }

    func testExplicitRangesClipToThePlotArea() throws {
        var chart = LineChart()
        chart.x.range = 2...4
        chart.y.range = 0...1
        chart.add(Series(name: "s", x: Array(0..<10).map(Double.init), y: [0, 5, 0.5, -3, 0.2, 0.8, 9, 0.1, 0.3, 0.4]))
        let svg = try SVGCheck(chart.svg(width: 400, height: 300))
        let frame = svg.elements("rect").first { SVGCheck.attribute("fill", of: $0) == nil && SVGCheck.attribute("x", of: $0) != nil }!
        let x0 = Double(SVGCheck.attribute("x", of: frame)!)!, y0 = Double(SVGCheck.attribute("y", of: frame)!)!
        let x1 = x0 + Double(SVGCheck.attribute("width", of: frame)!)!, y1 = y0 + Double(SVGCheck.attribute("height", of: frame)!)!
        let numbers = SVGCheck.numbers(inPath: SVGCheck.attribute("d", of: SVGCheck.paths(svg.series[0].group)[0])!)
        XCTAssertFalse(numbers.isEmpty)
        for (x, y) in stride(from: 0, to: numbers.count - 1, by: 2).map({ (numbers[$0], numbers[$0 + 1]) }) {
            XCTAssertTrue(x >= x0 - 0.01 && x <= x1 + 0.01 && y >= y0 - 0.01 && y <= y1 + 0.01, "\(x), \(y) outside the plot")
        }
    }

    func testEmptyAndConstantChartsRender() throws {
        XCTAssertNoThrow(try SVGCheck(LineChart().svg(width: 300, height: 200)))
        var empty = LineChart(yScale: .log)
        empty.add(Series(name: "none", x: [], y: []))
        empty.add(Series(name: "zeros", x: [1, 2], y: [0, 0]))
        XCTAssertNoThrow(try SVGCheck(empty.svg(width: 300, height: 200)))
        var constant = LineChart()
        constant.add(Series(name: "flat", x: [3, 3, 3], y: [7, 7, 7]))
        let svg = try SVGCheck(constant.svg(width: 300, height: 200))
        XCTAssertTrue(svg.texts.contains("7.0") || svg.texts.contains("7"), "\(svg.texts)")
        XCTAssertNoThrow(try SVGCheck(constant.svg(width: 60, height: 40)), "tiny sizes still give valid SVG")
    }

    func testSameInputSameBytes() {
        XCTAssertEqual(chart().svg(width: 640, height: 400), chart().svg(width: 640, height: 400))
        let c = chart()
        XCTAssertEqual(c.svg(), c.svg())
        XCTAssertEqual(Examples.lossCurves.svg(width: 640, height: 400), Examples.lossCurves.svg(width: 640, height: 400))
    }

    func testLegendHasEveryNameAndEscapesMarkup() throws {
        var chart = chart()
        chart.title = "Loss <raw> & \"quoted\""
        chart.add(Series(name: "a < b & c > 'd'", x: [1, 2], y: [1, 2]))
        let text = chart.svg(width: 640, height: 400)
        XCTAssertTrue(text.contains("a &lt; b &amp; c &gt; &apos;d&apos;"))
        let svg = try SVGCheck(text)
        let legend = svg.elements("g").first { SVGCheck.attribute("class", of: $0) == "legend" }!
        let labels = svg.elements("text", in: legend).compactMap(\.stringValue)
        XCTAssertEqual(labels, ["plain", "banded", "marked", "points", "a < b & c > 'd'"])
        XCTAssertTrue(svg.texts.contains("Loss <raw> & \"quoted\""))
    }

    func testAutomaticLegendAvoidsTheData() throws {
        var rising = LineChart()
        rising.add(Series(name: "up", x: Array(0...20).map(Double.init), y: Array(0...20).map(Double.init)))
        let svg = try SVGCheck(rising.svg(width: 500, height: 350))
        let legend = try XCTUnwrap(svg.elements("g").first { SVGCheck.attribute("class", of: $0) == "legend" })
        let box = svg.elements("rect", in: legend)[0]
        XCTAssertLessThan(Double(SVGCheck.attribute("x", of: box)!)!, 250, "a rising line leaves the top-left corner free")
        XCTAssertLessThan(Double(SVGCheck.attribute("y", of: box)!)!, 175)

        var full = LineChart()
        let x = Array(0...200).map(Double.init)
        full.add(Series(name: "zigzag", x: x, y: x.map { $0.truncatingRemainder(dividingBy: 2) }))
        let outside = try SVGCheck(full.svg(width: 500, height: 350))
        let legendOutside = outside.elements("g").first { SVGCheck.attribute("class", of: $0) == "legend" }!
        XCTAssertTrue(outside.elements("rect", in: legendOutside).isEmpty, "outside the plot the legend has no box")
        let at = Double(SVGCheck.attribute("x", of: outside.elements("text", in: legendOutside)[0])!)!
        XCTAssertGreaterThan(at, 400, "data everywhere sends the legend to the right")
    }

    func testFitIsAStraightLineOnItsScales() throws {
        let x = [1.0, 10, 100, 1000]
        let fit = try XCTUnwrap(LinearFit.leastSquares(x: x, y: x.map { 3 * pow($0, -2) }, xScale: .log, yScale: .log))
        XCTAssertEqual(fit.slope, -2, accuracy: 1e-12)
        XCTAssertEqual(fit.intercept, log10(3), accuracy: 1e-12)
        XCTAssertEqual(fit.slopeError, 0, accuracy: 1e-12)
        XCTAssertEqual(fit.value(at: 10)!, 0.03, accuracy: 1e-12)
        var chart = LineChart(xScale: .log, yScale: .log)
        chart.add(Series(name: "data", x: x, y: x.map { 3 * pow($0, -2) * (1 + 0.1 * sin($0)) }, style: .points))
        let noisy = try XCTUnwrap(LinearFit.leastSquares(x: chart.series[0].x, y: chart.series[0].y, xScale: .log, yScale: .log))
        chart.add(noisy)
        let svg = try SVGCheck(chart.svg(width: 500, height: 350))
        let fitGroup = svg.elements("g").first { SVGCheck.attribute("class", of: $0) == "fit" }!
        let d = SVGCheck.attribute("d", of: SVGCheck.paths(fitGroup)[0])!
        XCTAssertEqual(SVGCheck.numbers(inPath: d).count, 4, "two ends")
        XCTAssertTrue(noisy.slopeSummary.hasPrefix("slope \u{2212}2.0") || noisy.slopeSummary.hasPrefix("slope \u{2212}1.9"), noisy.slopeSummary)
        XCTAssertTrue(noisy.slopeSummary.contains(" ± "))
        XCTAssertTrue(svg.texts.contains(noisy.slopeSummary))
        XCTAssertNil(LinearFit.leastSquares(x: [1, 1], y: [2, 3]))
        XCTAssertNil(LinearFit.leastSquares(x: [0, -1, 5], y: [1, 2, 3], xScale: .log))
    }

    func testReferenceLinesAreDrawnAndLabelled() throws {
        var chart = LineChart()
        chart.add(Series(name: "s", x: [0, 10], y: [0, 1]))
        chart.add(.vertical(at: 5, label: "escape step"))
        chart.add(.horizontal(at: 0.5, label: "plateau threshold"))
        chart.add(.vertical(at: 50, label: "far away"))
        let svg = try SVGCheck(chart.svg(width: 500, height: 350))
        XCTAssertTrue(svg.texts.contains("escape step"))
        XCTAssertTrue(svg.texts.contains("plateau threshold"))
        XCTAssertTrue(svg.texts.contains("far away"), "the x range grows to show every reference line")
        let dashed = svg.elements("path").filter { SVGCheck.attribute("stroke-dasharray", of: $0) != nil }
        XCTAssertEqual(dashed.count, 3)
    }

    func testLongSeriesAreThinnedToThePixelColumns() throws {
        let x = (0..<100_000).map(Double.init)
        var chart = LineChart()
        chart.add(Series(name: "noisy", x: x, y: x.map { sin($0 * 0.37) + $0 / 50_000 }, band: Band(lower: x.map { _ in -1 }, upper: x.map { _ in 3 })))
        let svg = try SVGCheck(chart.svg(width: 640, height: 400))
        let paths = SVGCheck.paths(svg.series[0].group)
        let line = SVGCheck.numbers(inPath: SVGCheck.attribute("d", of: paths[1])!)
        XCTAssertLessThan(line.count / 2, 4 * 640, "at most four points a pixel column")
        XCTAssertGreaterThan(line.count / 2, 2 * 500, "but the envelope of every column is kept")
        XCTAssertLessThan(SVGCheck.numbers(inPath: SVGCheck.attribute("d", of: paths[0])!).count / 2, 4 * 640)
    }
}
