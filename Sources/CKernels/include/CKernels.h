#ifndef CSGD_CKERNELS_H
#define CSGD_CKERNELS_H

// The kernels Swift cannot express, by concern: the instruction paths they
// run on, Philox4x32-10, the Gaussian stream (ARS-7 and a ziggurat), error
// feedback's fused noisy pass, RandomK's K-of-d sampling and a software
// prefetch.

#include "kernel_path.h"
#include "philox.h"
#include "normal.h"
#include "error_feedback.h"
#include "sampling.h"
#include "prefetch.h"

#endif
