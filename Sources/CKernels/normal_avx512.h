// The Gaussian stream's AVX-512 path with VAES (docs/randomness.md), as
// inline functions for the two files that run it: normal_avx512.c (normals
// into a buffer, and elements at listed positions) and error_feedback.c (the
// fused noisy pass). `run_avx512` is the generator's loop; what it does with
// the normals is a sink of three always-inline functions, so each caller's
// loop is compiled with its own sink in place.
//
// ARS runs on eight independent four-block registers, then the ziggurat's
// fast test on sixteen lanes with one gather of the packed word; the misses
// are queued as their positions alone and finished sixteen at a time with
// the same Float operations as the portable code (their main words again and
// the retry blocks by VAES with per-lane keys, the wedge's exp on sixteen
// lanes, the rare tail by normal_finish_tail), in rounds of independent
// batches, the rejects requeued with their next attempt.

#ifndef CSGD_NORMAL_AVX512_H
#define CSGD_NORMAL_AVX512_H

#include "normal_internal.h"

#if defined(__x86_64__)

// Groups a chunk of a run: their words first (AES throughput), then the fast
// test on them. The miss queue holds a chunk's worth and a margin.
#define CHUNK 8
#define QUEUE (GROUP * CHUNK + 256)

#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,vaes,aes")))
#define T512 TARGET512 static inline

// The main key (k0, k1, c1, 0) in each 128-bit lane.
T512 __m512i key_lanes(const stream_key *k) {
    return _mm512_broadcast_i32x4(_mm_setr_epi32((int)k->k0, (int)k->k1, (int)k->c1, 0));
}

// The counter (j, c2, c3, 0) in 128-bit lane j: four consecutive blocks from
// block 0 (callers add the first block, or put per-lane words 0 and 3).
T512 __m512i counter_lanes(const stream_key *k) {
    return _mm512_setr_epi32(0, (int)k->c2, (int)k->c3, 0, 1, (int)k->c2, (int)k->c3, 0,
                             2, (int)k->c2, (int)k->c3, 0, 3, (int)k->c2, (int)k->c3, 0);
}

T512 __m512i weyl512(void) {
    return _mm512_set_epi64((long long)WEYL_HI, (long long)WEYL_LO, (long long)WEYL_HI, (long long)WEYL_LO,
                            (long long)WEYL_HI, (long long)WEYL_LO, (long long)WEYL_HI, (long long)WEYL_LO);
}

// `n` registers of four blocks each through ARS; rk[c]: register c's key in
// every 128-bit lane (per-lane keys allowed), bumped before each round. The
// registers are independent chains: eight of them keep the AES unit busy.
T512 void arsN(int n, __m512i *v, __m512i *rk) {
    const __m512i weyl = weyl512();
    for (int c = 0; c < n; c++) v[c] = _mm512_xor_si512(v[c], rk[c]);
    for (int round = 1; round <= ARS_ROUNDS; round++)
        for (int c = 0; c < n; c++) {
            rk[c] = _mm512_add_epi64(rk[c], weyl);
            v[c] = round < ARS_ROUNDS ? _mm512_aesenc_epi128(v[c], rk[c]) : _mm512_aesenclast_epi128(v[c], rk[c]);
        }
}

T512 __m512i gather(const uint32_t *table, __m512i i) {
    return _mm512_i32gather_epi32(i, table, 4);
}

// |x| lane by lane from the packed entries p (width_times).
T512 __m512 width_times16(__m512i w, __m512i p) {
    // W·X_SCALE as a Float: the bits 2^−(X_SCALE_EXP − 23) + W·X_SCALE
    // (that exponent's unit in the last place is X_SCALE), minus
    // 2^−(X_SCALE_EXP − 23) (exact). Then (u·2^(LB+1))·(W·X_SCALE) rounds
    // once, to ((u·2^(LB+1))·W)·X_SCALE: scaling by a power of two commutes
    // with rounding here (no overflow, no subnormals).
    const __m512i mant = _mm512_set1_epi32(0x7FFFFF), unit = _mm512_set1_epi32((int)POW2_NEG_BITS(X_SCALE_EXP - 23));
    __m512 width = _mm512_sub_ps(_mm512_castsi512_ps(_mm512_ternarylogic_epi32(p, mant, unit, 0xEA)),
                                 _mm512_castsi512_ps(unit));
    __m512 uShifted = _mm512_cvtepu32_ps(_mm512_andnot_si512(_mm512_set1_epi32((1 << POS_SHIFT) - 1), w));
    return _mm512_mul_ps(uShifted, width);
}

// ±x lane by lane: bit LB of w (the sign) shifted to bit 31 and XORed in,
// x ^ ((w << (31 − LB)) & 2³¹), one shift and one ternary op (`with_sign`).
T512 __m512 with_sign16(__m512 x, __m512i w) {
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(x), _mm512_slli_epi32(w, 31 - LB),
                                                         _mm512_set1_epi32((int)0x80000000u), 0x78));
}

// ±|x| lane by lane, and the lanes surely inside their inner rectangle: the
// packed entry's top 9 bits are T = K[i] >> (22 − LB), and w < T·2²³ exactly
// when (u >> (22 − LB)) < T. The misses are tested exactly later, so the
// split changes no result. The loop around it is bound by its instruction
// count as much as by the AES unit and the gather: every operation saved here
// shows (the sign as one shift and one ternary op instead of a test, an XOR
// and a blend made the fused pass 1–4% faster).
T512 __m512 fast16(__m512i w, __mmask16 *inside) {
    __m512i p = gather(CSGD_ZIG_P, _mm512_and_si512(w, _mm512_set1_epi32((int)LAYER_MASK)));
    __m512 x = width_times16(w, p);
    *inside = _mm512_cmplt_epu32_mask(w, _mm512_and_si512(p, _mm512_set1_epi32((int)0xFF800000u)));
    return with_sign16(x, w);
}

// Vector exp_neg: the same operations lane by lane.
T512 __m512 exp_neg16(__m512 t) {
    __m512i k = _mm512_cvttps_epi32(_mm512_sub_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504f)), _mm512_set1_ps(0.5f)));
    __m512 kf = _mm512_cvtepi32_ps(k);
    __m512 s = _mm512_sub_ps(t, _mm512_mul_ps(kf, _mm512_set1_ps(0.693359375f)));
    s = _mm512_sub_ps(s, _mm512_mul_ps(kf, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 z = _mm512_mul_ps(s, s);
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(1.9875691500e-4f), s), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, s), _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), s), _mm512_set1_ps(1.0f));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(y, scale);
}

// Word k of sixteen blocks held four a register in v[0..3], as one register.
T512 __m512i word_of_blocks(const __m512i v[4], int k) {
    const __m512i idx = _mm512_setr_epi32(k, 4 + k, 8 + k, 12 + k, 16 + k, 20 + k, 24 + k, 28 + k,
                                          k, 4 + k, 8 + k, 12 + k, 16 + k, 20 + k, 24 + k, 28 + k);
    return _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(v[0], idx, v[1]),
                                   _mm512_permutex2var_epi32(v[2], idx, v[3]));
}

// Sixteen per-lane blocks are held four a register, block j of register c
// belonging to lane 4c + j. This permutation brings lane 4c + j's value to
// words 0 and 3 of block j (mask 0x1111 or 0x8888 picks which).
T512 __m512i spread_lanes(int c) {
    return _mm512_setr_epi32(4 * c, 0, 0, 4 * c, 4 * c + 1, 0, 0, 4 * c + 1,
                             4 * c + 2, 0, 0, 4 * c + 2, 4 * c + 3, 0, 0, 4 * c + 3);
}

// Register c's counters (lo, c2, c3, hi) from per-lane lo and hi.
T512 __m512i lane_counters(__m512i ctrBase, int c, __m512i lo, __m512i hi) {
    const __m512i spread = spread_lanes(c);
    return _mm512_mask_permutexvar_epi32(_mm512_mask_permutexvar_epi32(ctrBase, 0x1111, spread, lo), 0x8888, spread, hi);
}

// Lane l's word e_l mod 4 of its own block, the blocks held four a register
// in v[0..3] as `lane_counters` lays them out.
T512 __m512i word_at(const __m512i v[4], __m512i e) {
    __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
                                   _mm512_and_si512(e, _mm512_set1_epi32(3)));
    return _mm512_mask_blend_epi32(0xFF00, _mm512_permutex2var_epi32(v[0], idx, v[1]),
                                   _mm512_permutex2var_epi32(v[2], idx, v[3]));
}

// The misses of a call, waiting to be finished: position in `out` (element
// e0 + position; positions are below 2³¹) and, for an element requeued by a
// rejected wedge test (bit 31 of its position set), the attempt to make next.
// A first miss needs nothing else: its word is recomputed when it is finished,
// which keeps the pass's append to one scalar store.
typedef struct {
    uint32_t pos[QUEUE + 16], word[QUEUE + 16];
    size_t n;
} miss_queue;
#define REQUEUED 0x80000000u

// Finishes the m ≤ 16 queued misses from entry `at`: the retry blocks at their attempt
// and the main blocks again (a first miss's word), the fast test on word 0 for
// later attempts, then the wedge (or, rarely, the
// tail, in scalar code). Returns the rejects' mask; their next attempts are
// in `next`.
T512 __mmask16 finish16(const stream_key *k, uint64_t e0, const miss_queue *q, size_t at, size_t m,
                        __m512i *vposOut, __m512i *nextOut, __m512 *zOut, __mmask16 *doneOut) {
    const __m512i zero = _mm512_setzero_si512();
    __mmask16 live = (__mmask16)((1u << m) - 1u);
    __m512i vpos = _mm512_maskz_loadu_epi32(live, q->pos + at);
    // a requeued entry's attempt (≥ 1); a first miss's is 0
    __mmask16 requeued = _mm512_mask_test_epi32_mask(live, vpos, _mm512_set1_epi32((int)REQUEUED));
    __m512i va = _mm512_maskz_loadu_epi32(requeued, q->word + at);
    vpos = _mm512_and_si512(vpos, _mm512_set1_epi32(0x7FFFFFFF));
    // e = e0 + pos as two 32-bit halves, counter (e_lo, c2, c3, e_hi), key (k0, k1, c1, 1 + a)
    __m512i elo = _mm512_add_epi32(vpos, _mm512_set1_epi32((int)(uint32_t)e0));
    __m512i ehi = _mm512_set1_epi32((int)(uint32_t)(e0 >> 32));
    ehi = _mm512_mask_add_epi32(ehi, _mm512_cmplt_epu32_mask(elo, vpos), ehi, _mm512_set1_epi32(1));
    __m512i key3 = _mm512_add_epi32(va, _mm512_set1_epi32(1));
    // the main block e / 4: counter (b_lo, c2, c3, b_hi), key (k0, k1, c1, 0)
    __m512i blo = _mm512_or_si512(_mm512_srli_epi32(elo, 2), _mm512_slli_epi32(ehi, 30)), bhi = _mm512_srli_epi32(ehi, 2);
    const __m512i keyBase = key_lanes(k), ctrBase = counter_lanes(k);
    __m512i v[8], rk[8];
    // v[0..3]: the retry blocks (key word 3 = 1 + a per lane); v[4..7]: the main blocks
    for (int c = 0; c < 4; c++) {
        v[c] = lane_counters(ctrBase, c, elo, ehi);
        rk[c] = _mm512_mask_permutexvar_epi32(keyBase, 0x8888, spread_lanes(c), key3);
        v[4 + c] = lane_counters(ctrBase, c, blo, bhi);
        rk[4 + c] = keyBase;
    }
    arsN(8, v, rk);
    __m512i r0 = word_of_blocks(v, 0), r1 = word_of_blocks(v, 1), r2 = word_of_blocks(v, 2);
    // the word tested: a first miss's main word, word 0 of a later attempt's retry block
    __m512i vw = _mm512_mask_blend_epi32(requeued, word_at(v + 4, elo), r0);
    __m512i i = _mm512_and_si512(vw, _mm512_set1_epi32((int)LAYER_MASK)), u = _mm512_srli_epi32(vw, POS_SHIFT);
    __m512 x = width_times16(vw, gather(CSGD_ZIG_P, i));
    __mmask16 fast = _mm512_mask_cmplt_epu32_mask(live, u, gather(CSGD_ZIG_K, i));
    __mmask16 tail = _mm512_mask_cmpeq_epi32_mask(live & ~fast, i, zero);
    __mmask16 wedge = live & ~fast & ~tail;
    __m512 fb = _mm512_castsi512_ps(gather(CSGD_ZIG_FB, i)), ft = _mm512_castsi512_ps(gather(CSGD_ZIG_FT, i));
    __m512 unit = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(r1, 8)), _mm512_set1_ps(0x1p-24f));
    __m512 y = _mm512_add_ps(fb, _mm512_mul_ps(unit, _mm512_sub_ps(ft, fb)));
    __m512 fx = exp_neg16(_mm512_mul_ps(_mm512_set1_ps(-0.5f), _mm512_mul_ps(x, x)));
    __mmask16 wedgeOK = _mm512_mask_cmp_ps_mask(wedge, y, fx, _CMP_LT_OQ);
    __mmask16 again = wedge & ~wedgeOK;
    __m512i next = _mm512_add_epi32(va, _mm512_set1_epi32(1));
    __mmask16 giveUp = _mm512_mask_cmpge_epu32_mask(again, next, _mm512_set1_epi32(MAX_ATTEMPTS));
    again &= (__mmask16)~giveUp;
    __m512 signedX = with_sign16(x, vw);
    signedX = _mm512_mask_mov_ps(signedX, giveUp, _mm512_setzero_ps());
    if (tail) {
        uint32_t lp[16], lw[16], la[16], l1[16], l2[16];
        float lz[16];
        _mm512_storeu_si512(lp, vpos); _mm512_storeu_si512(lw, vw); _mm512_storeu_si512(la, va);
        _mm512_storeu_si512(l1, r1); _mm512_storeu_si512(l2, r2);
        for (unsigned t = tail; t; t &= t - 1) {
            int lane = __builtin_ctz(t);
            uint32_t blk[4] = {0, l1[lane], l2[lane], 0};
            lz[lane] = normal_finish_tail(k, e0 + lp[lane], la[lane], blk, lw[lane]);
        }
        signedX = _mm512_mask_loadu_ps(signedX, tail, lz);
    }
    *vposOut = vpos; *nextOut = next; *zOut = signedX;
    *doneOut = fast | wedgeOK | giveUp | tail;
    return again;
}

// A sink: what a run does with its normals, as always-inline functions of
// the sink's state `ctx`. `fast` gets the sixteen normals of positions
// base … base + 15 (elements e0 + position), final in the lanes `final` (the
// fast test's); the others are misses, which `finished` gets later, lanes
// `done` at positions `pos`. `group_done` follows each group of 64 (positions
// base0 … base0 + 63). Passed as constants to the always-inline run, they
// are inlined in its loop.
typedef void (*sink_fast_fn)(void *ctx, uint32_t base, __m512 z, __mmask16 final);
typedef void (*sink_group_fn)(void *ctx, uint32_t base0);
typedef void (*sink_finished_fn)(void *ctx, __m512i pos, __m512 z, __mmask16 done);

// Finishes queued misses sixteen at a time while at least `keep` + 16 wait
// (`keep` = 0: all of them), and hands each finished one to the sink. A
// round takes whole batches from the queue's back, independent of each
// other (so their long dependency chains overlap); the round's rejects wait
// in `r` and join the queue for the next round.
__attribute__((always_inline)) TARGET512
static inline void drain(const stream_key *k, uint64_t e0, void *ctx, sink_finished_fn finished, miss_queue *q,
                         miss_queue *r, size_t keep) {
    while (q->n > keep + (keep ? 15 : 0)) {
        size_t end = q->n, stop = keep ? keep + (end - keep) % 16 : 0, rn = 0;
        for (size_t hi = end; hi > stop;) {
            size_t m = hi - stop < 16 ? hi - stop : 16, at = hi - m;
            __m512i vpos, next;
            __m512 z;
            __mmask16 done;
            __mmask16 again = finish16(k, e0, q, at, m, &vpos, &next, &z, &done);
            finished(ctx, vpos, z, done);
            _mm512_storeu_si512(r->pos + rn, _mm512_maskz_compress_epi32(again, _mm512_or_si512(vpos, _mm512_set1_epi32((int)REQUEUED))));
            _mm512_storeu_si512(r->word + rn, _mm512_maskz_compress_epi32(again, next));
            rn += (size_t)__builtin_popcount(again);
            hi = at;
        }
        memcpy(q->pos + stop, r->pos, rn * sizeof(uint32_t));
        memcpy(q->word + stop, r->word, rn * sizeof(uint32_t));
        q->n = stop + rn;
    }
}

// Groups first … first + count − 1 (count·64 < 2³²: positions are 32-bit;
// the caller splits longer runs, `run_length`) into the sink.
__attribute__((always_inline)) TARGET512
static inline void run_avx512(const stream_key *k, uint32_t first, size_t count, void *ctx, sink_fast_fn fast,
                              sink_group_fn group_done, sink_finished_fn finished) {
    const __m512i rk0 = key_lanes(k), ctrBase = counter_lanes(k);
    miss_queue q, rejects;
    size_t n = 0;
    const uint64_t e0 = (uint64_t)first * GROUP;
    uint32_t words[GROUP * (CHUNK + 1)];   // whole pairs of groups
    for (size_t j0 = 0; j0 < count; j0 += CHUNK) {
        size_t groups = count - j0 < CHUNK ? count - j0 : CHUNK;
        // the words of the chunk (AES throughput), then the fast test on them
        for (size_t j = 0; j < groups; j += 2) {
            // two groups a time: eight independent AES chains
            __m512i v[8], rk[8];
            for (int h = 0; h < 2; h++) {
                // blocks 16g … 16g + 15 share their high counter word (16g is a multiple of 16)
                uint64_t b0 = (uint64_t)(first + (uint32_t)(j0 + j + (size_t)h)) * 16;
                __m512i ctr = _mm512_mask_add_epi32(ctrBase, 0x1111, ctrBase, _mm512_set1_epi32((int)(uint32_t)b0));
                ctr = _mm512_mask_mov_epi32(ctr, 0x8888, _mm512_set1_epi32((int)(uint32_t)(b0 >> 32)));
                for (int c = 0; c < 4; c++) {
                    v[4 * h + c] = _mm512_mask_add_epi32(ctr, 0x1111, ctr, _mm512_set1_epi32(4 * c));
                    rk[4 * h + c] = rk0;
                }
            }
            arsN(8, v, rk);
            for (int c = 0; c < 8; c++) _mm512_storeu_si512(words + GROUP * j + 16 * c, v[c]);
        }
        for (size_t g = 0; g < groups; g++) {
            const uint32_t base0 = (uint32_t)(GROUP * (j0 + g));
            __mmask16 inside[4];
            for (int h = 0; h < 4; h++) {
                const uint32_t base = base0 + 16 * (uint32_t)h;
                __m512 z = fast16(_mm512_loadu_si512(words + GROUP * g + 16 * (size_t)h), &inside[h]);
                fast(ctx, base, z, inside[h]);
            }
            group_done(ctx, base0);
            // the group's misses in order: the first two without a branch
            // (a group has about one), the rest in a loop
            uint64_t miss = ~((uint64_t)inside[0] | (uint64_t)inside[1] << 16 | (uint64_t)inside[2] << 32 |
                              (uint64_t)inside[3] << 48);
            q.pos[n] = base0 + (uint32_t)__builtin_ctzll(miss | (uint64_t)1 << 63);
            n += miss != 0;
            miss &= miss - 1;
            q.pos[n] = base0 + (uint32_t)__builtin_ctzll(miss | (uint64_t)1 << 63);
            n += miss != 0;
            miss &= miss - 1;
            if (__builtin_expect(miss != 0, 0))
                for (; miss; miss &= miss - 1) q.pos[n++] = base0 + (uint32_t)__builtin_ctzll(miss);
        }
        if (n > QUEUE - GROUP * CHUNK - 16) { q.n = n; drain(k, e0, ctx, finished, &q, &rejects, 16); n = q.n; }
    }
    q.n = n;
    drain(k, e0, ctx, finished, &q, &rejects, 0);
}

// Runs that neither wrap past 2³² groups nor number 2²⁵ groups or more.
static inline size_t run_length(uint32_t first, size_t count) {
    size_t run = count < ((size_t)1 << 25) ? count : ((size_t)1 << 25);
    if ((uint64_t)first + run > 0x100000000ull) run = (size_t)(0x100000000ull - first);
    return run;
}

#endif

#endif
