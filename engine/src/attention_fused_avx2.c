/* The fused attention kernel's tile loops in AVX2 + FMA intrinsics (attention_fused_tiles.h).
 * Each function carries the target attribute instead of the file being built with -mavx2, so the
 * engine still runs on CPUs without AVX2: attention_fused.c calls these only after
 * __builtin_cpu_supports said yes.
 *
 * Register blocking: q k^T in blocks of 4 queries x 16 keys (8 accumulators; per head dimension
 * 2 key loads and 4 broadcasts feed 8 FMAs), p v in pairs of queries x up to 48 output columns
 * (12 accumulators; per key 6 value loads and 2 broadcasts feed 12 FMAs). */
#include "attention_fused_tiles.h"

#ifdef DRIFT_FUSED_HAVE_AVX2

#include <immintrin.h>
#include <math.h>

#include "attention_fused.h"
#include "softmax_row.h"

#define QB DRIFT_FUSED_QUERY_BLOCK
#define KB DRIFT_FUSED_KEY_BLOCK
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* lanes_below(n): lanes [0, n) set, for masked loads of a row's last partial vector. */
static const int32_t lane_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

AVX2_INLINE __m256i lanes_below(int64_t n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - n));
}

AVX2_INLINE float hmax(__m256 x)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

AVX2_INLINE float hsum(__m256 x)
{
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* drift_exp_nonpositive (softmax_row.h), eight lanes at a time: the same range reduction and
 * polynomial, so both variants agree to rounding. -inf (a masked key) gives 0. */
AVX2_INLINE __m256 exp_nonpositive(__m256 x)
{
    const __m256 lowest = _mm256_set1_ps(DRIFT_EXP_FLOOR), magic = _mm256_set1_ps(12582912.0f);
    __m256 clamped = _mm256_max_ps(x, lowest);
    __m256 k = _mm256_sub_ps(_mm256_fmadd_ps(clamped, _mm256_set1_ps(1.44269504088896341f), magic),
                             magic);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), clamped);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_and_ps(e, _mm256_cmp_ps(x, lowest, _CMP_GE_OQ));
}

/* One head dimension of a 4 x 16 score block: key vectors k0, k1 times four query elements. */
#define SCORE_STEP(d)                                                                            \
    do {                                                                                         \
        __m256 x0 = _mm256_broadcast_ss(q0 + (d)), x1 = _mm256_broadcast_ss(q1 + (d));           \
        __m256 x2 = _mm256_broadcast_ss(q2 + (d)), x3 = _mm256_broadcast_ss(q3 + (d));           \
        a00 = _mm256_fmadd_ps(x0, k0, a00); a01 = _mm256_fmadd_ps(x0, k1, a01);                  \
        a10 = _mm256_fmadd_ps(x1, k0, a10); a11 = _mm256_fmadd_ps(x1, k1, a11);                  \
        a20 = _mm256_fmadd_ps(x2, k0, a20); a21 = _mm256_fmadd_ps(x2, k1, a21);                  \
        a30 = _mm256_fmadd_ps(x3, k0, a30); a31 = _mm256_fmadd_ps(x3, k1, a31);                  \
    } while (0)

AVX2 static void scores_avx2(const float *q, int64_t q_row, int nq, const void *keys,
                             int64_t kt_row, int nk, int64_t head_dim, float scale, float *s,
                             void *work)
{
    (void)work;
    const float *kt = keys;
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int r0 = 0; r0 < nq; r0 += 4) {
        int rows = nq - r0 < 4 ? nq - r0 : 4;
        /* Rows past nq repeat the block's first row: computed, never stored. */
        const float *q0 = q + r0 * q_row;
        const float *q1 = rows > 1 ? q0 + q_row : q0;
        const float *q2 = rows > 2 ? q0 + 2 * q_row : q0;
        const float *q3 = rows > 3 ? q0 + 3 * q_row : q0;
        for (int c0 = 0; c0 < nk; c0 += 16) {
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00,
                   a21 = a00, a30 = a00, a31 = a00;
            const float *k = kt + c0;
            if (nk - c0 >= 16) {
                for (int64_t d = 0; d < head_dim; d++, k += kt_row) {
                    __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + 8);
                    SCORE_STEP(d);
                }
            } else {
                /* The tile's last keys: masked loads stay inside the key rows (the cache's last
                 * row ends there); the masked-off columns compute 0 and are not used. */
                __m256i m0 = lanes_below(nk - c0), m1 = lanes_below(nk - c0 - 8);
                for (int64_t d = 0; d < head_dim; d++, k += kt_row) {
                    __m256 k0 = _mm256_maskload_ps(k, m0), k1 = _mm256_maskload_ps(k + 8, m1);
                    SCORE_STEP(d);
                }
            }
            float *out = s + r0 * KB + c0;
            _mm256_storeu_ps(out, _mm256_mul_ps(a00, vscale));
            _mm256_storeu_ps(out + 8, _mm256_mul_ps(a01, vscale));
            if (rows > 1) {
                _mm256_storeu_ps(out + KB, _mm256_mul_ps(a10, vscale));
                _mm256_storeu_ps(out + KB + 8, _mm256_mul_ps(a11, vscale));
            }
            if (rows > 2) {
                _mm256_storeu_ps(out + 2 * KB, _mm256_mul_ps(a20, vscale));
                _mm256_storeu_ps(out + 2 * KB + 8, _mm256_mul_ps(a21, vscale));
            }
            if (rows > 3) {
                _mm256_storeu_ps(out + 3 * KB, _mm256_mul_ps(a30, vscale));
                _mm256_storeu_ps(out + 3 * KB + 8, _mm256_mul_ps(a31, vscale));
            }
        }
    }
}

AVX2 static void softmax_avx2(float *s, int nq, int nk, const float *bias, const float *offset,
                              const int *visible, float *m, float *l, float *alpha)
{
    const __m256 minus_inf = _mm256_set1_ps(-INFINITY);
    for (int r = 0; r < nq; r++) {
        float *row = s + r * KB;
        int vis = visible[r];
        __m256 off = _mm256_set1_ps(offset[r]), vmax = minus_inf;
        /* Bias, offset and the cut: keys past `visible` become -inf, whose exp is 0. The tile
         * row is KB floats, a multiple of 8, so whole-vector loads of it stay inside. */
        for (int c = 0; c < vis; c += 8) {
            __m256i lanes = lanes_below(vis - c);
            __m256 b = bias ? _mm256_maskload_ps(bias + c, lanes) : _mm256_setzero_ps();
            __m256 x = _mm256_add_ps(_mm256_loadu_ps(row + c), _mm256_add_ps(b, off));
            x = _mm256_blendv_ps(minus_inf, x, _mm256_castsi256_ps(lanes));
            _mm256_storeu_ps(row + c, x);
            vmax = _mm256_max_ps(vmax, x);
        }
        float seen = hmax(vmax), max = seen > m[r] ? seen : m[r];
        alpha[r] = drift_exp_nonpositive(m[r] - max);
        __m256 vm = _mm256_set1_ps(max), sum = _mm256_setzero_ps();
        for (int c = 0; c < nk; c += 8) {
            __m256 x = c < vis ? _mm256_loadu_ps(row + c) : minus_inf;
            __m256 e = exp_nonpositive(_mm256_sub_ps(x, vm));
            _mm256_storeu_ps(row + c, e);
            sum = _mm256_add_ps(sum, e);
        }
        l[r] = l[r] * alpha[r] + hsum(sum);
        m[r] = max;
    }
}

/* o0, o1 (nv vectors from the chunk's first column) = o * alpha + p v over nk keys, for two
 * query rows; v points at the chunk's first column of key 0. `masked`: the chunk's last vector
 * runs past head_dim, so its value loads are masked with `tail` (o rows are padded: no mask).
 * Inlined with constant nv and masked, so the accumulators stay in registers. */
AVX2_INLINE void accumulate_chunk(float *o0, float *o1, bool two, const float *p0,
                                  const float *p1, int nk, const float *v, int64_t v_row,
                                  const int nv, const bool masked, __m256i tail, __m256 alpha0,
                                  __m256 alpha1)
{
    __m256 c0[6], c1[6];
    for (int k = 0; k < nv; k++) {
        c0[k] = _mm256_mul_ps(_mm256_loadu_ps(o0 + 8 * k), alpha0);
        c1[k] = _mm256_mul_ps(_mm256_loadu_ps(o1 + 8 * k), alpha1);
    }
    for (int c = 0; c < nk; c++) {
        const float *vr = v + c * v_row;
        __m256 b0 = _mm256_broadcast_ss(p0 + c), b1 = _mm256_broadcast_ss(p1 + c);
        for (int k = 0; k < nv; k++) {
            __m256 x = masked && k == nv - 1 ? _mm256_maskload_ps(vr + 8 * k, tail)
                                             : _mm256_loadu_ps(vr + 8 * k);
            c0[k] = _mm256_fmadd_ps(b0, x, c0[k]);
            c1[k] = _mm256_fmadd_ps(b1, x, c1[k]);
        }
    }
    for (int k = 0; k < nv; k++) {
        _mm256_storeu_ps(o0 + 8 * k, c0[k]);
        if (two)
            _mm256_storeu_ps(o1 + 8 * k, c1[k]);
    }
}

AVX2 static void accumulate_avx2(float *o, int64_t o_row, int nq, const float *p, int nk,
                                 const void *values, int64_t v_row, int64_t head_dim,
                                 const float *alpha, void *work)
{
    (void)work;
    const float *v = values;
    for (int r0 = 0; r0 < nq; r0 += 2) {
        /* An odd last row pairs with itself: computed twice, stored once. */
        bool two = r0 + 1 < nq;
        float *o0 = o + r0 * o_row, *o1 = two ? o0 + o_row : o0;
        const float *p0 = p + r0 * KB, *p1 = two ? p0 + KB : p0;
        __m256 a0 = _mm256_set1_ps(alpha[r0]), a1 = _mm256_set1_ps(alpha[two ? r0 + 1 : r0]);
        for (int64_t d0 = 0; d0 < head_dim; d0 += 48) {
            int64_t left = head_dim - d0;
            int nv = left >= 48 ? 6 : (int)((left + 7) / 8);
            bool masked = left < 8 * nv;
            __m256i tail = lanes_below(left - 8 * (nv - 1));
#define CHUNK(n, m)                                                                              \
    case 2 * (n) + (m):                                                                          \
        accumulate_chunk(o0 + d0, o1 + d0, two, p0, p1, nk, v + d0, v_row, n, m, tail, a0, a1);  \
        break
            switch (2 * nv + masked) {
                CHUNK(1, 0); CHUNK(1, 1); CHUNK(2, 0); CHUNK(2, 1); CHUNK(3, 0); CHUNK(3, 1);
                CHUNK(4, 0); CHUNK(4, 1); CHUNK(5, 0); CHUNK(5, 1); CHUNK(6, 0); CHUNK(6, 1);
            }
#undef CHUNK
        }
    }
}

const struct drift_fused_tiles drift_fused_tiles_avx2 = {
    .scores = scores_avx2,
    .softmax = softmax_avx2,
    .accumulate = accumulate_avx2,
};

#endif
