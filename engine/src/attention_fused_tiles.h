/* The fused attention kernel's tile loops, one set per instruction set (attention_fused.c: the
 * task driver and the portable set; attention_fused_avx2.c: the AVX2+FMA set;
 * attention_fused_avx512bf16.c: the bf16 set; attention_fused_amx.c: the bf16 set with its
 * products on AMX tiles). A tile is up to DRIFT_FUSED_QUERY_BLOCK queries (rows) by
 * DRIFT_FUSED_KEY_BLOCK keys (columns), row stride DRIFT_FUSED_KEY_BLOCK. Keys and values are
 * f32 for the f32 sets and bf16 (uint16_t) for the bf16 ones; `work` is the task's own scratch
 * for a set that repacks its operands (drift_fused_bf16_work_floats(),
 * drift_fused_amx_work_floats(); the f32 sets get none and ignore it). Private to those files. */
#ifndef DRIFT_ATTENTION_FUSED_TILES_H
#define DRIFT_ATTENTION_FUSED_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct drift_fused_tiles {
    /* Once per task, before its first tile: the block's nq queries (query r at q + r*q_row) into
     * the form scores() reads from work. NULL for a set whose scores() reads q itself. */
    void (*queries)(const float *q, int64_t q_row, int nq, int64_t head_dim, void *work);
    /* s[r][c] = scale * sum_d q[r][d] kt[d][c] for r < nq, c < nk (query r at q + r*q_row or as
     * queries() left it in work, key dimension d at kt + d*kt_row). Columns [nk, KEY_BLOCK) may
     * be written too. */
    void (*scores)(const float *q, int64_t q_row, int nq, const void *kt, int64_t kt_row, int nk,
                   int64_t head_dim, float scale, float *s, void *work);
    /* Online softmax step, row r < nq: s[r][c] += bias[c] + offset[r] for c < visible[r] (bias
     * may be NULL); m' = max(m[r], those entries); s[r][c] = exp(s[r][c] - m') for c < visible[r]
     * and 0 for visible[r] <= c < nk; alpha[r] = exp(m[r] - m'); l[r] = l[r] * alpha[r] +
     * the row's sum; m[r] = m'. A row with visible[r] = 0 keeps m and l, gets alpha 1 and zeros.
     * m[r] = -inf (nothing seen yet) needs visible[r] >= 1. */
    void (*softmax)(float *s, int nq, int nk, const float *bias, const float *offset,
                    const int *visible, float *m, float *l, float *alpha);
    /* o[r][:] = o[r][:] * alpha[r] + sum_{c < nk} p[r][c] v[c][:] for r < nq: o rows of o_row
     * floats (a multiple of 16, >= head_dim; columns past head_dim stay 0), value c at
     * v + c*v_row. */
    void (*accumulate)(float *o, int64_t o_row, int nq, const float *p, int nk, const void *v,
                       int64_t v_row, int64_t head_dim, const float *alpha, void *work);
    /* Once per task, after its last tile: gives back what queries() took (AMX's tile state).
     * NULL for a set that takes nothing. */
    void (*done)(void);
};

extern const struct drift_fused_tiles drift_fused_tiles_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* Both x86 sets are built by every x86-64 gcc or clang through target attributes (no -m flags)
 * and run only where the CPU says it has the instructions. */
#define DRIFT_FUSED_HAVE_AVX2 1
#define DRIFT_FUSED_HAVE_AVX512_BF16 1
extern const struct drift_fused_tiles drift_fused_tiles_avx2;
extern const struct drift_fused_tiles drift_fused_tiles_avx512bf16;
/* Work floats one task of the bf16 set needs: its queries, one key tile and one value tile
 * repacked in bf16 pairs, and one tile of probabilities in bf16; a multiple of 16. */
size_t drift_fused_bf16_work_floats(int64_t head_dim);
/* The bf16 set's online softmax step (the softmax member above), which the AMX set shares. */
void drift_fused_softmax_avx512(float *s, int nq, int nk, const float *bias, const float *offset,
                                const int *visible, float *m, float *l, float *alpha);
/* The AMX set: its products on AMX tiles, everything else as the bf16 set (GCC and clang of
 * Debian 12 know the AMX target; the tile instructions are assembled whatever -m flags). */
#define DRIFT_FUSED_HAVE_AMX 1
extern const struct drift_fused_tiles drift_fused_tiles_amx;
/* Work floats one task of the AMX set needs (as the bf16 set's, padded to whole tile steps). */
size_t drift_fused_amx_work_floats(int64_t head_dim);
#endif

#endif
