/*
 * csgd.h: the C ABI of libcsgd_c (SwiftPM product `csgd_c`), csgd's
 * compressors with their exact wire formats and error feedback.
 *
 * Build: swift build -c release --product csgd_c  ->  .build/release/libcsgd_c.so
 *
 * Every function that can fail returns a status (CSGD_OK = 0) and, on
 * failure, writes a one-line NUL-terminated message into the caller's buffer
 * `err` of `errlen` bytes (truncated to fit; nothing is written when err is
 * NULL or errlen is 0). There is no global error state: concurrent calls on
 * different threads never share a message. A handle may be used from several
 * threads; calls on one handle are serialised by a lock it holds.
 *
 * Randomness is keyed like every random number in csgd, by
 * (seed, step, worker, purpose): worker CSGD_WORKER_SHARED (0xFFFFFF) is the
 * stream every worker shares; the purposes are csgd's (CSGD_PURPOSE_*). With
 * the same key the messages are csgd's own bits. RandomK draws its
 * coordinates and sketch-topk its hashes from (seed, step) alone, so decoding
 * those needs the seed and step of the compression; QSGD's rounding uses the
 * whole key.
 *
 * Compressor specs: none, fp64, randomk:K, topk:K,
 * sketch-topk:K[,rows=R][,cols=C], sign, qsgd:S[,coding=elias|fixed], with K
 * a count or a fraction of d.
 */
#ifndef CSGD_H
#define CSGD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CSGD_OK = 0,
    CSGD_INVALID_ARGUMENT = 1,   /* bad spec, size mismatch, null pointer, worker over 24 bits */
    CSGD_MALFORMED_MESSAGE = 2,  /* bytes that are not one message of this compressor */
    CSGD_BUFFER_TOO_SMALL = 3    /* the output buffer is smaller than the message */
};

#define CSGD_WORKER_SHARED 0xFFFFFFu
#define CSGD_PURPOSE_PERTURBATION 1
#define CSGD_PURPOSE_QUANTIZATION 4
#define CSGD_PURPOSE_BENCHMARK 9

typedef struct csgd_compressor csgd_compressor;
typedef struct csgd_error_feedback csgd_error_feedback;

/* A compressor from its spec for vectors of d floats. */
int csgd_compressor_create(const char *spec, int64_t d, csgd_compressor **out, char *err, size_t errlen);
void csgd_compressor_destroy(csgd_compressor *h);
/* Its dimension, the most bytes a message can take, whether it is linear and
 * unbiased, and its canonical spec (any output pointer may be NULL). */
int csgd_compressor_info(csgd_compressor *h, int64_t *dimension, size_t *max_bytes, int32_t *linear,
                         int32_t *unbiased, char *description, size_t description_len, char *err, size_t errlen);

/* m = C(x) with the key, encoded into out[0 .. capacity); *nbytes and *nbits
 * receive its size (nbits is the exact bit count, the bytes are padded). */
int csgd_compress(csgd_compressor *h, const float *x, int64_t d, uint64_t seed, uint64_t step, uint32_t worker,
                  uint8_t purpose, uint8_t *out, size_t capacity, size_t *nbytes, int64_t *nbits, char *err,
                  size_t errlen);
/* Checks that bytes[0 .. count) is exactly one message; *nbits its bit count. */
int csgd_decode(csgd_compressor *h, const uint8_t *bytes, size_t count, uint64_t seed, uint64_t step,
                uint32_t worker, uint8_t purpose, int64_t *nbits, char *err, size_t errlen);
/* y = scale * C (accumulate == 0) or y += scale * C (accumulate != 0) for the
 * message in bytes; y holds d floats. */
int csgd_decompress(csgd_compressor *h, const uint8_t *bytes, size_t count, uint64_t seed, uint64_t step,
                    uint32_t worker, uint8_t purpose, float *y, int64_t d, float scale, int32_t accumulate,
                    char *err, size_t errlen);

/* Error feedback for one worker (Stich et al. 2018; with sigma > 0 the
 * perturbation of Avdiukhin & Yaroslavtsev 2021, Algorithm 1):
 * e <- (g + sigma*xi) + e, m = C(e), e <- e - C(m), xi ~ N(0, I) from
 * (seed, step, CSGD_WORKER_SHARED, CSGD_PURPOSE_PERTURBATION), C keyed by
 * (seed, step, worker, CSGD_PURPOSE_QUANTIZATION). The memory starts at 0. */
int csgd_ef_create(const char *spec, int64_t d, float sigma, csgd_error_feedback **out, char *err, size_t errlen);
void csgd_ef_destroy(csgd_error_feedback *h);
int csgd_ef_max_bytes(csgd_error_feedback *h, size_t *max_bytes, char *err, size_t errlen);
/* One step on gradient g; the message is encoded into out, whose capacity
 * must be at least csgd_ef_max_bytes (checked before the memory changes). */
int csgd_ef_step(csgd_error_feedback *h, const float *g, int64_t d, uint64_t seed, uint64_t step, uint32_t worker,
                 uint8_t *out, size_t capacity, size_t *nbytes, int64_t *nbits, char *err, size_t errlen);
int csgd_ef_get_memory(csgd_error_feedback *h, float *out, int64_t d, char *err, size_t errlen);
int csgd_ef_set_memory(csgd_error_feedback *h, const float *values, int64_t d, char *err, size_t errlen);

/* out[j] = sigma * z_j with z the Gaussian stream of the key (csgd's RandomFill.gaussian). */
int csgd_gaussian(uint64_t seed, uint64_t step, uint32_t worker, uint8_t purpose, float sigma, float *out, int64_t d,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* CSGD_H */
