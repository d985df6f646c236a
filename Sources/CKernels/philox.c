// Philox4x32-10 in bulk (include/philox.h): the one AVX-512 implementation
// (sixteen blocks, lane l of register x_w holding word w of block l), the one
// AVX2 implementation (eight blocks, the same layout), and the portable code,
// which is the scalar `csgd_philox4x32_10` block by block. Both vector
// implementations compute every round as the scalar one does (32 × 32 → 64-bit
// products of the even lanes and of the odd ones, their halves put back in
// their lanes), so every path gives the scalar bits; the tests compare them.

#include "philox.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Counter word 0 of block j of a call: `first` + j (wrapping), or counters[j].
static inline uint32_t counter_of(uint32_t first, const uint32_t *counters, size_t j) {
    return counters ? counters[j] : first + (uint32_t)j;
}

// The portable path: the scalar block, one at a time; out in stream order,
// or in fours. Inlined into each entry point (`blocks_on`), so `counters` and
// `fours` are constants there.
__attribute__((always_inline))
static inline void blocks_portable(const uint32_t key[5], uint32_t first, const uint32_t *counters, size_t count,
                                   int fours, uint32_t *out) {
    for (size_t j = 0; j < count; j++) {
        csgd_philox_words b = csgd_philox4x32_10(counter_of(first, counters, j), key[2], key[3], key[4], key[0], key[1]);
        uint32_t *o = fours ? out + 16 * (j / 4) + j % 4 : out + 4 * j;
        const size_t step = fours ? 4 : 1;
        o[0] = b.w0; o[step] = b.w1; o[2 * step] = b.w2; o[3 * step] = b.w3;
    }
}

#if defined(__x86_64__)

// ------------------------------------------------------------------ AVX-512

#define T512 __attribute__((target("avx512f"))) static inline

typedef struct {
    __m512i x0, x1, x2, x3;
} philox16;

// Philox4x32-10 of the sixteen counters (x0[l], c1, c2, c3).
T512 philox16 philox16_rounds(__m512i x0, const uint32_t key[5]) {
    __m512i x1 = _mm512_set1_epi32((int)key[2]), x2 = _mm512_set1_epi32((int)key[3]), x3 = _mm512_set1_epi32((int)key[4]);
    __m512i a = _mm512_set1_epi32((int)key[0]), b = _mm512_set1_epi32((int)key[1]);
    const __m512i m0 = _mm512_set1_epi64(CSGD_PHILOX_M0), m1 = _mm512_set1_epi64(CSGD_PHILOX_M1);
    const __m512i w0 = _mm512_set1_epi32((int)CSGD_PHILOX_W0), w1 = _mm512_set1_epi32((int)CSGD_PHILOX_W1);
    for (int r = 0; r < 10; r++) {
        if (r) { a = _mm512_add_epi32(a, w0); b = _mm512_add_epi32(b, w1); }
        // 32×32 → 64-bit products of the even lanes, then of the odd ones.
        __m512i p0e = _mm512_mul_epu32(x0, m0), p0o = _mm512_mul_epu32(_mm512_srli_epi64(x0, 32), m0);
        __m512i p1e = _mm512_mul_epu32(x2, m1), p1o = _mm512_mul_epu32(_mm512_srli_epi64(x2, 32), m1);
        // Low and high halves back in their lanes.
        __m512i lo0 = _mm512_mask_shuffle_epi32(p0e, 0xAAAA, p0o, _MM_PERM_CDAB);
        __m512i hi0 = _mm512_mask_shuffle_epi32(p0o, 0x5555, p0e, _MM_PERM_CDAB);
        __m512i lo1 = _mm512_mask_shuffle_epi32(p1e, 0xAAAA, p1o, _MM_PERM_CDAB);
        __m512i hi1 = _mm512_mask_shuffle_epi32(p1o, 0x5555, p1e, _MM_PERM_CDAB);
        __m512i y0 = _mm512_ternarylogic_epi32(hi1, x1, a, 0x96);   // XOR of three
        __m512i y2 = _mm512_ternarylogic_epi32(hi0, x3, b, 0x96);
        x0 = y0; x1 = lo1; x2 = y2; x3 = lo0;
    }
    philox16 s = {x0, x1, x2, x3};
    return s;
}

// Stream order: out[4l + w] = word w of block l.
T512 void philox16_store_blocks(philox16 s, uint32_t *out) {
    __m512i t0 = _mm512_unpacklo_epi32(s.x0, s.x1), t1 = _mm512_unpackhi_epi32(s.x0, s.x1);
    __m512i t2 = _mm512_unpacklo_epi32(s.x2, s.x3), t3 = _mm512_unpackhi_epi32(s.x2, s.x3);
    // 128-bit lane L of u_q is block 4L + q.
    __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x88), v1 = _mm512_shuffle_i32x4(u2, u3, 0x88);
    __m512i v2 = _mm512_shuffle_i32x4(u0, u1, 0xDD), v3 = _mm512_shuffle_i32x4(u2, u3, 0xDD);
    _mm512_storeu_si512(out, _mm512_shuffle_i32x4(v0, v1, 0x88));        // blocks 0–3
    _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(v2, v3, 0x88));   // 4–7
    _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(v0, v1, 0xDD));   // 8–11
    _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(v2, v3, 0xDD));   // 12–15
}

// In fours: out[16q + 4w + l] = word w of block 4q + l, i.e. 128-bit lane q
// of x0, x1, x2, x3 in turn (a 4 × 4 transpose of 128-bit lanes).
T512 void philox16_store_fours(philox16 s, uint32_t *out) {
    __m512i a = _mm512_shuffle_i32x4(s.x0, s.x1, 0x44), b = _mm512_shuffle_i32x4(s.x2, s.x3, 0x44);   // lanes 0, 1
    __m512i c = _mm512_shuffle_i32x4(s.x0, s.x1, 0xEE), d = _mm512_shuffle_i32x4(s.x2, s.x3, 0xEE);   // lanes 2, 3
    _mm512_storeu_si512(out, _mm512_shuffle_i32x4(a, b, 0x88));
    _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(a, b, 0xDD));
    _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(c, d, 0x88));
    _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(c, d, 0xDD));
}

__attribute__((target("avx512f")))
static void blocks_avx512(const uint32_t key[5], uint32_t first, const uint32_t *counters, size_t count,
                          int fours, uint32_t *out) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t j = 0; j < count; j += 16) {
        size_t m = count - j < 16 ? count - j : 16;
        __m512i c = counters ? _mm512_maskz_loadu_epi32((__mmask16)((1u << m) - 1u), counters + j)
                             : _mm512_add_epi32(_mm512_set1_epi32((int)(first + (uint32_t)j)), iota);
        philox16 s = philox16_rounds(c, key);
        uint32_t part[64], *o = m == 16 ? out + 4 * j : part;
        if (fours) philox16_store_fours(s, o); else philox16_store_blocks(s, o);
        if (m < 16) memcpy(out + 4 * j, part, 4 * m * sizeof(uint32_t));
    }
}

// --------------------------------------------------------------------- AVX2

#define T256 __attribute__((target("avx2"))) static inline

typedef struct {
    __m256i x0, x1, x2, x3;
} philox8;

// The 32-bit halves of the products of the lanes of x by m: even lanes from
// the even products, odd lanes from the odd ones (swapped into place).
T256 void mul_halves8(__m256i x, __m256i m, __m256i *lo, __m256i *hi) {
    __m256i even = _mm256_mul_epu32(x, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox4x32-10 of the eight counters (x0[l], c1, c2, c3).
T256 philox8 philox8_rounds(__m256i x0, const uint32_t key[5]) {
    __m256i x1 = _mm256_set1_epi32((int)key[2]), x2 = _mm256_set1_epi32((int)key[3]), x3 = _mm256_set1_epi32((int)key[4]);
    __m256i a = _mm256_set1_epi32((int)key[0]), b = _mm256_set1_epi32((int)key[1]);
    const __m256i m0 = _mm256_set1_epi64x(CSGD_PHILOX_M0), m1 = _mm256_set1_epi64x(CSGD_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        if (r) {
            a = _mm256_add_epi32(a, _mm256_set1_epi32((int)CSGD_PHILOX_W0));
            b = _mm256_add_epi32(b, _mm256_set1_epi32((int)CSGD_PHILOX_W1));
        }
        __m256i lo0, hi0, lo1, hi1;
        mul_halves8(x0, m0, &lo0, &hi0);
        mul_halves8(x2, m1, &lo1, &hi1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), a);
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), b);
        x1 = lo1;
        x3 = lo0;
    }
    philox8 s = {x0, x1, x2, x3};
    return s;
}

// Four blocks in stream order from word w of each in lane l of x_w: a 4 × 4
// transpose (the SSE macro's shuffles move the bits as they are).
static inline void store_four_blocks(__m128i x0, __m128i x1, __m128i x2, __m128i x3, uint32_t *out) {
    __m128 r0 = _mm_castsi128_ps(x0), r1 = _mm_castsi128_ps(x1), r2 = _mm_castsi128_ps(x2), r3 = _mm_castsi128_ps(x3);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps((float *)out, r0);
    _mm_storeu_ps((float *)(out + 4), r1);
    _mm_storeu_ps((float *)(out + 8), r2);
    _mm_storeu_ps((float *)(out + 12), r3);
}

// Stream order: the blocks of each 128-bit lane in turn.
T256 void philox8_store_blocks(philox8 s, uint32_t *out) {
    store_four_blocks(_mm256_castsi256_si128(s.x0), _mm256_castsi256_si128(s.x1), _mm256_castsi256_si128(s.x2),
                      _mm256_castsi256_si128(s.x3), out);
    store_four_blocks(_mm256_extracti128_si256(s.x0, 1), _mm256_extracti128_si256(s.x1, 1),
                      _mm256_extracti128_si256(s.x2, 1), _mm256_extracti128_si256(s.x3, 1), out + 16);
}

// In fours: 128-bit lane q of x0, x1, x2, x3 in turn.
T256 void philox8_store_fours(philox8 s, uint32_t *out) {
    _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(s.x0, s.x1, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(s.x2, s.x3, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(s.x0, s.x1, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 24), _mm256_permute2x128_si256(s.x2, s.x3, 0x31));
}

__attribute__((target("avx2")))
static void blocks_avx2(const uint32_t key[5], uint32_t first, const uint32_t *counters, size_t count,
                        int fours, uint32_t *out) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t j = 0; j < count; j += 8) {
        size_t m = count - j < 8 ? count - j : 8;
        __m256i c;
        if (counters) {
            uint32_t some[8] = {0};
            memcpy(some, counters + j, m * sizeof(uint32_t));
            c = _mm256_loadu_si256((const __m256i *)some);
        } else {
            c = _mm256_add_epi32(_mm256_set1_epi32((int)(first + (uint32_t)j)), iota);
        }
        philox8 s = philox8_rounds(c, key);
        uint32_t part[32], *o = m == 8 ? out + 4 * j : part;
        if (fours) philox8_store_fours(s, o); else philox8_store_blocks(s, o);
        if (m < 8) memcpy(out + 4 * j, part, 4 * m * sizeof(uint32_t));
    }
}

#endif

// `count` blocks of counters `first` + j or counters[j], on `path`.
__attribute__((always_inline))
static inline void blocks_on(csgd_path path, const uint32_t key[5], uint32_t first, const uint32_t *counters,
                             size_t count, int fours, uint32_t *out) {
    switch (path) {
#if defined(__x86_64__)
    case CSGD_PATH_AVX512_VAES: blocks_avx512(key, first, counters, count, fours, out); return;
    case CSGD_PATH_AVX2_AES: blocks_avx2(key, first, counters, count, fours, out); return;
#endif
    default: blocks_portable(key, first, counters, count, fours, out); return;
    }
}

void csgd_philox_blocks(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first, size_t count, uint32_t *out) {
    const uint32_t key[5] = {k0, k1, c1, c2, c3};
    blocks_on(path, key, first, 0, count, 0, out);
}

void csgd_philox_fours(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                       uint32_t first, size_t count, uint32_t *out) {
    const uint32_t key[5] = {k0, k1, c1, c2, c3};
    blocks_on(path, key, first, 0, count, 1, out);
}

void csgd_philox_at(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *counters, size_t count, uint32_t *out) {
    const uint32_t key[5] = {k0, k1, c1, c2, c3};
    blocks_on(path, key, 0, counters, count, 0, out);
}
