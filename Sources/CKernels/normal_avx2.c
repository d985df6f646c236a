// The Gaussian stream's AVX2 path (docs/randomness.md), for CPUs without
// AVX-512.

#include "normal_internal.h"

#if defined(__x86_64__)

// AVX2 (with AES-NI for the words): the fast test on eight lanes with the
// packed table, each miss finished by the portable code (about one word in
// 200). Same operations, same bits: u·2^(LB+1) as Float(u)·2^(LB+1) (both
// exact), the unsigned compare by flipping sign bits.
__attribute__((target("avx2,aes,sse4.1")))
void normal_groups_avx2(const stream_key *k, uint32_t first, size_t count, float *out) {
    const __m256i layerMask = _mm256_set1_epi32((int)LAYER_MASK), mant = _mm256_set1_epi32(0x7FFFFF);
    const __m256i two23 = _mm256_set1_epi32(0x4B000000), top9 = _mm256_set1_epi32((int)0xFF800000u);
    const __m256i flip = _mm256_set1_epi32((int)0x80000000u), sign = _mm256_set1_epi32(1 << LB);
    uint32_t w[GROUP];
    for (size_t j = 0; j < count; j++) {
        uint32_t g = first + (uint32_t)j;
        uint64_t e0 = (uint64_t)g * GROUP;
        normal_group_words_ni(k, g, w);
        float *o = out + GROUP * j;
        for (int r = 0; r < GROUP / 8; r++) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(w + 8 * r));
            __m256i p = _mm256_i32gather_epi32((const int *)CSGD_ZIG_P, _mm256_and_si256(wv, layerMask), 4);
            __m256 width = _mm256_sub_ps(_mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(p, mant), two23)),
                                         _mm256_set1_ps(8388608.0f));
            __m256 uShifted = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(wv, POS_SHIFT)),
                                            _mm256_set1_ps((float)(1u << POS_SHIFT)));
            __m256 x = _mm256_mul_ps(_mm256_mul_ps(uShifted, width), _mm256_set1_ps(X_SCALE));
            __m256i sgn = _mm256_slli_epi32(_mm256_and_si256(wv, sign), 31 - LB);
            _mm256_storeu_ps(o + 8 * r, _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(x), sgn)));
            // inside iff w < (K >> (22 − LB))·2²³ (unsigned)
            __m256i inside = _mm256_cmpgt_epi32(_mm256_xor_si256(_mm256_and_si256(p, top9), flip), _mm256_xor_si256(wv, flip));
            unsigned miss = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(inside)) & 0xFFu;
            for (; miss; miss &= miss - 1) {
                int t = 8 * r + __builtin_ctz(miss);
                o[t] = normal_finish_miss(k, e0 + (uint64_t)t, w[t]);
            }
        }
    }
}
#endif
