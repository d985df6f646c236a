// The Gaussian stream (docs/randomness.md): ARS-7 words (Random123's
// AES-round counter-based generator) turned into normals by a 1024-layer
// ziggurat (the tables' LB = 10; the code takes any LB the generator writes).
//
// Element e of a key's stream starts from word e of the main ARS stream: 10
// bits choose a layer, 1 the sign, 21 the position in the layer. Inside the
// layer's inner rectangle (99.57% of words) that is the normal; otherwise the
// element is finished by the wedge test or Marsaglia's tail from its own
// retry blocks, keyed by (e, attempt), so every element depends only on the
// key and e, never on which path, SIMD width or split computed it. The
// portable path (software AES, or AES-NI when the CPU has it: same bits) is
// the reference; the AVX-512 path (VAES) runs the fast test on sixteen lanes,
// queues the misses and finishes them sixteen at a time, with the same integer
// and IEEE single-precision operations in the same order (contraction to fused
// multiply–add is off for the file). The Swift tests compare the paths bit for
// bit. scripts/gen-normal-tables writes the tables (normal_tables.h).

#pragma clang fp contract(off)

#include "CKernels.h"
#include "normal_tables.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define ARS_ROUNDS 7
#define WEYL_LO 0x9E3779B97F4A7C15ull
#define WEYL_HI 0xBB67AE8584CAA73Bull
#define GROUP 64
#define MAX_ATTEMPTS 1000
#define CHUNK 8
#define QUEUE (GROUP * CHUNK + 256)

typedef union { float f; uint32_t u; } fbits;
static inline float fl(uint32_t bits) { fbits b; b.u = bits; return b.f; }
static inline uint32_t bitsOf(float f) { fbits b; b.f = f; return b.u; }

// ------------------------------------------------------------------ AES, ARS

static inline uint8_t xtime(uint8_t a) { return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1B : 0)); }

// One AES encryption round on the state `s` (FIPS-197 byte order, as AES-NI
// loads it): SubBytes, ShiftRows, MixColumns unless `last`, AddRoundKey.
static void aes_round_soft(uint8_t s[16], const uint8_t rk[16], int last) {
    uint8_t t[16];
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++) t[r + 4 * c] = CSGD_AES_SBOX[s[r + 4 * ((c + r) & 3)]];
    if (last) {
        memcpy(s, t, 16);
    } else {
        for (int c = 0; c < 4; c++) {
            uint8_t a0 = t[4 * c], a1 = t[4 * c + 1], a2 = t[4 * c + 2], a3 = t[4 * c + 3];
            s[4 * c] = (uint8_t)(xtime(a0) ^ xtime(a1) ^ a1 ^ a2 ^ a3);
            s[4 * c + 1] = (uint8_t)(a0 ^ xtime(a1) ^ xtime(a2) ^ a2 ^ a3);
            s[4 * c + 2] = (uint8_t)(a0 ^ a1 ^ xtime(a2) ^ xtime(a3) ^ a3);
            s[4 * c + 3] = (uint8_t)(xtime(a0) ^ a0 ^ a1 ^ a2 ^ xtime(a3));
        }
    }
    for (int i = 0; i < 16; i++) s[i] ^= rk[i];
}

static void words_to_bytes(const uint32_t w[4], uint8_t b[16]) {
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++) b[4 * k + j] = (uint8_t)(w[k] >> (8 * j));
}

static void key_bytes(uint64_t lo, uint64_t hi, uint8_t b[16]) {
    for (int j = 0; j < 8; j++) { b[j] = (uint8_t)(lo >> (8 * j)); b[8 + j] = (uint8_t)(hi >> (8 * j)); }
}

static void ars_soft(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, uint32_t out[4]) {
    uint64_t lo = key[0] | (uint64_t)key[1] << 32, hi = key[2] | (uint64_t)key[3] << 32;
    uint8_t s[16], k[16];
    words_to_bytes(ctr, s);
    key_bytes(lo, hi, k);
    for (int i = 0; i < 16; i++) s[i] ^= k[i];
    for (unsigned r = 1; r <= rounds; r++) {
        lo += WEYL_LO; hi += WEYL_HI;
        key_bytes(lo, hi, k);
        aes_round_soft(s, k, r == rounds);
    }
    for (int w = 0; w < 4; w++)
        out[w] = (uint32_t)s[4 * w] | (uint32_t)s[4 * w + 1] << 8 | (uint32_t)s[4 * w + 2] << 16 |
                 (uint32_t)s[4 * w + 3] << 24;
}

#if defined(__x86_64__)
__attribute__((target("aes,sse4.1")))
static void ars_ni(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, uint32_t out[4]) {
    const __m128i weyl = _mm_set_epi64x((long long)WEYL_HI, (long long)WEYL_LO);
    __m128i k = _mm_loadu_si128((const __m128i *)key);
    __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)ctr), k);
    for (unsigned r = 1; r < rounds; r++) {
        k = _mm_add_epi64(k, weyl);
        v = _mm_aesenc_si128(v, k);
    }
    k = _mm_add_epi64(k, weyl);
    v = _mm_aesenclast_si128(v, k);
    _mm_storeu_si128((__m128i *)out, v);
}
#endif

int csgd_has_aesni(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("aes") ? 1 : 0;
#else
    return 0;
#endif
}

void csgd_ars4x32(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, int use_aesni, uint32_t out[4]) {
#if defined(__x86_64__)
    if (use_aesni && csgd_has_aesni()) { ars_ni(key, ctr, rounds, out); return; }
#endif
    (void)use_aesni;
    ars_soft(key, ctr, rounds, out);
}

// ------------------------------------------------------- the key's streams

typedef struct {
    uint32_t k0, k1, c1, c2, c3;
    int aesni;
} stream_key;

static inline void ars(const stream_key *k, const uint32_t key[4], const uint32_t ctr[4], uint32_t out[4]) {
#if defined(__x86_64__)
    if (k->aesni) { ars_ni(key, ctr, ARS_ROUNDS, out); return; }
#endif
    ars_soft(key, ctr, ARS_ROUNDS, out);
}

// Main block B (64-bit): key (k0, k1, c1, 0), counter (B mod 2³², c2, c3, B / 2³²).
static inline void main_block(const stream_key *k, uint64_t b, uint32_t out[4]) {
    const uint32_t key[4] = {k->k0, k->k1, k->c1, 0};
    const uint32_t ctr[4] = {(uint32_t)b, k->c2, k->c3, (uint32_t)(b >> 32)};
    ars(k, key, ctr, out);
}

// Retry block of element e at attempt a: key (k0, k1, c1, 1 + a), counter
// (e mod 2³², c2, c3, e / 2³²).
static inline void retry_block(const stream_key *k, uint64_t e, uint32_t a, uint32_t out[4]) {
    const uint32_t key[4] = {k->k0, k->k1, k->c1, 1 + a};
    const uint32_t ctr[4] = {(uint32_t)e, k->c2, k->c3, (uint32_t)(e >> 32)};
    ars(k, key, ctr, out);
}

// ------------------------------------------------- scalar float functions

// e^t for −88 < t ≤ 0: t = k·ln 2 + s (k by truncation of t·log₂e − ½, Cephes'
// two-part ln 2), Cephes' expf polynomial in s, times 2^k from its bits.
static inline float exp_neg(float t) {
    int32_t k = (int32_t)(t * 1.44269504f - 0.5f);
    float kf = (float)k;
    float s = t - kf * 0.693359375f;
    s = s - kf * -2.12194440e-4f;
    float z = s * s;
    float p = ((((1.9875691500e-4f * s + 1.3981999507e-3f) * s + 8.3334519073e-3f) * s + 4.1665795894e-2f) * s +
               1.6666665459e-1f) * s + 5.0000001201e-1f;
    float y = p * z + s + 1.0f;
    return y * fl((uint32_t)(k + 127) << 23);
}

// ln u for u in (0, 1): u = 2^k·m, m in [√½, √2), ln m = 2 atanh((m−1)/(m+1)).
static inline float log_pos(float u) {
    uint32_t b = bitsOf(u);
    uint32_t ix = b - 0x3F3504F3u;
    int32_t k = (int32_t)ix >> 23;
    float m = fl(b - (ix & 0xFF800000u));
    float e = (float)k;
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float p = (s2 * 0.28571428571f + 0.4f) * s2 + 0.66666666667f;
    float t = s * s2 * p + e * -2.12194440e-4f;
    return (s + s + t) + e * 0.693359375f;
}

// A word: layer i = its low LB bits, sign = bit LB, position u = the top
// 31 − LB bits (LB = 10: 1024 layers, 21 bits of position).
#define LB CSGD_ZIG_LAYER_BITS
#define LAYER_MASK ((1u << LB) - 1u)
#define POS_SHIFT (LB + 1)
#define LAYER(w) ((w) & LAYER_MASK)
#define POS(w) ((w) >> POS_SHIFT)
// Float bits of 2⁻ⁿ.
#define POW2_NEG_BITS(n) ((uint32_t)(127 - (n)) << 23)
// |x| = u·X[i]/2^(31−LB) as ((u·2^(LB+1))·W[i])·X_SCALE (W[i] = X[i]·2^WS,
// the packed entry's low 23 bits; X_SCALE = 2^−(32+WS)): one rounding.
#define X_SCALE_EXP (32 + CSGD_ZIG_WIDTH_BITS)
#define X_SCALE fl(POW2_NEG_BITS(X_SCALE_EXP))
static inline float width_times(uint32_t u, uint32_t i) {
    return ((float)(u << POS_SHIFT) * (float)(CSGD_ZIG_P[i] & 0x7FFFFFu)) * X_SCALE;
}
static inline float with_sign(float x, uint32_t w) { return fl(bitsOf(x) ^ ((w >> LB & 1u) << 31)); }

// Uniform in [0, 1) from a word's top 24 bits, and in (0, 1) from its top 23.
static inline float unit_closed(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }
static inline float unit_open(uint32_t w) { return ((float)(w >> 9) + 0.5f) * 0x1p-23f; }

// The wedge test of layer i ≥ 1 at |x|, with uniform word v.
static inline int wedge_accepts(uint32_t i, float x, uint32_t v) {
    float fb = fl(CSGD_ZIG_FB[i]), ft = fl(CSGD_ZIG_FT[i]);
    float y = fb + unit_closed(v) * (ft - fb);
    return y < exp_neg(-0.5f * (x * x));
}

// Marsaglia's tail beyond r, from attempt a (whose block is `blk`) on.
static float finish_tail(const stream_key *k, uint64_t e, uint32_t a, uint32_t blk[4], uint32_t signWord) {
    const float r = fl(CSGD_ZIG_R_BITS);
    for (;;) {
        float x = -log_pos(unit_open(blk[1])) / r;
        float y = -log_pos(unit_open(blk[2]));
        if (y + y > x * x) return with_sign(r + x, signWord);
        if (++a >= MAX_ATTEMPTS) return 0.0f;
        retry_block(k, e, a, blk);
    }
}

// The normal of element e whose fast test at attempt `a` failed on word w
// (a = 0: w is the main word; a > 0: w is word 0 of retry block `blk`).
static float finish_from(const stream_key *k, uint64_t e, uint32_t a, uint32_t w, uint32_t blk[4], int haveBlock) {
    for (;;) {
        uint32_t i = LAYER(w), u = POS(w);
        float x = width_times(u, i);
        if (u < CSGD_ZIG_K[i]) return with_sign(x, w);
        if (!haveBlock) retry_block(k, e, a, blk);
        if (i == 0) return finish_tail(k, e, a, blk, w);
        if (wedge_accepts(i, x, blk[1])) return with_sign(x, w);
        if (++a >= MAX_ATTEMPTS) return 0.0f;
        retry_block(k, e, a, blk);
        w = blk[0];
        haveBlock = 1;
    }
}

static inline float normal_of_word(const stream_key *k, uint64_t e, uint32_t w) {
    uint32_t i = LAYER(w), u = POS(w);
    if (u < CSGD_ZIG_K[i]) return with_sign(width_times(u, i), w);
    uint32_t blk[4];
    return finish_from(k, e, 0, w, blk, 0);
}

#if defined(__x86_64__)
// The 64 main words of group g by AES-NI: sixteen independent blocks, so the
// rounds of different blocks overlap.
__attribute__((target("aes,sse4.1")))
static void group_words_ni(const stream_key *k, uint32_t g, uint32_t w[GROUP]) {
    const __m128i weyl = _mm_set_epi64x((long long)WEYL_HI, (long long)WEYL_LO);
    __m128i rk[ARS_ROUNDS + 1];
    rk[0] = _mm_setr_epi32((int)k->k0, (int)k->k1, (int)k->c1, 0);
    for (int r = 1; r <= ARS_ROUNDS; r++) rk[r] = _mm_add_epi64(rk[r - 1], weyl);
    uint64_t b0 = (uint64_t)g * 16;
    __m128i v[16];
    for (int b = 0; b < 16; b++) {
        uint64_t blk = b0 + (uint64_t)b;
        v[b] = _mm_xor_si128(_mm_setr_epi32((int)(uint32_t)blk, (int)k->c2, (int)k->c3, (int)(uint32_t)(blk >> 32)), rk[0]);
    }
    for (int r = 1; r < ARS_ROUNDS; r++)
        for (int b = 0; b < 16; b++) v[b] = _mm_aesenc_si128(v[b], rk[r]);
    for (int b = 0; b < 16; b++) _mm_storeu_si128((__m128i *)(w + 4 * b), _mm_aesenclast_si128(v[b], rk[ARS_ROUNDS]));
}
#endif

static void group_words(const stream_key *k, uint32_t g, uint32_t w[GROUP]) {
#if defined(__x86_64__)
    if (k->aesni) { group_words_ni(k, g, w); return; }
#endif
    uint64_t b0 = (uint64_t)g * 16;
    for (int b = 0; b < 16; b++) main_block(k, b0 + (uint64_t)b, w + 4 * b);
}

static void groups_portable(const stream_key *k, uint32_t first, size_t count, float *out) {
    uint32_t w[GROUP];
    for (size_t j = 0; j < count; j++) {
        uint32_t g = first + (uint32_t)j;
        uint64_t e0 = (uint64_t)g * GROUP;
        group_words(k, g, w);
        for (int t = 0; t < GROUP; t++) out[GROUP * j + (size_t)t] = normal_of_word(k, e0 + (uint64_t)t, w[t]);
    }
}

#if defined(__x86_64__)
// AVX2 (with AES-NI for the words): the fast test on eight lanes with the
// packed table, each miss finished by the portable code (about one word in
// 200). Same operations, same bits: u·2^(LB+1) as Float(u)·2^(LB+1) (both
// exact), the unsigned compare by flipping sign bits.
__attribute__((target("avx2,aes,sse4.1")))
static void groups_avx2(const stream_key *k, uint32_t first, size_t count, float *out) {
    const __m256i layerMask = _mm256_set1_epi32((int)LAYER_MASK), mant = _mm256_set1_epi32(0x7FFFFF);
    const __m256i two23 = _mm256_set1_epi32(0x4B000000), top9 = _mm256_set1_epi32((int)0xFF800000u);
    const __m256i flip = _mm256_set1_epi32((int)0x80000000u), sign = _mm256_set1_epi32(1 << LB);
    uint32_t w[GROUP];
    for (size_t j = 0; j < count; j++) {
        uint32_t g = first + (uint32_t)j;
        uint64_t e0 = (uint64_t)g * GROUP;
        group_words_ni(k, g, w);
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
                uint32_t blk[4];
                o[t] = finish_from(k, e0 + (uint64_t)t, 0, w[t], blk, 0);
            }
        }
    }
}
#endif

// Where the normals go: into `out` (z), or fused into error feedback
// (e ← (v + σ·z) + e, with each block's lane sums of v² in acc).
typedef struct {
    float *out;
    const float *v;
    float *e;
    float sigma;
    float *acc;
} sink;

// ---------------------------------------------------------------- AVX-512

#if defined(__x86_64__)
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,vaes,aes")))
#define T512 TARGET512 static inline

// The main key (k0, k1, c1, 0) in each 128-bit lane.
T512 __m512i key_lanes(const stream_key *k) {
    return _mm512_broadcast_i32x4(_mm_setr_epi32((int)k->k0, (int)k->k1, (int)k->c1, 0));
}

// The counter (j, c2, c3, 0) in 128-bit lane j: four consecutive blocks from
// block 0 (callers add the first block, or put per-lane words 0 and 3).
T512 __m512i counter_lanes(const stream_key *k) {
    return _mm512_setr_epi32(0, (int)k->c2, (int)k->c3, 0, 1, (int)k->c2, (int)k->c3, 0,
                             2, (int)k->c2, (int)k->c3, 0, 3, (int)k->c2, (int)k->c3, 0);
}

T512 __m512i weyl512(void) {
    return _mm512_set_epi64((long long)WEYL_HI, (long long)WEYL_LO, (long long)WEYL_HI, (long long)WEYL_LO,
                            (long long)WEYL_HI, (long long)WEYL_LO, (long long)WEYL_HI, (long long)WEYL_LO);
}

// `n` registers of four blocks each through ARS; rk[c]: register c's key in
// every 128-bit lane (per-lane keys allowed), bumped before each round. The
// registers are independent chains: eight of them keep the AES unit busy.
T512 void arsN(int n, __m512i *v, __m512i *rk) {
    const __m512i weyl = weyl512();
    for (int c = 0; c < n; c++) v[c] = _mm512_xor_si512(v[c], rk[c]);
    for (int round = 1; round <= ARS_ROUNDS; round++)
        for (int c = 0; c < n; c++) {
            rk[c] = _mm512_add_epi64(rk[c], weyl);
            v[c] = round < ARS_ROUNDS ? _mm512_aesenc_epi128(v[c], rk[c]) : _mm512_aesenclast_epi128(v[c], rk[c]);
        }
}

T512 __m512i gather(const uint32_t *table, __m512i i) {
    return _mm512_i32gather_epi32(i, table, 4);
}

// |x| lane by lane from the packed entries p (width_times).
T512 __m512 width_times16(__m512i w, __m512i p) {
    // W·X_SCALE as a Float: the bits 2^−(X_SCALE_EXP − 23) + W·X_SCALE
    // (that exponent's unit in the last place is X_SCALE), minus
    // 2^−(X_SCALE_EXP − 23) (exact). Then (u·2^(LB+1))·(W·X_SCALE) rounds
    // once, to ((u·2^(LB+1))·W)·X_SCALE: scaling by a power of two commutes
    // with rounding here (no overflow, no subnormals).
    const __m512i mant = _mm512_set1_epi32(0x7FFFFF), unit = _mm512_set1_epi32((int)POW2_NEG_BITS(X_SCALE_EXP - 23));
    __m512 width = _mm512_sub_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(p, mant, unit, 0xEA)),
                                 _mm512_castsi512_ps(unit));
    __m512 uShifted = _mm512_cvtepu32_ps(_mm512_andnot_si512(_mm512_set1_epi32((1 << POS_SHIFT) - 1), w));
    return _mm512_mul_ps(uShifted, width);
}

// ±x lane by lane: bit LB of w (the sign) shifted to bit 31 and XORed in,
// x ^ ((w << (31 − LB)) & 2³¹), one shift and one ternary op (`with_sign`).
T512 __m512 with_sign16(__m512 x, __m512i w) {
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(x), _mm512_slli_epi32(w, 31 - LB),
                                                         _mm512_set1_epi32((int)0x80000000u), 0x78));
}

// ±|x| lane by lane, and the lanes surely inside their inner rectangle: the
// packed entry's top 9 bits are T = K[i] >> (22 − LB), and w < T·2²³ exactly
// when (u >> (22 − LB)) < T. The misses are tested exactly later, so the
// split changes no result. The loop around it is bound by its instruction
// count as much as by the AES unit and the gather: every operation saved here
// shows (the sign as one shift and one ternary op instead of a test, an XOR
// and a blend made the fused pass 1–4% faster).
T512 __m512 fast16(__m512i w, __mmask16 *inside) {
    __m512i p = gather(CSGD_ZIG_P, _mm512_and_si512(w, _mm512_set1_epi32((int)LAYER_MASK)));
    __m512 x = width_times16(w, p);
    *inside = _mm512_cmplt_epu32_mask(w, _mm512_and_si512(p, _mm512_set1_epi32((int)0xFF800000u)));
    return with_sign16(x, w);
}

// Vector exp_neg: the same operations lane by lane.
T512 __m512 exp_neg16(__m512 t) {
    __m512i k = _mm512_cvttps_epi32(_mm512_sub_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504f)), _mm512_set1_ps(0.5f)));
    __m512 kf = _mm512_cvtepi32_ps(k);
    __m512 s = _mm512_sub_ps(t, _mm512_mul_ps(kf, _mm512_set1_ps(0.693359375f)));
    s = _mm512_sub_ps(s, _mm512_mul_ps(kf, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 z = _mm512_mul_ps(s, s);
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(1.9875691500e-4f), s), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), s), _mm512_set1_ps(1.0f));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(y, scale);
}

// Word k of sixteen blocks held four a register in v[0..3], as one register.
T512 __m512i word_of_blocks(const __m512i v[4], int k) {
    const __m512i idx = _mm512_setr_epi32(k, 4 + k, 8 + k, 12 + k, 16 + k, 20 + k, 24 + k, 28 + k,
                                          k, 4 + k, 8 + k, 12 + k, 16 + k, 20 + k, 24 + k, 28 + k);
    return _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(v[0], idx, v[1]),
                                   _mm512_permutex2var_epi32(v[2], idx, v[3]));
}

// Sixteen per-lane blocks are held four a register, block j of register c
// belonging to lane 4c + j. This permutation brings lane 4c + j's value to
// words 0 and 3 of block j (mask 0x1111 or 0x8888 picks which).
T512 __m512i spread_lanes(int c) {
    return _mm512_setr_epi32(4 * c, 0, 0, 4 * c, 4 * c + 1, 0, 0, 4 * c + 1,
                             4 * c + 2, 0, 0, 4 * c + 2, 4 * c + 3, 0, 0, 4 * c + 3);
}

// Register c's counters (lo, c2, c3, hi) from per-lane lo and hi.
T512 __m512i lane_counters(__m512i ctrBase, int c, __m512i lo, __m512i hi) {
    const __m512i spread = spread_lanes(c);
    return _mm512_mask_permutexvar_epi32(_mm512_mask_permutexvar_epi32(ctrBase, 0x1111, spread, lo), 0x8888, spread, hi);
}

// Lane l's word e_l mod 4 of its own block, the blocks held four a register
// in v[0..3] as `lane_counters` lays them out.
T512 __m512i word_at(const __m512i v[4], __m512i e) {
    __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
                                   _mm512_and_si512(e, _mm512_set1_epi32(3)));
    return _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(v[0], idx, v[1]),
                                   _mm512_permutex2var_epi32(v[2], idx, v[3]));
}

// The misses of a call, waiting to be finished: position in `out` (element
// e0 + position; positions are below 2³¹) and, for an element requeued by a
// rejected wedge test (bit 31 of its position set), the attempt to make next.
// A first miss needs nothing else: its word is recomputed when it is finished,
// which keeps the pass's append to one scalar store.
typedef struct {
    uint32_t pos[QUEUE + 16], word[QUEUE + 16];
    size_t n;
} miss_queue;
#define REQUEUED 0x80000000u

// Finishes the m ≤ 16 queued misses from entry `at`: the retry blocks at their attempt
// and the main blocks again (a first miss's word), the fast test on word 0 for
// later attempts, then the wedge (or, rarely, the
// tail, in scalar code). Returns the rejects' mask; their next attempts are
// in `next`.
T512 __mmask16 finish16(const stream_key *k, uint64_t e0, const miss_queue *q, size_t at, size_t m,
                        __m512i *vposOut, __m512i *nextOut, __m512 *zOut, __mmask16 *doneOut) {
    const __m512i zero = _mm512_setzero_si512();
    __mmask16 live = (__mmask16)((1u << m) - 1u);
    __m512i vpos = _mm512_maskz_loadu_epi32(live, q->pos + at);
    // a requeued entry's attempt (≥ 1); a first miss's is 0
    __mmask16 requeued = _mm512_mask_test_epi32_mask(live, vpos, _mm512_set1_epi32((int)REQUEUED));
    __m512i va = _mm512_maskz_loadu_epi32(requeued, q->word + at);
    vpos = _mm512_and_si512(vpos, _mm512_set1_epi32(0x7FFFFFFF));
    // e = e0 + pos as two 32-bit halves, counter (e_lo, c2, c3, e_hi), key (k0, k1, c1, 1 + a)
    __m512i elo = _mm512_add_epi32(vpos, _mm512_set1_epi32((int)(uint32_t)e0));
    __m512i ehi = _mm512_set1_epi32((int)(uint32_t)(e0 >> 32));
    ehi = _mm512_mask_add_epi32(ehi, _mm512_cmplt_epu32_mask(elo, vpos), ehi, _mm512_set1_epi32(1));
    __m512i key3 = _mm512_add_epi32(va, _mm512_set1_epi32(1));
    // the main block e / 4: counter (b_lo, c2, c3, b_hi), key (k0, k1, c1, 0)
    __m512i blo = _mm512_or_si512(_mm512_srli_epi32(elo, 2), _mm512_slli_epi32(ehi, 30)), bhi = _mm512_srli_epi32(ehi, 2);
    const __m512i keyBase = key_lanes(k), ctrBase = counter_lanes(k);
    __m512i v[8], rk[8];
    // v[0..3]: the retry blocks (key word 3 = 1 + a per lane); v[4..7]: the main blocks
    for (int c = 0; c < 4; c++) {
        v[c] = lane_counters(ctrBase, c, elo, ehi);
        rk[c] = _mm512_mask_permutexvar_epi32(keyBase, 0x8888, spread_lanes(c), key3);
        v[4 + c] = lane_counters(ctrBase, c, blo, bhi);
        rk[4 + c] = keyBase;
    }
    arsN(8, v, rk);
    __m512i r0 = word_of_blocks(v, 0), r1 = word_of_blocks(v, 1), r2 = word_of_blocks(v, 2);
    // the word tested: a first miss's main word, word 0 of a later attempt's retry block
    __m512i vw = _mm512_mask_blend_epi32(requeued, word_at(v + 4, elo), r0);
    __m512i i = _mm512_and_si512(vw, _mm512_set1_epi32((int)LAYER_MASK)), u = _mm512_srli_epi32(vw, POS_SHIFT);
    __m512 x = width_times16(vw, gather(CSGD_ZIG_P, i));
    __mmask16 fast = _mm512_mask_cmplt_epu32_mask(live, u, gather(CSGD_ZIG_K, i));
    __mmask16 tail = _mm512_mask_cmpeq_epi32_mask(live & ~fast, i, zero);
    __mmask16 wedge = live & ~fast & ~tail;
    __m512 fb = _mm512_castsi512_ps(gather(CSGD_ZIG_FB, i)), ft = _mm512_castsi512_ps(gather(CSGD_ZIG_FT, i));
    __m512 unit = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(r1, 8)), _mm512_set1_ps(0x1p-24f));
    __m512 y = _mm512_add_ps(fb, _mm512_mul_ps(unit, _mm512_sub_ps(ft, fb)));
    __m512 fx = exp_neg16(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x)));
    __mmask16 wedgeOK = _mm512_mask_cmp_ps_mask(wedge, y, fx, _CMP_LT_OQ);
    __mmask16 again = wedge & ~wedgeOK;
    __m512i next = _mm512_add_epi32(va, _mm512_set1_epi32(1));
    __mmask16 giveUp = _mm512_mask_cmpge_epu32_mask(again, next, _mm512_set1_epi32(MAX_ATTEMPTS));
    again &= (__mmask16)~giveUp;
    __m512 signedX = with_sign16(x, vw);
    signedX = _mm512_mask_mov_ps(signedX, giveUp, _mm512_setzero_ps());
    if (tail) {
        uint32_t lp[16], lw[16], la[16], l1[16], l2[16];
        float lz[16];
        _mm512_storeu_si512(lp, vpos); _mm512_storeu_si512(lw, vw); _mm512_storeu_si512(la, va);
        _mm512_storeu_si512(l1, r1); _mm512_storeu_si512(l2, r2);
        for (unsigned t = tail; t; t &= t - 1) {
            int lane = __builtin_ctz(t);
            uint32_t blk[4] = {0, l1[lane], l2[lane], 0};
            lz[lane] = finish_tail(k, e0 + lp[lane], la[lane], blk, lw[lane]);
        }
        signedX = _mm512_mask_loadu_ps(signedX, tail, lz);
    }
    *vposOut = vpos; *nextOut = next; *zOut = signedX;
    *doneOut = fast | wedgeOK | giveUp | tail;
    return again;
}

// Finishes queued misses sixteen at a time while at least `keep` + 16 wait
// (`keep` = 0: all of them), and hands each finished one to the sink. A
// round takes whole batches from the queue's back, independent of each
// other (so their long dependency chains overlap); the round's rejects wait
// in `r` and join the queue for the next round.
__attribute__((always_inline)) TARGET512
static inline void drain(const stream_key *k, uint64_t e0, const sink *to, int fused, miss_queue *q, miss_queue *r, size_t keep) {
    while (q->n > keep + (keep ? 15 : 0)) {
        size_t end = q->n, stop = keep ? keep + (end - keep) % 16 : 0, rn = 0;
        for (size_t hi = end; hi > stop;) {
            size_t m = hi - stop < 16 ? hi - stop : 16, at = hi - m;
            __m512i vpos, next;
            __m512 z;
            __mmask16 done;
            __mmask16 again = finish16(k, e0, q, at, m, &vpos, &next, &z, &done);
            if (fused) {
                // these elements' e was left alone by the pass: finish it now
                __m512 a = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), done, vpos, to->v, 4);
                __m512 ev = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), done, vpos, to->e, 4);
                __m512 res = _mm512_add_ps(_mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(to->sigma), z)), ev);
                _mm512_mask_i32scatter_ps(to->e, done, vpos, res, 4);
            } else {
                _mm512_mask_i32scatter_ps(to->out, done, vpos, z, 4);
            }
            _mm512_storeu_si512(r->pos + rn, _mm512_maskz_compress_epi32(again, _mm512_or_si512(vpos, _mm512_set1_epi32((int)REQUEUED))));
            _mm512_storeu_si512(r->word + rn, _mm512_maskz_compress_epi32(again, next));
            rn += (size_t)__builtin_popcount(again);
            hi = at;
        }
        memcpy(q->pos + stop, r->pos, rn * sizeof(uint32_t));
        memcpy(q->word + stop, r->word, rn * sizeof(uint32_t));
        q->n = stop + rn;
    }
}

// Groups first … first + count − 1 (count·64 < 2³²: positions are 32-bit;
// the caller splits longer runs) into the sink. Fused, first and count are
// whole blocks of 16 groups.
__attribute__((always_inline)) TARGET512
static inline void run_avx512(const stream_key *k, uint32_t first, size_t count, const sink *to, int fused) {
    const __m512i rk0 = key_lanes(k), ctrBase = counter_lanes(k);
    const __m512 sigma = _mm512_set1_ps(to->sigma);
    const float *const vp = to->v;
    float *const ep = to->e, *const accp = to->acc, *const outp = to->out;
    miss_queue q, rejects;
    size_t n = 0;
    const uint64_t e0 = (uint64_t)first * GROUP;
    uint32_t words[GROUP * (CHUNK + 1)];   // whole pairs of groups
    __m512 acc = _mm512_setzero_ps();
    for (size_t j0 = 0; j0 < count; j0 += CHUNK) {
        size_t groups = count - j0 < CHUNK ? count - j0 : CHUNK;
        // the words of the chunk (AES throughput), then the fast test on them
        for (size_t j = 0; j < groups; j += 2) {
            // two groups a time: eight independent AES chains
            __m512i v[8], rk[8];
            for (int h = 0; h < 2; h++) {
                // blocks 16g … 16g + 15 share their high counter word (16g is a multiple of 16)
                uint64_t b0 = (uint64_t)(first + (uint32_t)(j0 + j + (size_t)h)) * 16;
                __m512i ctr = _mm512_mask_add_epi32(ctrBase, 0x1111, ctrBase, _mm512_set1_epi32((int)(uint32_t)b0));
                ctr = _mm512_mask_mov_epi32(ctr, 0x8888, _mm512_set1_epi32((int)(uint32_t)(b0 >> 32)));
                for (int c = 0; c < 4; c++) {
                    v[4 * h + c] = _mm512_mask_add_epi32(ctr, 0x1111, ctr, _mm512_set1_epi32(4 * c));
                    rk[4 * h + c] = rk0;
                }
            }
            arsN(8, v, rk);
            for (int c = 0; c < 8; c++) _mm512_storeu_si512(words + GROUP * j + 16 * c, v[c]);
        }
        for (size_t g = 0; g < groups; g++) {
            const uint32_t base0 = (uint32_t)(GROUP * (j0 + g));
            __mmask16 inside[4];
            for (int h = 0; h < 4; h++) {
                const uint32_t base = base0 + 16 * (uint32_t)h;
                __m512 z = fast16(_mm512_loadu_si512(words + GROUP * g + 16 * (size_t)h), &inside[h]);
                if (fused) {
                    // Σv² lane by lane, and e ← (v + σ·z) + e where z is final
                    __m512 a = _mm512_loadu_ps(vp + base);
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(a, a));
                    __m512 r2 = _mm512_add_ps(_mm512_add_ps(a, _mm512_mul_ps(sigma, z)), _mm512_loadu_ps(ep + base));
                    _mm512_mask_storeu_ps(ep + base, inside[h], r2);
                } else {
                    _mm512_storeu_ps(outp + base, z);
                }
            }
            if (fused && (base0 + GROUP) % 1024 == 0) {
                _mm512_storeu_ps(accp + 16 * (base0 / 1024), acc);   // the block just ended, 16 lanes
                acc = _mm512_setzero_ps();
            }
            // the group's misses in order: the first two without a branch
            // (a group has about one), the rest in a loop
            uint64_t miss = ~((uint64_t)inside[0] | (uint64_t)inside[1] << 16 | (uint64_t)inside[2] << 32 |
                              (uint64_t)inside[3] << 48);
            q.pos[n] = base0 + (uint32_t)__builtin_ctzll(miss | (uint64_t)1 << 63);
            n += miss != 0;
            miss &= miss - 1;
            q.pos[n] = base0 + (uint32_t)__builtin_ctzll(miss | (uint64_t)1 << 63);
            n += miss != 0;
            miss &= miss - 1;
            if (__builtin_expect(miss != 0, 0))
                for (; miss; miss &= miss - 1) q.pos[n++] = base0 + (uint32_t)__builtin_ctzll(miss);
        }
        if (n > QUEUE - GROUP * CHUNK - 16) { q.n = n; drain(k, e0, to, fused, &q, &rejects, 16); n = q.n; }
    }
    q.n = n;
    drain(k, e0, to, fused, &q, &rejects, 0);
}

TARGET512 static void groups_avx512_run(const stream_key *k, uint32_t first, size_t count, float *out) {
    sink to = {out, 0, 0, 0, 0};
    run_avx512(k, first, count, &to, 0);
}

TARGET512 static void compensate_avx512_run(const stream_key *k, uint32_t first, size_t count, const sink *to) {
    run_avx512(k, first, count, to, 1);
}

// Runs that neither wrap past 2³² groups nor number 2²⁵ groups or more.
static size_t run_length(uint32_t first, size_t count) {
    size_t run = count < ((size_t)1 << 25) ? count : ((size_t)1 << 25);
    if ((uint64_t)first + run > 0x100000000ull) run = (size_t)(0x100000000ull - first);
    return run;
}

static void groups_avx512(const stream_key *k, uint32_t first, size_t count, float *out) {
    while (count > 0) {
        size_t run = run_length(first, count);
        groups_avx512_run(k, first, run, out);
        first += (uint32_t)run;
        out += GROUP * run;
        count -= run;
    }
}

static void compensate_avx512(const stream_key *k, uint32_t first, size_t count, sink to) {
    while (count > 0) {
        size_t run = run_length(first, count);   // whole blocks: first and 2³², 2²⁵ are multiples of 16
        compensate_avx512_run(k, first, run, &to);
        first += (uint32_t)run;
        to.v += GROUP * run; to.e += GROUP * run; to.acc += run;   // 16 lanes a block of 16 groups
        count -= run;
    }
}
#endif

// The fused pass without AVX-512: a block's normals (portable or AVX2), then
// the same Float operations lane by lane in the same order.
static void compensate_blocks(const stream_key *k, uint32_t first, size_t count, sink to, int avx2) {
    float z[1024];
    for (size_t b = 0; b < count / 16; b++) {
#if defined(__x86_64__)
        if (avx2) groups_avx2(k, first + (uint32_t)(16 * b), 16, z);
        else
#endif
        groups_portable(k, first + (uint32_t)(16 * b), 16, z);
        const float *v = to.v + 1024 * b;
        float *e = to.e + 1024 * b;
        float acc[16] = {0};
        for (size_t i = 0; i < 1024; i += 16)
            for (size_t l = 0; l < 16; l++) {
                float a = v[i + l];
                acc[l] = acc[l] + a * a;
                e[i + l] = (a + to.sigma * z[i + l]) + e[i + l];
            }
        memcpy(to.acc + 16 * b, acc, sizeof acc);
    }
}

#if defined(__x86_64__)
// Elements at sixteen arbitrary positions a time: their main blocks by VAES
// (per-lane counters), each lane's word picked from its block, the fast test
// on sixteen lanes, the misses finished by the portable code.
TARGET512 static void at_avx512(const stream_key *k, const uint32_t *elements, size_t count, float *out) {
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

// Elements at arbitrary positions one by one (the others' remainder too).
static void at_each(const stream_key *k, const uint32_t *elements, size_t count, float *out) {
    for (size_t j = 0; j < count; j++) {
        uint32_t w[4];
        main_block(k, elements[j] >> 2, w);
        out[j] = normal_of_word(k, elements[j], w[elements[j] & 3]);
    }
}

#if defined(__x86_64__)
// Elements eight at a time by AES-NI: their main blocks are independent, so
// the rounds of the eight overlap.
__attribute__((target("aes,sse4.1")))
static void at_ni(const stream_key *k, const uint32_t *elements, size_t count, float *out) {
    const __m128i weyl = _mm_set_epi64x((long long)WEYL_HI, (long long)WEYL_LO);
    __m128i rk[ARS_ROUNDS + 1];
    rk[0] = _mm_setr_epi32((int)k->k0, (int)k->k1, (int)k->c1, 0);
    for (int r = 1; r <= ARS_ROUNDS; r++) rk[r] = _mm_add_epi64(rk[r - 1], weyl);
    size_t j = 0;
    for (; j + 8 <= count; j += 8) {
        __m128i v[8];
        for (int b = 0; b < 8; b++)
            v[b] = _mm_xor_si128(_mm_setr_epi32((int)(elements[j + b] >> 2), (int)k->c2, (int)k->c3, 0), rk[0]);
        for (int r = 1; r < ARS_ROUNDS; r++)
            for (int b = 0; b < 8; b++) v[b] = _mm_aesenc_si128(v[b], rk[r]);
        uint32_t w[4];
        for (int b = 0; b < 8; b++) {
            _mm_storeu_si128((__m128i *)w, _mm_aesenclast_si128(v[b], rk[ARS_ROUNDS]));
            out[j + b] = normal_of_word(k, elements[j + b], w[elements[j + b] & 3]);
        }
    }
    at_each(k, elements + j, count - j, out + j);
}
#endif

void csgd_normal_at(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *elements, size_t count, float *out) {
    stream_key k = {k0, k1, c1, c2, c3, 0};
#if defined(__x86_64__)
    if (path == 1) { k.aesni = 1; at_avx512(&k, elements, count, out); return; }
    k.aesni = path == 2 ? 0 : csgd_has_aesni();
    if (k.aesni) { at_ni(&k, elements, count, out); return; }
#endif
    at_each(&k, elements, count, out);
}

int csgd_normal_vector_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("vaes") && __builtin_cpu_supports("aes"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("aes")) return 1;
#endif
    return 0;
}

void csgd_normal_compensate(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                            uint32_t first_group, size_t groups, float sigma, const float *v, float *e, float *acc) {
    stream_key k = {k0, k1, c1, c2, c3, 0};
    sink to = {0, v, e, sigma, acc};
#if defined(__x86_64__)
    if (path == 1) { k.aesni = 1; compensate_avx512(&k, first_group, groups, to); return; }
    if (path == 3) { k.aesni = 1; compensate_blocks(&k, first_group, groups, to, 1); return; }
    k.aesni = path == 2 ? 0 : csgd_has_aesni();
#endif
    compensate_blocks(&k, first_group, groups, to, 0);
}

void csgd_normal_groups(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first_group, size_t groups, float *out) {
    stream_key k = {k0, k1, c1, c2, c3, 0};
#if defined(__x86_64__)
    if (path == 1) { k.aesni = 1; groups_avx512(&k, first_group, groups, out); return; }
    if (path == 3) { k.aesni = 1; groups_avx2(&k, first_group, groups, out); return; }
    k.aesni = path == 2 ? 0 : csgd_has_aesni();
#endif
    groups_portable(&k, first_group, groups, out);
}

const uint32_t *csgd_normal_table(int which) {
    switch (which) {
    case 0: return CSGD_ZIG_P;
    case 1: return CSGD_ZIG_K;
    case 2: return CSGD_ZIG_FB;
    case 3: return CSGD_ZIG_FT;
    default: return 0;
    }
}

uint32_t csgd_normal_tail_start_bits(void) { return CSGD_ZIG_R_BITS; }

int csgd_normal_layer_bits(void) { return CSGD_ZIG_LAYER_BITS; }

int csgd_normal_width_bits(void) { return CSGD_ZIG_WIDTH_BITS; }
