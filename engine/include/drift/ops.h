/* drift engine: the ops a diffusion transformer needs, on oneDNN.
 *
 * Conventions
 * - Activations are f32 tensors; matrix products run in the context's precision (bf16 or f32):
 *   f32 inputs are converted on the way in, outputs are always f32.
 * - Ops that hold weights (linear, conv) are objects created once: the weights are reordered at
 *   creation into the layout the kernel wants. Every op keeps "plans" (oneDNN primitives and their
 *   scratch) keyed by shape, created on first use and reused; steady state creates and allocates
 *   nothing (see drift_counters).
 * - Every function returns 0 or a negative errno: -EINVAL for shapes or arguments that do not fit
 *   (the message names the argument), -ENOMEM, -EIO when oneDNN fails.
 * - Shapes are given in comments as (B,L,C) = (batch, tokens, channels). */
#ifndef DRIFT_OPS_H
#define DRIFT_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/context.h>
#include <drift/error.h>
#include <drift/tensor.h>

enum drift_activation {
    DRIFT_ACT_NONE = 0,
    DRIFT_ACT_GELU_TANH,
    DRIFT_ACT_SILU,
};

/* ---- linear: y = act(x W^T + b) [+ y] ------------------------------------------------------ */

struct drift_linear;

/* weight is (N,K) f32 or bf16, bias (N) f32 or NULL. Both are copied (reordered); the caller keeps
 * ownership of its tensors. The caller owns *ret: drift_linear_free(). */
int drift_linear_new(struct drift_context *ctx, const struct drift_tensor *weight,
                     const struct drift_tensor *bias, enum drift_activation act,
                     struct drift_linear **ret, struct drift_error *err);
void drift_linear_free(struct drift_linear *linear);
int drift_linear_in_features(const struct drift_linear *linear);
int drift_linear_out_features(const struct drift_linear *linear);

/* x is (M,K) or (B,L,K) f32 with dense rows (row stride may exceed K), y is (M,N) or (B,L,N) f32.
 * accumulate: y += x W^T + b (only with DRIFT_ACT_NONE; fused into the kernel). */
int drift_linear_forward(struct drift_context *ctx, struct drift_linear *linear,
                         const struct drift_tensor *x, struct drift_tensor *y, bool accumulate,
                         struct drift_error *err);

/* ---- batched matmul: c = alpha * a b ------------------------------------------------------- */

/* a (B,M,K), b (B,K,N) f32 or bf16 with any strides (a transposed view of (B,N,K) works),
 * c (B,M,N) f32 dense. 2-D tensors are taken as B = 1. */
int drift_matmul(struct drift_context *ctx, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, float alpha,
                 struct drift_error *err);

/* ---- normalisation and pointwise ----------------------------------------------------------- */

/* Softmax over the last dimension; x and y f32 of the same shape (may alias). */
int drift_softmax(struct drift_context *ctx, const struct drift_tensor *x, struct drift_tensor *y,
                  struct drift_error *err);

/* Layer norm over the last dimension C of x (M,C) or (B,L,C) f32; gamma, beta (C) f32 or NULL.
 * y may alias x. */
int drift_layer_norm(struct drift_context *ctx, const struct drift_tensor *x,
                     const struct drift_tensor *gamma, const struct drift_tensor *beta, float eps,
                     struct drift_tensor *y, struct drift_error *err);

enum drift_binary_op { DRIFT_BINARY_ADD = 0, DRIFT_BINARY_MUL };

/* c = a (op) b, all f32; b may broadcast (a dimension of 1 in b, or fewer leading dimensions).
 * c may alias a. */
int drift_binary(struct drift_context *ctx, enum drift_binary_op op, const struct drift_tensor *a,
                 const struct drift_tensor *b, struct drift_tensor *c, struct drift_error *err);

/* adaLN modulation: y = x * (1 + scale) + shift, x (B,L,C), shift and scale (B,C) (any row
 * stride: views into a (B,6C) conditioning output work). y may alias x. */
int drift_modulate(struct drift_context *ctx, const struct drift_tensor *x,
                   const struct drift_tensor *shift, const struct drift_tensor *scale,
                   struct drift_tensor *y, struct drift_error *err);

/* Layer norm without affine followed by modulation: y = LN(x)*(1+scale)+shift, in one pass per
 * row by the engine itself (no oneDNN call); y may be x. x and y (B,L,C) with unit channel
 * stride; -EINVAL for other shapes, missing shift or scale, or eps <= 0. */
int drift_layer_norm_modulate(struct drift_context *ctx, const struct drift_tensor *x,
                              const struct drift_tensor *shift,
                              const struct drift_tensor *scale, float eps, struct drift_tensor *y,
                              struct drift_error *err);

/* Gated residual: x += gate * y, x and y (B,L,C), gate (B,C) (any row stride). */
int drift_gated_add(struct drift_context *ctx, struct drift_tensor *x,
                    const struct drift_tensor *gate, const struct drift_tensor *y,
                    struct drift_error *err);

/* ---- convolution and resize ---------------------------------------------------------------- */

struct drift_conv;

/* 1-D (weight (O,I,K), input (N,I,L)) or 2-D (weight (O,I,KH,KW), input (N,I,H,W)) convolution
 * with the given stride and symmetric zero padding; bias (O) f32 or NULL. The caller owns *ret. */
int drift_conv_new(struct drift_context *ctx, const struct drift_tensor *weight,
                   const struct drift_tensor *bias, int stride, int padding,
                   enum drift_activation act, struct drift_conv **ret, struct drift_error *err);
void drift_conv_free(struct drift_conv *conv);
/* x (N,I,L) or (N,I,H,W) f32 dense; y (N,O,L') or (N,O,H',W') f32 dense with
 * L' = (L + 2*padding - K) / stride + 1. */
int drift_conv_forward(struct drift_context *ctx, struct drift_conv *conv,
                       const struct drift_tensor *x, struct drift_tensor *y,
                       struct drift_error *err);

/* Bilinear resize (half-pixel centres, as PyTorch's align_corners=False) of x (N,C,H,W) into
 * y (N,C,H2,W2), both f32 dense. */
int drift_resize_bilinear(struct drift_context *ctx, const struct drift_tensor *x,
                          struct drift_tensor *y, struct drift_error *err);

/* ---- attention with a rolling KV cache ----------------------------------------------------- */

/* A fixed-capacity cache of keys and values for `window` past blocks (frames) of `block_tokens`
 * tokens each, per batch entry and head, in the context's compute dtype. The block being
 * generated is written to a working slot (drift_kv_cache_write) and joins the window on
 * drift_kv_cache_commit(), which evicts the oldest block once the window is full. Memory is
 * allocated once, at creation; a stream of any length costs the same per block. */
struct drift_kv_cache;

int drift_kv_cache_new(struct drift_context *ctx, int batch, int heads, int head_dim,
                       int block_tokens, int window, struct drift_kv_cache **ret,
                       struct drift_error *err);
void drift_kv_cache_free(struct drift_kv_cache *cache);
/* Writes the current block's keys and values: k, v (B,block_tokens,heads*head_dim) f32, any
 * row stride (views into a fused QKV output work). Overwrites the working slot. B may be less
 * than the cache's batch: the first B entries are written, the others keep what they held. */
int drift_kv_cache_write(struct drift_context *ctx, struct drift_kv_cache *cache,
                         const struct drift_tensor *k, const struct drift_tensor *v,
                         struct drift_error *err);
/* The working slot joins the window, tagged with `position` (e.g. the frame index). */
void drift_kv_cache_commit(struct drift_kv_cache *cache, int64_t position);
/* Forgets every block (e.g. on a seek); capacity is kept. */
void drift_kv_cache_clear(struct drift_kv_cache *cache);
/* Number of committed blocks in the window (0..window). */
int drift_kv_cache_length(const struct drift_kv_cache *cache);
int drift_kv_cache_window(const struct drift_kv_cache *cache);
size_t drift_kv_cache_bytes(const struct drift_kv_cache *cache);

enum drift_mask {
    DRIFT_MASK_NONE = 0,
    DRIFT_MASK_CAUSAL,       /* query i sees keys 0..i */
    DRIFT_MASK_BLOCK_CAUSAL, /* query in block j sees every key of blocks 0..j */
};

struct drift_attention_args {
    int heads;
    const struct drift_tensor *q;   /* (B,Lq,H*D) f32, any row stride */
    /* Either a cache (keys = its window + the working slot, Lq = block_tokens; B up to the
     * cache's batch: its first B entries) ... */
    struct drift_kv_cache *cache;
    int64_t position;               /* with a cache: position of the working block */
    /* ... or explicit keys and values (B,Lk,H*D) f32, any row stride, with a mask. */
    const struct drift_tensor *k, *v;
    enum drift_mask mask;
    int mask_block;                 /* tokens per block for DRIFT_MASK_BLOCK_CAUSAL; also the
                                       block size used for ages without a cache */
    /* Optional ALiBi-style bias by block age: score += -age_slope[h] * (query block position -
     * key block position). NULL for none. (H) floats. */
    const float *age_slope;
    struct drift_tensor *out;       /* (B,Lq,H*D) f32, any row stride */
};

/* out = softmax(q k^T / sqrt(D) + bias + mask) v per batch entry and head. */
int drift_attention(struct drift_context *ctx, const struct drift_attention_args *args,
                    struct drift_error *err);

#endif
