// K-of-d sampling without replacement, the bitmap path of
// `Sampling.withoutReplacement` (docs/randomness.md): Floyd's algorithm on
// the words of one Philox4x32-10 stream, membership in a bitmap of d bits,
// and the ascending list read back from the bitmap.
//
// The stream is the one `RandomStream` reads: word n is word n % 4 of block
// n / 4, block b being Philox4x32-10 of the counter (b, c1, c2, c3) under the
// key (k0, k1). Draw t for j = d − K … d − 1 is `RandomStream.nextInt(below:
// j + 1)` (Lemire's product with its rejection), so the set taken is the one
// the scalar Swift code and the hash-set path take from the same key. The
// AVX-512 path computes sixteen blocks at once; every path gives the same
// words.

#include "CKernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
// Words a refill of the draw buffer makes: sixteen blocks.
#define WORDS 64
// How far ahead the take loop prefetches the bitmap word of a draw.
#define PREFETCH_AHEAD 48

typedef struct {
    uint32_t k0, k1, c1, c2, c3;
    uint32_t next_block;   // the block the next refill starts at (wraps as the Swift stream's)
    int simd;
    unsigned used;         // words of buf consumed
    uint32_t buf[WORDS];
} word_stream;

static void philox_block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                         uint32_t out[4]) {
    uint32_t x0 = c0, x1 = c1, x2 = c2, x3 = c3, a = k0, b = k1;
    for (int r = 0; r < 10; r++) {
        if (r) { a += PHILOX_W0; b += PHILOX_W1; }
        uint64_t p0 = (uint64_t)PHILOX_M0 * x0, p1 = (uint64_t)PHILOX_M1 * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ a, y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ b, y3 = (uint32_t)p0;
        x0 = y0; x1 = y1; x2 = y2; x3 = y3;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

#if defined(__x86_64__)
// Blocks first … first + 15 (wrapping) in stream order into out[0 ..< 64].
__attribute__((target("avx512f")))
static void philox16_avx512(const word_stream *s, uint32_t first, uint32_t *out) {
    __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32((int)first),
                                  _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    __m512i x1 = _mm512_set1_epi32((int)s->c1), x2 = _mm512_set1_epi32((int)s->c2), x3 = _mm512_set1_epi32((int)s->c3);
    __m512i a = _mm512_set1_epi32((int)s->k0), b = _mm512_set1_epi32((int)s->k1);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    const __m512i w0 = _mm512_set1_epi32((int)PHILOX_W0), w1 = _mm512_set1_epi32((int)PHILOX_W1);
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
    // Lane l of x_w is word w of block l; transpose to block-major order.
    __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
    __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
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
#endif

static void refill(word_stream *s) {
#if defined(__x86_64__)
    if (s->simd) {
        philox16_avx512(s, s->next_block, s->buf);
    } else
#endif
    {
        for (uint32_t i = 0; i < WORDS / 4; i++)
            philox_block(s->next_block + i, s->c1, s->c2, s->c3, s->k0, s->k1, s->buf + 4 * i);
    }
    s->next_block += WORDS / 4;
    s->used = 0;
}

static inline uint32_t next_word(word_stream *s) {
    if (s->used == WORDS) refill(s);
    return s->buf[s->used++];
}

// RandomStream.nextInt(below: bound), 1 ≤ bound ≤ 2³².
static inline uint32_t next_below(word_stream *s, uint64_t bound) {
    if (bound == (uint64_t)1 << 32) return next_word(s);
    uint64_t m = (uint64_t)next_word(s) * bound;
    uint32_t low = (uint32_t)m, b32 = (uint32_t)bound;
    if (low < b32) {
        uint32_t threshold = (0u - b32) % b32;
        while (low < threshold) {
            m = (uint64_t)next_word(s) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

size_t csgd_sample_bitmap(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint64_t d, size_t k, uint64_t *bitmap, uint32_t *out) {
    if (k == 0) return 0;
    word_stream s = {k0, k1, c1, c2, c3, 0, 0, WORDS, {0}};
#if defined(__x86_64__)
    __builtin_cpu_init();
    s.simd = path == 1 && __builtin_cpu_supports("avx512f");
#else
    (void)path;
#endif
    // The draws, in order: t_i uniform in [0, j + 1) for j = d − K + i.
    const uint64_t j0 = d - k;
    for (size_t i = 0; i < k; i++) out[i] = next_below(&s, j0 + i + 1);
    // Floyd's takes: t_i when free, else j (free: larger than every t so far).
    for (size_t i = 0; i < k; i++) {
        if (i + PREFETCH_AHEAD < k) csgd_prefetch(bitmap + (out[i + PREFETCH_AHEAD] >> 6));
        uint64_t t = out[i];
        uint64_t v = (bitmap[t >> 6] >> (t & 63)) & 1 ? j0 + i : t;
        bitmap[v >> 6] |= (uint64_t)1 << (v & 63);
    }
    // The set bits in ascending order; each word cleared as it is read. The
    // first two bits of a word are taken without a branch (a word holds under
    // one on average at K ≤ d / 16, so a branch on it would mispredict), the
    // rest by a loop; the last words, where out has under two slots left, by
    // the loop alone.
    size_t n = 0;
    const uint64_t words = (d + 63) / 64;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t x = bitmap[w];
        bitmap[w] = 0;
        uint32_t base = (uint32_t)(w * 64);
        if (n + 2 <= k) {
            // ctz of x | 2⁶³ is 63 when x = 0: written to a free slot, not counted.
            out[n] = base + (uint32_t)__builtin_ctzll(x | (uint64_t)1 << 63);
            n += x != 0;
            x &= x - 1;
            out[n] = base + (uint32_t)__builtin_ctzll(x | (uint64_t)1 << 63);
            n += x != 0;
            x &= x - 1;
        }
        for (; x; x &= x - 1) {
            if (n < k) out[n] = base + (uint32_t)__builtin_ctzll(x);
            n++;
        }
    }
    return n;
}
