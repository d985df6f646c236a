#ifndef CSGD_CKERNELS_H
#define CSGD_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "prefetch.h"

/// The widest path of the Gaussian stream this CPU runs: 2 for AVX-512
/// (F/BW/DQ/VL) with VAES, 1 for AVX2 with AES-NI, 0 otherwise (portable).
int csgd_normal_vector_level(void);

/// 1 when the CPU has AES-NI.
int csgd_has_aesni(void);

/// One block of ARS-`rounds` (Random123's ARS-4x32: the counter XOR the key,
/// then rounds − 1 AES rounds and a last one, the 128-bit key bumped by the
/// Weyl constants before each) on 32-bit words, word 0 lowest. With
/// `use_aesni` and a CPU that has it, by AES-NI; otherwise in software. The
/// two give the same words.
void csgd_ars4x32(const uint32_t key[4], const uint32_t ctr[4], unsigned rounds, int use_aesni, uint32_t out[4]);

/// Write the 64·`groups` standard normals of groups `first_group …` (wrapping
/// modulo 2³²) of the Gaussian stream of the key (k0, k1) with counter words
/// (c1, c2, c3) into `out` (see docs/randomness.md). `path`: 0 portable
/// (AES-NI when the CPU has it), 1 AVX-512 (only at vector level 2), 2
/// portable with software AES, 3 AVX2 (only at level 1 or more). Every path
/// gives the same bits.
void csgd_normal_groups(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint32_t first_group, size_t groups, float *out);

/// The normals of the listed elements (< 2³², any order) of the same
/// stream, into out[0 ..< count]: element e as `csgd_normal_groups` gives it.
/// Paths as there (AVX2 runs the portable code here).
void csgd_normal_at(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                    const uint32_t *elements, size_t count, float *out);

/// Error feedback's fused pass with fresh noise, over the whole blocks of
/// 1024 elements starting at element 64·`first_group` of the stream (both
/// `first_group` and `groups` multiples of 16): e[j] ← (v[j] + σ·z[j]) + e[j]
/// with z the stream's normals (as `csgd_normal_groups` gives them), and
/// acc[16b + l] = the Float sum, in order, of v[1024b + 16i + l]² over i (each
/// block's lane sums of v², for a squared norm). Same paths, same bits.
void csgd_normal_compensate(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                            uint32_t first_group, size_t groups, float sigma, const float *v, float *e, float *acc);

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

/// Floyd's sample of K = `k` distinct indices of 0 ..< d (1 ≤ K ≤ d ≤ 2³²)
/// from the Philox4x32-10 stream of the key (k0, k1) with counter words
/// (c1, c2, c3), as `RandomStream.nextInt(below:)` draws them, written to
/// out[0 ..< K] in ascending order. `bitmap` (⌈d/64⌉ words) must be all zero;
/// it is all zero again on return. `path` 1 computes sixteen Philox blocks at
/// a time with AVX-512 when the CPU has it, 0 one at a time: the same words.
/// Returns the number of indices found (K unless the bitmap was not zero).
size_t csgd_sample_bitmap(int path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint64_t d, size_t k, uint64_t *bitmap, uint32_t *out);

#endif
