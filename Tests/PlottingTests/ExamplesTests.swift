import Foundation
import XCTest
@testable import Plotting

final class ExamplesTests: XCTestCase {
    /// Every example renders to well-formed XML; the files land in
    /// `<temporary directory>/plot-examples` for a look in a browser.
    func testExamplesRenderAndAreWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plot-examples")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, chart, width, height) in Examples.all {
            let svg = chart.svg(width: width, height: height)
            XCTAssertNoThrow(try SVGCheck(svg), name)
            try svg.write(to: directory.appendingPathComponent(name + ".svg"), atomically: true, encoding: .utf8)
        }
    }
}
