/* The fused attention-row softmax (softmax_row.h). Written so that the compiler vectorises every
 * loop: no libm calls, `omp simd` reductions (-fopenmp-simd needs no OpenMP runtime). */
#include <math.h>

#include "internal.h"
#include "softmax_row.h"

float drift_softmax_exp(float x)
{
    return drift_exp_nonpositive(x);
}

DRIFT_CPU_CLONES
void drift_softmax_row(float *restrict scores, const float *restrict bias, float offset,
                       int64_t visible, int64_t n, void *restrict probs, enum drift_dtype dtype)
{
    float max = drift_bias_and_max(scores, bias, offset, visible, -INFINITY);
    float inv = 1.0f / drift_exp_and_sum(scores, visible, max);
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
