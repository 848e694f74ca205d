/* drift engine internals shared by the op modules: the context, plan cache and oneDNN helpers.
 * Not installed; never included outside engine/src. */
#ifndef DRIFT_INTERNAL_H
#define DRIFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include <drift/context.h>
#include <drift/error.h>
#include <drift/ops.h>
#include <drift/tensor.h>

/* A plan: whatever an op built for one shape (primitives, scratch), freed by `destroy`. */
struct drift_plan {
    unsigned char key[256];
    size_t key_size;
    void *data;
    void (*destroy)(void *data);
};

#define DRIFT_MAX_PLANS 512

struct drift_context {
    enum drift_precision precision;
    enum drift_dtype compute_dtype; /* bf16 or f32: products other than int8 linear layers */
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    struct drift_counters counters;
    struct drift_plan plans[DRIFT_MAX_PLANS];
    size_t plan_count;
    int timing_depth;            /* ops nested inside the op being timed */
    int threads;                 /* OpenMP threads for ops, 0 = the OpenMP default */
    int threads_depth;           /* drift_threads_enter nesting */
    int threads_saved;           /* the calling thread's setting before the outermost enter */
    enum drift_attention_kernel attention; /* FUSED or MATMUL, resolved at creation */
    bool attention_portable;     /* the fused kernel's portable C variant even where the CPU has
                                    AVX2 (set at creation for CPUs without it; tests set it) */
    bool attention_amx;          /* bf16: the fused kernel's AMX variant (set at creation where
                                    drift_fused_amx_supported(), unless the options said
                                    attention_fused_without_amx) */
    bool linear_direct;          /* bf16 products of a few rows on linear_direct.h's kernel: set at
                                    creation where the CPU has AVX512-BF16, unless the options
                                    said linear_onednn_only */
};

/* Runs the calling thread's OpenMP work (oneDNN's kernels, built and executed, and the engine's
 * loops) with the context's thread count until the matching drift_threads_leave; nests. Every op
 * does it (drift_op_begin/end), and so does anything that builds primitives outside an op (weight
 * packing at load), so that a kernel is built and run with the same team size. */
void drift_threads_enter(struct drift_context *ctx);
/* Gives the context the thread count a generator picks by itself for a model of this size in the
 * context's precision (drift_model_threads); only before the context built anything. */
void drift_context_fit_threads(struct drift_context *ctx, double flops_per_eval);
void drift_threads_leave(struct drift_context *ctx);

/* OpenMP work-sharing in the engine's own loops, on the runtime oneDNN uses (libgomp): only where
 * the build enables OpenMP (GCC); elsewhere the loops run on the calling thread. */
#ifdef _OPENMP
#define DRIFT_OMP(directive) _Pragma(#directive)
#else
#define DRIFT_OMP(directive)
#endif
/* Loops smaller than this many elements are not worth waking the thread team for. */
#define DRIFT_OMP_MIN_WORK 32768

/* body(arg, i) for i in [0, n): shared over the calling thread's OpenMP team when `work` (the
 * elements the loop touches) reaches DRIFT_OMP_MIN_WORK, on the calling thread otherwise. The
 * branch matters: a parallel region with a false `if` clause still costs a team set-up, which is
 * most of the time of a small model's loop. */
void drift_parallel_for(int64_t n, int64_t work, void (*body)(void *arg, int64_t i), void *arg);

/* Hot loops compiled once per instruction set and picked by the CPU at load time (ifunc), so a
 * baseline x86-64 build still runs them with AVX-512 where the machine has it. GCC only: clang 14
 * emits the dispatcher only for callers in the same file (the sanitizer build uses clang). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DRIFT_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#ifndef DRIFT_CPU_CLONES
#define DRIFT_CPU_CLONES
#endif

/* Op timing: t = drift_op_begin(ctx); ...; drift_op_end(ctx, kind, t). Only the outermost op
 * records, so an attention's inner matmuls count as attention. */
double drift_op_begin(struct drift_context *ctx);
void drift_op_end(struct drift_context *ctx, enum drift_op_kind kind, double started);

/* Returns the plan data stored under key, or NULL (counts a hit when found). */
void *drift_plan_find(struct drift_context *ctx, const void *key, size_t key_size);
/* Stores data under key; on failure (-ENOSPC, -EINVAL) destroys data. */
int drift_plan_store(struct drift_context *ctx, const void *key, size_t key_size, void *data,
                     void (*destroy)(void *data), struct drift_error *err);

/* Counted allocations (64-byte aligned, zeroed). */
void *drift_ctx_alloc(struct drift_context *ctx, size_t size);

struct drift_st_entry;
/* A model tensor as an owned f32 array (a counted allocation), converted from bf16 if stored so;
 * NULL when out of memory. */
float *drift_ctx_load_f32(struct drift_context *ctx, const struct drift_st_entry *e);

struct drift_safetensors;
/* Builds the 2-D convolution "PREFIX.N.weight" [O, I, K, K] + "PREFIX.N.bias" [O] of st (F32 or
 * BF16, shapes already checked by the caller), stride 1, padding K/2, with act fused. Errors
 * are prefixed with the weight's name. The caller owns *ret. */
int drift_conv_load(struct drift_context *ctx, const struct drift_safetensors *st,
                    const char *prefix, int n, enum drift_activation act,
                    struct drift_conv **ret, struct drift_error *err);

/* Maps a failed dnnl status to -EIO with a message naming what was being done. */
int drift_dnnl_fail(struct drift_error *err, dnnl_status_t status, const char *what);
#define DNNL_TRY(err, call, what)                                                                \
    do {                                                                                         \
        dnnl_status_t s_ = (call);                                                               \
        if (s_ != dnnl_success)                                                                  \
            return drift_dnnl_fail((err), s_, (what));                                           \
    } while (0)

dnnl_data_type_t drift_dnnl_dtype(enum drift_dtype dtype);
/* A memory descriptor with the tensor's shape and strides. */
int drift_dnnl_md_of(const struct drift_tensor *t, dnnl_memory_desc_t *md,
                     struct drift_error *err);
/* Creates a primitive from an op descriptor and attributes; counts it. Returns the primitive
 * descriptor in *ret_pd when requested (caller destroys it). */
int drift_dnnl_build(struct drift_context *ctx, const void *op_desc, const_dnnl_primitive_attr_t attr,
                     dnnl_primitive_t *ret_prim, dnnl_primitive_desc_t *ret_pd,
                     struct drift_error *err, const char *what);
/* A reorder primitive from src to dst layout. */
int drift_dnnl_build_reorder(struct drift_context *ctx, const dnnl_memory_desc_t *src,
                             const dnnl_memory_desc_t *dst, dnnl_primitive_t *ret,
                             struct drift_error *err);
/* Executes prim with (arg, memory) pairs and waits for it. */
int drift_dnnl_run(struct drift_context *ctx, dnnl_primitive_t prim, int nargs,
                   const dnnl_exec_arg_t *args, struct drift_error *err, const char *what);
/* A memory object for md with the given handle (may be NULL; set later). */
int drift_dnnl_memory(struct drift_context *ctx, const dnnl_memory_desc_t *md, void *handle,
                      dnnl_memory_t *ret, struct drift_error *err);

/* f32 -> bf16 with round to nearest even, inlined for the hot loops (same as drift_f32_to_bf16). */
static inline uint16_t drift_bf16_round(float f)
{
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* drift_bf16_round written with a select instead of a branch, so that loops over it vectorise. */
static inline uint16_t drift_bf16_round_select(float f)
{
    uint32_t u;
    __builtin_memcpy(&u, &f, sizeof(u));
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

/* f32 rows (row stride `stride` floats) -> dense bf16 (rows, cols), rounding to nearest even;
 * vectorised per CPU, rows shared over the context's threads (convert.c). Replaces a oneDNN
 * reorder call before each bf16 product: for the audio model those calls were a third of the
 * per-call overhead that bounds its step. */
void drift_f32_rows_to_bf16(const float *src, int64_t rows, int64_t cols, int64_t stride,
                            uint16_t *dst);

/* Shape description used in messages, e.g. "(2,256,384)". buf must hold 96 bytes. */
const char *drift_shape_str(const struct drift_tensor *t, char *buf, size_t size);

#endif
