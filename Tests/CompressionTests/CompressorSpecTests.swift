import XCTest
import CSGDCore
@testable import Compression

final class CompressorSpecTests: XCTestCase {
    func testValidSpecs() throws {
        XCTAssertEqual(try CompressorSpec.parse("none"), .none)
        XCTAssertEqual(try CompressorSpec.parse("topk:210"), .topK(.count(210)))
        XCTAssertEqual(try CompressorSpec.parse("randomk:0.001"), .randomK(.fraction(0.001)))
        XCTAssertEqual(try CompressorSpec.parse("sketch-topk:10,rows=3,cols=50"), .sketchTopK(.count(10), rows: 3, cols: 50))
        XCTAssertEqual(try CompressorSpec.parse("sketch-topk:0.01"), .sketchTopK(.fraction(0.01), rows: nil, cols: nil))
        XCTAssertEqual(try CompressorSpec.parse("qsgd:15"), .qsgd(levels: 15, coding: .elias))
        XCTAssertEqual(try CompressorSpec.parse("qsgd:7,coding=fixed"), .qsgd(levels: 7, coding: .fixed))
        XCTAssertEqual(try CompressorSpec.parse("qsgd:7,fixed"), .qsgd(levels: 7, coding: .fixed))
        XCTAssertEqual(try CompressorSpec.parse("sign"), .sign)
        // K as a fraction of d: topk:0.001 on the autoencoder's d is 210.
        XCTAssertEqual(try CoordinateCount.fraction(0.001).resolve(dimension: 210_369, what: ""), 210)
        XCTAssertEqual(try CoordinateCount.fraction(1e-9).resolve(dimension: 100, what: ""), 1)
        XCTAssertEqual(try CoordinateCount.fraction(1.0).resolve(dimension: 100, what: ""), 100)
        // Descriptions parse back to the same spec.
        for text in CompressorSpec.representatives {
            let s = try CompressorSpec.parse(text)
            XCTAssertEqual(try CompressorSpec.parse(s.description), s)
        }
    }

    func testBadSpecsNameTheProblem() {
        let cases: [(String, String)] = [
            ("gzip", "unknown compressor 'gzip'"),
            ("topk", "needs a parameter"),
            ("topk:0", "must be positive"),
            ("topk:-3", "must be positive"),
            ("randomk:1.5", "outside (0, 1]"),
            ("randomk:0.0", "outside (0, 1]"),
            ("randomk:abc", "not a number"),
            ("qsgd:0", "at least 1"),
            ("qsgd:x", "not an integer"),
            ("qsgd:4,coding=huffman", "not elias or fixed"),
            ("sketch-topk:10,rows=0", "rows = 0 must be positive"),
            ("sketch-topk:10,cols=-1", "cols = -1 must be positive"),
            ("sketch-topk:10,depth=3", "unknown option 'depth'"),
            ("sketch-topk:10,rows", "malformed option 'rows'"),
            ("sign:3", "takes no parameters"),
            ("topk:10,rows=2", "unknown option 'rows'"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try CompressorSpec.parse(text), text) { e in
                let msg = (e as? CSGDError)?.message ?? ""
                XCTAssert(msg.contains(fragment), "'\(text)' gave '\(msg)', expected it to mention '\(fragment)'")
                XCTAssertFalse(msg.contains("\n"))
            }
        }
        XCTAssertThrowsError(try CompressorSpec.parse("topk:11").make(dimension: 10)) { e in
            XCTAssert((e as? CSGDError)?.message.contains("exceeds the dimension d = 10") == true)
        }
    }
}
