#ifndef CSGD_ERROR_FEEDBACK_H
#define CSGD_ERROR_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_path.h"

/// Error feedback's fused pass with fresh noise, over the whole blocks of
/// 1024 elements starting at element 64·`first_group` of the Gaussian stream
/// of the key (k0, k1) with counter words (c1, c2, c3) (both `first_group`
/// and `groups` multiples of 16): e[j] ← (v[j] + σ·z[j]) + e[j] with z the
/// stream's normals (as `csgd_normal_groups` gives them), and
/// acc[16b + l] = the Float sum, in order, of v[1024b + 16i + l]² over i (each
/// block's lane sums of v², for a squared norm). On `path` (one
/// `csgd_path_runs` accepts); every path gives the same bits.
void csgd_normal_compensate(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                            uint32_t first_group, size_t groups, float sigma, const float *v, float *e, float *acc);

#endif
