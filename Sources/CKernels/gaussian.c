// The Gaussian stream of GaussianSIMD (Philox4x32-10 + Box–Muller, see
// docs/randomness.md) on AVX-512F and AVX2, chosen at run time.
//
// Swift cannot compile one function for a wider instruction set than the
// module's target and pick it at run time; C can (`target` attributes and
// `__builtin_cpu_supports`), so this one hot kernel lives here. It performs
// exactly the integer and IEEE single-precision operations of the Swift
// construction, in the same order, with no fused multiply–add (contraction is
// off for the whole file), so every normal is bit for bit the one
// `GaussianSIMD.group` computes; the Swift tests compare the two.

#pragma clang fp contract(off)

#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// The Float constants of GaussianSIMD.log and .boxMuller, as bit patterns
// (exactly the Floats the Swift literals round to).
#define K_2_7      0x3E924925u  // 0.28571428571
#define K_2_5      0x3ECCCCCDu  // 0.4
#define K_2_3      0x3F2AAAABu  // 0.66666666667
#define K_LN2_LO   0xB95E8083u  // -2.12194440e-4
#define K_LN2_HI   0x3F318000u  // 0.693359375
#define K_2M16     0x37800000u  // 2^-16
#define K_2M32     0x2F800000u  // 2^-32
#define K_HALF     0x3F000000u  // 0.5
#define K_ONE      0x3F800000u  // 1
#define K_MINUS2   0xC0000000u  // -2
#define K_ANGLE    0x34C90FDAu  // 2π·2^-24
#define K_SIN_A    0xB94CA1F9u  // -1.9515295891e-4
#define K_SIN_B    0x3C08839Eu  // 8.3321608736e-3
#define K_SIN_C    0x3E2AAAA3u  // 1.6666654611e-1
#define K_COS_A    0x37CCF5CEu  // 2.443315711809948e-5
#define K_COS_B    0x3AB6061Au  // 1.388731625493765e-3
#define K_COS_C    0x3D2AAAA5u  // 4.166664568298827e-2

// ---------------------------------------------------------------- AVX-512F

#define T512 __attribute__((target("avx512f"), always_inline)) static inline

T512 __m512 f512(uint32_t bits) { return _mm512_castsi512_ps(_mm512_set1_epi32((int)bits)); }

// Ten Philox rounds on `n` chains of eight blocks (words in the low halves of
// 64-bit lanes; `pmuludq` reads only those, so high halves may hold anything).
T512 void philox512(int n, uint32_t k0, uint32_t k1, __m512i *x0, __m512i *x1, __m512i *x2, __m512i *x3) {
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    uint32_t a = k0, b = k1;
    for (int r = 0; r < 10; r++) {
        if (r > 0) { a += PHILOX_W0; b += PHILOX_W1; }
        const __m512i va = _mm512_set1_epi64(a), vb = _mm512_set1_epi64(b);
        for (int c = 0; c < n; c++) {
            __m512i p0 = _mm512_mul_epu32(x0[c], m0);
            __m512i p1 = _mm512_mul_epu32(x2[c], m1);
            x0[c] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1[c], va, 0x96);
            x2[c] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3[c], vb, 0x96);
            x1[c] = p1;
            x3[c] = p0;
        }
    }
}

// Sixteen 32-bit words: the low halves of lo's and then hi's 64-bit lanes.
T512 __m512i narrow512(__m512i lo, __m512i hi) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_epi32(lo, idx, hi);
}

// GaussianSIMD.log on sixteen lanes.
T512 __m512 log512(__m512 u) {
    __m512i b = _mm512_castps_si512(u);
    __m512i ix = _mm512_sub_epi32(b, _mm512_set1_epi32(0x3F3504F3));
    __m512i k = _mm512_srai_epi32(ix, 23);
    __m512 m = _mm512_castsi512_ps(_mm512_sub_epi32(b, _mm512_and_si512(ix, _mm512_set1_epi32((int)0xFF800000u))));
    __m512 e = _mm512_cvtepi32_ps(k);
    __m512 one = f512(K_ONE);
    __m512 s = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
    __m512 s2 = _mm512_mul_ps(s, s);
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_add_ps(_mm512_mul_ps(s2, f512(K_2_7)), f512(K_2_5)), s2), f512(K_2_3));
    __m512 t = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(s, s2), p), _mm512_mul_ps(e, f512(K_LN2_LO)));
    return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s, s), t), _mm512_mul_ps(e, f512(K_LN2_HI)));
}

// GaussianSIMD.boxMuller on sixteen lanes: (R cos θ, R sin θ) into out[0..16), out[16..32).
T512 void boxMuller512(__m512i w0, __m512i w1, float *out) {
    __m512 hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(w0, 16));
    __m512 lo = _mm512_cvtepi32_ps(_mm512_and_si512(w0, _mm512_set1_epi32(0xFFFF)));
    __m512 u = _mm512_add_ps(_mm512_mul_ps(hi, f512(K_2M16)), _mm512_mul_ps(_mm512_add_ps(lo, f512(K_HALF)), f512(K_2M32)));
    __m512 r = _mm512_sqrt_ps(_mm512_mul_ps(f512(K_MINUS2), log512(u)));
    __m512i c = _mm512_srli_epi32(w1, 8);
    __m512i q = _mm512_srli_epi32(_mm512_add_epi32(c, _mm512_set1_epi32(1 << 21)), 22);
    __m512i off = _mm512_sub_epi32(c, _mm512_slli_epi32(q, 22));
    __m512 phi = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(off), f512(K_HALF)), f512(K_ANGLE));
    __m512 z = _mm512_mul_ps(phi, phi);
    __m512 s = _mm512_add_ps(phi, _mm512_mul_ps(_mm512_mul_ps(phi, z),
        _mm512_sub_ps(_mm512_mul_ps(_mm512_add_ps(_mm512_mul_ps(z, f512(K_SIN_A)), f512(K_SIN_B)), z), f512(K_SIN_C))));
    __m512 co = _mm512_add_ps(_mm512_sub_ps(f512(K_ONE), _mm512_mul_ps(f512(K_HALF), z)),
        _mm512_mul_ps(_mm512_mul_ps(z, z),
            _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(z, f512(K_COS_A)), f512(K_COS_B)), z), f512(K_COS_C))));
    __m512i swap = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_and_si512(q, _mm512_set1_epi32(1)));
    __m512i sb = _mm512_castps_si512(s), cb = _mm512_castps_si512(co);
    __m512i cosine = _mm512_xor_si512(_mm512_or_si512(_mm512_andnot_si512(swap, cb), _mm512_and_si512(sb, swap)),
        _mm512_slli_epi32(_mm512_and_si512(_mm512_add_epi32(q, _mm512_set1_epi32(1)), _mm512_set1_epi32(2)), 30));
    __m512i sine = _mm512_xor_si512(_mm512_or_si512(_mm512_andnot_si512(swap, sb), _mm512_and_si512(cb, swap)),
        _mm512_slli_epi32(_mm512_and_si512(q, _mm512_set1_epi32(2)), 30));
    _mm512_storeu_ps(out, _mm512_mul_ps(r, _mm512_castsi512_ps(cosine)));
    _mm512_storeu_ps(out + 16, _mm512_mul_ps(r, _mm512_castsi512_ps(sine)));
}

// `n` groups (n = 1 or 2) starting at group g: 2n chains of eight blocks.
T512 void groups512(int n, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t g, float *out) {
    __m512i x0[4], x1[4], x2[4], x3[4];
    const __m512i iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    for (int c = 0; c < 2 * n; c++) {
        uint32_t first = g * 16u + 8u * (uint32_t)c;   // wraps as the Swift UInt32 block index does
        x0[c] = _mm512_add_epi64(_mm512_set1_epi64(first), iota);
        x1[c] = _mm512_set1_epi64(c1);
        x2[c] = _mm512_set1_epi64(c2);
        x3[c] = _mm512_set1_epi64(c3);
    }
    philox512(2 * n, k0, k1, x0, x1, x2, x3);
    for (int j = 0; j < n; j++) {
        float *o = out + 64 * j;
        boxMuller512(narrow512(x0[2 * j], x0[2 * j + 1]), narrow512(x1[2 * j], x1[2 * j + 1]), o);
        boxMuller512(narrow512(x2[2 * j], x2[2 * j + 1]), narrow512(x3[2 * j], x3[2 * j + 1]), o + 32);
    }
}

__attribute__((target("avx512f")))
static void gaussian512(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t g, size_t groups, float *out) {
    size_t j = 0;
    for (; j + 2 <= groups; j += 2) groups512(2, k0, k1, c1, c2, c3, g + (uint32_t)j, out + 64 * j);
    if (j < groups) groups512(1, k0, k1, c1, c2, c3, g + (uint32_t)j, out + 64 * j);
}

// ---------------------------------------------------------------- AVX2

#define T256 __attribute__((target("avx2"), always_inline)) static inline

T256 __m256 f256(uint32_t bits) { return _mm256_castsi256_ps(_mm256_set1_epi32((int)bits)); }

// As philox512 with chains of four blocks.
T256 void philox256(int n, uint32_t k0, uint32_t k1, __m256i *x0, __m256i *x1, __m256i *x2, __m256i *x3) {
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    uint32_t a = k0, b = k1;
    for (int r = 0; r < 10; r++) {
        if (r > 0) { a += PHILOX_W0; b += PHILOX_W1; }
        const __m256i va = _mm256_set1_epi64x(a), vb = _mm256_set1_epi64x(b);
        for (int c = 0; c < n; c++) {
            __m256i p0 = _mm256_mul_epu32(x0[c], m0);
            __m256i p1 = _mm256_mul_epu32(x2[c], m1);
            x0[c] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), x1[c]), va);
            x2[c] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), x3[c]), vb);
            x1[c] = p1;
            x3[c] = p0;
        }
    }
}

// Eight 32-bit words: the low halves of lo's and then hi's 64-bit lanes.
T256 __m256i narrow256(__m256i lo, __m256i hi) {
    __m256 t = _mm256_shuffle_ps(_mm256_castsi256_ps(lo), _mm256_castsi256_ps(hi), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_permute4x64_epi64(_mm256_castps_si256(t), _MM_SHUFFLE(3, 1, 2, 0));
}

T256 __m256 log256(__m256 u) {
    __m256i b = _mm256_castps_si256(u);
    __m256i ix = _mm256_sub_epi32(b, _mm256_set1_epi32(0x3F3504F3));
    __m256i k = _mm256_srai_epi32(ix, 23);
    __m256 m = _mm256_castsi256_ps(_mm256_sub_epi32(b, _mm256_and_si256(ix, _mm256_set1_epi32((int)0xFF800000u))));
    __m256 e = _mm256_cvtepi32_ps(k);
    __m256 one = f256(K_ONE);
    __m256 s = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
    __m256 s2 = _mm256_mul_ps(s, s);
    __m256 p = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(s2, f256(K_2_7)), f256(K_2_5)), s2), f256(K_2_3));
    __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(s, s2), p), _mm256_mul_ps(e, f256(K_LN2_LO)));
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s, s), t), _mm256_mul_ps(e, f256(K_LN2_HI)));
}

// Eight lanes: (R cos θ, R sin θ) into cosOut[0..8), sinOut[0..8).
T256 void boxMuller256(__m256i w0, __m256i w1, float *cosOut, float *sinOut) {
    __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(w0, 16));
    __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(w0, _mm256_set1_epi32(0xFFFF)));
    __m256 u = _mm256_add_ps(_mm256_mul_ps(hi, f256(K_2M16)), _mm256_mul_ps(_mm256_add_ps(lo, f256(K_HALF)), f256(K_2M32)));
    __m256 r = _mm256_sqrt_ps(_mm256_mul_ps(f256(K_MINUS2), log256(u)));
    __m256i c = _mm256_srli_epi32(w1, 8);
    __m256i q = _mm256_srli_epi32(_mm256_add_epi32(c, _mm256_set1_epi32(1 << 21)), 22);
    __m256i off = _mm256_sub_epi32(c, _mm256_slli_epi32(q, 22));
    __m256 phi = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(off), f256(K_HALF)), f256(K_ANGLE));
    __m256 z = _mm256_mul_ps(phi, phi);
    __m256 s = _mm256_add_ps(phi, _mm256_mul_ps(_mm256_mul_ps(phi, z),
        _mm256_sub_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(z, f256(K_SIN_A)), f256(K_SIN_B)), z), f256(K_SIN_C))));
    __m256 co = _mm256_add_ps(_mm256_sub_ps(f256(K_ONE), _mm256_mul_ps(f256(K_HALF), z)),
        _mm256_mul_ps(_mm256_mul_ps(z, z),
            _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(z, f256(K_COS_A)), f256(K_COS_B)), z), f256(K_COS_C))));
    __m256i swap = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_and_si256(q, _mm256_set1_epi32(1)));
    __m256i sb = _mm256_castps_si256(s), cb = _mm256_castps_si256(co);
    __m256i cosine = _mm256_xor_si256(_mm256_or_si256(_mm256_andnot_si256(swap, cb), _mm256_and_si256(sb, swap)),
        _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(q, _mm256_set1_epi32(1)), _mm256_set1_epi32(2)), 30));
    __m256i sine = _mm256_xor_si256(_mm256_or_si256(_mm256_andnot_si256(swap, sb), _mm256_and_si256(cb, swap)),
        _mm256_slli_epi32(_mm256_and_si256(q, _mm256_set1_epi32(2)), 30));
    _mm256_storeu_ps(cosOut, _mm256_mul_ps(r, _mm256_castsi256_ps(cosine)));
    _mm256_storeu_ps(sinOut, _mm256_mul_ps(r, _mm256_castsi256_ps(sine)));
}

// One group: four chains of four blocks; blocks 0–7 and 8–15 each give one
// eight-lane Box–Muller per word pair.
__attribute__((target("avx2")))
static void gaussian256(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t g, size_t groups, float *out) {
    const __m256i iota = _mm256_setr_epi64x(0, 1, 2, 3);
    for (size_t j = 0; j < groups; j++, out += 64) {
        __m256i x0[4], x1[4], x2[4], x3[4];
        uint32_t group = g + (uint32_t)j;
        for (int c = 0; c < 4; c++) {
            uint32_t first = group * 16u + 4u * (uint32_t)c;
            x0[c] = _mm256_add_epi64(_mm256_set1_epi64x(first), iota);
            x1[c] = _mm256_set1_epi64x(c1);
            x2[c] = _mm256_set1_epi64x(c2);
            x3[c] = _mm256_set1_epi64x(c3);
        }
        philox256(4, k0, k1, x0, x1, x2, x3);
        for (int h = 0; h < 2; h++) {
            boxMuller256(narrow256(x0[2 * h], x0[2 * h + 1]), narrow256(x1[2 * h], x1[2 * h + 1]), out + 8 * h, out + 16 + 8 * h);
            boxMuller256(narrow256(x2[2 * h], x2[2 * h + 1]), narrow256(x3[2 * h], x3[2 * h + 1]), out + 32 + 8 * h, out + 48 + 8 * h);
        }
    }
}

int csgd_gaussian_vector_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
    return 0;
}

void csgd_gaussian_groups_avx512(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                                 uint32_t first_group, size_t groups, float *out) {
    gaussian512(k0, k1, c1, c2, c3, first_group, groups, out);
}

void csgd_gaussian_groups_avx2(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                               uint32_t first_group, size_t groups, float *out) {
    gaussian256(k0, k1, c1, c2, c3, first_group, groups, out);
}

#else

int csgd_gaussian_vector_level(void) { return 0; }

void csgd_gaussian_groups_avx512(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                                 uint32_t first_group, size_t groups, float *out) {
    (void)k0; (void)k1; (void)c1; (void)c2; (void)c3; (void)first_group; (void)groups; (void)out;
    __builtin_trap();
}

void csgd_gaussian_groups_avx2(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                               uint32_t first_group, size_t groups, float *out) {
    csgd_gaussian_groups_avx512(k0, k1, c1, c2, c3, first_group, groups, out);
}

#endif
