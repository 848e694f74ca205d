/* One attention row's softmax, fused with what comes before and after it: the additive bias,
 * the causal cut-off and the conversion to the dtype of the next product. One pass over a row
 * that stays in L1, instead of oneDNN's softmax streaming the whole score matrix (several MB)
 * through memory three times after a separate bias pass.
 *
 * Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time by the CPU (GCC/clang
 * target clones), with its own vectorisable exp (relative error < 2e-7 against libm). */
#ifndef DRIFT_SOFTMAX_ROW_H
#define DRIFT_SOFTMAX_ROW_H

#include <stdint.h>

#include <drift/tensor.h>

/* Below this exp(x) is under the smallest normal float: the row's sum cannot notice it. */
#define DRIFT_EXP_FLOOR (-87.3f)

/* exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2] (ln 2 split in a
 * high part exact in float and a low part, so r keeps its precision); exp(r) by its Taylor series
 * to r^6 (truncation < 1.2e-7 relative on that interval). k + 127 is a normal exponent for
 * x in [DRIFT_EXP_FLOOR, 0]. Here, inline, so that the fused attention kernel's portable variant
 * (attention_fused.c) vectorises the same exp; its AVX2 variant writes it with intrinsics. */
static inline float drift_exp_nonpositive(float x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f,
                ln2_lo = 1.42860682030941723212e-6f, round_magic = 12582912.0f; /* 1.5 * 2^23 */
    float clamped = x < DRIFT_EXP_FLOOR ? DRIFT_EXP_FLOOR : x;
    float k = (clamped * log2e + round_magic) - round_magic;
    float r = (clamped - k * ln2_hi) - k * ln2_lo;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    __builtin_memcpy(&scale, &bits, sizeof(scale));
    return x < DRIFT_EXP_FLOOR ? 0.0f : p * scale;
}

/* probs[j] = exp(s_j - max) / sum for j < visible, 0 for visible <= j < n, where
 * s_j = scores[j] + (bias ? bias[j] : 0) + offset. scores is overwritten (it holds the
 * exponentials afterwards). probs is f32 or bf16 (`dtype`). visible must be in [1, n]. */
void drift_softmax_row(float *scores, const float *bias, float offset, int64_t visible, int64_t n,
                       void *probs, enum drift_dtype dtype);

/* drift_exp_nonpositive, out of line (for the tests). */
float drift_softmax_exp(float x);

/* row[j] += bias[j] + offset (bias NULL: + offset) for j < n; returns the largest of them and
 * `max`. The first pass of both softmax kernels (softmax_row.c, attention_fused.c). */
static inline float drift_bias_and_max(float *restrict row, const float *restrict bias,
                                       float offset, int64_t n, float max)
{
    if (bias) {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < n; j++) {
            float v = row[j] + (bias[j] + offset);
            row[j] = v;
            max = v > max ? v : max;
        }
    } else {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < n; j++) {
            float v = row[j] + offset;
            row[j] = v;
            max = v > max ? v : max;
        }
    }
    return max;
}

/* row[j] = exp(row[j] - max) for j < n (every row[j] <= max); returns their sum. The second
 * pass of both softmax kernels. */
static inline float drift_exp_and_sum(float *restrict row, int64_t n, float max)
{
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; j++) {
        float e = drift_exp_nonpositive(row[j] - max);
        row[j] = e;
        sum += e;
    }
    return sum;
}

#endif
