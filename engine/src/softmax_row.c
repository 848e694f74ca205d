/* The fused attention-row softmax (softmax_row.h). Written so that the compiler vectorises every
 * loop: no libm calls, `omp simd` reductions (-fopenmp-simd needs no OpenMP runtime). */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "softmax_row.h"

/* Below this exp(x) is under the smallest normal float: the row's sum cannot notice it. */
#define EXP_FLOOR (-87.3f)

/* exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2] (ln 2 split in a
 * high part exact in float and a low part, so r keeps its precision); exp(r) by its Taylor series
 * to r^6 (truncation < 1.2e-7 relative on that interval). k + 127 is a normal exponent for
 * x in [EXP_FLOOR, 0]. */
static inline float exp_nonpositive(float x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f,
                ln2_lo = 1.42860682030941723212e-6f, round_magic = 12582912.0f; /* 1.5 * 2^23 */
    float clamped = x < EXP_FLOOR ? EXP_FLOOR : x;
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
    memcpy(&scale, &bits, sizeof(scale));
    return x < EXP_FLOOR ? 0.0f : p * scale;
}

float drift_softmax_exp(float x)
{
    return exp_nonpositive(x);
}

DRIFT_CPU_CLONES
void drift_softmax_row(float *restrict scores, const float *restrict bias, float offset,
                       int64_t visible, int64_t n, void *restrict probs, enum drift_dtype dtype)
{
    float max = -INFINITY;
    if (bias) {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < visible; j++) {
            float v = scores[j] + (bias[j] + offset);
            scores[j] = v;
            max = v > max ? v : max;
        }
    } else {
#pragma omp simd reduction(max : max)
        for (int64_t j = 0; j < visible; j++) {
            float v = scores[j] + offset;
            scores[j] = v;
            max = v > max ? v : max;
        }
    }
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < visible; j++) {
        float e = exp_nonpositive(scores[j] - max);
        scores[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    if (dtype == DRIFT_BF16) {
        uint16_t *restrict out = probs;
#pragma omp simd
        for (int64_t j = 0; j < visible; j++)
            out[j] = drift_bf16_round_select(scores[j] * inv);
        for (int64_t j = visible; j < n; j++)
            out[j] = 0;
    } else {
        float *restrict out = probs;
#pragma omp simd
        for (int64_t j = 0; j < visible; j++)
            out[j] = scores[j] * inv;
        for (int64_t j = visible; j < n; j++)
            out[j] = 0.0f;
    }
}
