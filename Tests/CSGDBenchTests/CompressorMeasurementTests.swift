import CSGDCore
import Compression
import XCTest
@testable import CSGDBench

/// The compressor measurement runs warm and after a cache eviction, and
/// reports the message's exact bits.
final class CompressorMeasurementTests: XCTestCase {
    func testColdAndWarmMeasurementsRun() throws {
        let c = QSGD(dimension: 5000, levels: 15, coding: .fixed)
        let evictor = CacheEvictor(byteCount: 1 << 20)
        XCTAssertEqual(evictor.byteCount, 1 << 20)
        XCTAssertGreaterThanOrEqual(CacheEvictor.defaultByteCount(), 64 << 20)
        for cache in CompressorMeasurement.CacheState.allCases {
            let r = try CompressorMeasurement.measure(c, spec: "qsgd:15,coding=fixed", trials: 1, reps: 1, seed: 2,
                                                      cache: cache, evictor: evictor)
            XCTAssertEqual(r.bits, 32 + 5000 * 5)
            XCTAssertEqual(r.bitsPerCoordinate, Double(32 + 5000 * 5) / 5000)
            // Rates are 4·d bytes over a measured time: finite when the time is not zero.
            for rate in [r.compressGbps, r.decodeGbps, r.memcpyGbps] { XCTAssertTrue(rate.isFinite && rate > 0, "\(cache): \(r)") }
        }
    }
}
