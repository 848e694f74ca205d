/* Softmax and layer norm over the last dimension, on oneDNN, with plans keyed by shape. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "internal.h"

struct norm_plan {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst, scale, shift;
};

static void norm_plan_destroy(void *data)
{
    struct norm_plan *p = data;
    if (p->prim) dnnl_primitive_destroy(p->prim);
    dnnl_memory_t mems[] = { p->src, p->dst, p->scale, p->shift };
    for (int i = 0; i < 4; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    free(p);
}

static int check_same(const char *op, const struct drift_tensor *x, const struct drift_tensor *y,
                      struct drift_error *err)
{
    char sx[96], sy[96];
    if (!x || !y || x->dtype != DRIFT_F32 || y->dtype != DRIFT_F32 || x->ndim != y->ndim ||
        memcmp(x->shape, y->shape, sizeof(x->shape)) != 0 || !drift_tensor_is_dense(x) ||
        !drift_tensor_is_dense(y))
        return drift_error_set(err, -EINVAL, "%s: x %s and y %s must be dense f32 of one shape", op,
                               x ? drift_shape_str(x, sx, sizeof(sx)) : "NULL",
                               y ? drift_shape_str(y, sy, sizeof(sy)) : "NULL");
    return 0;
}

static void shape_key(int64_t *key, int64_t tag, const struct drift_tensor *x)
{
    key[0] = tag;
    key[1] = x->ndim;
    for (int i = 0; i < DRIFT_MAX_DIMS; i++)
        key[2 + i] = i < x->ndim ? x->shape[i] : 0;
}

static int run_norm(struct drift_context *ctx, struct norm_plan *p, const struct drift_tensor *x,
                    struct drift_tensor *y, const struct drift_tensor *gamma,
                    const struct drift_tensor *beta, struct drift_error *err, const char *what)
{
    dnnl_memory_set_data_handle(p->src, x->data);
    dnnl_memory_set_data_handle(p->dst, y->data);
    dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, p->src }, { DNNL_ARG_DST, p->dst } };
    int n = 2;
    if (gamma) {
        dnnl_memory_set_data_handle(p->scale, gamma->data);
        args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_SCALE, p->scale };
    }
    if (beta) {
        dnnl_memory_set_data_handle(p->shift, beta->data);
        args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_SHIFT, p->shift };
    }
    return drift_dnnl_run(ctx, p->prim, n, args, err, what);
}

static int softmax_impl(struct drift_context *ctx, const struct drift_tensor *x, struct drift_tensor *y,
                  struct drift_error *err)
{
    int r = check_same("softmax", x, y, err);
    if (r < 0)
        return r;
    int64_t key[6] = { 0 };
    shape_key(key, 0x736f66746d6178, x);
    struct norm_plan *p = drift_plan_find(ctx, key, sizeof(key));
    if (!p) {
        dnnl_memory_desc_t md;
        dnnl_softmax_v2_desc_t desc;
        if ((r = drift_dnnl_md_of(x, &md, err)) < 0)
            return r;
        DNNL_TRY(err, dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference,
                                                        dnnl_softmax_accurate, &md, &md, x->ndim - 1),
                 "describing a softmax");
        if (!(p = calloc(1, sizeof(*p))))
            return drift_error_set(err, -ENOMEM, "softmax: out of memory");
        r = drift_dnnl_build(ctx, &desc, NULL, &p->prim, NULL, err, "creating a softmax");
        if (r == 0) r = drift_dnnl_memory(ctx, &md, NULL, &p->src, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &md, NULL, &p->dst, err);
        if (r < 0) {
            norm_plan_destroy(p);
            return r;
        }
        if ((r = drift_plan_store(ctx, key, sizeof(key), p, norm_plan_destroy, err)) < 0)
            return r;
    }
    return run_norm(ctx, p, x, y, NULL, NULL, err, "running a softmax");
}

static int layer_norm_impl(struct drift_context *ctx, const struct drift_tensor *x,
                     const struct drift_tensor *gamma, const struct drift_tensor *beta, float eps,
                     struct drift_tensor *y, struct drift_error *err)
{
    int r = check_same("layer_norm", x, y, err);
    if (r < 0)
        return r;
    int64_t channels = x->shape[x->ndim - 1];
    const struct drift_tensor *affine[2] = { gamma, beta };
    for (int i = 0; i < 2; i++)
        if (affine[i] && (affine[i]->ndim != 1 || affine[i]->shape[0] != channels ||
                          affine[i]->dtype != DRIFT_F32))
            return drift_error_set(err, -EINVAL, "layer_norm: %s must be f32 (%lld)",
                                   i ? "beta" : "gamma", (long long)channels);
    if (!(eps > 0.0f))
        return drift_error_set(err, -EINVAL, "layer_norm: eps must be > 0");
    int64_t key[9] = { 0 }; /* zeroed: eps fills only half of key[8] */
    shape_key(key, 0x6c6e, x);
    key[6] = gamma != NULL;
    key[7] = beta != NULL;
    memcpy(&key[8], &eps, sizeof(eps));
    struct norm_plan *p = drift_plan_find(ctx, key, sizeof(key));
    if (!p) {
        dnnl_memory_desc_t md, cmd;
        dnnl_layer_normalization_desc_t desc;
        dnnl_dims_t cd = { channels };
        unsigned flags = (gamma ? dnnl_use_scale : 0) | (beta ? dnnl_use_shift : 0);
        if ((r = drift_dnnl_md_of(x, &md, err)) < 0)
            return r;
        DNNL_TRY(err, dnnl_memory_desc_init_by_tag(&cmd, 1, cd, dnnl_f32, dnnl_a), "layer_norm");
        DNNL_TRY(err, dnnl_layer_normalization_forward_desc_init(&desc, dnnl_forward_inference, &md,
                                                                 NULL, eps, flags),
                 "describing a layer norm");
        if (!(p = calloc(1, sizeof(*p))))
            return drift_error_set(err, -ENOMEM, "layer_norm: out of memory");
        r = drift_dnnl_build(ctx, &desc, NULL, &p->prim, NULL, err, "creating a layer norm");
        if (r == 0) r = drift_dnnl_memory(ctx, &md, NULL, &p->src, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &md, NULL, &p->dst, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &cmd, NULL, &p->scale, err);
        if (r == 0) r = drift_dnnl_memory(ctx, &cmd, NULL, &p->shift, err);
        if (r < 0) {
            norm_plan_destroy(p);
            return r;
        }
        if ((r = drift_plan_store(ctx, key, sizeof(key), p, norm_plan_destroy, err)) < 0)
            return r;
    }
    return run_norm(ctx, p, x, y, gamma, beta, err, "running a layer norm");
}

int drift_softmax(struct drift_context *ctx, const struct drift_tensor *x, struct drift_tensor *y,
                  struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = softmax_impl(ctx, x, y, err);
    drift_op_end(ctx, DRIFT_OP_NORM, started);
    return r;
}

int drift_layer_norm(struct drift_context *ctx, const struct drift_tensor *x,
                     const struct drift_tensor *gamma, const struct drift_tensor *beta, float eps,
                     struct drift_tensor *y, struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = layer_norm_impl(ctx, x, gamma, beta, eps, y, err);
    drift_op_end(ctx, DRIFT_OP_NORM, started);
    return r;
}
