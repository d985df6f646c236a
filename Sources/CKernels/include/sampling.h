#ifndef CSGD_SAMPLING_H
#define CSGD_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_path.h"

/// Floyd's sample of K = `k` distinct indices of 0 ..< d (1 ≤ K ≤ d ≤ 2³²)
/// from the Philox4x32-10 stream of the key (k0, k1) with counter words
/// (c1, c2, c3), as `RandomStream.nextInt(below:)` draws them, written to
/// out[0 ..< K] in ascending order. `bitmap` (⌈d/64⌉ words) must be all zero;
/// it is all zero again on return. `path` (one `csgd_path_runs` accepts)
/// computes the Philox words (`csgd_philox_blocks`): every path gives the same
/// words. Returns the number of indices found (K unless the bitmap was not
/// zero).
size_t csgd_sample_bitmap(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                          uint64_t d, size_t k, uint64_t *bitmap, uint32_t *out);

#endif
