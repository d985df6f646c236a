import CSGDCore
import Foundation

/// Puts the caches in a cold state before a timed run: `evict()` reads a
/// buffer of twice the last-level cache (at least 64 MiB, at most 1 GiB), one
/// word a cache line, so that whatever a benchmark touched before comes from
/// memory again (dirty lines are written back during the eviction, outside
/// the timed run). The buffer is written once when made, so its pages are
/// real and distinct (an untouched buffer would map one shared zero page and
/// evict nothing). Not thread-safe: one evictor per measuring thread.
public final class CacheEvictor {
    /// The size of the eviction buffer in bytes.
    public let byteCount: Int
    private let words: UnsafeMutablePointer<UInt64>
    private var sink: UInt64 = 0

    /// An evictor sized from the last-level cache this machine reports
    /// (`sysconf`; 32 MiB assumed when it reports none).
    public convenience init() {
        self.init(byteCount: CacheEvictor.defaultByteCount())
    }

    /// An evictor of `byteCount` bytes (rounded up to whole cache lines).
    public init(byteCount: Int) {
        let lines = max(1, (byteCount + 63) / 64)
        self.byteCount = lines * 64
        words = UnsafeMutablePointer<UInt64>.allocate(capacity: lines * 8)
        // Distinct non-zero contents: every page is backed by its own memory.
        for i in 0..<(lines * 8) { words[i] = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15 }
    }

    deinit { words.deallocate() }

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

    /// Reads one word of every cache line of the buffer.
    public func evict() {
        let n = byteCount / 8
        var acc: UInt64 = 0
        var i = 0
        while i < n {
            acc &+= words[i]
            i += 8
        }
        sink &+= acc   // keeps the loads
    }
}
