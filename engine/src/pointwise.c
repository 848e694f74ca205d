/* Pointwise ops: broadcasting add/mul on oneDNN's binary primitive, and the adaLN pieces
 * (modulate, layer norm + modulate, gated residual) as single fused passes over the rows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "internal.h"

struct binary_plan {
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
};

static void binary_plan_destroy(void *data)
{
    struct binary_plan *p = data;
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->a) dnnl_memory_destroy(p->a);
    if (p->b) dnnl_memory_destroy(p->b);
    if (p->c) dnnl_memory_destroy(p->c);
    free(p);
}

/* b aligned to a's rank: leading dimensions of 1 added; each dimension equal to a's or 1. */
static int broadcast_shape(const struct drift_tensor *a, const struct drift_tensor *b,
                           dnnl_dims_t dims, struct drift_error *err)
{
    char sa[96], sb[96];
    int off = a->ndim - b->ndim;
    bool ok = off >= 0 && drift_tensor_is_dense(b);
    for (int i = 0; ok && i < a->ndim; i++) {
        dims[i] = i < off ? 1 : b->shape[i - off];
        ok = dims[i] == a->shape[i] || dims[i] == 1;
    }
    if (!ok)
        return drift_error_set(err, -EINVAL, "binary: b %s does not broadcast to a %s",
                               drift_shape_str(b, sb, sizeof(sb)), drift_shape_str(a, sa, sizeof(sa)));
    return 0;
}

static int binary_impl(struct drift_context *ctx, enum drift_binary_op op, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, struct drift_error *err)
{
    if (!a || !b || !c || a->dtype != DRIFT_F32 || b->dtype != DRIFT_F32 || c->dtype != DRIFT_F32 ||
        a->ndim != c->ndim || memcmp(a->shape, c->shape, sizeof(a->shape)) != 0 ||
        !drift_tensor_is_dense(a) || !drift_tensor_is_dense(c))
        return drift_error_set(err, -EINVAL, "binary: a and c must be dense f32 of one shape");
    if (op != DRIFT_BINARY_ADD && op != DRIFT_BINARY_MUL)
        return drift_error_set(err, -EINVAL, "binary: unknown op %d", (int)op);
    dnnl_dims_t bdims;
    int r = broadcast_shape(a, b, bdims, err);
    if (r < 0)
        return r;
    int64_t key[2 + 2 * DRIFT_MAX_DIMS] = { 0x62696e + op, a->ndim };
    for (int i = 0; i < a->ndim; i++) {
        key[2 + i] = a->shape[i];
        key[2 + DRIFT_MAX_DIMS + i] = bdims[i];
    }
    struct binary_plan *p = drift_plan_find(ctx, key, sizeof(key));
    if (!p) {
        dnnl_memory_desc_t amd, bmd;
        dnnl_binary_desc_t desc;
        if ((r = drift_dnnl_md_of(a, &amd, err)) < 0)
            return r;
        static const dnnl_format_tag_t dense[] = { dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd };
        DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&bmd, a->ndim, bdims, dnnl_f32, dense[a->ndim]),
                 "binary operand");
        DNNL_TRY(err, dnnl_binary_desc_init(&desc, op == DRIFT_BINARY_ADD ? dnnl_binary_add
                                                                          : dnnl_binary_mul,
                                            &amd, &bmd, &amd),
                 "describing a binary op");
        if (!(p = calloc(1, sizeof(*p))))
            return drift_error_set(err, -ENOMEM, "binary: out of memory");
        r = drift_dnnl_build(ctx, &desc, NULL, &p->prim, NULL, err, "creating a binary op");
        if (r == 0) r = drift_dnnl_memory(ctx, &amd, NULL, &p->a, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &bmd, NULL, &p->b, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &amd, NULL, &p->c, err);
        if (r < 0) {
            binary_plan_destroy(p);
            return r;
        }
        if ((r = drift_plan_store(ctx, key, sizeof(key), p, binary_plan_destroy, err)) < 0)
            return r;
    }
    dnnl_memory_set_data_handle(p->a, a->data);
    dnnl_memory_set_data_handle(p->b, b->data);
    dnnl_memory_set_data_handle(p->c, c->data);
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC_0, p->a }, { DNNL_ARG_SRC_1, p->b },
                               { DNNL_ARG_DST, p->c } };
    return drift_dnnl_run(ctx, p->prim, 3, args, err, "running a binary op");
}

/* x and y (B,L,C) f32 with unit channel stride; v (B,C) f32 with unit channel stride. */
static int check_rows(const char *op, const struct drift_tensor *x, const struct drift_tensor *y,
                      const struct drift_tensor *v1, const struct drift_tensor *v2,
                      struct drift_error *err)
{
    char sx[96];
    const struct drift_tensor *rows[2] = { x, y };
    for (int i = 0; i < 2; i++)
        if (!rows[i] || rows[i]->dtype != DRIFT_F32 || rows[i]->ndim != 3 ||
            rows[i]->stride[2] != 1 || memcmp(rows[i]->shape, x->shape, sizeof(x->shape)) != 0)
            return drift_error_set(err, -EINVAL, "%s: x and y must be f32 (B,L,C) of one shape, "
                                   "got %s", op, x ? drift_shape_str(x, sx, sizeof(sx)) : "NULL");
    const struct drift_tensor *vecs[2] = { v1, v2 };
    for (int i = 0; i < 2; i++)
        if (vecs[i] && (vecs[i]->dtype != DRIFT_F32 || vecs[i]->ndim != 2 ||
                        vecs[i]->shape[0] != x->shape[0] || vecs[i]->shape[1] != x->shape[2] ||
                        vecs[i]->stride[1] != 1))
            return drift_error_set(err, -EINVAL, "%s: per-sample vectors must be f32 (%lld,%lld)",
                                   op, (long long)x->shape[0], (long long)x->shape[2]);
    return 0;
}

#define ROW(t, b, l) ((float *)(t)->data + (b) * (t)->stride[0] + (l) * (t)->stride[1])
#define VEC(t, b) ((const float *)(t)->data + (b) * (t)->stride[0])

static int modulate_impl(const struct drift_tensor *x, const struct drift_tensor *shift,
                         const struct drift_tensor *scale, struct drift_tensor *y,
                         struct drift_error *err)
{
    int r = check_rows("modulate", x, y, shift, scale, err);
    if (r < 0 || !shift || !scale)
        return r < 0 ? r : drift_error_set(err, -EINVAL, "modulate: shift and scale are required");
    int64_t C = x->shape[2];
    for (int64_t b = 0; b < x->shape[0]; b++) {
        const float *sh = VEC(shift, b), *sc = VEC(scale, b);
        for (int64_t l = 0; l < x->shape[1]; l++) {
            const float *xr = ROW(x, b, l);
            float *yr = ROW(y, b, l);
            for (int64_t c = 0; c < C; c++)
                yr[c] = xr[c] * (1.0f + sc[c]) + sh[c];
        }
    }
    return 0;
}

/* One row: y = (x - mean) / sqrt(var + eps) * (1 + scale) + shift, the mean and the variance in
 * two passes over the row, as oneDNN's layer norm computes them. y may be x. */
DRIFT_CPU_CLONES
static void norm_modulate_row(const float *x, int64_t C, const float *restrict shift,
                              const float *restrict scale, float eps, float *y)
{
    float sum = 0.0f, squares = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; c++)
        sum += x[c];
    float mean = sum / (float)C;
#pragma omp simd reduction(+ : squares)
    for (int64_t c = 0; c < C; c++)
        squares += (x[c] - mean) * (x[c] - mean);
    float rstd = 1.0f / sqrtf(squares / (float)C + eps);
#pragma omp simd
    for (int64_t c = 0; c < C; c++)
        y[c] = (x[c] - mean) * rstd * (1.0f + scale[c]) + shift[c];
}

struct norm_modulate_job {
    const struct drift_tensor *x, *shift, *scale;
    struct drift_tensor *y;
    float eps;
};

static void norm_modulate_one(void *arg, int64_t i)
{
    const struct norm_modulate_job *j = arg;
    int64_t L = j->x->shape[1], b = i / L, l = i % L;
    norm_modulate_row(ROW(j->x, b, l), j->x->shape[2], VEC(j->shift, b), VEC(j->scale, b), j->eps,
                      ROW(j->y, b, l));
}

/* The layer norm and the modulation in one pass of the engine's own (no oneDNN call: for the
 * small models' rows the call cost more than the arithmetic, and the modulation was a second pass
 * over the output). */
static int layer_norm_modulate_impl(const struct drift_tensor *x, const struct drift_tensor *shift,
                                    const struct drift_tensor *scale, float eps,
                                    struct drift_tensor *y, struct drift_error *err)
{
    int r = check_rows("layer_norm_modulate", x, y, shift, scale, err);
    if (r < 0 || !shift || !scale)
        return r < 0 ? r : drift_error_set(err, -EINVAL,
                                           "layer_norm_modulate: shift and scale are required");
    if (!(eps > 0.0f))
        return drift_error_set(err, -EINVAL, "layer_norm_modulate: eps must be > 0");
    struct norm_modulate_job job = { x, shift, scale, y, eps };
    int64_t rows = x->shape[0] * x->shape[1];
    drift_parallel_for(rows, rows * x->shape[2], norm_modulate_one, &job);
    return 0;
}

static int gated_add_impl(struct drift_tensor *x, const struct drift_tensor *gate,
                          const struct drift_tensor *y, struct drift_error *err)
{
    int r = check_rows("gated_add", x, y, gate, NULL, err);
    if (r < 0 || !gate)
        return r < 0 ? r : drift_error_set(err, -EINVAL, "gated_add: gate is required");
    int64_t C = x->shape[2];
    for (int64_t b = 0; b < x->shape[0]; b++) {
        const float *g = VEC(gate, b);
        for (int64_t l = 0; l < x->shape[1]; l++) {
            float *xr = ROW(x, b, l);
            const float *yr = ROW(y, b, l);
            for (int64_t c = 0; c < C; c++)
                xr[c] += g[c] * yr[c];
        }
    }
    return 0;
}

int drift_binary(struct drift_context *ctx, enum drift_binary_op op, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = binary_impl(ctx, op, a, b, c, err);
    drift_op_end(ctx, DRIFT_OP_POINTWISE, started);
    return r;
}

int drift_modulate(struct drift_context *ctx, const struct drift_tensor *x,
                   const struct drift_tensor *shift, const struct drift_tensor *scale,
                   struct drift_tensor *y, struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = modulate_impl(x, shift, scale, y, err);
    drift_op_end(ctx, DRIFT_OP_POINTWISE, started);
    return r;
}

int drift_layer_norm_modulate(struct drift_context *ctx, const struct drift_tensor *x,
                              const struct drift_tensor *shift, const struct drift_tensor *scale,
                              float eps, struct drift_tensor *y, struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = layer_norm_modulate_impl(x, shift, scale, eps, y, err);
    drift_op_end(ctx, DRIFT_OP_NORM, started);
    return r;
}

int drift_gated_add(struct drift_context *ctx, struct drift_tensor *x,
                    const struct drift_tensor *gate, const struct drift_tensor *y,
                    struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = gated_add_impl(x, gate, y, err);
    drift_op_end(ctx, DRIFT_OP_POINTWISE, started);
    return r;
}
