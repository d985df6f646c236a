#ifndef CSGD_KERNEL_PATH_H
#define CSGD_KERNEL_PATH_H

/// The instruction paths of the C kernels, with one meaning for every function
/// that takes one (`csgd_normal_*`, `csgd_philox_*`, `csgd_sample_bitmap`).
/// Every path of a kernel gives the same bits; they differ in speed and in the
/// CPUs that run them (`csgd_path_runs`). Swift compiles a module for one
/// instruction set, so the vector paths are chosen at run time
/// (`csgd_best_path`). A kernel with no code of its own for a path runs the
/// narrower code that path can run: Philox (no AES) runs the same portable
/// code on both portable paths, and `csgd_normal_at` on the AVX2 path runs the
/// portable code with AES-NI. Swift sees the type as `KernelPath`.
typedef enum __attribute__((enum_extensibility(closed), swift_name("KernelPath"))) csgd_path {
    /// Portable C, a block or an element at a time; AES (for ARS) by AES-NI
    /// when the CPU has it, in software otherwise. Runs on every CPU.
    CSGD_PATH_PORTABLE __attribute__((swift_name("portable"))) = 0,
    /// The portable C with AES in software even where the CPU has AES-NI: the
    /// reference the tests compare every other path with.
    CSGD_PATH_PORTABLE_SOFTWARE_AES __attribute__((swift_name("softwareAES"))) = 1,
    /// AVX2 with AES-NI: eight 32-bit lanes.
    CSGD_PATH_AVX2_AES __attribute__((swift_name("avx2"))) = 2,
    /// AVX-512 (F, BW, DQ, VL) with VAES: sixteen 32-bit lanes.
    CSGD_PATH_AVX512_VAES __attribute__((swift_name("avx512"))) = 3,
} csgd_path;

/// 1 when this CPU runs `path` (the portable paths: always), 0 otherwise.
int csgd_path_runs(csgd_path path);

/// The widest path this CPU runs: AVX-512 with VAES, else AVX2 with AES-NI,
/// else portable.
csgd_path csgd_best_path(void);

/// 1 when the CPU has AES-NI.
int csgd_has_aesni(void);

#endif
