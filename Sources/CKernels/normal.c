// The Gaussian stream (docs/randomness.md): ARS-7 words (Random123's
// AES-round counter-based generator, Salmon et al., SC'11) turned into
// normals by a 1024-layer ziggurat (Marsaglia and Tsang, 2000; the tables'
// LB = 10, and the code takes any LB the generator writes).
//
// Element e of a key's stream starts from word e of the main ARS stream: 10
// bits choose a layer, 1 the sign, 21 the position in the layer. Inside the
// layer's inner rectangle (99.57% of words) that is the normal; otherwise the
// element is finished by the wedge test or Marsaglia's tail from its own
// retry blocks, keyed by (e, attempt), so every element depends only on the
// key and e, never on which path, SIMD width or split computed it.
//
// This file holds ARS (software AES and AES-NI), the portable path (element by
// element; AES-NI when the CPU has it, same bits), which is the reference, the
// scalar finishing every path uses for its misses, and the entry points that
// pick a path. normal_avx2.c and normal_avx512.c hold the vector paths, with
// the same integer and IEEE single-precision operations in the same order
// (normal_internal.h turns contraction to fused multiply–add off); the Swift
// tests compare the paths bit for bit. scripts/gen-normal-tables writes the
// tables (normal_tables.h).

#include "normal_internal.h"

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

void csgd_ars4x32(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, int use_aesni, uint32_t out[4]) {
#if defined(__x86_64__)
    if (use_aesni && csgd_has_aesni()) { ars_ni(key, ctr, rounds, out); return; }
#endif
    (void)use_aesni;
    ars_soft(key, ctr, rounds, out);
}

// ------------------------------------------------------- the key's streams

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

// ------------------------------------------- finishing the fast test's misses

// Uniform in [0, 1) from a word's top 24 bits, and in (0, 1) from its top 23.
static inline float unit_closed(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }
static inline float unit_open(uint32_t w) { return ((float)(w >> 9) + 0.5f) * 0x1p-23f; }

// The wedge test of layer i ≥ 1 at |x|, with uniform word v.
static inline int wedge_accepts(uint32_t i, float x, uint32_t v) {
    float fb = fl(CSGD_ZIG_FB[i]), ft = fl(CSGD_ZIG_FT[i]);
    float y = fb + unit_closed(v) * (ft - fb);
    return y < exp_neg(-0.5f * (x * x));
}

// Marsaglia's tail (normal_internal.h).
float normal_finish_tail(const stream_key *k, uint64_t e, uint32_t a, uint32_t blk[4], uint32_t signWord) {
    const float r = fl(CSGD_ZIG_R_BITS);
    for (;;) {
        float x = -log_pos(unit_open(blk[1])) / r;
        float y = -log_pos(unit_open(blk[2]));
        if (y + y > x * x) return with_sign(r + x, signWord);
        if (++a >= MAX_ATTEMPTS) return 0.0f;
        retry_block(k, e, a, blk);
    }
}

// The exact test, the wedge and the attempts after it (normal_internal.h):
// attempt a tests word w, the main word at a = 0 and word 0 of the attempt's
// retry block after.
float normal_finish_miss(const stream_key *k, uint64_t e, uint32_t w) {
    uint32_t a = 0, blk[4];
    int haveBlock = 0;
    for (;;) {
        uint32_t i = LAYER(w), u = POS(w);
        float x = width_times(u, i);
        if (u < CSGD_ZIG_K[i]) return with_sign(x, w);
        if (!haveBlock) retry_block(k, e, a, blk);
        if (i == 0) return normal_finish_tail(k, e, a, blk, w);
        if (wedge_accepts(i, x, blk[1])) return with_sign(x, w);
        if (++a >= MAX_ATTEMPTS) return 0.0f;
        retry_block(k, e, a, blk);
        w = blk[0];
        haveBlock = 1;
    }
}

// ------------------------------------------------------------ portable path

#if defined(__x86_64__)
// The 64 main words of group g by AES-NI: sixteen independent blocks, so the
// rounds of different blocks overlap.
__attribute__((target("aes,sse4.1")))
void normal_group_words_ni(const stream_key *k, uint32_t g, uint32_t w[GROUP]) {
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
    if (k->aesni) { normal_group_words_ni(k, g, w); return; }
#endif
    uint64_t b0 = (uint64_t)g * 16;
    for (int b = 0; b < 16; b++) main_block(k, b0 + (uint64_t)b, w + 4 * b);
}

void normal_groups_portable(const stream_key *k, uint32_t first, size_t count, float *out) {
    uint32_t w[GROUP];
    for (size_t j = 0; j < count; j++) {
        uint32_t g = first + (uint32_t)j;
        uint64_t e0 = (uint64_t)g * GROUP;
        group_words(k, g, w);
        for (int t = 0; t < GROUP; t++) out[GROUP * j + (size_t)t] = normal_of_word(k, e0 + (uint64_t)t, w[t]);
    }
}

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

// ------------------------------------------------------------ entry points

void csgd_normal_at(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *elements, size_t count, float *out) {
    stream_key k = stream_key_on(path, k0, k1, c1, c2, c3);
#if defined(__x86_64__)
    if (path == CSGD_PATH_AVX512_VAES) { normal_at_avx512(&k, elements, count, out); return; }
    if (k.aesni) { at_ni(&k, elements, count, out); return; }
#endif
    at_each(&k, elements, count, out);
}

void csgd_normal_groups(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first_group, size_t groups, float *out) {
    stream_key k = stream_key_on(path, k0, k1, c1, c2, c3);
#if defined(__x86_64__)
    if (path == CSGD_PATH_AVX512_VAES) { normal_groups_avx512(&k, first_group, groups, out); return; }
    if (path == CSGD_PATH_AVX2_AES) { normal_groups_avx2(&k, first_group, groups, out); return; }
#endif
    normal_groups_portable(&k, first_group, groups, out);
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
