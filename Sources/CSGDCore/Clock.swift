import Foundation

/// A monotonic clock for timing benchmarks and logs.
public enum Clock {
    /// Seconds since an arbitrary fixed point, monotonic.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// This thread's CPU time in seconds (waiting and being descheduled do not count).
    public static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The best (minimum) wall time of `reps` runs of `body` after one warm-up.
    public static func best(reps: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<max(1, reps) {
            let t0 = now()
            body()
            best = min(best, now() - t0)
        }
        return best
    }
}
