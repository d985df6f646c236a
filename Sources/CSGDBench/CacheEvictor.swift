import CSGDCore
import Foundation

/// Puts the caches in a cold state before a timed run: `evict()` reads a
/// buffer of twice the last-level cache (at least 64 MiB, at most 1 GiB), so
/// that whatever a benchmark touched before comes from
/// memory again (dirty lines are written back during the eviction, outside
/// the timed run). The buffer is written once when made, so its pages are
/// real and distinct (an untouched buffer would map one shared zero page and
/// evict nothing). Not thread-safe: one evictor per measuring thread.
public final class CacheEvictor {
    /// The size of the eviction buffer in bytes.
    public let byteCount: Int
    private let bytes: UnsafeMutableRawPointer
    /// Counts evictions that found a zero byte (never, by construction):
    /// using memchr's result keeps the read from being optimized away.
    private var anomalies = 0

    /// An evictor sized from the last-level cache this machine reports
    /// (`sysconf`; 32 MiB assumed when it reports none).
    public convenience init() {
        self.init(byteCount: CacheEvictor.defaultByteCount())
    }

    /// An evictor of `byteCount` bytes (rounded up to whole cache lines).
    public init(byteCount: Int) {
        self.byteCount = max(1, (byteCount + 63) / 64) * 64
        bytes = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
        // Written (non-zero) once: every page gets its own memory.
        memset(bytes, 0x5A, self.byteCount)
    }

    deinit { bytes.deallocate() }

    /// 2 × the last-level cache, clamped to [64 MiB, 1 GiB].
    public static func defaultByteCount() -> Int {
        var llc = 0
        #if os(Linux)
        for name in [_SC_LEVEL4_CACHE_SIZE, _SC_LEVEL3_CACHE_SIZE, _SC_LEVEL2_CACHE_SIZE] where llc <= 0 {
            llc = sysconf(Int32(name))
        }
        #endif
        if llc <= 0 { llc = 32 << 20 }
        return min(max(2 * llc, 64 << 20), 1 << 30)
    }

    /// Reads the whole buffer (libc's vectorised memchr for a byte it does
    /// not hold, fast in debug builds too).
    public func evict() {
        if memchr(bytes, 0, byteCount) != nil { anomalies += 1 }
    }
}
