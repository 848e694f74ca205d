/* The noise flow's head and its integer stepping (noise_flow.h says why). */
#include "noise_flow.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <drift/error.h>

int noise_flow_load(const struct drift_safetensors *st, int hidden, bool video, double noise_carry,
                    struct noise_flow *f, struct drift_error *err)
{
    memset(f, 0, sizeof(*f));
    const struct drift_st_entry *w = drift_safetensors_find(st, "noise_flow.weight"),
                                *b = drift_safetensors_find(st, "noise_flow.bias");
    if (!w && !b)
        return 0;
    if (!w || !b)
        return drift_error_set(err, -EINVAL, "tensor '%s' without '%s': the noise flow needs both",
                               w ? "noise_flow.weight" : "noise_flow.bias",
                               w ? "noise_flow.bias" : "noise_flow.weight");
    if (!video)
        return drift_error_set(err, -EINVAL, "tensor 'noise_flow.weight': a noise flow moves a video "
                               "model's noise, this is an audio model");
    if (!(noise_carry > 0))
        return drift_error_set(err, -EINVAL, "tensor 'noise_flow.weight': the noise flow moves the "
                               "carried noise, and sampler.noise_carry is 0");
    struct drift_tensor_spec specs[2] = { { "noise_flow.weight", 2, { 2, hidden } },
                                          { "noise_flow.bias", 1, { 2 } } };
    int r = drift_safetensors_check(st, specs, 2, err);
    if (r < 0)
        return r;
    if (w->dtype != DRIFT_F32 || b->dtype != DRIFT_F32)
        return drift_error_set(err, -EINVAL, "tensors noise_flow.weight and noise_flow.bias must be F32");
    f->weight = malloc(2 * (size_t)hidden * sizeof(float));
    if (!f->weight)
        return drift_error_set(err, -ENOMEM, "noise flow: out of memory");
    /* The mapping may leave them unaligned: copy before reading floats. */
    memcpy(f->weight, w->data, 2 * (size_t)hidden * sizeof(float));
    memcpy(f->bias, b->data, sizeof(f->bias));
    for (int i = 0; i < 2 * hidden + 2; i++) {
        float v = i < 2 * hidden ? f->weight[i] : f->bias[i - 2 * hidden];
        if (!isfinite(v)) {
            noise_flow_free(f);
            return drift_error_set(err, -EINVAL, "tensor '%s': value %d is not finite",
                                   i < 2 * hidden ? "noise_flow.weight" : "noise_flow.bias",
                                   i < 2 * hidden ? i : i - 2 * hidden);
        }
    }
    f->hidden = hidden;
    f->present = true;
    return 0;
}

void noise_flow_free(struct noise_flow *f)
{
    free(f->weight);
    memset(f, 0, sizeof(*f));
}

void noise_flow_units(const struct noise_flow *f, const float *text, int64_t units[2])
{
    for (int a = 0; a < 2; a++) {
        const float *w = f->weight + (size_t)a * f->hidden;
        float v = 0.0f;
        for (int i = 0; i < f->hidden; i++)
            v += w[i] * text[i];
        v += f->bias[a];
        v = v < -DRIFT_NOISE_FLOW_MAX ? -DRIFT_NOISE_FLOW_MAX : v > DRIFT_NOISE_FLOW_MAX ? DRIFT_NOISE_FLOW_MAX : v;
        units[a] = (int64_t)lrintf(v * (float)DRIFT_NOISE_FLOW_UNITS);
        if (llabs(units[a]) < DRIFT_NOISE_FLOW_MIN_UNITS)
            units[a] = 0;
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void noise_flow_step(int64_t covered[2], const int64_t units[2], int moved[2])
{
    const int64_t per_sub_cell = DRIFT_NOISE_FLOW_UNITS / DRIFT_NOISE_FLOW_FINE;
    for (int a = 0; a < 2; a++) {
        int64_t now = covered[a] + units[a];
        moved[a] = (int)(floor_div(now, per_sub_cell) - floor_div(covered[a], per_sub_cell));
        covered[a] = now;
    }
}

void noise_flow_block_sums(const float *fine, int H, int W, int C, float *out)
{
    const int F = DRIFT_NOISE_FLOW_FINE;
    const size_t row = (size_t)W * F * C;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++) {
                float sum = 0.0f;
                for (int dy = 0; dy < F; dy++)
                    for (int dx = 0; dx < F; dx++)
                        sum += fine[((size_t)y * F + dy) * row + ((size_t)x * F + dx) * C + c];
                out[((size_t)y * W + x) * C + c] = sum / (float)F;
            }
}
