#ifndef CSGD_CKERNELS_H
#define CSGD_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "prefetch.h"

/// The widest vector path of the Gaussian kernels this CPU runs: 2 for
/// AVX-512F, 1 for AVX2, 0 for none (then the Swift path is used).
int csgd_gaussian_vector_level(void);

/// Write the 64·`groups` standard normals of groups `first_group …` of the
/// Gaussian stream of the Philox key (k0, k1) with counter words (c1, c2, c3)
/// into `out`, bit for bit as `GaussianSIMD.group` computes them (see
/// docs/randomness.md). Call the AVX-512 one only when the level is 2, the
/// AVX2 one only when it is at least 1.
void csgd_gaussian_groups_avx512(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                                 uint32_t first_group, size_t groups, float *out);
void csgd_gaussian_groups_avx2(uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                               uint32_t first_group, size_t groups, float *out);

#endif
