// The Gaussian stream's AVX-512 path with VAES (normal_avx512.h): normals
// into a buffer, and elements at listed positions.

#include "normal_avx512.h"

#if defined(__x86_64__)

// The buffer's sink: the fast test's normals stored sixteen at a time, the
// finished misses scattered to their positions.
TARGET512 __attribute__((always_inline)) static inline void store_fast(void *out, uint32_t base, __m512 z, __mmask16 final) {
    (void)final;   // the misses' lanes are overwritten when they are finished
    _mm512_storeu_ps((float *)out + base, z);
}

TARGET512 __attribute__((always_inline)) static inline void store_group_done(void *out, uint32_t base0) {
    (void)out; (void)base0;
}

TARGET512 __attribute__((always_inline)) static inline void store_finished(void *out, __m512i pos, __m512 z, __mmask16 done) {
    _mm512_mask_i32scatter_ps(out, done, pos, z, 4);
}

TARGET512 static void groups_run(const stream_key *k, uint32_t first, size_t count, float *out) {
    run_avx512(k, first, count, out, store_fast, store_group_done, store_finished);
}

void normal_groups_avx512(const stream_key *k, uint32_t first, size_t count, float *out) {
    while (count > 0) {
        size_t run = run_length(first, count);
        groups_run(k, first, run, out);
        first += (uint32_t)run;
        out += GROUP * run;
        count -= run;
    }
}

// Elements at sixteen arbitrary positions a time: their main blocks by VAES
// (per-lane counters), each lane's word picked from its block, the fast test
// on sixteen lanes, the misses finished by the portable code.
TARGET512 void normal_at_avx512(const stream_key *k, const uint32_t *elements, size_t count, float *out) {
    const __m512i keyv = key_lanes(k), ctrBase = counter_lanes(k);
    for (size_t at = 0; at < count; at += 16) {
        size_t m = count - at < 16 ? count - at : 16;
        __mmask16 live = (__mmask16)((1u << m) - 1u);
        __m512i e = _mm512_maskz_loadu_epi32(live, elements + at);
        __m512i b = _mm512_srli_epi32(e, 2);          // the main block; elements < 2³², so its high word is 0
        __m512i v[4], rk[4];
        for (int c = 0; c < 4; c++) {
            v[c] = lane_counters(ctrBase, c, b, _mm512_setzero_si512());
            rk[c] = keyv;
        }
        arsN(4, v, rk);
        __m512i w = word_at(v, e);
        __mmask16 inside;
        __m512 z = fast16(w, &inside);
        float lz[16];
        uint32_t lw[16];
        _mm512_storeu_ps(lz, z);
        _mm512_storeu_si512(lw, w);
        for (unsigned miss = (unsigned)(live & ~inside); miss; miss &= miss - 1) {
            int lane = __builtin_ctz(miss);
            lz[lane] = normal_of_word(k, elements[at + (size_t)lane], lw[lane]);
        }
        memcpy(out + at, lz, m * sizeof(float));
    }
}

#endif
