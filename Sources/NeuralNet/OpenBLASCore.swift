import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which kernel set OpenBLAS runs, and a switch away from a generic one.
///
/// A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU model
/// at load time; on a model newer than the library (OpenBLAS 0.3.21 on
/// Emerald Rapids, say) it falls back to the SSE3 "Prescott" kernels, 3–5×
/// slower in SGEMM than the AVX-512 ones the CPU can run. `upgradeIfGeneric`
/// re-runs OpenBLAS's own selection with `OPENBLAS_CORETYPE` set (SkylakeX
/// with AVX-512 F/DQ/BW/VL, Haswell with AVX2 and FMA), through the
/// library's exported `gotoblas_dynamic_quit`/`gotoblas_dynamic_init`; it
/// does nothing when the user set `OPENBLAS_CORETYPE`, when the library
/// is not a DYNAMIC_ARCH build, or when the kernels are already specific.
/// Call it once at start-up, before any BLAS work and before other threads.
public enum OpenBLASCore {
    private typealias Name = @convention(c) () -> UnsafeMutablePointer<CChar>?
    private typealias Hook = @convention(c) () -> Void

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)   // RTLD_DEFAULT
    }

    /// OpenBLAS's name for its kernels (e.g. "Prescott", "SkylakeX"), or nil.
    public static var current: String? {
        guard let f = symbol("openblas_get_corename") else { return nil }
        guard let p = unsafeBitCast(f, to: Name.self)() else { return nil }
        return String(cString: p)
    }

    /// Kernel sets that use no AVX: what OpenBLAS falls back to on unknown CPUs.
    static let generic: Set<String> = ["prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn",
                                       "dunnington", "nehalem", "atom", "sandybridge"]

    /// The best kernel set the CPU's flags (from /proc/cpuinfo) allow, or nil.
    static func bestForThisCPU() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Switches a generic kernel choice to the best the CPU supports.
    /// Returns the kernel names before and after.
    @discardableResult
    public static func upgradeIfGeneric() -> (before: String?, after: String?) {
        let before = current
        guard getenv("OPENBLAS_CORETYPE") == nil, let b = before, generic.contains(b.lowercased()),
              let target = bestForThisCPU(),
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init") else {
            return (before, before)
        }
        setenv("OPENBLAS_CORETYPE", target, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialize, to: Hook.self)()
        return (before, current)
    }
}
