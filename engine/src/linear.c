/* linear: y = act(x W^T + b) [+ y], on oneDNN matmul.
 *
 * Weights are packed once at creation into the blocked layout the kernel picks for a typical
 * frame (256 rows); a plan for a row count that wants another layout gets its own copy, reordered
 * from the packed one, once. In bf16, x is converted into plan-owned scratch on the way in.
 * In int8 (DRIFT_PRECISION_INT8), weights are quantised per output channel at creation and x per
 * call. oneDNN's VNNI kernels want output scales fixed at creation (runtime scales fall back to a
 * slower gemm), so the kernel applies the weight scales and writes plan-owned f32 scratch; one
 * pass then applies the call's x scale, the bias and the accumulation into y, and an eltwise
 * primitive applies the activation in place.
 * A bf16 call of at most DRIFT_LINEAR_DIRECT_MAX_ROWS rows skips oneDNN where the CPU has
 * AVX512-BF16 (linear_direct.h): its fixed cost per call is the whole product's time at that size.
 * That kernel's weights are packed from the oneDNN copy the first time a plan needs them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "internal.h"
#include "linear_direct.h"
#include "quantize.h"

#define LINEAR_MAX_PLANS 16
#define LINEAR_PACK_ROWS 256

struct linear_plan {
    int64_t rows, x_row_stride, y_row_stride;
    bool accumulate;
    bool direct;                 /* linear_direct.h's kernel instead of the matmul */
    dnnl_primitive_t matmul;
    bool to_bf16;                /* f32 x -> bf16 scratch before the product (bf16 layers) */
    void *x_scratch;
    void *weights;               /* linear->packed, or owned when owns_weights */
    bool owns_weights;
    dnnl_memory_t mem_x, mem_w, mem_b, mem_y;
    float *int8_out;             /* int8: (rows,N) f32 from the kernel */
    dnnl_primitive_t activation; /* int8: eltwise on y, or NULL */
    dnnl_memory_t mem_act;
};

struct drift_linear {
    int in, out;
    enum drift_activation act;
    enum drift_dtype dtype;       /* compute dtype of the weights */
    dnnl_memory_desc_t packed_md;
    void *packed;
    float *bias;                  /* (N) or NULL */
    bool int8;                    /* int8 weights and activations */
    float *weight_scale;          /* int8: (N) */
    uint16_t *direct_packed;      /* bf16 weights for linear_direct.h, made by the first direct plan */
    struct linear_plan plans[LINEAR_MAX_PLANS];
    int plan_count;
};

static void plan_release(struct linear_plan *p)
{
    if (p->matmul) dnnl_primitive_destroy(p->matmul);
    if (p->activation) dnnl_primitive_destroy(p->activation);
    dnnl_memory_t mems[] = { p->mem_x, p->mem_w, p->mem_b, p->mem_y, p->mem_act };
    for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(p->x_scratch);
    free(p->int8_out);
    if (p->owns_weights) free(p->weights);
}

void drift_linear_free(struct drift_linear *linear)
{
    if (!linear)
        return;
    for (int i = 0; i < linear->plan_count; i++)
        plan_release(&linear->plans[i]);
    free(linear->packed);
    free(linear->direct_packed);
    free(linear->bias);
    free(linear->weight_scale);
    free(linear);
}

int drift_linear_in_features(const struct drift_linear *linear) { return linear->in; }
int drift_linear_out_features(const struct drift_linear *linear) { return linear->out; }

/* Describes the matmul for `rows` rows: src (rows,K), weights (K,N) any layout, dst (rows,N). */
static int matmul_desc(const struct drift_linear *l, int64_t rows, int64_t x_stride,
                       int64_t y_stride, dnnl_matmul_desc_t *desc, struct drift_error *err)
{
    dnnl_memory_desc_t src, wei, bias, dst;
    dnnl_dims_t sd = { rows, l->in }, ss = { x_stride, 1 };
    dnnl_dims_t wd = { l->in, l->out }, dd = { rows, l->out }, ds = { y_stride, 1 };
    dnnl_dims_t bd = { 1, l->out };
    dnnl_data_type_t cdt = l->int8 ? dnnl_s8 : drift_dnnl_dtype(l->dtype);
    /* In bf16 and int8 the source is the converted dense scratch. */
    if (l->dtype == DRIFT_BF16 || l->int8)
        ss[0] = l->in;
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(&src, 2, sd, cdt, ss), "linear src");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&wei, 2, wd, cdt, dnnl_format_tag_any), "linear W");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&bias, 2, bd, dnnl_f32, dnnl_ab), "linear bias");
    if (l->int8)
        ds[0] = l->out; /* the kernel writes dense scratch; the epilogue writes y */
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(&dst, 2, dd, dnnl_f32, ds), "linear dst");
    /* int8 adds the bias in its epilogue (linear_int8_epilogue). */
    DNNL_TRY(err, dnnl_matmul_desc_init(desc, &src, &wei, l->bias && !l->int8 ? &bias : NULL, &dst),
             "describing a linear matmul");
    return 0;
}

static int make_attr(const struct drift_linear *l, bool accumulate, dnnl_primitive_attr_t *ret,
                     struct drift_error *err)
{
    /* int8: only the weight scales; accumulation, bias and activation come after (epilogue). */
    enum drift_activation act = l->int8 ? DRIFT_ACT_NONE : l->act;
    dnnl_post_ops_t po;
    DNNL_TRY(err, dnnl_post_ops_create(&po), "post-ops");
    if (accumulate && !l->int8)
        dnnl_post_ops_append_sum(po, 1.0f);
    if (act == DRIFT_ACT_GELU_TANH)
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_tanh, 0.f, 0.f);
    else if (act == DRIFT_ACT_SILU)
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_swish, 1.f, 0.f);
    dnnl_primitive_attr_t attr;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_post_ops(attr, po);
    if (s == dnnl_success && l->int8 && l->weight_scale) /* per output channel */
        s = dnnl_primitive_attr_set_output_scales(attr, l->out, 1 << 1, l->weight_scale);
    dnnl_post_ops_destroy(po);
    if (s != dnnl_success)
        return drift_dnnl_fail(err, s, "linear attributes");
    *ret = attr;
    return 0;
}

static int build_pd(struct drift_context *ctx, const struct drift_linear *l, int64_t rows,
                    int64_t xs, int64_t ys, bool accumulate, dnnl_primitive_desc_t *ret,
                    struct drift_error *err)
{
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    int r = matmul_desc(l, rows, xs, ys, &desc, err);
    if (r < 0 || (r = make_attr(l, accumulate, &attr, err)) < 0)
        return r;
    drift_threads_enter(ctx); /* the kernel (and so the packed weight layout) fits the team size */
    dnnl_status_t s = dnnl_primitive_desc_create(ret, &desc, attr, ctx->engine, NULL);
    drift_threads_leave(ctx);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return drift_dnnl_fail(err, s, "creating a linear matmul");
    return 0;
}

/* Reorders `src` (described by src_md) into a new buffer laid out as dst_md. */
static int reorder_into_new(struct drift_context *ctx, const dnnl_memory_desc_t *src_md,
                            const void *src, const dnnl_memory_desc_t *dst_md, void **ret,
                            struct drift_error *err)
{
    void *dst = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(dst_md));
    if (!dst)
        return drift_error_set(err, -ENOMEM, "linear: out of memory for weights");
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    int r = drift_dnnl_build_reorder(ctx, src_md, dst_md, &prim, err);
    if (r == 0) r = drift_dnnl_memory(ctx, src_md, (void *)src, &ms, err);
    if (r == 0) r = drift_dnnl_memory(ctx, dst_md, dst, &md, err);
    if (r == 0) {
        dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, ms }, { DNNL_ARG_TO, md } };
        r = drift_dnnl_run(ctx, prim, 2, args, err, "packing weights");
    }
    if (prim) dnnl_primitive_destroy(prim);
    if (ms) dnnl_memory_destroy(ms);
    if (md) dnnl_memory_destroy(md);
    if (r < 0) {
        free(dst);
        return r;
    }
    *ret = dst;
    return 0;
}

/* The packed weights in another blocked layout, for a plan whose row count wants one. oneDNN
 * reorders most blocked layouts into each other directly, but not all pairs: with AMX, oneDNN 2.6
 * has no reorder between two s8 layouts that carry its compensation, and those go through the
 * plain (K,N) layout. Only at plan creation, never while stepping. */
static int repack_weights(struct drift_context *ctx, const struct drift_linear *l, int64_t rows,
                          const dnnl_memory_desc_t *w_md, void **ret, struct drift_error *err)
{
    struct drift_error direct = { 0 };
    if (reorder_into_new(ctx, &l->packed_md, l->packed, w_md, ret, &direct) == 0)
        return 0;
    dnnl_memory_desc_t plain_md;
    dnnl_dims_t dims = { l->in, l->out }, strides = { 1, l->in };
    dnnl_memory_desc_init_by_strides(&plain_md, 2, dims, l->packed_md.data_type, strides);
    void *plain = NULL;
    int r = reorder_into_new(ctx, &l->packed_md, l->packed, &plain_md, &plain, err);
    if (r == 0) {
        r = reorder_into_new(ctx, &plain_md, plain, w_md, ret, err);
        free(plain);
    }
    if (r < 0)
        return drift_error_set(err, r, "linear: weights for %lld rows: %s (through the plain layout: %s)",
                               (long long)rows, direct.message, err->message);
    return 0;
}

static int check_weight_args(const struct drift_tensor *weight, const struct drift_tensor *bias,
                             enum drift_activation act, struct drift_error *err)
{
    if (!weight || weight->ndim != 2 || !drift_tensor_is_dense(weight))
        return drift_error_set(err, -EINVAL, "linear: weight must be a dense (N,K) tensor");
    if (bias && (bias->ndim != 1 || bias->shape[0] != weight->shape[0] || bias->dtype != DRIFT_F32))
        return drift_error_set(err, -EINVAL, "linear: bias must be f32 (%lld)",
                               (long long)weight->shape[0]);
    if (act < DRIFT_ACT_NONE || act > DRIFT_ACT_SILU)
        return drift_error_set(err, -EINVAL, "linear: unknown activation %d", (int)act);
    return 0;
}

int drift_linear_new(struct drift_context *ctx, const struct drift_tensor *weight,
                     const struct drift_tensor *bias, enum drift_activation act,
                     struct drift_linear **ret, struct drift_error *err)
{
    int r = check_weight_args(weight, bias, act, err);
    if (r < 0)
        return r;
    struct drift_linear *l = calloc(1, sizeof(*l));
    if (!l)
        return drift_error_set(err, -ENOMEM, "linear: out of memory");
    l->out = (int)weight->shape[0];
    l->in = (int)weight->shape[1];
    l->act = act;
    l->dtype = drift_context_compute_dtype(ctx);
    l->int8 = drift_context_precision(ctx) == DRIFT_PRECISION_INT8;
    if (bias) {
        l->bias = drift_ctx_alloc(ctx, (size_t)l->out * sizeof(float));
        if (!l->bias) {
            drift_linear_free(l);
            return drift_error_set(err, -ENOMEM, "linear: out of memory");
        }
        memcpy(l->bias, bias->data, (size_t)l->out * sizeof(float));
    }
    dnnl_primitive_desc_t pd = NULL;
    r = build_pd(ctx, l, LINEAR_PACK_ROWS, l->in, l->out, false, &pd, err);
    if (r == 0) {
        l->packed_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        dnnl_primitive_desc_destroy(pd);
        /* The caller's (N,K) weights seen as (K,N) with transposed strides. */
        dnnl_memory_desc_t user_md;
        dnnl_dims_t dims = { l->in, l->out }, strides = { 1, l->in };
        const void *source = weight->data;
        int8_t *quantized = NULL;
        if (l->int8) {
            quantized = malloc((size_t)l->out * l->in);
            l->weight_scale = drift_ctx_alloc(ctx, (size_t)l->out * sizeof(float));
            if (!quantized || !l->weight_scale)
                r = drift_error_set(err, -ENOMEM, "linear: out of memory");
            else
                drift_quantize_rows(weight, quantized, l->weight_scale);
            source = quantized;
        }
        dnnl_memory_desc_init_by_strides(&user_md, 2, dims,
                                         l->int8 ? dnnl_s8 : drift_dnnl_dtype(weight->dtype),
                                         strides);
        if (r == 0)
            r = reorder_into_new(ctx, &user_md, source, &l->packed_md, &l->packed, err);
        free(quantized);
    }
    if (r < 0) {
        drift_linear_free(l);
        return r;
    }
    *ret = l;
    return 0;
}

/* int8 scratch (quantised x, the kernel's f32 output) and the activation primitive on y. */
static int plan_build_int8(struct drift_context *ctx, struct drift_linear *l,
                           struct linear_plan *p, const dnnl_memory_desc_t *x_md,
                           struct drift_error *err)
{
    p->x_scratch = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(x_md));
    p->int8_out = drift_ctx_alloc(ctx, (size_t)p->rows * l->out * sizeof(float));
    if (!p->x_scratch || !p->int8_out)
        return drift_error_set(err, -ENOMEM, "linear: out of memory for scratch");
    dnnl_memory_set_data_handle(p->mem_x, p->x_scratch);
    dnnl_memory_set_data_handle(p->mem_y, p->int8_out);
    if (l->act == DRIFT_ACT_NONE)
        return 0;
    dnnl_memory_desc_t y_md;
    dnnl_dims_t d = { p->rows, l->out }, s = { p->y_row_stride, 1 };
    dnnl_memory_desc_init_by_strides(&y_md, 2, d, dnnl_f32, s);
    dnnl_eltwise_desc_t desc;
    bool gelu = l->act == DRIFT_ACT_GELU_TANH;
    DNNL_TRY(err, dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference,
                                                 gelu ? dnnl_eltwise_gelu_tanh : dnnl_eltwise_swish,
                                                 &y_md, gelu ? 0.f : 1.f, 0.f),
             "describing the int8 activation");
    int r = drift_dnnl_build(ctx, &desc, NULL, &p->activation, NULL, err, "creating an activation");
    return r < 0 ? r : drift_dnnl_memory(ctx, &y_md, NULL, &p->mem_act, err);
}

/* int8 epilogue: y (=|+=) x_scale * out + bias, then the activation in place. */
static int linear_int8_epilogue(struct drift_context *ctx, const struct drift_linear *l,
                                struct linear_plan *p, float x_scale, struct drift_tensor *y,
                                struct drift_error *err)
{
    for (int64_t m = 0; m < p->rows; m++) {
        float *restrict yr = (float *)y->data + m * p->y_row_stride;
        const float *restrict o = p->int8_out + m * l->out;
        for (int n = 0; n < l->out; n++) {
            float v = x_scale * o[n] + (l->bias ? l->bias[n] : 0.0f);
            yr[n] = p->accumulate ? yr[n] + v : v;
        }
    }
    if (!p->activation)
        return 0;
    dnnl_memory_set_data_handle(p->mem_act, y->data);
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, p->mem_act }, { DNNL_ARG_DST, p->mem_act } };
    return drift_dnnl_run(ctx, p->activation, 2, args, err, "running the int8 activation");
}

/* The direct kernel's packed weights, from the oneDNN copy seen as plain (N,K) bf16 rows. */
static int direct_weights(struct drift_context *ctx, struct drift_linear *l, struct drift_error *err)
{
    if (l->direct_packed)
        return 0;
    dnnl_memory_desc_t plain_md;
    dnnl_dims_t dims = { l->in, l->out }, strides = { 1, l->in };
    dnnl_memory_desc_init_by_strides(&plain_md, 2, dims, dnnl_bf16, strides);
    void *plain = NULL;
    int r = reorder_into_new(ctx, &l->packed_md, l->packed, &plain_md, &plain, err);
    if (r < 0)
        return r;
    l->direct_packed = drift_ctx_alloc(ctx, drift_linear_direct_packed_elems(l->in, l->out) *
                                                sizeof(uint16_t));
    if (l->direct_packed)
        drift_linear_direct_pack(plain, l->in, l->out, l->direct_packed);
    free(plain);
    return l->direct_packed ? 0 : drift_error_set(err, -ENOMEM, "linear: out of memory for weights");
}

static int plan_build_direct(struct drift_context *ctx, struct drift_linear *l,
                             struct linear_plan *p, struct drift_error *err)
{
    int r = direct_weights(ctx, l, err);
    if (r < 0)
        return r;
    p->direct = true;
    p->x_scratch = drift_ctx_alloc(ctx, drift_linear_direct_x_elems(l->in, p->rows) * sizeof(uint16_t));
    return p->x_scratch ? 0 : drift_error_set(err, -ENOMEM, "linear: out of memory for scratch");
}

static int plan_build(struct drift_context *ctx, struct drift_linear *l, struct linear_plan *p,
                      struct drift_error *err)
{
    if (ctx->linear_direct && l->dtype == DRIFT_BF16 && !l->int8 &&
        p->rows <= DRIFT_LINEAR_DIRECT_MAX_ROWS)
        return plan_build_direct(ctx, l, p, err);
    dnnl_primitive_desc_t pd;
    int r = build_pd(ctx, l, p->rows, p->x_row_stride, p->y_row_stride, p->accumulate, &pd, err);
    if (r < 0)
        return r;
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *x_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *y_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if (dnnl_memory_desc_equal(w_md, &l->packed_md)) {
        p->weights = l->packed;
    } else {
        r = repack_weights(ctx, l, p->rows, w_md, &p->weights, err);
        p->owns_weights = r == 0;
    }
    if (r == 0) {
        dnnl_status_t s = dnnl_primitive_create(&p->matmul, pd);
        if (s != dnnl_success)
            r = drift_dnnl_fail(err, s, "creating a linear matmul");
        else
            ctx->counters.primitives_created++;
    }
    if (r == 0) r = drift_dnnl_memory(ctx, x_md, NULL, &p->mem_x, err);
    if (r == 0) r = drift_dnnl_memory(ctx, w_md, p->weights, &p->mem_w, err);
    if (r == 0) r = drift_dnnl_memory(ctx, y_md, NULL, &p->mem_y, err);
    if (r == 0 && l->int8)
        r = plan_build_int8(ctx, l, p, x_md, err);
    if (r == 0 && l->bias && !l->int8) {
        dnnl_memory_desc_t b_md;
        dnnl_dims_t bd = { 1, l->out };
        dnnl_memory_desc_init_by_tag(&b_md, 2, bd, dnnl_f32, dnnl_ab);
        r = drift_dnnl_memory(ctx, &b_md, l->bias, &p->mem_b, err);
    }
    if (r == 0 && l->dtype == DRIFT_BF16 && !l->int8) {
        /* f32 rows (any row stride) -> dense bf16 scratch (drift_f32_rows_to_bf16). */
        p->x_scratch = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(x_md));
        if (!p->x_scratch)
            r = drift_error_set(err, -ENOMEM, "linear: out of memory for scratch");
        p->to_bf16 = true;
        if (r == 0) dnnl_memory_set_data_handle(p->mem_x, p->x_scratch);
    }
    dnnl_primitive_desc_destroy(pd);
    return r;
}

static struct linear_plan *plan_get(struct drift_context *ctx, struct drift_linear *l,
                                    int64_t rows, int64_t xs, int64_t ys, bool accumulate,
                                    struct drift_error *err, int *ret)
{
    for (int i = 0; i < l->plan_count; i++) {
        struct linear_plan *p = &l->plans[i];
        if (p->rows == rows && p->x_row_stride == xs && p->y_row_stride == ys &&
            p->accumulate == accumulate) {
            ctx->counters.plan_hits++;
            return p;
        }
    }
    if (l->plan_count == LINEAR_MAX_PLANS) {
        *ret = drift_error_set(err, -ENOSPC, "linear: more than %d shapes", LINEAR_MAX_PLANS);
        return NULL;
    }
    struct linear_plan *p = &l->plans[l->plan_count];
    *p = (struct linear_plan){ .rows = rows, .x_row_stride = xs, .y_row_stride = ys,
                               .accumulate = accumulate };
    *ret = plan_build(ctx, l, p, err);
    if (*ret < 0) {
        plan_release(p);
        memset(p, 0, sizeof(*p));
        return NULL;
    }
    l->plan_count++;
    return p;
}

/* Rows of a (M,C) or (B,L,C) f32 tensor whose rows are evenly strided; returns the row count and
 * the row stride, or -EINVAL. */
static int rows_of(const struct drift_tensor *t, int64_t cols, const char *name, int64_t *rows,
                   int64_t *row_stride, struct drift_error *err)
{
    char shape[96];
    if (!t || t->dtype != DRIFT_F32 || t->ndim < 2 || t->ndim > 3 || t->shape[t->ndim - 1] != cols ||
        t->stride[t->ndim - 1] != 1)
        return drift_error_set(err, -EINVAL, "linear: %s must be f32 (M,%lld) or (B,L,%lld), got %s",
                               name, (long long)cols, (long long)cols,
                               t ? drift_shape_str(t, shape, sizeof(shape)) : "NULL");
    *row_stride = t->stride[t->ndim - 2];
    *rows = t->shape[t->ndim - 2];
    if (t->ndim == 3) {
        if (t->stride[0] != t->shape[1] * t->stride[1])
            return drift_error_set(err, -EINVAL, "linear: %s batches are not evenly strided", name);
        *rows *= t->shape[0];
    }
    return 0;
}

static int linear_forward_impl(struct drift_context *ctx, struct drift_linear *l,
                         const struct drift_tensor *x, struct drift_tensor *y, bool accumulate,
                         struct drift_error *err)
{
    int64_t rows, xs, yrows, ys;
    int r = rows_of(x, l->in, "x", &rows, &xs, err);
    if (r == 0)
        r = rows_of(y, l->out, "y", &yrows, &ys, err);
    if (r < 0)
        return r;
    if (rows != yrows)
        return drift_error_set(err, -EINVAL, "linear: x has %lld rows but y has %lld",
                               (long long)rows, (long long)yrows);
    if (accumulate && l->act != DRIFT_ACT_NONE)
        return drift_error_set(err, -EINVAL, "linear: accumulate needs no activation");
    struct linear_plan *p = plan_get(ctx, l, rows, xs, ys, accumulate, err, &r);
    if (!p)
        return r;
    ctx->counters.flops += 2.0 * (double)rows * l->in * l->out;
    if (p->direct) {
        drift_linear_direct_forward(l->direct_packed, l->bias, l->in, l->out, l->act, x->data, rows,
                                    xs, y->data, ys, accumulate, p->x_scratch);
        return 0;
    }
    float x_scale = 1.0f;
    if (l->int8) {
        x_scale = drift_quantize_activations(x->data, rows, l->in, xs, p->x_scratch);
    } else if (p->to_bf16) {
        drift_f32_rows_to_bf16(x->data, rows, l->in, xs, p->x_scratch);
    } else {
        dnnl_memory_set_data_handle(p->mem_x, x->data);
    }
    if (!l->int8)
        dnnl_memory_set_data_handle(p->mem_y, y->data);
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, p->mem_x }, { DNNL_ARG_WEIGHTS, p->mem_w },
                                { DNNL_ARG_DST, p->mem_y } };
    int nargs = 3;
    if (p->mem_b)
        args[nargs++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, p->mem_b };
    r = drift_dnnl_run(ctx, p->matmul, nargs, args, err, "running a linear matmul");
    return r < 0 || !l->int8 ? r : linear_int8_epilogue(ctx, l, p, x_scale, y, err);
}

int drift_linear_forward(struct drift_context *ctx, struct drift_linear *l,
                         const struct drift_tensor *x, struct drift_tensor *y, bool accumulate,
                         struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = linear_forward_impl(ctx, l, x, y, accumulate, err);
    drift_op_end(ctx, DRIFT_OP_LINEAR, started);
    return r;
}
