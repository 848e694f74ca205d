/* The fused attention kernel's tile loops for bf16 contexts (attention_fused_tiles.h): q k^T and
 * p v on AVX512-BF16's dot product (vdpbf16ps: per fp32 lane, acc += a0 b0 + a1 b1 over a pair
 * of bf16, the sum kept in fp32), the online softmax in fp32 on 16 lanes. Keys and
 * values come in bf16 as the KV cache stores them; queries are rounded to bf16 once per task,
 * probabilities once per tile, as the two-matmul path rounds its operands. The functions carry a
 * target attribute instead of the file being built with -mavx512bf16, so the engine still runs
 * on CPUs without it: attention_fused.c calls these only after __builtin_cpu_supports said yes.
 *
 * vdpbf16ps wants the two elements of each pair along the reduction, side by side in one 32-bit
 * lane. For q k^T that is two head dimensions of one key; the cache stores keys transposed (a
 * head dimension's run of keys), so each key tile is repacked into the task's work: dimension
 * pairs (2p, 2p+1) interleaved key by key. For p v it is two keys of one head dimension: value
 * rows (2c, 2c+1) interleaved. Both repacks are one two-source permute per 32 elements; a pair
 * with no second element (odd head_dim, odd tile) gets a zero there.
 *
 * Register blocking: q k^T in blocks of 4 queries x 64 keys (16 accumulators; per dimension pair
 * 4 key loads and 4 broadcasts feed 16 dot products), p v in blocks of 4 queries x up to 64
 * output columns (up to 16 accumulators, per key pair up to 4 value loads and 4 broadcasts). */
#include "attention_fused_tiles.h"

#ifdef DRIFT_FUSED_HAVE_AVX512_BF16

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "attention_fused.h"
#include "attention_fused_bf16_pack.h"
#include "softmax_row.h"

#define QB DRIFT_FUSED_QUERY_BLOCK
#define KB DRIFT_FUSED_KEY_BLOCK
#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* The work of one task, in bf16 elements; each part starts on a 64-byte boundary. */
static int64_t pairs_of(int64_t head_dim) { return (head_dim + 1) / 2; }
static int64_t value_cols(int64_t head_dim) { return (head_dim + 15) / 16 * 16; }
static int64_t round32(int64_t n) { return (n + 31) / 32 * 32; }

struct work {
    uint16_t *q;  /* QB rows of 2 * pairs_of(D): the block's queries */
    uint16_t *k;  /* pairs_of(D) x KB keys x 2: kt's rows 2p and 2p+1 interleaved */
    uint16_t *v;  /* KB/2 key pairs x value_cols(D) x 2: value rows 2c and 2c+1 interleaved */
    uint16_t *p;  /* QB rows of KB: the tile's probabilities */
};

static struct work work_parts(void *base, int64_t head_dim)
{
    struct work w;
    w.q = base;
    w.k = w.q + round32(QB * 2 * pairs_of(head_dim));
    w.v = w.k + round32(pairs_of(head_dim) * KB * 2);
    w.p = w.v + round32(KB * value_cols(head_dim));
    return w;
}

size_t drift_fused_bf16_work_floats(int64_t head_dim)
{
    int64_t elems = round32(QB * 2 * pairs_of(head_dim)) + round32(pairs_of(head_dim) * KB * 2) +
                    round32(KB * value_cols(head_dim)) + round32(QB * KB);
    return (size_t)(elems / 2); /* a multiple of 16 floats */
}

/* One bf16 pair (two adjacent elements) in all 16 lanes. */
BF16_INLINE __m512bh pair(const uint16_t *at)
{
    uint32_t bits;
    memcpy(&bits, at, sizeof(bits));
    return (__m512bh)_mm512_set1_epi32((int)bits);
}

BF16_INLINE __m512bh load_bh(const uint16_t *at)
{
    return (__m512bh)_mm512_loadu_si512(at);
}

/* The block's queries rounded to bf16 (round to nearest even, as drift_bf16_round), each row
 * padded with a zero to whole pairs. */
BF16 static void queries_bf16(const float *q, int64_t q_row, int nq, int64_t head_dim,
                              void *work)
{
    round_queries(q, q_row, nq, nq, head_dim, 2 * pairs_of(head_dim), work_parts(work, head_dim).q);
}

/* One dimension pair of a 4 x 64 score block. */
#define SCORE_ROW(i, at)                                                                         \
    do {                                                                                         \
        __m512bh x = pair(at);                                                                   \
        a##i##0 = _mm512_dpbf16_ps(a##i##0, x, k0);                                              \
        a##i##1 = _mm512_dpbf16_ps(a##i##1, x, k1);                                              \
        a##i##2 = _mm512_dpbf16_ps(a##i##2, x, k2);                                              \
        a##i##3 = _mm512_dpbf16_ps(a##i##3, x, k3);                                              \
    } while (0)

#define SCORE_STORE(i)                                                                           \
    do {                                                                                         \
        float *out = s + (r0 + (i)) * KB;                                                        \
        _mm512_storeu_ps(out, _mm512_mul_ps(a##i##0, vscale));                                   \
        _mm512_storeu_ps(out + 16, _mm512_mul_ps(a##i##1, vscale));                              \
        _mm512_storeu_ps(out + 32, _mm512_mul_ps(a##i##2, vscale));                              \
        _mm512_storeu_ps(out + 48, _mm512_mul_ps(a##i##3, vscale));                              \
    } while (0)

BF16 static void scores_bf16(const float *q, int64_t q_row, int nq, const void *keys,
                             int64_t kt_row, int nk, int64_t head_dim, float scale, float *s,
                             void *work)
{
    (void)q; /* read as queries_bf16 left it */
    (void)q_row;
    struct work w = work_parts(work, head_dim);
    pack_keys(keys, kt_row, nk, head_dim, w.k);
    int64_t pairs = pairs_of(head_dim), row = 2 * pairs;
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int r0 = 0; r0 < nq; r0 += 4) {
        int rows = nq - r0 < 4 ? nq - r0 : 4;
        /* Rows past nq repeat the block's first row: computed, never stored. */
        const uint16_t *q0 = w.q + r0 * row;
        const uint16_t *q1 = rows > 1 ? q0 + row : q0;
        const uint16_t *q2 = rows > 2 ? q0 + 2 * row : q0;
        const uint16_t *q3 = rows > 3 ? q0 + 3 * row : q0;
        __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
        __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int64_t p = 0; p < pairs; p++) {
            const uint16_t *k = w.k + p * KB * 2;
            __m512bh k0 = load_bh(k), k1 = load_bh(k + 32), k2 = load_bh(k + 64),
                     k3 = load_bh(k + 96);
            SCORE_ROW(0, q0 + 2 * p);
            SCORE_ROW(1, q1 + 2 * p);
            SCORE_ROW(2, q2 + 2 * p);
            SCORE_ROW(3, q3 + 2 * p);
        }
        SCORE_STORE(0);
        if (rows > 1)
            SCORE_STORE(1);
        if (rows > 2)
            SCORE_STORE(2);
        if (rows > 3)
            SCORE_STORE(3);
    }
}

#undef SCORE_ROW
#undef SCORE_STORE

/* The tile's probabilities rounded to bf16, columns past nk 0 (so an odd tile's last pair has a
 * zero partner), and value rows 2c and 2c+1 interleaved column by column into v[c][d][2] for
 * the tile's pairs, columns up to value_cols(D) (past head_dim: 0). */
BF16_INLINE void pack_tile(const float *p, int nq, int nk, const uint16_t *values, int64_t v_row,
                           int64_t head_dim, struct work w)
{
    round_probabilities(p, nq, nk, w.p);
    pack_values(values, v_row, nk, head_dim, value_cols(head_dim), w.v);
}

/* Four query rows (o0..o3, p0..p3, alpha0..3) times nv 16-column vectors from the chunk's first
 * column: o = o * alpha + p v over the tile's key pairs. Inlined with constant nv, so the
 * accumulators stay in registers. */
BF16_INLINE void accumulate_chunk(float *const o[4], const uint16_t *const p[4], bool store[4],
                                  const __m512 alpha[4], const uint16_t *v, int64_t pair_stride,
                                  int64_t key_pairs, const int nv)
{
    __m512 c[4][4];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < nv; k++)
            c[i][k] = _mm512_mul_ps(_mm512_loadu_ps(o[i] + 16 * k), alpha[i]);
    for (int64_t kp = 0; kp < key_pairs; kp++) {
        const uint16_t *vr = v + kp * pair_stride;
        __m512bh x[4];
        for (int k = 0; k < nv; k++)
            x[k] = load_bh(vr + 32 * k);
        for (int i = 0; i < 4; i++) {
            __m512bh b = pair(p[i] + 2 * kp);
            for (int k = 0; k < nv; k++)
                c[i][k] = _mm512_dpbf16_ps(c[i][k], b, x[k]);
        }
    }
    for (int i = 0; i < 4; i++)
        if (store[i])
            for (int k = 0; k < nv; k++)
                _mm512_storeu_ps(o[i] + 16 * k, c[i][k]);
}

BF16 static void accumulate_bf16(float *o, int64_t o_row, int nq, const float *p, int nk,
                                 const void *values, int64_t v_row, int64_t head_dim,
                                 const float *alpha, void *work)
{
    struct work w = work_parts(work, head_dim);
    pack_tile(p, nq, nk, values, v_row, head_dim, w);
    int64_t cols = value_cols(head_dim), key_pairs = (nk + 1) / 2;
    for (int r0 = 0; r0 < nq; r0 += 4) {
        /* Rows past nq repeat the block's first row: computed, never stored. */
        float *orow[4];
        const uint16_t *prow[4];
        bool store[4];
        __m512 a[4];
        for (int i = 0; i < 4; i++) {
            int r = r0 + i < nq ? r0 + i : r0;
            orow[i] = o + r * o_row;
            prow[i] = w.p + r * KB;
            store[i] = r0 + i < nq;
            a[i] = _mm512_set1_ps(alpha[r]);
        }
        for (int64_t d0 = 0; d0 < cols; d0 += 64) {
            int nv = cols - d0 >= 64 ? 4 : (int)((cols - d0) / 16);
            float *oc[4] = { orow[0] + d0, orow[1] + d0, orow[2] + d0, orow[3] + d0 };
            const uint16_t *vc = w.v + d0 * 2;
            switch (nv) {
            case 1: accumulate_chunk(oc, prow, store, a, vc, cols * 2, key_pairs, 1); break;
            case 2: accumulate_chunk(oc, prow, store, a, vc, cols * 2, key_pairs, 2); break;
            case 3: accumulate_chunk(oc, prow, store, a, vc, cols * 2, key_pairs, 3); break;
            default: accumulate_chunk(oc, prow, store, a, vc, cols * 2, key_pairs, 4); break;
            }
        }
    }
}

/* drift_exp_nonpositive (softmax_row.h), sixteen lanes at a time: the same range reduction and
 * polynomial as the scalar and AVX2 versions, so all agree to rounding. -inf gives 0. */
BF16_INLINE __m512 exp_nonpositive(__m512 x)
{
    const __m512 lowest = _mm512_set1_ps(DRIFT_EXP_FLOOR), magic = _mm512_set1_ps(12582912.0f);
    __m512 clamped = _mm512_max_ps(x, lowest);
    __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(clamped, _mm512_set1_ps(1.44269504088896341f), magic),
                             magic);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), clamped);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    __m512 e = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lowest, _CMP_GE_OQ), e);
}

/* The online softmax step (attention_fused_tiles.h) on 16 lanes: the AVX2 set's, twice as wide,
 * with masks for the cut at `visible`. */
BF16 void drift_fused_softmax_avx512(float *s, int nq, int nk, const float *bias,
                                     const float *offset, const int *visible, float *m, float *l,
                                     float *alpha)
{
    const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
    for (int r = 0; r < nq; r++) {
        float *row = s + r * KB;
        int vis = visible[r];
        __m512 off = _mm512_set1_ps(offset[r]), vmax = minus_inf;
        /* Bias, offset and the cut: keys past `visible` become -inf, whose exp is 0. The tile
         * row is KB floats, a multiple of 16, so whole-vector loads of it stay inside. */
        for (int c = 0; c < vis; c += 16) {
            __mmask16 lanes = below16(vis - c);
            __m512 b = bias ? _mm512_maskz_loadu_ps(lanes, bias + c) : _mm512_setzero_ps();
            __m512 x = _mm512_add_ps(_mm512_loadu_ps(row + c), _mm512_add_ps(b, off));
            x = _mm512_mask_blend_ps(lanes, minus_inf, x);
            _mm512_storeu_ps(row + c, x);
            vmax = _mm512_max_ps(vmax, x);
        }
        float seen = _mm512_reduce_max_ps(vmax), max = seen > m[r] ? seen : m[r];
        alpha[r] = drift_exp_nonpositive(m[r] - max);
        __m512 vm = _mm512_set1_ps(max), sum = _mm512_setzero_ps();
        for (int c = 0; c < nk; c += 16) {
            __m512 x = c < vis ? _mm512_loadu_ps(row + c) : minus_inf;
            __m512 e = exp_nonpositive(_mm512_sub_ps(x, vm));
            _mm512_storeu_ps(row + c, e);
            sum = _mm512_add_ps(sum, e);
        }
        l[r] = l[r] * alpha[r] + _mm512_reduce_add_ps(sum);
        m[r] = max;
    }
}

const struct drift_fused_tiles drift_fused_tiles_avx512bf16 = {
    .queries = queries_bf16,
    .scores = scores_bf16,
    .softmax = drift_fused_softmax_avx512,
    .accumulate = accumulate_bf16,
};

#endif
