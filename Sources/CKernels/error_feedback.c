// Error feedback's pass with fresh noise fused in (include/error_feedback.h):
// e ← (v + σ·z) + e over whole blocks of 1024 elements, z the Gaussian
// stream's normals, with each block's sixteen lane sums of v² for the squared
// norm, in one pass over v and e. On AVX-512 the generator's loop
// (normal_avx512.h) runs with this file's sink: a normal the fast test
// finishes updates e at once, a miss's e is updated when the queue drains.
// Elsewhere a block's normals come first (portable or AVX2 path), then the
// same Float operations lane by lane in the same order, so every path gives
// the same bits.

#include "normal_avx512.h"

// The pass's arguments: v, e and the lane sums from the first element, σ.
typedef struct {
    const float *v;
    float *e;
    float *acc;
    float sigma;
} noisy_pass;

#if defined(__x86_64__)

// An AVX-512 run's sink state: the arguments from the run's first element,
// and the lane sums of the block under way.
typedef struct {
    noisy_pass p;
    __m512 lanes;
} noisy_run;

// Σv² lane by lane, and e ← (v + σ·z) + e where z is final.
TARGET512 __attribute__((always_inline)) static inline void pass_fast(void *ctx, uint32_t base, __m512 z, __mmask16 final) {
    noisy_run *s = ctx;
    __m512 a = _mm512_loadu_ps(s->p.v + base);
    s->lanes = _mm512_add_ps(s->lanes, _mm512_mul_ps(a, a));
    __m512 r = _mm512_add_ps(_mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(s->p.sigma), z)), _mm512_loadu_ps(s->p.e + base));
    _mm512_mask_storeu_ps(s->p.e + base, final, r);
}

// At a block's end, its sixteen lane sums.
TARGET512 __attribute__((always_inline)) static inline void pass_group_done(void *ctx, uint32_t base0) {
    noisy_run *s = ctx;
    if ((base0 + GROUP) % 1024 == 0) {
        _mm512_storeu_ps(s->p.acc + 16 * (base0 / 1024), s->lanes);
        s->lanes = _mm512_setzero_ps();
    }
}

// The misses' e, left alone by the pass: finished now.
TARGET512 __attribute__((always_inline)) static inline void pass_finished(void *ctx, __m512i pos, __m512 z, __mmask16 done) {
    noisy_run *s = ctx;
    __m512 a = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), done, pos, s->p.v, 4);
    __m512 ev = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), done, pos, s->p.e, 4);
    __m512 r = _mm512_add_ps(_mm512_add_ps(a, _mm512_mul_ps(_mm512_set1_ps(s->p.sigma), z)), ev);
    _mm512_mask_i32scatter_ps(s->p.e, done, pos, r, 4);
}

TARGET512 static void pass_run(const stream_key *k, uint32_t first, size_t count, const noisy_pass *p) {
    noisy_run s = {*p, _mm512_setzero_ps()};
    run_avx512(k, first, count, &s, pass_fast, pass_group_done, pass_finished);
}

static void compensate_avx512(const stream_key *k, uint32_t first, size_t count, noisy_pass p) {
    while (count > 0) {
        size_t run = run_length(first, count);   // whole blocks: first and 2³², 2²⁵ are multiples of 16
        pass_run(k, first, run, &p);
        first += (uint32_t)run;
        p.v += GROUP * run; p.e += GROUP * run; p.acc += run;   // 16 lanes a block of 16 groups
        count -= run;
    }
}
#endif

// Without AVX-512: a block's normals (portable or AVX2), then the same Float
// operations lane by lane in the same order.
static void compensate_blocks(const stream_key *k, uint32_t first, size_t count, noisy_pass p, int avx2) {
    float z[1024];
    for (size_t b = 0; b < count / 16; b++) {
#if defined(__x86_64__)
        if (avx2) normal_groups_avx2(k, first + (uint32_t)(16 * b), 16, z);
        else
#endif
        normal_groups_portable(k, first + (uint32_t)(16 * b), 16, z);
        const float *v = p.v + 1024 * b;
        float *e = p.e + 1024 * b;
        float acc[16] = {0};
        for (size_t i = 0; i < 1024; i += 16)
            for (size_t l = 0; l < 16; l++) {
                float a = v[i + l];
                acc[l] = acc[l] + a * a;
                e[i + l] = (a + p.sigma * z[i + l]) + e[i + l];
            }
        memcpy(p.acc + 16 * b, acc, sizeof acc);
    }
}

void csgd_normal_compensate(csgd_path path, uint32_t k0, uint32_t k1, uint32_t c1, uint32_t c2, uint32_t c3,
                            uint32_t first_group, size_t groups, float sigma, const float *v, float *e, float *acc) {
    stream_key k = stream_key_on(path, k0, k1, c1, c2, c3);
    noisy_pass p = {.v = v, .e = e, .acc = acc, .sigma = sigma};
#if defined(__x86_64__)
    if (path == CSGD_PATH_AVX512_VAES) { compensate_avx512(&k, first_group, groups, p); return; }
#endif
    compensate_blocks(&k, first_group, groups, p, path == CSGD_PATH_AVX2_AES);
}
