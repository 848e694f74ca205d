/* The diffusion transformer's forward pass (docs/MODELS.md), one frame at a time:
 *   c  = t_embed(timestep(t)) + text                                    (B,D)
 *   h  = patch_embed(x) + pos_embed [+ prev_embed(the frame before)]    (B,T,D)
 *   per block: shift1,scale1,gate1,shift2,scale2,gate2 = adaLN(c)
 *     h += gate1 * proj(attention(LN(h)*(1+scale1)+shift1, window))
 *     h += gate2 * fc2(gelu(fc1(LN(h)*(1+scale2)+shift2)))
 *   out = final.linear(LN(h)*(1+scale)+shift), shift,scale = final.adaLN(c)
 *   [out += refiner(out, x, the frame before, t)   (x prediction; refiner.h)]
 *   [out += the frame before as made   (x prediction, arch.previous_frame_residual)] */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dit.h"
#include "internal.h"

#define LN_EPS 1e-6f

/* Column block [first, first+count) of a (B,C) or (B,L,C) tensor as a strided view. */
static struct drift_tensor columns(const struct drift_tensor *t, int64_t first, int64_t count)
{
    struct drift_tensor v = *t;
    v.data = (float *)t->data + first;
    v.shape[t->ndim - 1] = count;
    v.owns_data = false;
    return v;
}

int dit_text_cond(struct dit *d, const int *ids, int count, float *out, struct drift_error *err)
{
    int64_t D = d->cfg.hidden, E = d->cfg.text_dim;
    if (count == 0) {
        memcpy(out, d->text_null, (size_t)D * sizeof(float));
        return 0;
    }
    float mean[4096] = { 0 };
    for (int i = 0; i < count; i++) {
        if (ids[i] < 0 || ids[i] >= d->cfg.vocab_size)
            return drift_error_set(err, -EINVAL, "word id %d outside the vocabulary", ids[i]);
        for (int64_t e = 0; e < E; e++)
            mean[e] += d->text_table[(int64_t)ids[i] * E + e];
    }
    for (int64_t e = 0; e < E; e++)
        mean[e] /= (float)count;
    float hidden[4096];
    struct drift_tensor x, h, y;
    drift_tensor_view(&x, DRIFT_F32, mean, 2, (int64_t[]){ 1, E });
    drift_tensor_view(&h, DRIFT_F32, hidden, 2, (int64_t[]){ 1, D });
    drift_tensor_view(&y, DRIFT_F32, out, 2, (int64_t[]){ 1, D });
    int r = drift_linear_forward(d->ctx, d->text_fc1, &x, &h, false, err);
    return r < 0 ? r : drift_linear_forward(d->ctx, d->text_fc2, &h, &y, false, err);
}

int64_t dit_memo_floats(const struct dit *d)
{
    int64_t B = d->batch, D = d->cfg.hidden;
    return B * D * (2 + 6 * (int64_t)d->cfg.depth + 2);
}

static float *memo_entry(struct dit *d, int e)
{
    return (float *)d->memo_store.data + e * d->memo_store.stride[0];
}

/* The memo entry of (t, text) for the batch's rows, or -1. */
static int memo_find(struct dit *d, const float *t, const float *const *text)
{
    int64_t D = d->cfg.hidden;
    for (int e = 0; e < DIT_COND_MEMO; e++) {
        const struct dit_cond_memo *m = &d->memo[e];
        bool same = m->valid;
        for (int b = 0; same && b < d->batch; b++)
            same = memcmp(&m->t[b], &t[b], sizeof(float)) == 0 &&
                   memcmp(memo_entry(d, e) + b * D, text[b], (size_t)D * sizeof(float)) == 0;
        if (same)
            return e;
    }
    return -1;
}

int dit_condition(struct dit *d, const float *t, const float *const *text,
                  struct drift_error *err)
{
    int64_t D = d->cfg.hidden, BD = d->batch * D;
    for (int b = 0; b < d->batch; b++)
        d->t_rows[b] = t[b];
    int e = memo_find(d, t, text);
    if (e >= 0) {
        d->memo_current = e;
        memcpy(d->cond.data, memo_entry(d, e) + BD, (size_t)BD * sizeof(float));
        return 0;
    }
    int half = DIT_FREQ_DIM / 2;
    for (int b = 0; b < d->batch; b++) {
        float *row = (float *)d->temb.data + b * DIT_FREQ_DIM;
        float scaled = t[b] * 1000.0f;
        for (int i = 0; i < half; i++) {
            float freq = expf(-logf(10000.0f) * (float)i / (float)half);
            float a = scaled * freq;
            row[i] = cosf(a);
            row[half + i] = sinf(a);
        }
    }
    int r = drift_linear_forward(d->ctx, d->t_fc1, &d->temb, &d->t1, false, err);
    if (r == 0)
        r = drift_linear_forward(d->ctx, d->t_fc2, &d->t1, &d->cond, false, err);
    if (r < 0)
        return r;
    for (int b = 0; b < d->batch; b++)
        for (int64_t i = 0; i < D; i++)
            ((float *)d->cond.data)[b * D + i] += text[b][i];
    /* A new entry (the oldest replaced): its key, its cond, no modulations yet. */
    e = d->memo_next;
    d->memo_next = (e + 1) % DIT_COND_MEMO;
    d->memo_current = e;
    float *store = memo_entry(d, e);
    for (int b = 0; b < d->batch; b++) {
        d->memo[e].t[b] = t[b];
        memcpy(store + b * D, text[b], (size_t)D * sizeof(float));
    }
    memcpy(store + BD, d->cond.data, (size_t)BD * sizeof(float));
    d->memo[e].done = 0;
    d->memo[e].valid = true;
    return 0;
}

/* Points `mods` (B, width) at modulation `index` of the current memo entry (block i, or depth for
 * the final layer) and fills it from cond with `ada` unless the entry has it already. */
static int memo_modulation(struct dit *d, int index, struct drift_linear *ada,
                           struct drift_tensor *mods, struct drift_error *err)
{
    int64_t BD = d->batch * (int64_t)d->cfg.hidden;
    struct dit_cond_memo *m = &d->memo[d->memo_current];
    mods->data = memo_entry(d, d->memo_current) + 2 * BD + 6 * BD * index;
    if (m->done & (UINT64_C(1) << index))
        return 0;
    /* every row of the batch, as the memo entry is keyed (mods may show fewer: use_rows) */
    struct drift_tensor all = *mods;
    all.shape[0] = d->batch;
    int r = drift_linear_forward(d->ctx, ada, &d->cond, &all, false, err);
    if (r == 0)
        m->done |= UINT64_C(1) << index;
    return r;
}

/* The first half of a block: adaLN modulation vectors and the modulated input of attention. */
static int block_prepare(struct dit *d, int i, const struct drift_tensor *h,
                         struct drift_error *err)
{
    int64_t D = d->cfg.hidden;
    int r = memo_modulation(d, i, d->blocks[i].ada, &d->mods, err);
    if (r < 0)
        return r;
    struct drift_tensor shift1 = columns(&d->mods, 0, D), scale1 = columns(&d->mods, D, D);
    return drift_layer_norm_modulate(d->ctx, h, &shift1, &scale1, LN_EPS, &d->a, err);
}

/* Writes block i's keys and values of d->a into the cache's working slot and returns the
 * query view in *q. */
static int block_qkv(struct dit *d, int i, struct drift_tensor *q, struct drift_error *err)
{
    int64_t D = d->cfg.hidden;
    int r = drift_linear_forward(d->ctx, d->blocks[i].qkv, &d->a, &d->qkv, false, err);
    if (r < 0)
        return r;
    struct drift_tensor k = columns(&d->qkv, D, D), v = columns(&d->qkv, 2 * D, D);
    *q = columns(&d->qkv, 0, D);
    return drift_kv_cache_write(d->ctx, d->blocks[i].cache, &k, &v, err);
}

/* The rest of block i after block_prepare(): attention over the window, MLP, residuals. */
static int block_finish(struct dit *d, int i, struct drift_tensor *h, int64_t position,
                        struct drift_error *err)
{
    int64_t D = d->cfg.hidden;
    struct dit_block *blk = &d->blocks[i];
    struct drift_tensor q;
    int r = block_qkv(d, i, &q, err);
    if (r < 0)
        return r;
    struct drift_attention_args args = { .heads = d->cfg.heads, .q = &q, .cache = blk->cache,
                                         .position = position, .age_slope = d->cfg.slopes,
                                         .out = &d->attn };
    if ((r = drift_attention(d->ctx, &args, err)) < 0 ||
        (r = drift_linear_forward(d->ctx, blk->proj, &d->attn, &d->tmp, false, err)) < 0)
        return r;
    struct drift_tensor gate1 = columns(&d->mods, 2 * D, D), shift2 = columns(&d->mods, 3 * D, D),
                        scale2 = columns(&d->mods, 4 * D, D), gate2 = columns(&d->mods, 5 * D, D);
    if ((r = drift_gated_add(d->ctx, h, &gate1, &d->tmp, err)) < 0 ||
        (r = drift_layer_norm_modulate(d->ctx, h, &shift2, &scale2, LN_EPS, &d->a, err)) < 0 ||
        (r = drift_linear_forward(d->ctx, blk->fc1, &d->a, &d->mlp, false, err)) < 0 ||
        (r = drift_linear_forward(d->ctx, blk->fc2, &d->mlp, &d->tmp, false, err)) < 0)
        return r;
    return drift_gated_add(d->ctx, h, &gate2, &d->tmp, err);
}

int dit_set_previous(struct dit *d, const float *prev, struct drift_error *err)
{
    size_t TD = (size_t)d->cfg.tokens * d->cfg.hidden;
    memcpy(d->base.data, d->pos_embed, TD * sizeof(float));
    d->has_previous = prev && (d->refiner || d->cfg.previous_frame_residual);
    if (d->has_previous)
        memcpy(d->previous.data, prev, (size_t)d->cfg.tokens * d->cfg.in_dim * sizeof(float));
    if (!prev || !d->cfg.previous_frame_input)
        return 0;
    /* Once per frame, not per evaluation: the frame before is the same for every sampler step
     * and both guidance branches. */
    struct drift_tensor x;
    drift_tensor_view(&x, DRIFT_F32, (float *)prev, 3,
                      (int64_t[]){ 1, d->cfg.tokens, d->cfg.in_dim });
    return drift_linear_forward(d->ctx, d->prev_embed, &x, &d->base, true, err);
}

static int embed(struct dit *d, const struct drift_tensor *x, struct drift_error *err)
{
    int r = drift_linear_forward(d->ctx, d->patch_embed, x, &d->h0, false, err);
    if (r < 0)
        return r;
    int64_t TD = (int64_t)d->cfg.tokens * d->cfg.hidden;
    const float *base = d->base.data;
    for (int b = 0; b < d->rows; b++) {
        float *row = (float *)d->h0.data + b * TD;
        for (int64_t i = 0; i < TD; i++)
            row[i] += base[i];
    }
    return 0;
}

static void copy_tensor(struct drift_tensor *dst, const struct drift_tensor *src)
{
    memcpy(dst->data, src->data, drift_tensor_nbytes(src));
}

/* dst = a - b, elementwise over dense tensors of one shape. */
static void subtract(struct drift_tensor *dst, const struct drift_tensor *a,
                     const struct drift_tensor *b)
{
    float *o = dst->data;
    const float *x = a->data, *y = b->data;
    for (int64_t i = 0; i < drift_tensor_numel(a); i++)
        o[i] = x[i] - y[i];
}

static void add_into(struct drift_tensor *dst, const struct drift_tensor *src)
{
    float *o = dst->data;
    const float *x = src->data;
    for (int64_t i = 0; i < drift_tensor_numel(dst); i++)
        o[i] += x[i];
}

/* Relative L1 change of `now` against `prev` (sum|now-prev| / sum|prev|), then prev = now. */
static double relative_change(struct drift_tensor *prev, const struct drift_tensor *now,
                              bool prev_valid)
{
    float *p = prev->data;
    const float *n = now->data;
    double diff = 0, base = 0;
    for (int64_t i = 0; i < drift_tensor_numel(now); i++) {
        diff += fabsf(n[i] - p[i]);
        base += fabsf(p[i]);
        p[i] = n[i];
    }
    return prev_valid && base > 0 ? diff / base : INFINITY;
}

void dit_step_cache_reset(struct dit *d, struct dit_step_cache *sc)
{
    d->residual_valid = d->signal_valid = false;
    if (sc) {
        sc->accumulated = 0;
        sc->skipped = false;
    }
}

/* The final adaLN + linear into out (B,T,P) [+ the refiner's correction, + the frame before as
 * made (arch.previous_frame_residual)]; for x prediction, the clean frame it predicts becomes the
 * velocity (x - out) / max(t, DIT_X_PRED_T_MIN), x being this evaluation's input. */
static int final_layer(struct dit *d, const struct drift_tensor *x, struct drift_tensor *out,
                       struct drift_error *err)
{
    int64_t D = d->cfg.hidden;
    int r = memo_modulation(d, d->cfg.depth, d->final_ada, &d->fmods, err);
    if (r < 0)
        return r;
    struct drift_tensor shift = columns(&d->fmods, 0, D), scale = columns(&d->fmods, D, D);
    if ((r = drift_layer_norm_modulate(d->ctx, &d->h, &shift, &scale, LN_EPS, &d->a, err)) < 0)
        return r;
    if ((r = drift_linear_forward(d->ctx, d->final_linear, &d->a, out, false, err)) < 0)
        return r;
    int64_t per_row = (int64_t)d->cfg.tokens * d->cfg.in_dim;
    for (int b = 0; d->refiner && b < d->rows; b++)
        if ((r = drift_refiner_run(d->refiner, (float *)out->data + b * per_row,
                                   (const float *)x->data + b * per_row,
                                   d->has_previous ? d->previous.data : NULL, d->t_rows[b],
                                   err)) < 0)
            return r;
    if (d->cfg.previous_frame_residual && d->has_previous) {
        const float *prev = d->previous.data;
        float *o = out->data;
        for (int b = 0; b < d->rows; b++)
            for (int64_t i = 0; i < per_row; i++)
                o[b * per_row + i] += prev[i];
    }
    if (d->cfg.x_prediction) {
        const float *xs = x->data;
        float *o = out->data;
        for (int b = 0; b < d->rows; b++) {
            float inv = 1.0f / (d->t_rows[b] > DIT_X_PRED_T_MIN ? d->t_rows[b] : DIT_X_PRED_T_MIN);
            for (int64_t i = b * per_row; i < (b + 1) * per_row; i++)
                o[i] = (xs[i] - o[i]) * inv;
        }
    }
    return 0;
}

/* Blocks [first, depth) on d->h; block `first` may already be prepared. */
static int run_blocks(struct dit *d, int first, bool prepared, int64_t position,
                      struct drift_error *err)
{
    for (int i = first; i < d->cfg.depth; i++) {
        int r = 0;
        if (!(prepared && i == first))
            r = block_prepare(d, i, &d->h, err);
        if (r == 0)
            r = block_finish(d, i, &d->h, position, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Decides whether this step may reuse: below threshold, not forced, and a residual exists. */
static bool may_reuse(const struct dit *d, struct dit_step_cache *sc, double change)
{
    sc->accumulated += change;
    return !sc->force && d->residual_valid && sc->accumulated < sc->threshold;
}

/* Evaluates the first x->shape[0] rows of the batch: the whole batch, or the conditional branch
 * alone for a sampler step that does not guide. Row-major activations: the first rows of each are
 * a view of the same memory. A change forgets the step cache's residuals (they are per row). */
static int use_rows(struct dit *d, const struct drift_tensor *x, struct drift_error *err)
{
    int64_t rows = x->shape[0];
    if (rows < 1 || rows > d->batch)
        return drift_error_set(err, -EINVAL, "model: an input of %lld rows for a batch of %d",
                               (long long)rows, d->batch);
    if (rows == d->rows)
        return 0;
    struct drift_tensor *acts[] = { &d->h,   &d->h0,  &d->h1,  &d->a,    &d->qkv,
                                    &d->attn, &d->tmp, &d->mlp, &d->mods, &d->fmods,
                                    &d->residual_all, &d->residual_rest, &d->signal_prev };
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        acts[i]->shape[0] = rows;
    d->rows = (int)rows;
    d->residual_valid = d->signal_valid = false;
    return 0;
}

int dit_forward(struct dit *d, const struct drift_tensor *x, int64_t position,
                struct dit_step_cache *sc, struct drift_tensor *out, struct drift_error *err)
{
    enum dit_step_mode mode = sc ? sc->mode : DIT_STEP_OFF;
    if (sc)
        sc->skipped = false;
    int r = use_rows(d, x, err);
    if (r < 0 || (r = embed(d, x, err)) < 0)
        return r;
    copy_tensor(&d->h, &d->h0);
    if (mode == DIT_STEP_TEACACHE) {
        if ((r = block_prepare(d, 0, &d->h, err)) < 0)
            return r;
        double change = relative_change(&d->signal_prev, &d->a, d->signal_valid);
        d->signal_valid = true;
        if (may_reuse(d, sc, change)) {
            sc->skipped = true;
            add_into(&d->h, &d->residual_all); /* h = h0 + the last full residual */
            return final_layer(d, x, out, err);
        }
        if ((r = run_blocks(d, 0, true, position, err)) < 0)
            return r;
        sc->accumulated = 0;
    } else if (mode == DIT_STEP_FIRST_BLOCK) {
        if ((r = block_prepare(d, 0, &d->h, err)) < 0 ||
            (r = block_finish(d, 0, &d->h, position, err)) < 0)
            return r;
        subtract(&d->tmp, &d->h, &d->h0); /* block 0's residual */
        double change = relative_change(&d->signal_prev, &d->tmp, d->signal_valid);
        d->signal_valid = true;
        copy_tensor(&d->h1, &d->h);
        if (may_reuse(d, sc, change)) {
            sc->skipped = true;
            add_into(&d->h, &d->residual_rest); /* h = h1 + the last residual of blocks 1.. */
            return final_layer(d, x, out, err);
        }
        if ((r = run_blocks(d, 1, false, position, err)) < 0)
            return r;
        subtract(&d->residual_rest, &d->h, &d->h1);
        sc->accumulated = 0;
    } else if (mode == DIT_STEP_FORA && !sc->force && d->residual_valid) {
        sc->skipped = true;
        add_into(&d->h, &d->residual_all);
        return final_layer(d, x, out, err);
    } else if ((r = run_blocks(d, 0, false, position, err)) < 0) {
        return r;
    }
    subtract(&d->residual_all, &d->h, &d->h0);
    d->residual_valid = true;
    return final_layer(d, x, out, err);
}

int dit_commit_working(struct dit *d, int64_t position, struct drift_error *err)
{
    if (d->rows < d->batch)
        return drift_error_set(err, -EINVAL, "model: the last evaluation ran %d of %d rows; the "
                               "window needs every row's keys", d->rows, d->batch);
    for (int i = 0; i < d->cfg.depth; i++)
        drift_kv_cache_commit(d->blocks[i].cache, position);
    return 0;
}

int dit_commit(struct dit *d, const struct drift_tensor *x, int64_t position,
               struct drift_error *err)
{
    if (x->shape[0] != d->batch)
        return drift_error_set(err, -EINVAL, "model: a commit of %lld rows for a batch of %d",
                               (long long)x->shape[0], d->batch);
    int r = use_rows(d, x, err);
    if (r < 0 || (r = embed(d, x, err)) < 0)
        return r;
    copy_tensor(&d->h, &d->h0);
    /* Layer i's keys depend on blocks 0..i-1 only: the last block stops after its keys. */
    for (int i = 0; i < d->cfg.depth; i++) {
        if ((r = block_prepare(d, i, &d->h, err)) < 0)
            return r;
        if (i == d->cfg.depth - 1) {
            struct drift_tensor q;
            if ((r = block_qkv(d, i, &q, err)) < 0)
                return r;
        } else if ((r = block_finish(d, i, &d->h, position, err)) < 0) {
            return r;
        }
    }
    return dit_commit_working(d, position, err);
}
