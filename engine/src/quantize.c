#include <math.h>

#include "internal.h"
#include "quantize.h"

static float weight_at(const struct drift_tensor *w, int64_t i)
{
    return w->dtype == DRIFT_BF16 ? drift_bf16_to_f32(((const uint16_t *)w->data)[i])
                                  : ((const float *)w->data)[i];
}

void drift_quantize_rows(const struct drift_tensor *w, int8_t *q, float *scale)
{
    int64_t N = w->shape[0], K = w->shape[1];
    for (int64_t n = 0; n < N; n++) {
        float amax = 0.0f;
        for (int64_t k = 0; k < K; k++)
            amax = fmaxf(amax, fabsf(weight_at(w, n * K + k)));
        float s = amax > 0.0f ? amax / 127.0f : 1.0f;
        scale[n] = s;
        for (int64_t k = 0; k < K; k++)
            q[n * K + k] = (int8_t)lrintf(fminf(fmaxf(weight_at(w, n * K + k) / s, -127.f), 127.f));
    }
}

/* Runs before every int8 product, so it is written to vectorise: no libm calls (fmaxf and lrintf
 * are calls under the default -fmath-errno), rounding to nearest even by the 1.5 * 2^23 trick,
 * exact for |v| <= 127. */
DRIFT_CPU_CLONES
float drift_quantize_activations(const float *x, int64_t rows, int64_t cols, int64_t stride,
                                 int8_t *q)
{
    const float round_magic = 12582912.0f;
    float amax = 0.0f;
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * stride;
#pragma omp simd reduction(max : amax)
        for (int64_t c = 0; c < cols; c++) {
            float a = row[c] < 0.0f ? -row[c] : row[c];
            amax = a > amax ? a : amax;
        }
    }
    float s = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / s;
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * stride;
        int8_t *restrict out = q + r * cols;
#pragma omp simd
        for (int64_t c = 0; c < cols; c++) {
            /* |v| <= 127 by construction; the clamp keeps a NaN or inf input a defined cast */
            float v = row[c] * inv;
            v = v < 127.0f ? v : 127.0f;
            v = v > -127.0f ? v : -127.0f;
            out[c] = (int8_t)(int32_t)((v + round_magic) - round_magic);
        }
    }
    return s;
}
