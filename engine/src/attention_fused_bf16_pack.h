/* Helpers of the two bf16 sets of the fused attention's tile loops (attention_fused_avx512bf16.c,
 * attention_fused_amx.c): lane masks and the repacks into the bf16 pairs that both vdpbf16ps and
 * AMX's tdpbf16ps read. Inline functions with the AVX512-BF16 target, so that they inline into
 * either set's functions (whose targets include it). Private to those files. */
#ifndef DRIFT_ATTENTION_FUSED_BF16_PACK_H
#define DRIFT_ATTENTION_FUSED_BF16_PACK_H

#include <immintrin.h>
#include <stdint.h>

#include "attention_fused.h"

#define BF16_INLINE                                                                              \
    static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* Masks of the lanes below n (n may be <= 0 or past the width). */
BF16_INLINE __mmask16 below16(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

BF16_INLINE __mmask32 below32(int64_t n)
{
    return n <= 0 ? 0 : n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1);
}

/* The permutes that interleave two rows of 32 bf16, a and b: the first 16 of each as
 * a0 b0 a1 b1 ... a15 b15, the last 16 as a16 b16 ... a31 b31 (index bit 5 picks b). */
BF16_INLINE void interleave(__m512i a, __m512i b, __m512i *lo, __m512i *hi)
{
    const __m512i first = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9,
                                           40, 8, 39, 7, 38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1,
                                           32, 0);
    const __m512i second = _mm512_add_epi16(first, _mm512_set1_epi16(16));
    *lo = _mm512_permutex2var_epi16(a, first, b);
    *hi = _mm512_permutex2var_epi16(a, second, b);
}

/* The block's queries rounded to bf16 (round to nearest even, as drift_bf16_round) into rows of
 * `row` bf16 (>= head_dim; the padding 0); rows [nq, rows) are all 0. */
BF16_INLINE void round_queries(const float *q, int64_t q_row, int nq, int rows, int64_t head_dim,
                               int64_t row, uint16_t *dst)
{
    for (int r = 0; r < rows; r++)
        for (int64_t d = 0; d < row; d += 16) {
            __m512 x = r < nq ? _mm512_maskz_loadu_ps(below16(head_dim - d), q + r * q_row + d)
                              : _mm512_setzero_ps();
            _mm256_mask_storeu_epi16(dst + r * row + d, below16(row - d),
                                     (__m256i)_mm512_cvtneps_pbh(x));
        }
}

/* Rows a and b (elements [0, total), total a multiple of 16) interleaved element by element into
 * dst: a0 b0 a1 b1 ...; elements at or past `valid`, and the whole of b when it is NULL, are 0
 * (masked loads: nothing past `valid` is read). Both sets' key and value repacks are this. */
BF16_INLINE void interleave_rows(const uint16_t *a, const uint16_t *b, int64_t valid,
                                 int64_t total, uint16_t *dst)
{
    for (int64_t d = 0; d < total; d += 32) {
        __mmask32 m = below32(valid - d);
        __m512i x = _mm512_maskz_loadu_epi16(m, a + d);
        __m512i y = _mm512_maskz_loadu_epi16(b ? m : 0, (b ? b : a) + d);
        __m512i lo, hi;
        interleave(x, y, &lo, &hi);
        _mm512_storeu_si512(dst + d * 2, lo);
        if (d + 16 < total)
            _mm512_storeu_si512(dst + (d + 16) * 2, hi);
    }
}

/* kt's rows 2p and 2p+1 (keys [0, nk) of two head dimensions) interleaved key by key into
 * k[p][c][2], for all DRIFT_FUSED_KEY_BLOCK keys: the keys past nk and the missing row of an
 * odd head_dim are 0, so the score block's extra columns compute 0 * q (masked loads stay inside
 * the cache). */
BF16_INLINE void pack_keys(const uint16_t *kt, int64_t kt_row, int nk, int64_t head_dim,
                           uint16_t *k)
{
    for (int64_t p = 0; p < (head_dim + 1) / 2; p++) {
        const uint16_t *a = kt + 2 * p * kt_row;
        interleave_rows(a, 2 * p + 1 < head_dim ? a + kt_row : NULL, nk, DRIFT_FUSED_KEY_BLOCK,
                        k + p * DRIFT_FUSED_KEY_BLOCK * 2);
    }
}

/* Value rows 2c and 2c+1 (keys [0, nk)) interleaved column by column into v[c/2][d][2], rows of
 * `cols` pairs (columns past head_dim, and the missing partner of an odd nk, 0). */
BF16_INLINE void pack_values(const uint16_t *values, int64_t v_row, int nk, int64_t head_dim,
                             int64_t cols, uint16_t *v)
{
    for (int c = 0; c < nk; c += 2) {
        const uint16_t *a = values + c * v_row;
        interleave_rows(a, c + 1 < nk ? a + v_row : NULL, head_dim, cols, v + (c / 2) * cols * 2);
    }
}

/* A tile's probabilities (rows of DRIFT_FUSED_KEY_BLOCK floats) rounded to bf16 into rows of as
 * many bf16, columns from nk to the next multiple of 32 zero (so that a pair or a 32-key step
 * past the tile's last key adds nothing). */
BF16_INLINE void round_probabilities(const float *p, int nq, int nk, uint16_t *dst)
{
    const int kb = DRIFT_FUSED_KEY_BLOCK;
    for (int r = 0; r < nq; r++)
        for (int c = 0; c < nk; c += 32) {
            __m512 x0 = _mm512_maskz_loadu_ps(below16(nk - c), p + r * kb + c);
            __m512 x1 = _mm512_maskz_loadu_ps(below16(nk - c - 16), p + r * kb + c + 16);
            _mm512_storeu_si512(dst + r * kb + c, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
        }
}

#endif
