import XCTest
import CKernels
@testable import CSGDCore

final class SamplingTests: XCTestCase {
    func draw(k: Int, d: Int, seed: UInt64, step: UInt64 = 0, bitmap: Bool? = nil, path: KernelPath = .best) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: k)
        var ws = SamplingWorkspace()
        let key = RandomKey(seed: seed, step: step, purpose: .randomKIndices)
        out.withUnsafeMutableBufferPointer { o in
            if let bitmap {
                Sampling.withoutReplacement(d: d, key: key, into: o, workspace: &ws, useBitmap: bitmap, path: path)
            } else {
                Sampling.withoutReplacement(d: d, key: key, into: o, workspace: &ws)
            }
        }
        return out
    }

    func testDistinctSortedInRange() {
        for (k, d) in [(1, 1), (1, 10), (10, 10), (5, 1000), (300, 1000), (999, 1000), (1000, 100_000)] {
            let s = draw(k: k, d: d, seed: 1)
            XCTAssertEqual(s.count, k)
            XCTAssert(zip(s, s.dropFirst()).allSatisfy { $0 < $1 }, "not strictly ascending for k=\(k), d=\(d)")
            XCTAssert(s.allSatisfy { Int($0) < d })
        }
        XCTAssertEqual(draw(k: 10, d: 10, seed: 3), (0..<10).map(UInt32.init))
    }

    func testHashAndBitmapPathsAgree() {
        // d = 2²⁸: one word in 16 may be rejected by Lemire's method, so the
        // bitmap path's batches end early often.
        // The bitmap path with its Philox words on every path this CPU runs
        // (one block at a time, eight with AVX2, sixteen with AVX-512); K = d,
        // K = d − 1 and d not a multiple of 64 exercise the scan's ends.
        for (k, d, seed) in [(3, 10, 1), (50, 1000, 2), (500, 1000, 3), (40, 1 << 20, 4), (4096, 1 << 16, 5),
                             (20_000, 1 << 28, 6), (1000, 1000, 7), (999, 1000, 8), (70_000, 100_003, 9), (41_943, 1 << 22, 10)] {
            let reference = draw(k: k, d: d, seed: UInt64(seed), bitmap: false)
            for path in KernelPath.allCases where path.isAvailable {
                XCTAssertEqual(draw(k: k, d: d, seed: UInt64(seed), bitmap: true, path: path), reference, "\(path): k=\(k), d=\(d)")
            }
        }
    }

    func testReusedWorkspaceGivesFreshDraws() {
        // The bitmap must be left all zero: a reused workspace draws as a new one.
        var ws = SamplingWorkspace()
        for (k, d, seed) in [(41_943, 1 << 22, 1), (64, 64, 2), (5_000, 100_003, 3), (41_943, 1 << 22, 4)] {
            var out = [UInt32](repeating: 0, count: k)
            out.withUnsafeMutableBufferPointer {
                Sampling.withoutReplacement(d: d, key: RandomKey(seed: UInt64(seed), purpose: .randomKIndices), into: $0, workspace: &ws)
            }
            XCTAssertEqual(out, draw(k: k, d: d, seed: UInt64(seed)), "k=\(k), d=\(d)")
        }
    }

    func testSameKeySameIndicesOtherStepOthers() {
        XCTAssertEqual(draw(k: 100, d: 10_000, seed: 9, step: 4), draw(k: 100, d: 10_000, seed: 9, step: 4))
        XCTAssertNotEqual(draw(k: 100, d: 10_000, seed: 9, step: 4), draw(k: 100, d: 10_000, seed: 9, step: 5))
    }

    func testInclusionIsUniform() {
        // Each of d = 20 indices is included with probability K/d = 0.25;
        // over 8000 draws a count has mean 2000 and sd sqrt(8000·0.25·0.75) = 38.7.
        let d = 20, k = 5, trials = 8000
        var counts = [Int](repeating: 0, count: d)
        for t in 0..<trials {
            for i in draw(k: k, d: d, seed: 11, step: UInt64(t)) { counts[Int(i)] += 1 }
        }
        for c in counts { XCTAssertEqual(Double(c), 2000, accuracy: 5 * 38.7, "counts \(counts)") }
        // Pairs: P(0 and 1 both) = (5·4)/(20·19) = 0.0526 → 421 of 8000, sd 20.
        var pair = 0
        for t in 0..<trials {
            let s = Set(draw(k: k, d: d, seed: 11, step: UInt64(t)))
            if s.contains(0) && s.contains(1) { pair += 1 }
        }
        XCTAssertEqual(Double(pair), 421, accuracy: 5 * 20)
    }

    func testRadixSort() {
        var s = RandomStream(key: RandomKey(seed: 5, purpose: .test))
        // Scratch of n (counts in a temporary) and of n + radixCountSlots
        // (counts in the scratch's tail); 1, 2 and 3 digit passes.
        for n in [0, 1, 2, 100, 5000] {
            for extra in [0, Sampling.radixCountSlots] {
                for maxValue in [UInt32(2000), 1 << 22 - 1, .max] {
                    var a = (0..<n).map { _ in s.nextUInt32() % (maxValue == .max ? .max : maxValue + 1) }
                    var tmp = [UInt32](repeating: 0xFFFF_FFFF, count: n + extra)
                    let want = a.sorted()
                    a.withUnsafeMutableBufferPointer { ab in
                        tmp.withUnsafeMutableBufferPointer { Sampling.radixSort(ab, scratch: $0, maxValue: maxValue) }
                    }
                    XCTAssertEqual(a, want, "n \(n), scratch n + \(extra), max \(maxValue)")
                }
            }
        }
    }
}
