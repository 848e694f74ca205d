/* 1-D/2-D convolution and bilinear resize on oneDNN. Convolution plans (one per input shape)
 * pack the weights into the layout the kernel picks, once, convert the input into that kernel's
 * source layout and the context's dtype, and the kernel's output back into the caller's plain
 * layout: a plain destination would rule out oneDNN's direct convolutions, which want blocked
 * channels, and leave im2col + GEMM (measured: 64->64 channels at 32x32, f32 on AVX2, several
 * times slower than the direct kernel plus both reorders). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drift/model_file.h>
#include <drift/ops.h>

#include "internal.h"

#define CONV_MAX_PLANS 8

struct conv_plan {
    int64_t in_shape[DRIFT_MAX_DIMS];
    dnnl_primitive_t conv, to_src, from_dst; /* from_dst NULL when the kernel writes y's layout */
    void *src_scratch, *weights, *dst_scratch;
    dnnl_memory_t user_src, src, wei, bias, dst, kernel_dst;
};

struct drift_conv {
    int spatial;                 /* 1 or 2 */
    int64_t out_ch, in_ch, kernel[2];
    int stride, padding;
    enum drift_activation act;
    void *weights;               /* user layout (O,I,K[,K]) in the weight's dtype */
    enum drift_dtype weight_dtype;
    float *bias;
    struct conv_plan plans[CONV_MAX_PLANS];
    int plan_count;
};

static void conv_plan_release(struct conv_plan *p)
{
    if (p->conv) dnnl_primitive_destroy(p->conv);
    if (p->to_src) dnnl_primitive_destroy(p->to_src);
    if (p->from_dst) dnnl_primitive_destroy(p->from_dst);
    dnnl_memory_t mems[] = { p->user_src, p->src, p->wei, p->bias, p->dst, p->kernel_dst };
    for (int i = 0; i < 6; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(p->src_scratch);
    free(p->dst_scratch);
    free(p->weights);
}

void drift_conv_free(struct drift_conv *conv)
{
    if (!conv)
        return;
    for (int i = 0; i < conv->plan_count; i++)
        conv_plan_release(&conv->plans[i]);
    free(conv->weights);
    free(conv->bias);
    free(conv);
}

int drift_conv_new(struct drift_context *ctx, const struct drift_tensor *weight,
                   const struct drift_tensor *bias, int stride, int padding,
                   enum drift_activation act, struct drift_conv **ret, struct drift_error *err)
{
    if (!weight || (weight->ndim != 3 && weight->ndim != 4) || !drift_tensor_is_dense(weight))
        return drift_error_set(err, -EINVAL, "conv: weight must be dense (O,I,K) or (O,I,KH,KW)");
    if (bias && (bias->ndim != 1 || bias->shape[0] != weight->shape[0] || bias->dtype != DRIFT_F32))
        return drift_error_set(err, -EINVAL, "conv: bias must be f32 (%lld)",
                               (long long)weight->shape[0]);
    if (stride < 1 || padding < 0)
        return drift_error_set(err, -EINVAL, "conv: stride must be >= 1 and padding >= 0");
    struct drift_conv *c = calloc(1, sizeof(*c));
    if (!c)
        return drift_error_set(err, -ENOMEM, "conv: out of memory");
    c->spatial = weight->ndim - 2;
    c->out_ch = weight->shape[0];
    c->in_ch = weight->shape[1];
    c->kernel[0] = weight->shape[2];
    c->kernel[1] = c->spatial == 2 ? weight->shape[3] : 1;
    c->stride = stride;
    c->padding = padding;
    c->act = act;
    c->weight_dtype = weight->dtype;
    c->weights = drift_ctx_alloc(ctx, drift_tensor_nbytes(weight));
    c->bias = bias ? drift_ctx_alloc(ctx, (size_t)c->out_ch * sizeof(float)) : NULL;
    if (!c->weights || (bias && !c->bias)) {
        drift_conv_free(c);
        return drift_error_set(err, -ENOMEM, "conv: out of memory");
    }
    memcpy(c->weights, weight->data, drift_tensor_nbytes(weight));
    if (bias)
        memcpy(c->bias, bias->data, (size_t)c->out_ch * sizeof(float));
    *ret = c;
    return 0;
}

int drift_conv_load(struct drift_context *ctx, const struct drift_safetensors *st,
                    const char *prefix, int n, enum drift_activation act,
                    struct drift_conv **ret, struct drift_error *err)
{
    char wname[96], bname[96];
    snprintf(wname, sizeof(wname), "%s.%d.weight", prefix, n);
    snprintf(bname, sizeof(bname), "%s.%d.bias", prefix, n);
    const struct drift_st_entry *we = drift_safetensors_find(st, wname),
                                *be = drift_safetensors_find(st, bname);
    if (!we || !be || we->ndim != 4)
        return drift_error_set(err, -EINVAL, "tensor '%s': missing or not [O, I, K, K]",
                               we ? bname : wname);
    float *w = drift_ctx_load_f32(ctx, we), *b = drift_ctx_load_f32(ctx, be);
    int r;
    if (!w || !b) {
        r = drift_error_set(err, -ENOMEM, "%s: out of memory", wname);
    } else {
        struct drift_tensor wt, bt;
        drift_tensor_view(&wt, DRIFT_F32, w, 4, we->shape);
        drift_tensor_view(&bt, DRIFT_F32, b, 1, be->shape);
        r = drift_conv_new(ctx, &wt, &bt, 1, (int)we->shape[2] / 2, act, ret, err);
        if (r < 0)
            drift_error_prefix(err, "%s", wname);
    }
    free(w);
    free(b);
    return r;
}

static int conv_plan_build(struct drift_context *ctx, struct drift_conv *c,
                           const struct drift_tensor *x, const struct drift_tensor *y,
                           struct conv_plan *p, struct drift_error *err)
{
    int nd = c->spatial + 2, r;
    dnnl_data_type_t cdt = drift_dnnl_dtype(drift_context_compute_dtype(ctx));
    dnnl_memory_desc_t user_src, src, wei, user_wei, bias, dst, kdst;
    dnnl_dims_t sd, dd, wd, strides, pad, bd = { c->out_ch };
    for (int i = 0; i < nd; i++) sd[i] = x->shape[i], dd[i] = y->shape[i];
    wd[0] = c->out_ch; wd[1] = c->in_ch; wd[2] = c->kernel[0]; wd[3] = c->kernel[1];
    for (int i = 0; i < c->spatial; i++) { strides[i] = c->stride; pad[i] = c->padding; }
    static const dnnl_format_tag_t plain[] = { 0, 0, 0, dnnl_abc, dnnl_abcd };
    if ((r = drift_dnnl_md_of(x, &user_src, err)) < 0 || (r = drift_dnnl_md_of(y, &dst, err)) < 0)
        return r;
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&src, nd, sd, cdt, dnnl_format_tag_any), "conv src");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&wei, nd, wd, cdt, dnnl_format_tag_any), "conv W");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&user_wei, nd, wd, drift_dnnl_dtype(c->weight_dtype),
                                               plain[nd]), "conv W");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_a), "conv bias");
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&kdst, nd, dd, dnnl_f32, dnnl_format_tag_any),
             "conv dst");
    dnnl_convolution_desc_t desc;
    DNNL_TRY(err, dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference,
                                                     dnnl_convolution_direct, &src, &wei,
                                                     c->bias ? &bias : NULL, &kdst, strides, pad, pad),
             "describing a convolution");
    dnnl_post_ops_t po;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_create(&po);
    if (c->act == DRIFT_ACT_GELU_TANH)
        dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_gelu_tanh, 0.f, 0.f);
    else if (c->act == DRIFT_ACT_SILU)
        dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_swish, 1.f, 0.f);
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_desc_t pd;
    r = drift_dnnl_build(ctx, &desc, attr, &p->conv, &pd, err, "creating a convolution");
    dnnl_primitive_attr_destroy(attr);
    if (r < 0)
        return r;
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *wei_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    bool reorder_dst = !dnnl_memory_desc_equal(dst_md, &dst);
    p->src_scratch = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(src_md));
    p->weights = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(wei_md));
    if (reorder_dst)
        p->dst_scratch = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(dst_md));
    if (!p->src_scratch || !p->weights || (reorder_dst && !p->dst_scratch))
        r = drift_error_set(err, -ENOMEM, "conv: out of memory");
    dnnl_memory_t uw = NULL;
    dnnl_primitive_t pack = NULL;
    if (r == 0) r = drift_dnnl_memory(ctx, src_md, p->src_scratch, &p->src, err);
    if (r == 0) r = drift_dnnl_memory(ctx, &user_src, NULL, &p->user_src, err);
    if (r == 0) r = drift_dnnl_memory(ctx, wei_md, p->weights, &p->wei, err);
    if (r == 0) r = drift_dnnl_memory(ctx, &dst, NULL, &p->dst, err);
    if (r == 0 && reorder_dst) r = drift_dnnl_memory(ctx, dst_md, p->dst_scratch, &p->kernel_dst, err);
    if (r == 0 && reorder_dst) r = drift_dnnl_build_reorder(ctx, dst_md, &dst, &p->from_dst, err);
    if (r == 0 && c->bias) r = drift_dnnl_memory(ctx, &bias, c->bias, &p->bias, err);
    if (r == 0) r = drift_dnnl_build_reorder(ctx, &user_src, src_md, &p->to_src, err);
    if (r == 0) r = drift_dnnl_memory(ctx, &user_wei, c->weights, &uw, err);
    if (r == 0) r = drift_dnnl_build_reorder(ctx, &user_wei, wei_md, &pack, err);
    if (r == 0) {
        dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, uw }, { DNNL_ARG_TO, p->wei } };
        r = drift_dnnl_run(ctx, pack, 2, args, err, "packing conv weights");
    }
    if (pack) dnnl_primitive_destroy(pack);
    if (uw) dnnl_memory_destroy(uw);
    dnnl_primitive_desc_destroy(pd);
    return r;
}

static int conv_forward_impl(struct drift_context *ctx, struct drift_conv *c,
                       const struct drift_tensor *x, struct drift_tensor *y,
                       struct drift_error *err)
{
    int nd = c->spatial + 2;
    char sx[96], sy[96];
    bool ok = x && y && x->ndim == nd && y->ndim == nd && x->dtype == DRIFT_F32 &&
              y->dtype == DRIFT_F32 && drift_tensor_is_dense(x) && drift_tensor_is_dense(y) &&
              x->shape[1] == c->in_ch && y->shape[0] == x->shape[0] && y->shape[1] == c->out_ch;
    for (int i = 0; ok && i < c->spatial; i++)
        ok = y->shape[2 + i] == (x->shape[2 + i] + 2 * c->padding - c->kernel[i]) / c->stride + 1 &&
             x->shape[2 + i] + 2 * c->padding >= c->kernel[i];
    if (!ok)
        return drift_error_set(err, -EINVAL, "conv: x %s and y %s do not fit the weights",
                               x ? drift_shape_str(x, sx, sizeof(sx)) : "NULL",
                               y ? drift_shape_str(y, sy, sizeof(sy)) : "NULL");
    struct conv_plan *p = NULL;
    for (int i = 0; i < c->plan_count && !p; i++)
        if (memcmp(c->plans[i].in_shape, x->shape, sizeof(x->shape)) == 0)
            p = &c->plans[i];
    int r = 0;
    if (p) {
        ctx->counters.plan_hits++;
    } else {
        if (c->plan_count == CONV_MAX_PLANS)
            return drift_error_set(err, -ENOSPC, "conv: more than %d input shapes", CONV_MAX_PLANS);
        p = &c->plans[c->plan_count];
        memset(p, 0, sizeof(*p));
        memcpy(p->in_shape, x->shape, sizeof(x->shape));
        if ((r = conv_plan_build(ctx, c, x, y, p, err)) < 0) {
            conv_plan_release(p);
            memset(p, 0, sizeof(*p));
            return r;
        }
        c->plan_count++;
    }
    dnnl_memory_set_data_handle(p->user_src, x->data);
    dnnl_memory_set_data_handle(p->dst, y->data);
    dnnl_exec_arg_t cv[] = { { DNNL_ARG_FROM, p->user_src }, { DNNL_ARG_TO, p->src } };
    if ((r = drift_dnnl_run(ctx, p->to_src, 2, cv, err, "converting conv input")) < 0)
        return r;
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, p->src }, { DNNL_ARG_WEIGHTS, p->wei },
                                { DNNL_ARG_DST, p->from_dst ? p->kernel_dst : p->dst } };
    int n = 3;
    if (p->bias)
        args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, p->bias };
    double outputs = (double)drift_tensor_numel(y);
    ctx->counters.flops += 2.0 * outputs * c->in_ch * c->kernel[0] * c->kernel[1];
    if ((r = drift_dnnl_run(ctx, p->conv, n, args, err, "running a convolution")) < 0 || !p->from_dst)
        return r;
    dnnl_exec_arg_t out[] = { { DNNL_ARG_FROM, p->kernel_dst }, { DNNL_ARG_TO, p->dst } };
    return drift_dnnl_run(ctx, p->from_dst, 2, out, err, "converting conv output");
}

struct resize_plan {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
};

static void resize_plan_destroy(void *data)
{
    struct resize_plan *p = data;
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->src) dnnl_memory_destroy(p->src);
    if (p->dst) dnnl_memory_destroy(p->dst);
    free(p);
}

static int resize_bilinear_impl(struct drift_context *ctx, const struct drift_tensor *x,
                          struct drift_tensor *y, struct drift_error *err)
{
    if (!x || !y || x->ndim != 4 || y->ndim != 4 || x->dtype != DRIFT_F32 ||
        y->dtype != DRIFT_F32 || x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] ||
        !drift_tensor_is_dense(x) || !drift_tensor_is_dense(y))
        return drift_error_set(err, -EINVAL, "resize: x and y must be dense f32 (N,C,H,W) with "
                               "the same N and C");
    int64_t key[9] = { 0x726573697a65 };
    for (int i = 0; i < 4; i++) {
        key[1 + i] = x->shape[i];
        key[5 + i] = y->shape[i];
    }
    struct resize_plan *p = drift_plan_find(ctx, key, sizeof(key));
    int r;
    if (!p) {
        dnnl_memory_desc_t smd, dmd;
        dnnl_resampling_desc_t desc;
        if ((r = drift_dnnl_md_of(x, &smd, err)) < 0 || (r = drift_dnnl_md_of(y, &dmd, err)) < 0)
            return r;
        DNNL_TRY(err, dnnl_resampling_forward_desc_init(&desc, dnnl_forward_inference,
                                                        dnnl_resampling_linear, NULL, &smd, &dmd),
                 "describing a resize");
        if (!(p = calloc(1, sizeof(*p))))
            return drift_error_set(err, -ENOMEM, "resize: out of memory");
        r = drift_dnnl_build(ctx, &desc, NULL, &p->prim, NULL, err, "creating a resize");
        if (r == 0) r = drift_dnnl_memory(ctx, &smd, NULL, &p->src, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &dmd, NULL, &p->dst, err);
        if (r < 0) {
            resize_plan_destroy(p);
            return r;
        }
        if ((r = drift_plan_store(ctx, key, sizeof(key), p, resize_plan_destroy, err)) < 0)
            return r;
    }
    dnnl_memory_set_data_handle(p->src, x->data);
    dnnl_memory_set_data_handle(p->dst, y->data);
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, p->src }, { DNNL_ARG_DST, p->dst } };
    return drift_dnnl_run(ctx, p->prim, 2, args, err, "running a resize");
}

int drift_conv_forward(struct drift_context *ctx, struct drift_conv *c,
                       const struct drift_tensor *x, struct drift_tensor *y,
                       struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = conv_forward_impl(ctx, c, x, y, err);
    drift_op_end(ctx, DRIFT_OP_CONV, started);
    return r;
}

int drift_resize_bilinear(struct drift_context *ctx, const struct drift_tensor *x,
                          struct drift_tensor *y, struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = resize_bilinear_impl(ctx, x, y, err);
    drift_op_end(ctx, DRIFT_OP_CONV, started);
    return r;
}
