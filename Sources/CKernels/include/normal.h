#ifndef CSGD_NORMAL_H
#define CSGD_NORMAL_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_path.h"

// The Gaussian stream (docs/randomness.md): ARS-7 words through a 1024-layer
// ziggurat. Element e of the stream of the key (k0, k1) with counter words
// (c1, c2, c3) depends only on them and e, on every path.

/// One block of ARS-`rounds` (Random123's ARS-4x32: the counter XOR the key,
/// then rounds − 1 AES rounds and a last one, the 128-bit key bumped by the
/// Weyl constants before each) on 32-bit words, word 0 lowest. With
/// `use_aesni` and a CPU that has it, by AES-NI; otherwise in software. The
/// two give the same words.
void csgd_ars4x32(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, int use_aesni, uint32_t out[4]);

/// Write the 64·`groups` standard normals of groups `first_group …` (wrapping
/// modulo 2³²) of the stream into `out`, on `path` (one `csgd_path_runs`
/// accepts). Every path gives the same bits.
void csgd_normal_groups(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first_group, size_t groups, float *out);

/// The normals of the listed elements (< 2³², any order) of the same
/// stream, into out[0 ..< count]: element e as `csgd_normal_groups` gives it.
/// Paths as there (the AVX2 path runs the portable code with AES-NI here).
void csgd_normal_at(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *elements, size_t count, float *out);

/// The ziggurat's tables (2^LB entries each), for tests: 0 the packed
/// entries ((K[i] >> (22 − LB)) << 23 | W[i]), 1 the exact fast thresholds
/// K[i], 2 and 3 the Float bits of f at each layer's bottom and top; NULL
/// otherwise.
const uint32_t *csgd_normal_table(int which);

/// LB, a word's layer bits (2^LB layers; then a sign bit, then 31 − LB
/// bits of position), and WS, the widths' fixed-point bits (W[i] = X[i]·2^WS).
int csgd_normal_layer_bits(void);
int csgd_normal_width_bits(void);

/// The Float bits of r, where the ziggurat's tail starts.
uint32_t csgd_normal_tail_start_bits(void);

#endif
