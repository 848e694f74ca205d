/* Fused attention, flash-attention's scheme: one task per (batch row, head, block of queries)
 * walks the keys a tile at a time — q k^T for the tile, the age bias and the mask added, a
 * running (online) softmax per query, the probabilities times v accumulated — so that the score
 * matrix never reaches memory: the tile lives in L1. Softmax and accumulation in fp32.
 *
 * The tile loops come in four variants: for f32 contexts AVX2+FMA intrinsics and portable C,
 * for bf16 contexts AVX512-BF16 (keys, values, queries and probabilities in bf16, their products
 * summed in fp32), and the same with the two products on AMX tiles where the CPU has them. The
 * x86 ones are functions compiled with a target attribute, so the build needs no -m flags; they
 * are picked at run time when the CPU has the instructions.
 * attention.c lays out the arguments (keys transposed, the age bias per key), owns the scratch
 * and decides when this kernel runs (docs/ENGINE.md). */
#ifndef DRIFT_ATTENTION_FUSED_H
#define DRIFT_ATTENTION_FUSED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drift/ops.h>

/* Queries per task and keys per tile. A task takes a head's whole frame (the video model's 64
 * tokens): the bf16 set repacks each key and value tile into bf16 pairs once per task, and with
 * 16-query tasks it repacked every tile four times (the video step's attention took 15% longer in
 * alternating runs, 2026-12-02). 4 heads still make 4 tasks (8 with guidance) for 2 threads; a
 * task's scores (16 KiB) and output rows stay in L2. Both multiples of the AVX2 kernels' 4 x 16
 * score block. */
#define DRIFT_FUSED_QUERY_BLOCK 64
#define DRIFT_FUSED_KEY_BLOCK 64

enum drift_fused_isa {
    DRIFT_FUSED_PORTABLE = 0, /* plain C (the compiler vectorises what it can) */
    DRIFT_FUSED_AVX2,         /* AVX2 + FMA intrinsics */
    DRIFT_FUSED_AVX512_BF16,  /* AVX512-BF16 dot products: keys and values in bf16 */
    DRIFT_FUSED_AMX_BF16,     /* the same operands and rounding, the products on AMX tiles */
};

/* The fastest f32 variant this CPU runs: AVX2 where it has AVX2 and FMA (x86-64 builds only). */
enum drift_fused_isa drift_fused_isa_best(void);

/* Whether this CPU runs DRIFT_FUSED_AVX512_BF16 (AVX512-BF16, -BW, -VL, AVX2 and FMA; x86-64
 * builds only): the only variant that reads bf16 keys and values. */
bool drift_fused_bf16_supported(void);

/* Whether this CPU and kernel run DRIFT_FUSED_AMX_BF16: drift_fused_bf16_supported(), the
 * AMX-TILE and AMX-BF16 instructions, the tile state enabled by the OS and, on Linux, this
 * process allowed to use it (asked for once, arch_prctl ARCH_REQ_XCOMP_PERM). */
bool drift_fused_amx_supported(void);

/* "portable", "avx2", "avx512-bf16" or "amx-bf16". Static string. */
const char *drift_fused_isa_name(enum drift_fused_isa isa);

/* The variant a context's fused attention runs (context.c): bf16 contexts AMX or AVX512-BF16,
 * f32 ones AVX2 or portable. */
enum drift_fused_isa drift_ctx_fused_isa(const struct drift_context *ctx);

/* One attention call. Offsets are in elements (q and out: floats; kt and v: floats, or bf16 for
 * DRIFT_FUSED_AVX512_BF16 and DRIFT_FUSED_AMX_BF16). Head h's slice of a row starts at
 * h * head_dim. */
struct drift_fused_attention {
    int64_t batch, heads, lq, lk, head_dim;
    float scale;                       /* applied to q k^T: 1 / sqrt(head_dim) */
    const float *q;                    /* query i of batch b at q + b*q_batch + i*q_row */
    int64_t q_batch, q_row;
    float *out;                        /* same layout as q */
    int64_t out_batch, out_row;
    const void *kt;                    /* keys transposed: dim d of key j of (b,h) at */
    int64_t kt_head, kt_row;           /*   kt + (b*heads + h)*kt_head + d*kt_row + j */
    const void *v;                     /* key j of (b,h) at v + b*v_batch + h*v_head + j*v_row */
    int64_t v_batch, v_head, v_row;
    enum drift_mask mask;              /* query i sees keys [0, lk), [0, i], or the whole of its */
    int64_t block;                     /*   own block of `block` queries and every block before */
    const float *bias;                 /* (heads, lk): added to key j's score; NULL for none */
    const float *slope;                /* (heads): adds -slope[h] * (i / block) to query i's
                                          scores; NULL for none */
    float *scratch;                    /* drift_fused_scratch_floats() floats, 64-byte aligned */
    enum drift_fused_isa isa;
};

/* Scratch the call needs: one score tile and one block of output accumulators per task, and for
 * the bf16 variants the task's repacked bf16 operands. */
size_t drift_fused_scratch_floats(int64_t batch, int64_t heads, int64_t lq, int64_t head_dim,
                                  enum drift_fused_isa isa);

/* out = softmax(scale q k^T + bias + mask) v, tasks shared over the calling thread's OpenMP team
 * (drift_parallel_for). Shapes are the caller's to check; lq, lk, head_dim >= 1, and with a
 * mask lk = lq; block >= 1. out may be q itself (a task writes its rows after its last read of
 * them) but may not overlap k or v, which other tasks are still reading. */
void drift_attention_fused(const struct drift_fused_attention *a);

#endif
