#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drift/model_file.h>
#include <drift/tensor.h>

#include "internal.h"

size_t drift_dtype_size(enum drift_dtype dtype)
{
    return dtype == DRIFT_BF16 ? 2 : 4;
}

const char *drift_dtype_name(enum drift_dtype dtype)
{
    return dtype == DRIFT_BF16 ? "bf16" : "f32";
}

static int set_dense_shape(struct drift_tensor *t, int ndim, const int64_t *shape)
{
    if (ndim < 1 || ndim > DRIFT_MAX_DIMS || !shape)
        return -EINVAL;
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0)
            return -EINVAL;
    t->ndim = ndim;
    int64_t stride = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->shape[i] = shape[i];
        t->stride[i] = stride;
        if (__builtin_mul_overflow(stride, shape[i], &stride))
            return -EOVERFLOW;
    }
    for (int i = ndim; i < DRIFT_MAX_DIMS; i++) {
        t->shape[i] = 1;
        t->stride[i] = 1;
    }
    return 0;
}

int drift_tensor_view(struct drift_tensor *t, enum drift_dtype dtype, void *data, int ndim,
                      const int64_t *shape)
{
    struct drift_tensor v = { .dtype = dtype, .data = data, .owns_data = false };
    int r = set_dense_shape(&v, ndim, shape);
    if (r < 0)
        return r;
    *t = v;
    return 0;
}

int drift_tensor_alloc(struct drift_tensor *t, enum drift_dtype dtype, int ndim,
                       const int64_t *shape)
{
    struct drift_tensor v = { .dtype = dtype, .owns_data = true };
    int r = set_dense_shape(&v, ndim, shape);
    if (r < 0)
        return r;
    size_t bytes;
    if (__builtin_mul_overflow((size_t)drift_tensor_numel(&v), drift_dtype_size(dtype), &bytes))
        return -EOVERFLOW;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    v.data = aligned_alloc(64, rounded);
    if (!v.data)
        return -ENOMEM;
    memset(v.data, 0, rounded);
    *t = v;
    return 0;
}

void drift_tensor_free(struct drift_tensor *t)
{
    if (!t)
        return;
    if (t->owns_data)
        free(t->data);
    memset(t, 0, sizeof(*t));
}

int64_t drift_tensor_numel(const struct drift_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t drift_tensor_nbytes(const struct drift_tensor *t)
{
    return (size_t)drift_tensor_numel(t) * drift_dtype_size(t->dtype);
}

bool drift_tensor_is_dense(const struct drift_tensor *t)
{
    int64_t stride = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != stride)
            return false;
        stride *= t->shape[i];
    }
    return true;
}

uint16_t drift_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet and a NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float drift_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

void drift_convert_f32_to_bf16(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = drift_f32_to_bf16(src[i]);
}

void drift_convert_bf16_to_f32(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = drift_bf16_to_f32(src[i]);
}

float *drift_ctx_load_f32(struct drift_context *ctx, const struct drift_st_entry *e)
{
    size_t n = e->nbytes / drift_dtype_size(e->dtype);
    float *out = drift_ctx_alloc(ctx, n * sizeof(float));
    if (!out)
        return NULL;
    if (e->dtype == DRIFT_BF16) {
        /* The mapping may leave bf16 data unaligned; read it bytewise. */
        const unsigned char *p = e->data;
        for (size_t i = 0; i < n; i++)
            out[i] = drift_bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    } else {
        memcpy(out, e->data, n * sizeof(float));
    }
    return out;
}
