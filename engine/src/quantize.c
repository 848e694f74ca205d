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

float drift_quantize_activations(const float *x, int64_t rows, int64_t cols, int64_t stride,
                                 int8_t *q)
{
    float amax = 0.0f;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * stride;
        for (int64_t c = 0; c < cols; c++)
            amax = fmaxf(amax, fabsf(row[c]));
    }
    float s = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / s;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * stride;
        int8_t *out = q + r * cols;
        for (int64_t c = 0; c < cols; c++)
            out[c] = (int8_t)lrintf(row[c] * inv); /* |row[c] * inv| <= 127 by construction */
    }
    return s;
}
