/* Multi-head attention: out = softmax(q k^T / sqrt(D) + bias + mask) v.
 *
 * Two kernels (the context's choice, docs/ENGINE.md):
 * - fused (the default for bf16 contexts on CPUs with AVX512-BF16; f32 ones when asked):
 *   attention_fused.c, one pass per (batch row, head, query block) with an online softmax; the
 *   score matrix never reaches memory.
 * - matmul (the default elsewhere, and the reference the fused kernel is tested against): heads
 *   and batch entries run as one batched oneDNN matmul for the scores and one for the output.
 *   Between them one fused pass per row (softmax_row.c, rows shared out over the threads) adds
 *   the age bias, cuts the mask, takes the softmax and writes the probabilities in the compute
 *   dtype.
 * Keys come from a rolling KV cache (the window plus the working block) or from explicit
 * tensors with a causal or block-causal mask. Scratch lives in per-shape plans. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "attention_fused.h"
#include "internal.h"
#include "kv_cache_internal.h"
#include "softmax_row.h"

struct attention_plan {
    void *q, *k, *v, *probs;   /* compute dtype: (BH,Lq,D), k^T (BH,D,Lk), v (BH,Lk,D), (BH,Lq,Lk) */
    float *scores, *out, *bias; /* (BH,Lq,Lk), (BH,Lq,D), (H,Lk) */
};

static void attention_plan_destroy(void *data)
{
    struct attention_plan *p = data;
    free(p->q); free(p->k); free(p->v); free(p->probs);
    free(p->scores); free(p->out); free(p->bias);
    free(p);
}

static int attention_plan_build(struct drift_context *ctx, int64_t BH, int64_t H, int64_t Lq,
                                int64_t Lk, int64_t D, bool own_kv, struct attention_plan *p,
                                struct drift_error *err)
{
    enum drift_dtype cdt = drift_context_compute_dtype(ctx);
    size_t es = drift_dtype_size(cdt);
    p->q = drift_ctx_alloc(ctx, (size_t)(BH * Lq * D) * es);
    p->probs = drift_ctx_alloc(ctx, (size_t)(BH * Lq * Lk) * es);
    p->scores = drift_ctx_alloc(ctx, (size_t)(BH * Lq * Lk) * sizeof(float));
    p->out = drift_ctx_alloc(ctx, (size_t)(BH * Lq * D) * sizeof(float));
    p->bias = drift_ctx_alloc(ctx, (size_t)(H * Lk) * sizeof(float));
    if (own_kv) {
        p->k = drift_ctx_alloc(ctx, (size_t)(BH * Lk * D) * es);
        p->v = drift_ctx_alloc(ctx, (size_t)(BH * Lk * D) * es);
    }
    if (!p->q || !p->probs || !p->scores || !p->out || !p->bias || (own_kv && (!p->k || !p->v)))
        return drift_error_set(err, -ENOMEM, "attention: out of memory for scratch");
    return 0;
}

struct heads_job {
    const struct drift_tensor *rows; /* (B,L,H*D) f32 */
    int64_t H, D;
    void *dense;                      /* (B*H, L, D) or keys (B*H, D, L) */
    enum drift_dtype dtype;
    bool transpose;
};

/* One (batch, head): its rows' slice into the dense buffer, converted to the compute dtype. */
static void gather_head(void *arg, int64_t bh)
{
    const struct heads_job *j = arg;
    const struct drift_tensor *src = j->rows;
    int64_t H = j->H, D = j->D, L = src->shape[1], b = bh / H, h = bh % H;
    for (int64_t l = 0; l < L; l++) {
        const float *row = (const float *)src->data + b * src->stride[0] + l * src->stride[1] + h * D;
        for (int64_t d = 0; d < D; d++) {
            size_t at = (size_t)(j->transpose ? (bh * D + d) * L + l : (bh * L + l) * D + d);
            if (j->dtype == DRIFT_BF16)
                ((uint16_t *)j->dense)[at] = drift_bf16_round(row[d]);
            else
                ((float *)j->dense)[at] = row[d];
        }
    }
}

/* Copies the heads of rows (B,L,H*D) f32 into dense (B*H, L, D) in the compute dtype, or into
 * (B*H, D, L) when `transpose` (keys). */
static void gather_heads(const struct drift_tensor *src, int64_t H, int64_t D, void *dst,
                         enum drift_dtype dtype, bool transpose)
{
    struct heads_job job = { src, H, D, dst, dtype, transpose };
    int64_t B = src->shape[0], L = src->shape[1];
    drift_parallel_for(B * H, B * L * H * D, gather_head, &job);
}

static void scatter_head(void *arg, int64_t bh)
{
    const struct heads_job *j = arg;
    struct drift_tensor *out = (struct drift_tensor *)j->rows;
    int64_t H = j->H, D = j->D, L = out->shape[1], b = bh / H, h = bh % H;
    for (int64_t l = 0; l < L; l++)
        memcpy((float *)out->data + b * out->stride[0] + l * out->stride[1] + h * D,
               (const float *)j->dense + (bh * L + l) * D, (size_t)D * sizeof(float));
}

/* The inverse for the output: dense f32 (B*H, L, D) into rows (B,L,H*D). */
static void scatter_heads(const float *src, int64_t H, int64_t D, struct drift_tensor *out)
{
    struct heads_job job = { out, H, D, (void *)src, DRIFT_F32, false };
    int64_t B = out->shape[0], L = out->shape[1];
    drift_parallel_for(B * H, B * L * H * D, scatter_head, &job);
}

/* Position (block index) of key j: from the cache's slots, or j / block without a cache. */
static int64_t key_block_position(const struct drift_attention_args *a, int64_t j, int64_t block)
{
    const struct drift_kv_cache *c = a->cache;
    if (!c)
        return j / block;
    int slot = (int)(j / c->block_tokens);
    return slot == c->working ? a->position : c->position[slot];
}

struct softmax_job {
    const struct drift_attention_args *a;
    struct attention_plan *p;
    int64_t H, Lq, Lk, block;
    enum drift_dtype cdt;
};

static void softmax_one_row(void *arg, int64_t row)
{
    const struct softmax_job *j = arg;
    const struct drift_attention_args *a = j->a;
    int64_t h = (row / j->Lq) % j->H, i = row % j->Lq, Lk = j->Lk;
    const float *bias = a->age_slope ? j->p->bias + h * Lk : NULL;
    float offset = a->age_slope && !a->cache ? -a->age_slope[h] * (float)(i / j->block) : 0.0f;
    int64_t visible = a->mask == DRIFT_MASK_CAUSAL ? i + 1
                    : a->mask == DRIFT_MASK_BLOCK_CAUSAL ? (i / j->block + 1) * j->block : Lk;
    drift_softmax_row(j->p->scores + row * Lk, bias, offset, visible, Lk,
                      (char *)j->p->probs + (size_t)(row * Lk) * drift_dtype_size(j->cdt), j->cdt);
}

/* The age bias of key j for head h, bias[h * Lk + j] = -slope[h] * (query block - key block):
 * one vector per head. With a cache every query is in the working block, whose age comes from
 * `position`; without one the query's own block is a per-row term the kernels add (offset). */
static void fill_age_bias(const struct drift_attention_args *a, int64_t H, int64_t Lk,
                          int64_t block, float *bias)
{
    for (int64_t h = 0; h < H; h++)
        for (int64_t j = 0; j < Lk; j++) {
            int64_t age = a->cache ? a->position - key_block_position(a, j, block)
                                   : -key_block_position(a, j, block);
            bias[h * Lk + j] = -a->age_slope[h] * (float)age;
        }
}

/* Softmax of every score row into the probabilities, with the age bias and the mask. */
static void softmax_rows(const struct drift_attention_args *a, struct attention_plan *p,
                         int64_t BH, int64_t H, int64_t Lq, int64_t Lk, enum drift_dtype cdt)
{
    int64_t block = a->mask_block > 0 ? a->mask_block : Lq;
    if (a->age_slope)
        fill_age_bias(a, H, Lk, block, p->bias);
    struct softmax_job job = { a, p, H, Lq, Lk, block, cdt };
    drift_parallel_for(BH * Lq, BH * Lq * Lk, softmax_one_row, &job);
}

static int check_rows(const struct drift_tensor *t, const char *name, int64_t B, int64_t L,
                      int64_t C, struct drift_error *err)
{
    char s[96];
    if (!t || t->dtype != DRIFT_F32 || t->ndim != 3 || t->shape[0] != B || t->shape[2] != C ||
        (L >= 0 && t->shape[1] != L) || t->stride[2] != 1)
        return drift_error_set(err, -EINVAL, "attention: %s must be f32 (%lld,%s,%lld), got %s",
                               name, (long long)B, L >= 0 ? "Lq" : "L", (long long)C,
                               t ? drift_shape_str(t, s, sizeof(s)) : "NULL");
    return 0;
}

static int check_args(const struct drift_attention_args *a, int64_t *ret_D, int64_t *ret_Lk,
                      struct drift_error *err)
{
    if (!a || !a->q || !a->out || a->heads < 1)
        return drift_error_set(err, -EINVAL, "attention: q, out and heads >= 1 are required");
    int64_t B = a->q->shape[0], Lq = a->q->shape[1], C = a->q->shape[2];
    if (a->q->ndim != 3 || C % a->heads != 0)
        return drift_error_set(err, -EINVAL, "attention: q must be (B,L,H*D) with H = %d", a->heads);
    int r = check_rows(a->q, "q", B, Lq, C, err);
    if (r == 0) r = check_rows(a->out, "out", B, Lq, C, err);
    if (r < 0)
        return r;
    if (a->cache) {
        const struct drift_kv_cache *c = a->cache;
        if (c->batch < B || c->heads != a->heads || (int64_t)c->head_dim * a->heads != C ||
            c->block_tokens != Lq || a->mask != DRIFT_MASK_NONE)
            return drift_error_set(err, -EINVAL, "attention: the cache (%d,%d heads,%d,%d tokens) "
                                   "does not fit q, or a mask was given with a cache",
                                   c->batch, c->heads, c->head_dim, c->block_tokens);
        *ret_Lk = (int64_t)drift_kv_cache_slots_in_use(c) * c->block_tokens;
    } else {
        if ((r = check_rows(a->k, "k", B, -1, C, err)) < 0 || (r = check_rows(a->v, "v", B, -1, C, err)) < 0)
            return r;
        if (a->k->shape[1] != a->v->shape[1])
            return drift_error_set(err, -EINVAL, "attention: k and v lengths differ");
        *ret_Lk = a->k->shape[1];
        if (a->mask != DRIFT_MASK_NONE && *ret_Lk != Lq)
            return drift_error_set(err, -EINVAL, "attention: a mask needs as many keys as queries");
        if (a->mask == DRIFT_MASK_BLOCK_CAUSAL && (a->mask_block < 1 || Lq % a->mask_block != 0))
            return drift_error_set(err, -EINVAL, "attention: mask_block %d must divide %lld",
                                   a->mask_block, (long long)Lq);
        if (a->mask < DRIFT_MASK_NONE || a->mask > DRIFT_MASK_BLOCK_CAUSAL)
            return drift_error_set(err, -EINVAL, "attention: unknown mask %d", (int)a->mask);
    }
    *ret_D = C / a->heads;
    return 0;
}

static int plan_for(struct drift_context *ctx, const int64_t *key, size_t key_size,
                    size_t plan_size, int (*build)(struct drift_context *, void *, const int64_t *,
                                                   struct drift_error *),
                    void (*destroy)(void *), void **ret, struct drift_error *err)
{
    void *p = drift_plan_find(ctx, key, key_size);
    if (!p) {
        if (!(p = calloc(1, plan_size)))
            return drift_error_set(err, -ENOMEM, "attention: out of memory");
        int r = build(ctx, p, key, err);
        if (r == 0)
            r = drift_plan_store(ctx, key, key_size, p, destroy, err);
        else
            destroy(p);
        if (r < 0)
            return r;
    }
    *ret = p;
    return 0;
}

/* key: { tag, B, H, Lq, Lk, D, own_kv } */
static int matmul_plan_build(struct drift_context *ctx, void *p, const int64_t *key,
                             struct drift_error *err)
{
    return attention_plan_build(ctx, key[1] * key[2], key[2], key[3], key[4], key[5], key[6], p,
                                err);
}

static int attention_matmul(struct drift_context *ctx, const struct drift_attention_args *a,
                            int64_t Lk, int64_t D, struct drift_error *err)
{
    int64_t B = a->q->shape[0], Lq = a->q->shape[1], H = a->heads, BH = B * H;
    bool own_kv = a->cache == NULL;
    int64_t key[] = { 0x617474, B, H, Lq, Lk, D, own_kv };
    void *plan = NULL;
    int r = plan_for(ctx, key, sizeof(key), sizeof(struct attention_plan), matmul_plan_build,
                     attention_plan_destroy, &plan, err);
    if (r < 0)
        return r;
    struct attention_plan *p = plan;
    enum drift_dtype cdt = drift_context_compute_dtype(ctx);
    gather_heads(a->q, H, D, p->q, cdt, false);
    void *kd = p->k, *vd = p->v;
    int64_t kv_rows = Lk; /* rows per (b,h) in the key/value storage */
    if (own_kv) {
        gather_heads(a->k, H, D, p->k, cdt, true);
        gather_heads(a->v, H, D, p->v, cdt, false);
    } else {
        kd = a->cache->keys;
        vd = a->cache->values;
        kv_rows = (int64_t)a->cache->slots * a->cache->block_tokens;
    }
    struct drift_tensor q = { .dtype = cdt, .ndim = 3, .data = p->q,
                              .shape = { BH, Lq, D }, .stride = { Lq * D, D, 1 } };
    struct drift_tensor kt = { .dtype = cdt, .ndim = 3, .data = kd,
                               .shape = { BH, D, Lk }, .stride = { kv_rows * D, kv_rows, 1 } };
    struct drift_tensor v = { .dtype = cdt, .ndim = 3, .data = vd,
                              .shape = { BH, Lk, D }, .stride = { kv_rows * D, D, 1 } };
    struct drift_tensor scores = { .dtype = DRIFT_F32, .ndim = 3, .data = p->scores,
                                   .shape = { BH, Lq, Lk }, .stride = { Lq * Lk, Lk, 1 } };
    struct drift_tensor probs = { .dtype = cdt, .ndim = 3, .data = p->probs,
                                  .shape = { BH, Lq, Lk }, .stride = { Lq * Lk, Lk, 1 } };
    struct drift_tensor out = { .dtype = DRIFT_F32, .ndim = 3, .data = p->out,
                                .shape = { BH, Lq, D }, .stride = { Lq * D, D, 1 } };
    if ((r = drift_matmul(ctx, &q, &kt, &scores, 1.0f / sqrtf((float)D), err)) < 0)
        return r;
    softmax_rows(a, p, BH, H, Lq, Lk, cdt);
    if ((r = drift_matmul(ctx, &probs, &v, &out, 1.0f, err)) < 0)
        return r;
    scatter_heads(p->out, H, D, a->out);
    return 0;
}

/* The fused kernel's scratch: explicit keys transposed (a cache holds them so already) and, in
 * bf16, explicit values rounded (the kernel reads values in the keys' dtype), the age bias per
 * head and key, and the kernel's per-task tiles. */
struct fused_plan {
    void *kt, *v;        /* compute dtype: (BH,D,Lk) and (BH,Lk,D) without a cache; v bf16 only */
    float *bias, *tiles; /* (H,Lk), drift_fused_scratch_floats */
};

static void fused_plan_destroy(void *data)
{
    struct fused_plan *p = data;
    free(p->kt); free(p->v); free(p->bias); free(p->tiles);
    free(p);
}

/* key: { tag, B, H, Lq, Lk, D, own_kv } */
static int fused_plan_build(struct drift_context *ctx, void *data, const int64_t *key,
                            struct drift_error *err)
{
    struct fused_plan *p = data;
    int64_t B = key[1], H = key[2], Lq = key[3], Lk = key[4], D = key[5];
    enum drift_dtype cdt = drift_context_compute_dtype(ctx);
    size_t kv_bytes = (size_t)(B * H * Lk * D) * drift_dtype_size(cdt);
    bool own_kv = key[6], own_v = own_kv && cdt == DRIFT_BF16;
    p->bias = drift_ctx_alloc(ctx, (size_t)(H * Lk) * sizeof(float));
    size_t floats = drift_fused_scratch_floats(B, H, Lq, D, drift_ctx_fused_isa(ctx));
    p->tiles = drift_ctx_alloc(ctx, floats * sizeof(float));
    if (own_kv)
        p->kt = drift_ctx_alloc(ctx, kv_bytes);
    if (own_v)
        p->v = drift_ctx_alloc(ctx, kv_bytes);
    if (!p->bias || !p->tiles || (own_kv && !p->kt) || (own_v && !p->v))
        return drift_error_set(err, -ENOMEM, "attention: out of memory for scratch");
    return 0;
}

static int attention_fused(struct drift_context *ctx, const struct drift_attention_args *a,
                           int64_t Lk, int64_t D, struct drift_error *err)
{
    int64_t B = a->q->shape[0], Lq = a->q->shape[1], H = a->heads;
    bool own_kv = a->cache == NULL;
    int64_t key[] = { 0x667573, B, H, Lq, Lk, D, own_kv };
    void *plan = NULL;
    int r = plan_for(ctx, key, sizeof(key), sizeof(struct fused_plan), fused_plan_build,
                     fused_plan_destroy, &plan, err);
    if (r < 0)
        return r;
    struct fused_plan *p = plan;
    int64_t block = a->mask_block > 0 ? a->mask_block : Lq;
    if (a->age_slope)
        fill_age_bias(a, H, Lk, block, p->bias);
    struct drift_fused_attention f = {
        .batch = B, .heads = H, .lq = Lq, .lk = Lk, .head_dim = D,
        .scale = 1.0f / sqrtf((float)D),
        .q = a->q->data, .q_batch = a->q->stride[0], .q_row = a->q->stride[1],
        .out = a->out->data, .out_batch = a->out->stride[0], .out_row = a->out->stride[1],
        .mask = a->mask, .block = block,
        .bias = a->age_slope ? p->bias : NULL,
        .slope = a->age_slope && own_kv ? a->age_slope : NULL,
        .scratch = p->tiles,
        .isa = drift_ctx_fused_isa(ctx),
    };
    enum drift_dtype cdt = drift_context_compute_dtype(ctx);
    if (own_kv) {
        /* Keys transposed once per call, so the kernel reads a run of keys per head dimension;
         * values are read in place in f32 and rounded to bf16 (as the cache would store them)
         * in bf16. */
        gather_heads(a->k, H, D, p->kt, cdt, true);
        f.kt = p->kt;
        f.kt_head = D * Lk;
        f.kt_row = Lk;
        if (cdt == DRIFT_BF16) {
            gather_heads(a->v, H, D, p->v, cdt, false);
            f.v = p->v;
            f.v_batch = H * Lk * D;
            f.v_head = Lk * D;
            f.v_row = D;
        } else {
            f.v = a->v->data;
            f.v_batch = a->v->stride[0];
            f.v_head = D;
            f.v_row = a->v->stride[1];
        }
    } else {
        int64_t rows = (int64_t)a->cache->slots * a->cache->block_tokens;
        f.kt = a->cache->keys;
        f.kt_head = D * rows;
        f.kt_row = rows;
        f.v = a->cache->values;
        f.v_batch = H * rows * D;
        f.v_head = rows * D;
        f.v_row = D;
    }
    drift_attention_fused(&f);
    /* Counted as the two products it replaces, so attention's GFLOP/s compare across kernels. */
    ctx->counters.flops += 4.0 * (double)(B * H) * (double)Lq * (double)Lk * (double)D;
    return 0;
}

static int attention_impl(struct drift_context *ctx, const struct drift_attention_args *a,
                          struct drift_error *err)
{
    int64_t D = 0, Lk = 0;
    int r = check_args(a, &D, &Lk, err);
    if (r < 0)
        return r;
    /* The fused kernel reads keys and values in the context's compute dtype (f32, or bf16 where
     * context creation found AVX512-BF16): a cache that a context of the other precision made
     * stays on the matmul path. */
    if (ctx->attention == DRIFT_ATTENTION_FUSED &&
        (!a->cache || a->cache->dtype == drift_context_compute_dtype(ctx)))
        return attention_fused(ctx, a, Lk, D, err);
    return attention_matmul(ctx, a, Lk, D, err);
}

int drift_attention(struct drift_context *ctx, const struct drift_attention_args *a,
                    struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = attention_impl(ctx, a, err);
    drift_op_end(ctx, DRIFT_OP_ATTENTION, started);
    return r;
}
