// What the files of the Gaussian stream share (normal.c: the portable path,
// the scalar finishing and the entry points; normal_avx2.c; normal_avx512.h
// and .c; error_feedback.c, the fused noisy pass): constants, the key, the
// word layout of the 1024-layer ziggurat and its tables, and the functions
// one file's path borrows from another's. docs/randomness.md gives the
// construction.
//
// Every path uses the same integer and IEEE single-precision operations in
// the same order, so contraction to fused multiply–add is off in every file
// that includes this header (from here on).

#ifndef CSGD_NORMAL_INTERNAL_H
#define CSGD_NORMAL_INTERNAL_H

#pragma clang fp contract(off)

#include "normal.h"
#include "normal_tables.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Defined in one file of the library, called from another; not exported.
#define INTERNAL __attribute__((visibility("hidden")))

#define ARS_ROUNDS 7
#define WEYL_LO 0x9E3779B97F4A7C15ull
#define WEYL_HI 0xBB67AE8584CAA73Bull
// Elements a group: sixteen ARS blocks.
#define GROUP 64
#define MAX_ATTEMPTS 1000

typedef union { float f; uint32_t u; } fbits;
static inline float fl(uint32_t bits) { fbits b; b.u = bits; return b.f; }
static inline uint32_t bitsOf(float f) { fbits b; b.f = f; return b.u; }

// A stream's key and counter words, and whether its scalar ARS blocks use
// AES-NI.
typedef struct {
    uint32_t k0, k1, c1, c2, c3;
    int aesni;
} stream_key;

// The key of a call on `path`: AES-NI on the vector paths and, when the CPU
// has it, on the portable one; software AES on CSGD_PATH_PORTABLE_SOFTWARE_AES.
static inline stream_key stream_key_on(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3) {
    int aesni = path == CSGD_PATH_PORTABLE ? csgd_has_aesni() : path != CSGD_PATH_PORTABLE_SOFTWARE_AES;
    stream_key k = {k0, k1, c1, c2, c3, aesni};
    return k;
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

// normal.c: the scalar finishing of an element whose fast test missed.
// Marsaglia's tail beyond r from attempt a (whose retry block is `blk`) on.
INTERNAL float normal_finish_tail(const stream_key *k, uint64_t e, uint32_t a, uint32_t blk[4], uint32_t signWord);
// The normal of element e whose main word w missed a fast test.
INTERNAL float normal_finish_miss(const stream_key *k, uint64_t e, uint32_t w);

// The normal of element e from its main word w: the fast test inline, a miss
// finished by normal_finish_miss.
static inline float normal_of_word(const stream_key *k, uint64_t e, uint32_t w) {
    uint32_t i = LAYER(w), u = POS(w);
    if (u < CSGD_ZIG_K[i]) return with_sign(width_times(u, i), w);
    return normal_finish_miss(k, e, w);
}

#if defined(__x86_64__)
// normal.c: the 64 main words of group g by AES-NI (the portable path's with
// AES-NI, and the AVX2 path's).
INTERNAL void normal_group_words_ni(const stream_key *k, uint32_t g, uint32_t w[GROUP]);
#endif

// Groups first … first + count − 1 into out, one path each (normal.c,
// normal_avx2.c, normal_avx512.c), and the AVX-512 path of `csgd_normal_at`.
INTERNAL void normal_groups_portable(const stream_key *k, uint32_t first, size_t count, float *out);
#if defined(__x86_64__)
INTERNAL void normal_groups_avx2(const stream_key *k, uint32_t first, size_t count, float *out);
INTERNAL void normal_groups_avx512(const stream_key *k, uint32_t first, size_t count, float *out);
INTERNAL void normal_at_avx512(const stream_key *k, const uint32_t *elements, size_t count, float *out);
#endif

#endif
