#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drift/ops.h>

#include "internal.h"
#include "kv_cache_internal.h"

int drift_kv_cache_new(struct drift_context *ctx, int batch, int heads, int head_dim,
                       int block_tokens, int window, struct drift_kv_cache **ret,
                       struct drift_error *err)
{
    if (batch < 1 || heads < 1 || head_dim < 1 || block_tokens < 1 || window < 0 ||
        batch > 64 || heads > 256 || head_dim > 1024 || block_tokens > 65536 || window > 1024)
        return drift_error_set(err, -EINVAL, "kv_cache: batch %d, heads %d, head_dim %d, "
                               "block_tokens %d, window %d out of range", batch, heads, head_dim,
                               block_tokens, window);
    struct drift_kv_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return drift_error_set(err, -ENOMEM, "kv_cache: out of memory");
    c->batch = batch;
    c->heads = heads;
    c->head_dim = head_dim;
    c->block_tokens = block_tokens;
    c->window = window;
    c->slots = window + 1;
    c->dtype = drift_context_compute_dtype(ctx);
    size_t bytes = (size_t)batch * heads * c->slots * block_tokens * head_dim *
                   drift_dtype_size(c->dtype);
    c->keys = drift_ctx_alloc(ctx, bytes);
    c->values = drift_ctx_alloc(ctx, bytes);
    c->position = calloc((size_t)c->slots, sizeof(*c->position));
    c->committed = calloc((size_t)c->slots, sizeof(*c->committed));
    if (!c->keys || !c->values || !c->position || !c->committed) {
        drift_kv_cache_free(c);
        return drift_error_set(err, -ENOMEM, "kv_cache: out of memory for %zu bytes", 2 * bytes);
    }
    *ret = c;
    return 0;
}

void drift_kv_cache_free(struct drift_kv_cache *c)
{
    if (!c)
        return;
    free(c->keys);
    free(c->values);
    free(c->position);
    free(c->committed);
    free(c);
}

/* values (B*H, slots*T, D); keys transposed (B*H, D, slots*T); the working slot's columns/rows.
 * Heads are shared out over the threads. In bf16 every row is first rounded in one contiguous,
 * vectorised pass (a value row straight into the cache, a key row into a small tile of
 * KEY_TILE tokens), and the tile is then transposed into the key rows: the rounding runs on
 * vectors instead of element by element on strided reads, which made this copy 7% of the video
 * step. In f32 the keys are written one transposed row (d) at a time, tokens innermost, so the
 * stores are contiguous and the strided reads stay within one head's T x D block (in cache). */
enum { KEY_TILE = 8, KEY_TILE_DIM = 1024 /* drift_kv_cache_new's head_dim limit */ };

struct store_job {
    const struct drift_kv_cache *c;
    const struct drift_tensor *k, *v;
};

DRIFT_CPU_CLONES
static void round_row(const float *restrict src, int64_t n, uint16_t *restrict dst)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        dst[i] = drift_bf16_round_select(src[i]);
}

DRIFT_CPU_CLONES
static void store_head_bf16(const struct drift_kv_cache *c, const float *kbase, int64_t k_row,
                            const float *vbase, int64_t v_row, int64_t bh)
{
    int64_t T = c->block_tokens, D = c->head_dim, rows = (int64_t)c->slots * T;
    int64_t first = (int64_t)c->working * T;
    uint16_t *keys = (uint16_t *)c->keys + bh * D * rows + first;
    uint16_t *values = (uint16_t *)c->values + (bh * rows + first) * D;
    uint16_t tile[KEY_TILE * KEY_TILE_DIM];
    for (int64_t t0 = 0; t0 < T; t0 += KEY_TILE) {
        int64_t n = T - t0 < KEY_TILE ? T - t0 : KEY_TILE;
        for (int64_t t = 0; t < n; t++) {
            round_row(kbase + (t0 + t) * k_row, D, tile + t * D);
            round_row(vbase + (t0 + t) * v_row, D, values + (t0 + t) * D);
        }
        for (int64_t d = 0; d < D; d++) {
            uint16_t *row = keys + d * rows + t0;
#pragma omp simd
            for (int64_t t = 0; t < n; t++)
                row[t] = tile[t * D + d];
        }
    }
}

static void store_head(void *arg, int64_t bh)
{
    const struct store_job *j = arg;
    const struct drift_kv_cache *c = j->c;
    const struct drift_tensor *k = j->k, *v = j->v;
    int64_t T = c->block_tokens, D = c->head_dim, rows = (int64_t)c->slots * T;
    int64_t first = (int64_t)c->working * T, b = bh / c->heads, h = bh % c->heads;
    const float *kbase = (const float *)k->data + b * k->stride[0] + h * D;
    const float *vbase = (const float *)v->data + b * v->stride[0] + h * D;
    if (c->dtype == DRIFT_BF16) {
        store_head_bf16(c, kbase, k->stride[1], vbase, v->stride[1], bh);
        return;
    }
    for (int64_t d = 0; d < D; d++) {
        int64_t at = (bh * D + d) * rows + first;
        for (int64_t t = 0; t < T; t++)
            ((float *)c->keys)[at + t] = kbase[t * k->stride[1] + d];
    }
    for (int64_t t = 0; t < T; t++)
        memcpy((float *)c->values + (bh * rows + first + t) * D, vbase + t * v->stride[1],
               (size_t)D * sizeof(float));
}

static void store_block(const struct drift_kv_cache *c, const struct drift_tensor *k,
                        const struct drift_tensor *v)
{
    struct store_job job = { c, k, v };
    int64_t heads = k->shape[0] * c->heads; /* the first rows: a batch's rows may be fewer */
    drift_parallel_for(heads, heads * c->block_tokens * c->head_dim, store_head, &job);
}

static int kv_cache_write_impl(struct drift_context *ctx, struct drift_kv_cache *c,
                         const struct drift_tensor *k, const struct drift_tensor *v,
                         struct drift_error *err)
{
    (void)ctx;
    const struct drift_tensor *t[2] = { k, v };
    for (int i = 0; i < 2; i++)
        if (!t[i] || t[i]->dtype != DRIFT_F32 || t[i]->ndim != 3 || t[i]->shape[0] < 1 ||
            t[i]->shape[0] > c->batch || (i && t[i]->shape[0] != k->shape[0]) ||
            t[i]->shape[1] != c->block_tokens ||
            t[i]->shape[2] != (int64_t)c->heads * c->head_dim || t[i]->stride[2] != 1)
            return drift_error_set(err, -EINVAL, "kv_cache: %s must be f32 (at most %d,%d,%d)",
                                   i ? "v" : "k", c->batch, c->block_tokens, c->heads * c->head_dim);
    store_block(c, k, v);
    return 0;
}

void drift_kv_cache_commit(struct drift_kv_cache *c, int64_t position)
{
    if (c->window == 0)
        return; /* no past is kept: the working slot is reused */
    c->position[c->working] = position;
    c->committed[c->working] = true;
    if (c->length < c->window) {
        c->length++;
        c->working = c->length; /* next free slot */
        return;
    }
    /* Full: the oldest committed block gives its slot to the next working block. */
    int oldest = -1;
    for (int s = 0; s < c->slots; s++)
        if (c->committed[s] && (oldest < 0 || c->position[s] < c->position[oldest]))
            oldest = s;
    c->committed[oldest] = false;
    c->working = oldest;
}

void drift_kv_cache_clear(struct drift_kv_cache *c)
{
    memset(c->committed, 0, (size_t)c->slots * sizeof(*c->committed));
    c->length = 0;
    c->working = 0;
}

int drift_kv_cache_length(const struct drift_kv_cache *c) { return c->length; }
int drift_kv_cache_window(const struct drift_kv_cache *c) { return c->window; }

size_t drift_kv_cache_bytes(const struct drift_kv_cache *c)
{
    return 2 * (size_t)c->batch * c->heads * c->slots * c->block_tokens * c->head_dim *
           drift_dtype_size(c->dtype);
}

int drift_kv_cache_write(struct drift_context *ctx, struct drift_kv_cache *c,
                         const struct drift_tensor *k, const struct drift_tensor *v,
                         struct drift_error *err)
{
    double started = drift_op_begin(ctx);
    int r = kv_cache_write_impl(ctx, c, k, v, err);
    drift_op_end(ctx, DRIFT_OP_KV_CACHE, started);
    return r;
}
