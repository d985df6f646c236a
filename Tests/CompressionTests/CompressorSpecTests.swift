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
        // Accepted spellings: aliases, case, spaces, an empty option list.
        XCTAssertEqual(try CompressorSpec.parse("identity"), .none)
        XCTAssertEqual(try CompressorSpec.parse(" TopK:10 "), .topK(.count(10)))
        XCTAssertEqual(try CompressorSpec.parse("sketch-topk: 0.01 , cols=40"), .sketchTopK(.fraction(0.01), rows: nil, cols: 40))
        XCTAssertEqual(try CompressorSpec.parse("qsgd:3,FIXED"), .qsgd(levels: 3, coding: .fixed))
        XCTAssertEqual(try CompressorSpec.parse("sign:"), .sign)
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
            ("gzip", "compressor 'gzip' is not known (expected one of: none, fp64, randomk, topk, sketch-topk, sign, qsgd)"),
            ("topk", "compressor 'topk': needs K first, as in 'topk:0.01'"),
            ("topk:k=5", "compressor 'topk': needs K first"),
            ("topk:0", "compressor 'topk': K = 0 must be positive"),
            ("topk:-3", "compressor 'topk': K = -3 must be positive"),
            ("randomk:1.5", "compressor 'randomk': K = 1.5 must be in (0, 1]"),
            ("randomk:0.0", "compressor 'randomk': K = 0.0 must be in (0, 1]"),
            ("randomk:abc", "compressor 'randomk': K = 'abc' is not a number (a count or a fraction of d)"),
            ("qsgd:0", "compressor 'qsgd': S = 0 must be positive"),
            ("qsgd:x", "compressor 'qsgd': S = 'x' is not an integer"),
            ("qsgd:2000000000", "compressor 'qsgd': S = 2000000000 is too large (at most 2^30)"),
            ("qsgd:4,coding=huffman", "compressor 'qsgd': coding = 'huffman' is not one of: elias, fixed"),
            ("qsgd:4,fixed,coding=elias", "compressor 'qsgd': option 'coding' is given twice"),
            ("sketch-topk:10,rows=0", "compressor 'sketch-topk': rows = 0 must be positive"),
            ("sketch-topk:10,cols=-1", "compressor 'sketch-topk': cols = -1 must be positive"),
            ("sketch-topk:10,depth=3", "compressor 'sketch-topk': option 'depth' is not known (allowed: rows, cols)"),
            ("sketch-topk:10,rows", "compressor 'sketch-topk': option 'rows' needs a value (rows=…)"),
            ("sign:3", "compressor 'sign': takes no options (got '3')"),
            ("topk:10,rows=2", "compressor 'topk': option 'rows' is not known (allowed: none)"),
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
