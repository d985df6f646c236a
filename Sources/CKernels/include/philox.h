#ifndef CSGD_PHILOX_H
#define CSGD_PHILOX_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_path.h"

// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
// easy as 1, 2, 3", SC'11; the Random123 library): a bijection of a 128-bit
// counter (c0, c1, c2, c3) under a 64-bit key (k0, k1), ten rounds. Each round
// multiplies c0 and c2 by M0 and M1 into 64-bit products and mixes their high
// halves with the other two words and the round key; the key is bumped by the
// Weyl constants W0, W1 before every round but the first. This scalar
// function is the one scalar implementation (Swift's `Philox4x32.block` calls
// it); philox.c holds the one AVX2 (eight blocks) and the one AVX-512 (sixteen
// blocks) implementation, and every one gives these bits.

#define CSGD_PHILOX_M0 0xD2511F53u
#define CSGD_PHILOX_M1 0xCD9E8D57u
#define CSGD_PHILOX_W0 0x9E3779B9u
#define CSGD_PHILOX_W1 0xBB67AE85u

/// The four words of one block, word 0 first.
typedef struct {
    uint32_t w0, w1, w2, w3;
} csgd_philox_words;

/// Philox4x32-10 of the counter (c0, c1, c2, c3) under the key (k0, k1).
/// Always inlined (as the Swift function it replaces was), so a caller's
/// loop keeps its blocks in registers.
__attribute__((always_inline))
static inline csgd_philox_words csgd_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                                   uint32_t k0, uint32_t k1) {
    uint32_t x0 = c0, x1 = c1, x2 = c2, x3 = c3, a = k0, b = k1;
    for (int r = 0; r < 10; r++) {
        if (r) { a += CSGD_PHILOX_W0; b += CSGD_PHILOX_W1; }
        uint64_t p0 = (uint64_t)CSGD_PHILOX_M0 * x0, p1 = (uint64_t)CSGD_PHILOX_M1 * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ a, y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ b, y3 = (uint32_t)p0;
        x0 = y0; x1 = y1; x2 = y2; x3 = y3;
    }
    csgd_philox_words out = {x0, x1, x2, x3};
    return out;
}

// The bulk functions below compute blocks under the key (k0, k1) whose counter
// words 1–3 are (c1, c2, c3), on `path` (one `csgd_path_runs` accepts): the
// portable paths one block at a time, AVX2 eight and AVX-512 sixteen at a time.

/// Blocks `first … first + count − 1` (counter word 0 wrapping modulo 2³²) in
/// stream order: out[4j + w] = word w of block first + j.
void csgd_philox_blocks(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first, size_t count, uint32_t *out);

/// The same blocks transposed in fours, for consumers with four 32-bit lanes:
/// out[16q + 4w + l] = word w of block first + 4q + l. `count` is a multiple
/// of 4.
void csgd_philox_fours(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                       uint32_t first, size_t count, uint32_t *out);

/// The blocks of the listed counter words 0 (any order): out[4j + w] = word w
/// of block counters[j].
void csgd_philox_at(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *counters, size_t count, uint32_t *out);

#endif
