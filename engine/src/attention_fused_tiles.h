/* The fused attention kernel's tile loops, one set per instruction set (attention_fused.c: the
 * task driver and the portable set; attention_fused_avx2.c: the AVX2+FMA set). A tile is up to
 * DRIFT_FUSED_QUERY_BLOCK queries (rows) by DRIFT_FUSED_KEY_BLOCK keys (columns), row stride
 * DRIFT_FUSED_KEY_BLOCK. Private to those two files. */
#ifndef DRIFT_ATTENTION_FUSED_TILES_H
#define DRIFT_ATTENTION_FUSED_TILES_H

#include <stdbool.h>
#include <stdint.h>

struct drift_fused_tiles {
    /* s[r][c] = scale * sum_d q[r][d] kt[d][c] for r < nq, c < nk (query r at q + r*q_row, key
     * dimension d at kt + d*kt_row). Columns [nk, round up(nk, 16)) may be written too. */
    void (*scores)(const float *q, int64_t q_row, int nq, const float *kt, int64_t kt_row, int nk,
                   int64_t head_dim, float scale, float *s);
    /* Online softmax step, row r < nq: s[r][c] += bias[c] + offset[r] for c < visible[r] (bias
     * may be NULL); m' = max(m[r], those entries); s[r][c] = exp(s[r][c] - m') for c < visible[r]
     * and 0 for visible[r] <= c < nk; alpha[r] = exp(m[r] - m'); l[r] = l[r] * alpha[r] +
     * the row's sum; m[r] = m'. A row with visible[r] = 0 keeps m and l, gets alpha 1 and zeros.
     * m[r] = -inf (nothing seen yet) needs visible[r] >= 1. */
    void (*softmax)(float *s, int nq, int nk, const float *bias, const float *offset,
                    const int *visible, float *m, float *l, float *alpha);
    /* o[r][:] = o[r][:] * alpha[r] + sum_{c < nk} p[r][c] v[c][:] for r < nq: o rows of o_row
     * floats (a multiple of 8, >= head_dim; columns past head_dim stay 0), value c at v + c*v_row. */
    void (*accumulate)(float *o, int64_t o_row, int nq, const float *p, int nk, const float *v,
                       int64_t v_row, int64_t head_dim, const float *alpha);
};

extern const struct drift_fused_tiles drift_fused_tiles_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DRIFT_FUSED_HAVE_AVX2 1
extern const struct drift_fused_tiles drift_fused_tiles_avx2;
#endif

#endif
