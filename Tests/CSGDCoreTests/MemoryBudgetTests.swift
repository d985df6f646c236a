import CSGDCore
import XCTest

final class MemoryBudgetTests: XCTestCase {
    func testSizesParseWithBinaryUnits() throws {
        XCTAssertEqual(try MemoryBudget.parse("512"), 512)
        XCTAssertEqual(try MemoryBudget.parse("4k"), 4096)
        XCTAssertEqual(try MemoryBudget.parse("512M"), 512 << 20)
        XCTAssertEqual(try MemoryBudget.parse("8G"), 8 << 30)
        XCTAssertEqual(try MemoryBudget.parse("1.5GiB"), 3 << 29)
        XCTAssertEqual(try MemoryBudget.parse("2t"), 2 << 40)
        for bad in ["", "lots", "-1G", "0", "nanM", "1e30G", "G"] {
            XCTAssertThrowsError(try MemoryBudget.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains("--max-memory '\(bad)' is not a positive size"), "\(e)")
            }
        }
    }

    func testRequireNamesBothFigures() throws {
        let b = MemoryBudget(bytes: 1 << 30, source: "--max-memory")
        XCTAssertNoThrow(try b.require(Double(1 << 30), for: "x"))
        XCTAssertThrowsError(try b.require(1.5 * 0x1p30, for: "--dim 402653184")) { e in
            XCTAssertEqual("\(e)", "--dim 402653184 needs about 1.5 GiB of memory, more than --max-memory (1.0 GiB)")
        }
        XCTAssertThrowsError(try b.require(.infinity, for: "y"))
        XCTAssertThrowsError(try b.require(.nan, for: "z"))
    }

    func testTheDefaultIsWhatTheSystemHasAvailable() throws {
        guard let available = MemoryBudget.availableBytes() else { throw XCTSkip("no /proc/meminfo here") }
        XCTAssertGreaterThan(available, 0)
        let b = MemoryBudget.limit(nil)
        XCTAssertEqual(b.source, "the memory available")
        // Available memory moves between two reads; it is the same order of magnitude.
        XCTAssertEqual(Double(b.bytes), Double(available), accuracy: Double(available) / 2)
        XCTAssertEqual(MemoryBudget.limit(1234), MemoryBudget(bytes: 1234, source: "--max-memory"))
    }
}
