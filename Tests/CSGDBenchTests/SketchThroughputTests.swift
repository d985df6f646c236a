import CSGDBench
import CSGDCore
import Foundation
import XCTest
@testable import Compression

/// Sketch-topk's throughput by stage, printed; skipped unless asked for.
final class SketchThroughputTests: XCTestCase {
    /// Throughput at d = 2^24, K = 1%, R = 5, default C (or C = the value of
    /// CSGD_SKETCH_BENCH_COLS), beside memcpy of the same vector. Run with
    /// CSGD_SKETCH_BENCH=1 in a release build.
    func testThroughputBenchmark() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["CSGD_SKETCH_BENCH"] != nil else {
            throw XCTSkip("set CSGD_SKETCH_BENCH=1 (release build) to measure throughput")
        }
        let d = 1 << 24, k = d / 100
        let c = SketchTopK(dimension: d, k: k, rows: nil, cols: env["CSGD_SKETCH_BENCH_COLS"].flatMap { Int($0) })
        let x = FloatBuffer(count: d), y = FloatBuffer(count: d)
        RandomFill.gaussian(RandomKey(seed: 1, purpose: .benchmark), sigma: 1, into: x.buffer)
        let key = RandomKey(seed: 2, purpose: .sketchHashes)
        var m = c.makeMessage()
        let tCompress = Clock.best(reps: 5) { c.compress(x.readOnly, key: key, into: &m) }
        var w = BitWriter(reservingBits: c.bits(of: m))
        let tEncode = Clock.best(reps: 5) { w.reset(); c.encode(m, into: &w) }
        let bytes = w.finished()
        var back = c.makeMessage()
        let tDecode = Clock.best(reps: 5) { try! c.decode(bytes, key: key, into: &back) }
        let cs = c.countSketch(key: key)
        var table = [Float](repeating: 0, count: cs.tableCount)
        let tSketch = Clock.best(reps: 5) {
            table.withUnsafeMutableBufferPointer { t in Kernels.zero(t); cs.accumulate(x.readOnly, into: t) }
        }
        var scratch = [Float](repeating: 0, count: cs.scratchCount)
        let tEstimate = Clock.best(reps: 5) {
            table.withUnsafeBufferPointer { t in scratch.withUnsafeMutableBufferPointer { cs.estimate(t, into: y.buffer, scratch: $0) } }
        }
        var sel = TopKSelector()
        var idx = [UInt32](repeating: 0, count: k)
        let tSelect = Clock.best(reps: 5) { idx.withUnsafeMutableBufferPointer { sel.select(y.readOnly, into: $0) } }
        let tCopy = Clock.best(reps: 5) { y.pointer.update(from: x.pointer, count: d) }
        let gb = 4.0 * Double(d) / 1e9
        func f(_ t: Double) -> String { String(format: "%.2f ms (%.2f GB/s)", 1000 * t, gb / t) }
        print("""
            \(c) d = \(d): table \(cs.tableCount) floats, \(c.bits(of: m)) bits
              compress \(f(tCompress)) = sketch \(f(tSketch)) + estimate \(f(tEstimate)) + select \(f(tSelect)) + gather
              encode \(f(tEncode)), decode \(f(tDecode)), memcpy \(f(tCopy))
              compress/memcpy time ratio \(String(format: "%.1f", tCompress / tCopy))
            """)
        XCTAssertEqual(back.pairs.indices, m.pairs.indices)
    }
}
