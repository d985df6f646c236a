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
// words come sixteen blocks at a time from `csgd_philox_blocks` on the
// caller's path (philox.c: AVX-512, AVX2 or portable); every path gives the
// same words.

#include "philox.h"
#include "prefetch.h"
#include "sampling.h"

// Words a refill of the draw buffer makes: sixteen blocks.
#define WORDS 64
// How far ahead the take loop prefetches the bitmap word of a draw.
#define PREFETCH_AHEAD 48

typedef struct {
    uint32_t k0, k1, c1, c2, c3;
    uint32_t next_block;   // the block the next refill starts at (wraps as the Swift stream's)
    csgd_path path;
    unsigned used;         // words of buf consumed
    uint32_t buf[WORDS];
} word_stream;

static void refill(word_stream *s) {
    csgd_philox_blocks(s->path, s->k0, s->k1, s->c1, s->c2, s->c3, s->next_block, WORDS / 4, s->buf);
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

size_t csgd_sample_bitmap(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint64_t d, size_t k, uint64_t *bitmap, uint32_t *out) {
    if (k == 0) return 0;
    word_stream s = {k0, k1, c1, c2, c3, 0, path, WORDS, {0}};
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
