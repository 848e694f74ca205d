/* drift engine: the compute context.
 *
 * A context holds the oneDNN engine and stream, the precision chosen for matrix work and the
 * counters every op updates. There is no global state: each generator owns its own context, and
 * two contexts may be used from two threads at once (one thread per context at a time). */
#ifndef DRIFT_CONTEXT_H
#define DRIFT_CONTEXT_H

#include <stdint.h>

#include <drift/error.h>
#include <drift/tensor.h>

enum drift_precision {
    DRIFT_PRECISION_AUTO = 0, /* bf16 where the CPU has AMX or AVX512-BF16, else f32;
                                 DRIFT_PRECISION=f32|bf16|int8 in the environment overrides */
    DRIFT_PRECISION_F32,
    DRIFT_PRECISION_BF16,
    DRIFT_PRECISION_INT8, /* linear layers with int8 weights (per output channel) and int8
                             activations (per call); everything else as auto would run it */
};

/* How attention runs (docs/ENGINE.md, "Kernels and precision"). */
enum drift_attention_kernel {
    DRIFT_ATTENTION_AUTO = 0, /* fused in bf16 on CPUs with AVX512-BF16 (on AMX tiles where
                                 the CPU has them); matmul elsewhere (in f32 the products were
                                 faster at the video shapes).
                                 DRIFT_ATTENTION=fused|matmul|auto in the environment overrides */
    DRIFT_ATTENTION_FUSED,    /* one pass per query block (flash-attention's scheme); bf16
                                 contexts need AVX512-BF16 for it */
    DRIFT_ATTENTION_MATMUL,   /* two batched oneDNN products with a softmax pass between them */
};

struct drift_context_options {
    enum drift_precision precision;
    /* OpenMP threads of the context's ops (kernels and the engine's own loops), 0..256; 0 = the
     * OpenMP default (OMP_NUM_THREADS, else every core). Applied around each op on the calling
     * thread only; builds without OpenMP in the engine (clang) ignore it. */
    int threads;
    /* Asking for DRIFT_ATTENTION_FUSED in a bf16 context on a CPU without AVX512-BF16 is
     * refused (-ENOTSUP). */
    enum drift_attention_kernel attention;
    /* true: every linear layer runs on oneDNN, also the bf16 products of a few rows (up to 16)
     * that by default run on the engine's own kernel where the CPU has AVX512-BF16, without a
     * oneDNN call's fixed cost (benchmarks and tests compare the two). */
    bool linear_onednn_only;
    /* true: those few-row products run on the engine's kernel also where the CPU has AMX, whose
     * oneDNN matmuls are faster than it there (so by default they go to oneDNN); for tests and
     * benchmarks. Ignored with linear_onednn_only or without AVX512-BF16. */
    bool linear_direct_with_amx;
    /* true: a bf16 context's fused attention runs its AVX512-BF16 variant also where the CPU has
     * AMX, whose variant it runs by default; for tests and benchmarks, which compare the two. */
    bool attention_fused_without_amx;
};

/* What the time of an op is counted under. Nested ops count once, under the outermost. */
enum drift_op_kind {
    DRIFT_OP_LINEAR = 0, /* linear layers (matmul + fused bias/activation/accumulate) */
    DRIFT_OP_MATMUL,     /* batched matmul called directly */
    DRIFT_OP_ATTENTION,  /* attention, including its matmuls and softmax */
    DRIFT_OP_NORM,       /* layer norm (+ modulation), softmax */
    DRIFT_OP_POINTWISE,  /* binary ops, modulation, gated residuals */
    DRIFT_OP_CONV,       /* convolution, resize */
    DRIFT_OP_KV_CACHE,   /* writing keys and values into the cache */
    DRIFT_OP_KINDS
};

/* "linear", "matmul", "attention", "norm", "pointwise", "conv", "kv-cache". */
const char *drift_op_kind_name(enum drift_op_kind kind);

/* Counters, cumulative since the context was created. Ops never reset them. */
struct drift_counters {
    uint64_t primitives_created; /* oneDNN primitives built (plans); flat in steady state */
    uint64_t plan_hits;          /* op calls served by an existing plan */
    uint64_t allocations;        /* heap allocations made by ops and plans */
    uint64_t bytes_allocated;
    uint64_t op_calls;
    double flops;                /* floating-point operations issued by matrix ops */
    double seconds[DRIFT_OP_KINDS]; /* wall time spent in each kind of op */
};

struct drift_context;

/* Creates a context. options may be NULL (auto precision and attention). Returns 0 and sets *ret,
 * or a negative errno with err filled: -EINVAL for an unknown DRIFT_PRECISION or DRIFT_ATTENTION
 * value, -ENOTSUP when bf16 is forced on a CPU without AVX-512 or the fused attention kernel in
 * a bf16 context on a CPU without AVX512-BF16, -EIO when oneDNN cannot create its engine.
 * The caller owns *ret: free with drift_context_free(). */
int drift_context_new(const struct drift_context_options *options, struct drift_context **ret,
                      struct drift_error *err);
void drift_context_free(struct drift_context *ctx);

/* The precision in use for matrix products: DRIFT_PRECISION_F32, _BF16 or _INT8. */
enum drift_precision drift_context_precision(const struct drift_context *ctx);
/* dtype of products other than int8 linear layers (DRIFT_F32 or DRIFT_BF16). */
enum drift_dtype drift_context_compute_dtype(const struct drift_context *ctx);
/* The widest instruction set oneDNN dispatches to, e.g. "avx512_core_amx", "avx512_core_bf16",
 * "avx2". Static string. */
const char *drift_context_isa(const struct drift_context *ctx);
/* "f32", "bf16" or "int8". */
const char *drift_precision_name(enum drift_precision precision);
/* The attention kernel in use: DRIFT_ATTENTION_FUSED or _MATMUL. */
enum drift_attention_kernel drift_context_attention(const struct drift_context *ctx);
/* The instruction set the context's fused attention runs on, when it runs fused: "amx-bf16",
 * "avx512-bf16" (bf16 contexts), "avx2" or "portable" (f32 ones). */
const char *drift_context_fused_variant(const struct drift_context *ctx);
/* "auto", "fused" or "matmul". */
const char *drift_attention_kernel_name(enum drift_attention_kernel kernel);

const struct drift_counters *drift_context_counters(const struct drift_context *ctx);

/* The ISA string of this CPU without creating a context. */
const char *drift_cpu_isa(void);

/* Ends the calling thread's OpenMP worker threads (the team its parallel work made: the engine's
 * and oneDNN's); its next parallel work makes them again. For a thread about to sleep a long time
 * (an idle stream): libgomp counts the threads of every team in the process, and once they
 * outnumber the CPUs every waiting thread spins only briefly before it sleeps, which slows
 * whichever team is working (a render beside an idle stream ran at half speed). A no-op where the
 * engine is built without OpenMP (clang). */
void drift_release_threads(void);

#endif
