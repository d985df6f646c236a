// Which instruction paths this CPU runs (include/kernel_path.h), from
// `__builtin_cpu_supports`.

#include "kernel_path.h"

int csgd_has_aesni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") ? 1 : 0;
#else
    return 0;
#endif
}

int csgd_path_runs(csgd_path path) {
    switch (path) {
    case CSGD_PATH_PORTABLE:
    case CSGD_PATH_PORTABLE_SOFTWARE_AES:
        return 1;
#if defined(__x86_64__)
    case CSGD_PATH_AVX2_AES:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("aes");
    case CSGD_PATH_AVX512_VAES:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("vaes") && __builtin_cpu_supports("aes");
#endif
    default:
        return 0;
    }
}

csgd_path csgd_best_path(void) {
    if (csgd_path_runs(CSGD_PATH_AVX512_VAES)) return CSGD_PATH_AVX512_VAES;
    if (csgd_path_runs(CSGD_PATH_AVX2_AES)) return CSGD_PATH_AVX2_AES;
    return CSGD_PATH_PORTABLE;
}
