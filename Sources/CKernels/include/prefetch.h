#ifndef CSGD_PREFETCH_H
#define CSGD_PREFETCH_H

/// A software prefetch, which Swift cannot express: asks for the cache line
/// holding `p` to be brought into every cache level for a coming read (x86
/// `prefetcht0`). A hint only: it never faults, whatever `p` points to, and
/// changes no result.
static inline void csgd_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
