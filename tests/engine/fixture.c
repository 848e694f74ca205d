#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

struct drift_safetensors *fixture_open(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/ops/%s.safetensors", FIXTURES_DIR, name);
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    if (drift_safetensors_open(path, &st, &err) < 0)
        fail_msg("fixture %s: %s", name, err.message);
    return st;
}

struct drift_tensor fixture_tensor(struct drift_safetensors *st, const char *name)
{
    struct drift_tensor t;
    struct drift_error err = { 0 };
    if (drift_safetensors_view(st, name, &t, &err) < 0)
        fail_msg("fixture tensor %s: %s", name, err.message);
    assert_int_equal(t.dtype, DRIFT_F32);
    return t;
}

struct drift_tensor tensor_like(const struct drift_tensor *like)
{
    struct drift_tensor t;
    assert_int_equal(drift_tensor_alloc(&t, DRIFT_F32, like->ndim, like->shape), 0);
    return t;
}

struct drift_tensor tensor_copy(const struct drift_tensor *src)
{
    struct drift_tensor t = tensor_like(src);
    memcpy(t.data, src->data, drift_tensor_nbytes(src));
    return t;
}

double relative_error(const struct drift_tensor *got, const struct drift_tensor *want)
{
    assert_int_equal(drift_tensor_numel(got), drift_tensor_numel(want));
    const float *g = got->data, *w = want->data;
    double max_err = 0, scale = 0;
    for (int64_t i = 0; i < drift_tensor_numel(want); i++) {
        double e = fabs((double)g[i] - (double)w[i]);
        if (!(e <= max_err)) /* also catches NaN */
            max_err = isnan(e) ? INFINITY : e;
        scale = fmax(scale, fabs((double)w[i]));
    }
    return max_err / (scale > 0 ? scale : 1.0);
}

double tolerance_for(const struct drift_context *ctx)
{
    switch (drift_context_precision(ctx)) {
    case DRIFT_PRECISION_BF16: return 2e-2;
    case DRIFT_PRECISION_INT8: return 5e-2; /* 8-bit weights and activations, per-tensor x scale */
    default: return 1e-4;
    }
}

struct drift_context *context_for(enum drift_precision precision)
{
    struct drift_context_options opt = { .precision = precision };
    struct drift_context *ctx = NULL;
    struct drift_error err = { 0 };
    if (drift_context_new(&opt, &ctx, &err) < 0)
        return NULL;
    return ctx;
}

float *fixture_read_f32(const char *dir, const char *file, size_t count)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s", FIXTURES_DIR, dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: missing", path);
    float *data = malloc(count * sizeof(float));
    size_t got = data ? fread(data, sizeof(float), count, f) : 0;
    char extra;
    bool longer = fread(&extra, 1, 1, f) == 1;
    fclose(f);
    if (got != count || longer)
        fail_msg("%s: %s%zu values, expected %zu", path, longer ? "more than " : "", got, count);
    return data;
}

void fixture_remove_model_dir(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/m.json", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/m.safetensors", dir);
    unlink(path);
    rmdir(dir);
}
