#include <errno.h>
#include <stdio.h>

#include "internal.h"

int drift_dnnl_fail(struct drift_error *err, dnnl_status_t status, const char *what)
{
    return drift_error_set(err, -EIO, "oneDNN failed (status %d) while %s", (int)status, what);
}

dnnl_data_type_t drift_dnnl_dtype(enum drift_dtype dtype)
{
    return dtype == DRIFT_BF16 ? dnnl_bf16 : dnnl_f32;
}

int drift_dnnl_md_of(const struct drift_tensor *t, dnnl_memory_desc_t *md,
                     struct drift_error *err)
{
    dnnl_dims_t dims, strides;
    for (int i = 0; i < t->ndim; i++) {
        dims[i] = t->shape[i];
        strides[i] = t->stride[i];
    }
    DNNL_TRY(err, dnnl_memory_desc_init_by_strides(md, t->ndim, dims, drift_dnnl_dtype(t->dtype),
                                                   strides),
             "describing a tensor");
    return 0;
}

static int build_impl(struct drift_context *ctx, const void *op_desc,
                      const_dnnl_primitive_attr_t attr, dnnl_primitive_t *ret_prim,
                      dnnl_primitive_desc_t *ret_pd, struct drift_error *err, const char *what)
{
    dnnl_primitive_desc_t pd;
    DNNL_TRY(err, dnnl_primitive_desc_create(&pd, op_desc, attr, ctx->engine, NULL), what);
    dnnl_status_t s = dnnl_primitive_create(ret_prim, pd);
    if (s != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return drift_dnnl_fail(err, s, what);
    }
    ctx->counters.primitives_created++;
    if (ret_pd)
        *ret_pd = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return 0;
}

/* Kernels are built and run with the context's thread count (drift_threads_enter). */
int drift_dnnl_build(struct drift_context *ctx, const void *op_desc,
                     const_dnnl_primitive_attr_t attr, dnnl_primitive_t *ret_prim,
                     dnnl_primitive_desc_t *ret_pd, struct drift_error *err, const char *what)
{
    drift_threads_enter(ctx);
    int r = build_impl(ctx, op_desc, attr, ret_prim, ret_pd, err, what);
    drift_threads_leave(ctx);
    return r;
}

static int build_reorder_impl(struct drift_context *ctx, const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *dst, dnnl_primitive_t *ret,
                              struct drift_error *err)
{
    dnnl_primitive_desc_t pd;
    DNNL_TRY(err, dnnl_reorder_primitive_desc_create(&pd, src, ctx->engine, dst, ctx->engine, NULL),
             "creating a reorder");
    dnnl_status_t s = dnnl_primitive_create(ret, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success)
        return drift_dnnl_fail(err, s, "creating a reorder");
    ctx->counters.primitives_created++;
    return 0;
}

int drift_dnnl_build_reorder(struct drift_context *ctx, const dnnl_memory_desc_t *src,
                             const dnnl_memory_desc_t *dst, dnnl_primitive_t *ret,
                             struct drift_error *err)
{
    drift_threads_enter(ctx);
    int r = build_reorder_impl(ctx, src, dst, ret, err);
    drift_threads_leave(ctx);
    return r;
}

static int run_impl(struct drift_context *ctx, dnnl_primitive_t prim, int nargs,
                    const dnnl_exec_arg_t *args, struct drift_error *err, const char *what)
{
    DNNL_TRY(err, dnnl_primitive_execute(prim, ctx->stream, nargs, args), what);
    DNNL_TRY(err, dnnl_stream_wait(ctx->stream), what);
    ctx->counters.op_calls++;
    return 0;
}

int drift_dnnl_run(struct drift_context *ctx, dnnl_primitive_t prim, int nargs,
                   const dnnl_exec_arg_t *args, struct drift_error *err, const char *what)
{
    drift_threads_enter(ctx);
    int r = run_impl(ctx, prim, nargs, args, err, what);
    drift_threads_leave(ctx);
    return r;
}

int drift_dnnl_memory(struct drift_context *ctx, const dnnl_memory_desc_t *md, void *handle,
                      dnnl_memory_t *ret, struct drift_error *err)
{
    DNNL_TRY(err, dnnl_memory_create(ret, md, ctx->engine, handle ? handle : DNNL_MEMORY_NONE),
             "creating a memory object");
    return 0;
}

const char *drift_shape_str(const struct drift_tensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < t->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}
