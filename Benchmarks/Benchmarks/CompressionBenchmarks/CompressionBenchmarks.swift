// Micro-benchmarks of every compressor the factory builds, at d = 2^20 and
// d = 2^24 with K = 1% (the specs of `CompressorSpec.representatives`, the
// same ones `csgd compress --compressor all` measures):
//
//   "compress+encode SPEC d=2^N"   m ← C(x) with a reused message, then the wire
//                                  bytes into a reused BitWriter;
//   "decode+decompress SPEC d=2^N" the bytes back into a reused message, then
//                                  the dense C(x) written over a reused vector;
//   "memcpy d=2^N"                 a copy of the same vector: the bandwidth
//                                  reference, measured in the same run.
//
// x ~ N(0, I) from a fixed key. Besides wall clock and mallocs, each benchmark
// reports the custom metric "MB/s in" = 4·d bytes of Float32 input per second
// (per iteration), the unit of `csgd compress` and scripts/bench-compress.
// Vectors are allocated in each benchmark's setup and freed in its teardown,
// so at most one benchmark's buffers (a few × 64 MiB at 2^24) are live.

import Benchmark
import CSGDBench
import CSGDCore
import Compression

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one benchmark works on; filled by its setup, emptied by its teardown.
final class Fixture {
    var x: FloatBuffer?
    var y: FloatBuffer?
    var run: (() -> Void)?

    func clear() {
        run = nil
        x = nil
        y = nil
    }
}

let key = RandomKey(seed: 2024, step: 0, worker: 0, purpose: .benchmark)
let throughputMetric = BenchmarkMetric.custom("MB/s in", polarity: .prefersLarger, useScalingFactor: false)

func configuration(dimension d: Int, setup: @escaping () -> Void, teardown: @escaping () -> Void) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, throughputMetric],
        warmupIterations: 1,
        maxDuration: .seconds(d > 1 << 22 ? 3 : 1),
        maxIterations: d > 1 << 22 ? 25 : 200,
        setup: { setup() },
        teardown: { teardown() }
    )
}

/// Runs `body` and records its throughput on 4·d bytes of input.
@inline(__always)
func timed(_ benchmark: Benchmark, dimension d: Int, _ body: () -> Void) {
    let t0 = CSGDCore.Clock.now()
    body()
    let t = CSGDCore.Clock.now() - t0
    benchmark.measurement(throughputMetric, Int((4 * Double(d) / 1e6 / max(t, 1e-9)).rounded()))
}

func gaussian(_ d: Int) -> FloatBuffer {
    let x = FloatBuffer(count: d)
    RandomFill.gaussian(key, sigma: 1, into: x.buffer)
    return x
}

/// The closures for compress+encode and decode+decompress of `c`, sharing
/// nothing with other benchmarks.
func compressWork<C: Compressor>(_ c: C, _ f: Fixture) -> () -> Void {
    let x = gaussian(c.dimension)
    f.x = x
    var m = c.makeMessage()
    var w = BitWriter(reservingBits: 32 * c.dimension + 64)
    return {
        c.compress(x.readOnly, key: key, into: &m)
        w.reset()
        c.encode(m, into: &w)
        blackHole(w.bitCount)
    }
}

func decodeWork<C: Compressor>(_ c: C, _ f: Fixture) -> () -> Void {
    let x = gaussian(c.dimension)
    let y = FloatBuffer(count: c.dimension)
    f.y = y
    let bytes = c.encode(c.compress(x.readOnly, key: key))
    var m = c.makeMessage()
    // Fail loudly before timing if the message does not round-trip.
    do { try c.decode(bytes, key: key, into: &m) } catch { fatalError("\(c) could not decode its own message: \(error)") }
    return {
        do { try c.decode(bytes, key: key, into: &m) } catch { fatalError("\(c): \(error)") }
        c.decompress(m, into: y.buffer)
        blackHole(y.pointer[0])
    }
}

let benchmarks: @Sendable () -> Void = {
    for log2d in [20, 24] {
        let d = 1 << log2d
        let suffix = "d=2^\(log2d)"

        // memcpy of the same vector: the reference bandwidth.
        let copy = Fixture()
        Benchmark("memcpy \(suffix)", configuration: configuration(dimension: d, setup: {
            let x = gaussian(d), y = FloatBuffer(count: d)
            copy.x = x
            copy.y = y
            copy.run = { y.pointer.update(from: x.pointer, count: d); blackHole(y.pointer[d - 1]) }
        }, teardown: copy.clear)) { benchmark in
            let run = copy.run!
            timed(benchmark, dimension: d) { run() }
        }

        for text in CompressorSpec.representatives {
            let compressor: any Compressor
            do {
                compressor = try CompressorSpec.parse(text).make(dimension: d)
            } catch {
                // A compressor the factory cannot build yet (PENDING): nothing to measure.
                print("CompressionBenchmarks: skipping \(text) at \(suffix): \(error)")
                continue
            }
            let enc = Fixture()
            Benchmark("compress+encode \(text) \(suffix)", configuration: configuration(dimension: d, setup: {
                enc.run = compressWork(compressor, enc)
            }, teardown: enc.clear)) { benchmark in
                let run = enc.run!
                timed(benchmark, dimension: d) { run() }
            }
            let dec = Fixture()
            Benchmark("decode+decompress \(text) \(suffix)", configuration: configuration(dimension: d, setup: {
                dec.run = decodeWork(compressor, dec)
            }, teardown: dec.clear)) { benchmark in
                let run = dec.run!
                timed(benchmark, dimension: d) { run() }
            }
        }
    }
}
