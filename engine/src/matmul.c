/* Batched matmul c = alpha * a b on oneDNN, with operands converted to the context's compute
 * dtype in plan-owned scratch when they arrive in another dtype. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "internal.h"

struct matmul_plan {
    dnnl_primitive_t matmul;
    dnnl_primitive_t convert[2];   /* a, b -> compute dtype (NULL when not needed) */
    void *scratch[2];
    dnnl_memory_t user[2], operand[2], dst;
};

static void matmul_plan_destroy(void *data)
{
    struct matmul_plan *p = data;
    if (p->matmul) dnnl_primitive_destroy(p->matmul);
    for (int i = 0; i < 2; i++) {
        if (p->convert[i]) dnnl_primitive_destroy(p->convert[i]);
        if (p->user[i]) dnnl_memory_destroy(p->user[i]);
        if (p->operand[i] && p->operand[i] != p->user[i]) dnnl_memory_destroy(p->operand[i]);
        free(p->scratch[i]);
    }
    if (p->dst) dnnl_memory_destroy(p->dst);
    free(p);
}

/* Views a 2-D or 3-D tensor as 3-D (batch 1 for 2-D). */
static void as_batched(const struct drift_tensor *t, dnnl_dims_t dims, dnnl_dims_t strides)
{
    int off = 3 - t->ndim;
    dims[0] = 1;
    strides[0] = t->shape[0] * t->stride[0];
    for (int i = 0; i < t->ndim; i++) {
        dims[i + off] = t->shape[i];
        strides[i + off] = t->stride[i];
    }
}

/* Memory for operand i: the user's layout, converted into dense compute-dtype scratch if needed. */
static int prepare_operand(struct drift_context *ctx, struct matmul_plan *p, int i,
                           const dnnl_memory_desc_t *user_md, dnnl_data_type_t cdt,
                           const dnnl_dims_t dims, dnnl_memory_desc_t *ret_md,
                           struct drift_error *err)
{
    int r = drift_dnnl_memory(ctx, user_md, NULL, &p->user[i], err);
    if (r < 0)
        return r;
    if (user_md->data_type == cdt) {
        *ret_md = *user_md;
        p->operand[i] = p->user[i];
        return 0;
    }
    DNNL_TRY(err, dnnl_memory_desc_init_by_tag(ret_md, 3, dims, cdt, dnnl_abc), "matmul operand");
    p->scratch[i] = drift_ctx_alloc(ctx, dnnl_memory_desc_get_size(ret_md));
    if (!p->scratch[i])
        return drift_error_set(err, -ENOMEM, "matmul: out of memory for scratch");
    r = drift_dnnl_build_reorder(ctx, user_md, ret_md, &p->convert[i], err);
    if (r == 0)
        r = drift_dnnl_memory(ctx, ret_md, p->scratch[i], &p->operand[i], err);
    return r;
}

static int matmul_plan_build(struct drift_context *ctx, const struct drift_tensor *a,
                             const struct drift_tensor *b, const struct drift_tensor *c,
                             float alpha, struct matmul_plan *p, struct drift_error *err)
{
    dnnl_dims_t ad, as, bd, bs, cd, cs;
    as_batched(a, ad, as);
    as_batched(b, bd, bs);
    as_batched(c, cd, cs);
    dnnl_data_type_t cdt = drift_dnnl_dtype(drift_context_compute_dtype(ctx));
    dnnl_memory_desc_t a_user, b_user, a_md, b_md, c_md;
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(&a_user, 3, ad, drift_dnnl_dtype(a->dtype), as), "matmul a");
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(&b_user, 3, bd, drift_dnnl_dtype(b->dtype), bs), "matmul b");
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(&c_md, 3, cd, dnnl_f32, cs), "matmul c");
    int r = prepare_operand(ctx, p, 0, &a_user, cdt, ad, &a_md, err);
    if (r == 0)
        r = prepare_operand(ctx, p, 1, &b_user, cdt, bd, &b_md, err);
    if (r < 0)
        return r;
    dnnl_matmul_desc_t desc;
    DNNL_TRY(err, dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md), "describing a matmul");
    dnnl_primitive_attr_t attr;
    DNNL_TRY(err, dnnl_primitive_attr_create(&attr), "matmul attributes");
    if (alpha != 1.0f)
        dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
    r = drift_dnnl_build(ctx, &desc, attr, &p->matmul, NULL, err, "creating a matmul");
    dnnl_primitive_attr_destroy(attr);
    if (r == 0)
        r = drift_dnnl_memory(ctx, &c_md, NULL, &p->dst, err);
    return r;
}

static int check_matmul_args(const struct drift_tensor *a, const struct drift_tensor *b,
                             const struct drift_tensor *c, struct drift_error *err)
{
    char sa[96], sb[96], sc[96];
    if (!a || !b || !c)
        return drift_error_set(err, -EINVAL, "matmul: a, b and c are required");
    if (a->ndim < 2 || a->ndim > 3 || b->ndim != a->ndim || c->ndim != a->ndim ||
        c->dtype != DRIFT_F32)
        return drift_error_set(err, -EINVAL, "matmul: a, b, c must all be 2-D or 3-D, c f32");
    int n = a->ndim;
    bool batch_ok = n == 2 || (a->shape[0] == b->shape[0] && a->shape[0] == c->shape[0]);
    if (!batch_ok || a->shape[n - 1] != b->shape[n - 2] || c->shape[n - 2] != a->shape[n - 2] ||
        c->shape[n - 1] != b->shape[n - 1] || !drift_tensor_is_dense(c))
        return drift_error_set(err, -EINVAL, "matmul: shapes a %s, b %s, c %s do not fit",
                               drift_shape_str(a, sa, sizeof(sa)), drift_shape_str(b, sb, sizeof(sb)),
                               drift_shape_str(c, sc, sizeof(sc)));
    return 0;
}

static int matmul_impl(struct drift_context *ctx, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, float alpha,
                 struct drift_error *err)
{
    int r = check_matmul_args(a, b, c, err);
    if (r < 0)
        return r;
    int64_t key[32] = { 0x6d61746d756c, a->ndim, a->dtype, b->dtype };
    int k = 4;
    for (int i = 0; i < a->ndim; i++) {
        key[k++] = a->shape[i]; key[k++] = a->stride[i];
        key[k++] = b->shape[i]; key[k++] = b->stride[i];
        key[k++] = c->shape[i];
    }
    memcpy(&key[k++], &alpha, sizeof(alpha));
    struct matmul_plan *p = drift_plan_find(ctx, key, sizeof(key));
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return drift_error_set(err, -ENOMEM, "matmul: out of memory");
        r = matmul_plan_build(ctx, a, b, c, alpha, p, err);
        if (r == 0)
            r = drift_plan_store(ctx, key, sizeof(key), p, matmul_plan_destroy, err);
        else
            matmul_plan_destroy(p);
        if (r < 0)
            return r;
    }
    const void *inputs[2] = { a->data, b->data };
    for (int i = 0; i < 2; i++) {
        dnnl_memory_set_data_handle(p->user[i], (void *)inputs[i]);
        if (p->convert[i]) {
            dnnl_exec_arg_t cv[] = { { DNNL_ARG_FROM, p->user[i] }, { DNNL_ARG_TO, p->operand[i] } };
            if ((r = drift_dnnl_run(ctx, p->convert[i], 2, cv, err, "converting a matmul operand")) < 0)
                return r;
        }
    }
    dnnl_memory_set_data_handle(p->dst, c->data);
    dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, p->operand[0] }, { DNNL_ARG_WEIGHTS, p->operand[1] },
                               { DNNL_ARG_DST, p->dst } };
    int n = a->ndim;
    double batch = n == 3 ? (double)a->shape[0] : 1.0;
    ctx->counters.flops += 2.0 * batch * a->shape[n - 2] * a->shape[n - 1] * b->shape[n - 1];
    return drift_dnnl_run(ctx, p->matmul, 3, args, err, "running a matmul");
}

int drift_matmul(struct drift_context *ctx, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, float alpha,
                 struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = matmul_impl(ctx, a, b, c, alpha, err);
    drift_op_end(ctx, DRIFT_OP_MATMUL, started);
    return r;
}
