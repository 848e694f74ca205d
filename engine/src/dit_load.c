/* Loading the diffusion transformer: architecture from the JSON config, weights from safetensors,
 * every tensor checked for presence and shape, linear weights packed once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dit.h"
#include "internal.h"

/* Architecture keys live under the config's "arch" object (docs/MODELS.md). */
static int arch_int(const struct drift_config *c, const char *key, int64_t min, int64_t max,
                    int *ret, struct drift_error *err)
{
    char full[64];
    snprintf(full, sizeof(full), "arch.%s", key);
    int64_t v;
    int r = drift_config_get_int(c, full, min, max, &v, err);
    if (r == 0)
        *ret = (int)v;
    return r;
}

int dit_read_config(const struct drift_config *c, struct dit_config *cfg,
                    struct drift_error *err)
{
    int r = 0;
    if (r == 0) r = arch_int(c, "hidden", 16, 4096, &cfg->hidden, err);
    if (r == 0) r = arch_int(c, "depth", 1, DIT_MAX_DEPTH, &cfg->depth, err);
    if (r == 0) r = arch_int(c, "heads", 1, DIT_MAX_HEADS, &cfg->heads, err);
    if (r == 0) r = arch_int(c, "mlp_ratio", 1, 16, &cfg->mlp_ratio, err);
    if (r == 0) r = arch_int(c, "window", 0, 64, &cfg->window, err);
    if (r == 0) r = arch_int(c, "text_dim", 1, 4096, &cfg->text_dim, err);
    if (r == 0) r = arch_int(c, "vocab_size", 1, 100000, &cfg->vocab_size, err);
    if (r == 0) r = arch_int(c, "tokens", 1, 16384, &cfg->tokens, err);
    if (r == 0) r = arch_int(c, "in_dim", 1, 65536, &cfg->in_dim, err);
    if (r < 0)
        return r;
    if (cfg->hidden % cfg->heads != 0)
        return drift_error_set(err, -EINVAL, "%s: hidden %d is not a multiple of heads %d",
                               drift_config_label(c), cfg->hidden, cfg->heads);
    cfg->x_prediction = false;
    if (drift_config_has(c, "arch.prediction")) {
        const char *prediction;
        if ((r = drift_config_get_string(c, "arch.prediction", &prediction, err)) < 0)
            return r;
        if (strcmp(prediction, "x") != 0 && strcmp(prediction, "v") != 0)
            return drift_error_set(err, -EINVAL, "%s: arch.prediction '%.32s' is not v or x",
                                   drift_config_label(c), prediction);
        cfg->x_prediction = prediction[0] == 'x';
    }
    cfg->previous_frame_input = false;
    if (drift_config_has(c, "arch.previous_frame_input") &&
        (r = drift_config_get_bool(c, "arch.previous_frame_input", &cfg->previous_frame_input,
                                   err)) < 0)
        return r;
    cfg->previous_frame_clean = false;
    if (drift_config_has(c, "arch.previous_frame_clean") &&
        (r = drift_config_get_bool(c, "arch.previous_frame_clean", &cfg->previous_frame_clean,
                                   err)) < 0)
        return r;
    if (cfg->previous_frame_clean && !cfg->previous_frame_input)
        return drift_error_set(err, -EINVAL, "%s: arch.previous_frame_clean says what the frame before "
                               "input holds, but arch.previous_frame_input is not true",
                               drift_config_label(c));
    cfg->previous_frame_residual = false;
    if (drift_config_has(c, "arch.previous_frame_residual") &&
        (r = drift_config_get_bool(c, "arch.previous_frame_residual",
                                   &cfg->previous_frame_residual, err)) < 0)
        return r;
    if (cfg->previous_frame_residual && !(cfg->previous_frame_clean && cfg->x_prediction))
        return drift_error_set(err, -EINVAL, "%s: arch.previous_frame_residual adds the frame before as "
                               "made to a clean frame: it needs arch.previous_frame_clean true and "
                               "arch.prediction \"x\"", drift_config_label(c));
    if ((r = drift_refiner_read_config(c, cfg->tokens, cfg->in_dim, &cfg->refiner, err)) < 0)
        return r;
    if (cfg->refiner.layers && !cfg->x_prediction)
        return drift_error_set(err, -EINVAL, "%s: arch.refiner refines a clean frame: it needs "
                               "arch.prediction \"x\"", drift_config_label(c));
    if (cfg->refiner.layers && cfg->previous_frame_clean)
        return drift_error_set(err, -EINVAL, "%s: arch.refiner sees the frame before as the window keeps "
                               "it: not with arch.previous_frame_clean", drift_config_label(c));
    const char *key = "arch.alibi_slopes";
    double slopes[DIT_MAX_HEADS];
    size_t n = 0;
    if ((r = drift_config_get_double_array(c, key, slopes, DIT_MAX_HEADS, &n, err)) < 0)
        return r;
    if ((int)n != cfg->heads)
        return drift_error_set(err, -EINVAL, "%s: key '%s' has %zu slopes for %d heads",
                               drift_config_label(c), key, n, cfg->heads);
    for (int h = 0; h < cfg->heads; h++)
        cfg->slopes[h] = (float)slopes[h];
    return 0;
}

static void add_spec(struct drift_tensor_spec *specs, size_t *n, const char *name, int ndim,
                     int64_t d0, int64_t d1)
{
    struct drift_tensor_spec *s = &specs[(*n)++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->ndim = ndim;
    s->shape[0] = d0;
    s->shape[1] = d1;
}

static void add_linear_spec(struct drift_tensor_spec *specs, size_t *n, const char *prefix,
                            int64_t out, int64_t in)
{
    char name[96];
    snprintf(name, sizeof(name), "%s.weight", prefix);
    add_spec(specs, n, name, 2, out, in);
    snprintf(name, sizeof(name), "%s.bias", prefix);
    add_spec(specs, n, name, 1, out, 0);
}

/* Every tensor the architecture needs, with its shape. Returns the count (specs must hold
 * 21 + 10 * depth entries). */
static size_t dit_specs(const struct dit_config *c, struct drift_tensor_spec *specs)
{
    size_t n = 0;
    int64_t D = c->hidden;
    add_linear_spec(specs, &n, "patch_embed", D, c->in_dim);
    add_spec(specs, &n, "pos_embed", 2, c->tokens, D);
    add_linear_spec(specs, &n, "t_embed.fc1", D, DIT_FREQ_DIM);
    add_linear_spec(specs, &n, "t_embed.fc2", D, D);
    add_spec(specs, &n, "text.embed.weight", 2, c->vocab_size, c->text_dim);
    add_linear_spec(specs, &n, "text.fc1", D, c->text_dim);
    add_linear_spec(specs, &n, "text.fc2", D, D);
    add_spec(specs, &n, "text.null", 1, D, 0);
    for (int i = 0; i < c->depth; i++) {
        char p[64];
        snprintf(p, sizeof(p), "blocks.%d.adaLN", i);
        add_linear_spec(specs, &n, p, 6 * D, D);
        snprintf(p, sizeof(p), "blocks.%d.attn.qkv", i);
        add_linear_spec(specs, &n, p, 3 * D, D);
        snprintf(p, sizeof(p), "blocks.%d.attn.proj", i);
        add_linear_spec(specs, &n, p, D, D);
        snprintf(p, sizeof(p), "blocks.%d.mlp.fc1", i);
        add_linear_spec(specs, &n, p, (int64_t)c->mlp_ratio * D, D);
        snprintf(p, sizeof(p), "blocks.%d.mlp.fc2", i);
        add_linear_spec(specs, &n, p, D, (int64_t)c->mlp_ratio * D);
    }
    add_linear_spec(specs, &n, "final.adaLN", 2 * D, D);
    add_linear_spec(specs, &n, "final.linear", c->in_dim, D);
    if (c->previous_frame_input)
        add_spec(specs, &n, "prev_embed.weight", 2, D, c->in_dim);
    return n;
}

/* A tensor as owned f32 (converted from bf16 if stored so). */
static float *load_f32(struct drift_context *ctx, const struct drift_safetensors *st,
                       const char *name, struct drift_error *err)
{
    float *out = drift_ctx_load_f32(ctx, drift_safetensors_find(st, name));
    if (!out)
        drift_error_set(err, -ENOMEM, "tensor '%s': out of memory", name);
    return out;
}

/* Packs linear `prefix` (.weight, and .bias unless has_bias is false). */
static int load_linear_bias(struct drift_context *ctx, const struct drift_safetensors *st,
                            const char *prefix, bool has_bias, enum drift_activation act,
                            struct drift_linear **ret, struct drift_error *err)
{
    char wname[96], bname[96];
    snprintf(wname, sizeof(wname), "%s.weight", prefix);
    snprintf(bname, sizeof(bname), "%s.bias", prefix);
    const struct drift_st_entry *we = drift_safetensors_find(st, wname);
    float *w = load_f32(ctx, st, wname, err);
    float *b = w && has_bias ? load_f32(ctx, st, bname, err) : NULL;
    int r = -ENOMEM;
    if (w && (b || !has_bias)) {
        struct drift_tensor wt, bt;
        drift_tensor_view(&wt, DRIFT_F32, w, 2, we->shape);
        if (b)
            drift_tensor_view(&bt, DRIFT_F32, b, 1, &we->shape[0]);
        r = drift_linear_new(ctx, &wt, b ? &bt : NULL, act, ret, err);
        if (r < 0)
            drift_error_prefix(err, "%s", wname);
    }
    free(w);
    free(b);
    return r;
}

static int load_linear(struct drift_context *ctx, const struct drift_safetensors *st,
                       const char *prefix, enum drift_activation act, struct drift_linear **ret,
                       struct drift_error *err)
{
    return load_linear_bias(ctx, st, prefix, true, act, ret, err);
}

static int alloc_scratch(struct dit *d, struct drift_error *err)
{
    int64_t B = d->batch, T = d->cfg.tokens, D = d->cfg.hidden;
    struct { struct drift_tensor *t; int ndim; int64_t s0, s1, s2; } list[] = {
        { &d->h, 3, B, T, D }, { &d->h0, 3, B, T, D }, { &d->h1, 3, B, T, D },
        { &d->a, 3, B, T, D }, { &d->qkv, 3, B, T, 3 * D }, { &d->attn, 3, B, T, D },
        { &d->tmp, 3, B, T, D }, { &d->mlp, 3, B, T, (int64_t)d->cfg.mlp_ratio * D },
        { &d->temb, 2, B, DIT_FREQ_DIM, 0 }, { &d->t1, 2, B, D, 0 }, { &d->cond, 2, B, D, 0 },
        { &d->residual_all, 3, B, T, D }, { &d->residual_rest, 3, B, T, D },
        { &d->signal_prev, 3, B, T, D }, { &d->base, 3, 1, T, D },
        { &d->previous, 3, 1, T, d->cfg.in_dim },
        { &d->memo_store, 2, DIT_COND_MEMO, dit_memo_floats(d), 0 },
    };
    size_t n = sizeof(list) / sizeof(list[0]), bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (((size_t)list[i].s0 * list[i].s1 * (list[i].ndim == 3 ? list[i].s2 : 1)) *
                  sizeof(float) + 63) & ~(size_t)63;
    drift_arena_free(d->arena);
    if (!(d->arena = drift_arena_new(bytes)))
        return drift_error_set(err, -ENOMEM, "model: out of memory for %zu bytes of activations",
                               bytes);
    d->ctx->counters.allocations++;
    d->ctx->counters.bytes_allocated += bytes;
    for (size_t i = 0; i < n; i++) {
        int64_t shape[3] = { list[i].s0, list[i].s1, list[i].s2 };
        size_t size = (size_t)list[i].s0 * list[i].s1 * (list[i].ndim == 3 ? list[i].s2 : 1) *
                      sizeof(float);
        void *data = drift_arena_alloc(d->arena, size);
        if (!data || drift_tensor_view(list[i].t, DRIFT_F32, data, list[i].ndim, shape) < 0)
            return drift_error_set(err, -ENOMEM, "model: activation arena too small");
        memset(data, 0, size);
    }
    /* The modulations are views into the conditioning memo, pointed at an entry per use. */
    if (drift_tensor_view(&d->mods, DRIFT_F32, d->memo_store.data, 2, (int64_t[]){ B, 6 * D }) < 0 ||
        drift_tensor_view(&d->fmods, DRIFT_F32, d->memo_store.data, 2, (int64_t[]){ B, 2 * D }) < 0)
        return drift_error_set(err, -EINVAL, "model: modulation views");
    return 0;
}

int dit_set_batch(struct dit *d, int batch, struct drift_error *err)
{
    if (batch < 1 || batch > 2)
        return drift_error_set(err, -EINVAL, "model: batch %d must be 1 or 2", batch);
    d->batch = d->rows = batch;
    memset(d->memo, 0, sizeof(d->memo)); /* keyed by the batch's rows */
    d->memo_current = d->memo_next = 0;
    int r = alloc_scratch(d, err);
    for (int i = 0; r == 0 && i < d->cfg.depth; i++) {
        drift_kv_cache_free(d->blocks[i].cache);
        d->blocks[i].cache = NULL;
        r = drift_kv_cache_new(d->ctx, batch, d->cfg.heads, d->cfg.hidden / d->cfg.heads,
                               d->cfg.tokens, d->cfg.window, &d->blocks[i].cache, err);
    }
    d->residual_valid = d->signal_valid = false;
    return r == 0 ? dit_set_previous(d, NULL, err) : r;
}

void dit_clear_cache(struct dit *d)
{
    for (int i = 0; i < d->cfg.depth; i++)
        drift_kv_cache_clear(d->blocks[i].cache);
}

static int load_block(struct dit *d, const struct drift_safetensors *st, int i,
                      struct drift_error *err)
{
    struct { const char *name; enum drift_activation act; struct drift_linear **out; } parts[] = {
        { "adaLN", DRIFT_ACT_NONE, &d->blocks[i].ada },
        { "attn.qkv", DRIFT_ACT_NONE, &d->blocks[i].qkv },
        { "attn.proj", DRIFT_ACT_NONE, &d->blocks[i].proj },
        { "mlp.fc1", DRIFT_ACT_GELU_TANH, &d->blocks[i].fc1 },
        { "mlp.fc2", DRIFT_ACT_NONE, &d->blocks[i].fc2 },
    };
    for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "blocks.%d.%s", i, parts[k].name);
        int r = load_linear(d->ctx, st, prefix, parts[k].act, parts[k].out, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int dit_load(struct drift_context *ctx, const struct drift_safetensors *st,
             const struct drift_config *config, int batch, struct dit *d,
             struct drift_error *err)
{
    memset(d, 0, sizeof(*d));
    d->ctx = ctx;
    int r = dit_read_config(config, &d->cfg, err);
    if (r < 0)
        return r;
    struct drift_tensor_spec *specs = calloc(21 + 10 * (size_t)d->cfg.depth, sizeof(*specs));
    if (!specs)
        return drift_error_set(err, -ENOMEM, "model: out of memory");
    size_t n = dit_specs(&d->cfg, specs);
    r = drift_safetensors_check(st, specs, n, err);
    free(specs);
    if (r < 0)
        return r;
    /* Trained weights the architecture would silently leave out make another model's frames. */
    if (!d->cfg.previous_frame_input && drift_safetensors_find(st, "prev_embed.weight"))
        return drift_error_set(err, -EINVAL, "tensor 'prev_embed.weight' is not used: "
                               "%s: arch.previous_frame_input is not true",
                               drift_config_label(config));
    struct { const char *name; enum drift_activation act; struct drift_linear **out; } parts[] = {
        { "patch_embed", DRIFT_ACT_NONE, &d->patch_embed },
        { "t_embed.fc1", DRIFT_ACT_SILU, &d->t_fc1 },
        { "t_embed.fc2", DRIFT_ACT_NONE, &d->t_fc2 },
        { "text.fc1", DRIFT_ACT_SILU, &d->text_fc1 },
        { "text.fc2", DRIFT_ACT_NONE, &d->text_fc2 },
        { "final.adaLN", DRIFT_ACT_NONE, &d->final_ada },
        { "final.linear", DRIFT_ACT_NONE, &d->final_linear },
    };
    for (size_t k = 0; r == 0 && k < sizeof(parts) / sizeof(parts[0]); k++)
        r = load_linear(ctx, st, parts[k].name, parts[k].act, parts[k].out, err);
    if (r == 0 && d->cfg.previous_frame_input)
        r = load_linear_bias(ctx, st, "prev_embed", false, DRIFT_ACT_NONE, &d->prev_embed, err);
    if (r == 0 && d->cfg.refiner.layers)
        r = drift_refiner_new(ctx, st, &d->cfg.refiner, &d->refiner, err);
    else if (r == 0 && drift_safetensors_find(st, "refiner.0.weight"))
        r = drift_error_set(err, -EINVAL, "tensor 'refiner.0.weight' is not used: %s has no "
                            "arch.refiner", drift_config_label(config));
    for (int i = 0; r == 0 && i < d->cfg.depth; i++)
        r = load_block(d, st, i, err);
    if (r == 0 && (!(d->pos_embed = load_f32(ctx, st, "pos_embed", err)) ||
                   !(d->text_table = load_f32(ctx, st, "text.embed.weight", err)) ||
                   !(d->text_null = load_f32(ctx, st, "text.null", err))))
        r = -ENOMEM;
    if (r == 0)
        r = dit_set_batch(d, batch, err);
    if (r < 0)
        dit_free(d);
    return r;
}

void dit_free(struct dit *d)
{
    struct drift_linear *singles[] = { d->patch_embed, d->t_fc1, d->t_fc2, d->text_fc1,
                                       d->text_fc2, d->final_ada, d->final_linear,
                                       d->prev_embed };
    for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
        drift_linear_free(singles[i]);
    for (int i = 0; i < DIT_MAX_DEPTH; i++) {
        struct dit_block *b = &d->blocks[i];
        drift_linear_free(b->ada);
        drift_linear_free(b->qkv);
        drift_linear_free(b->proj);
        drift_linear_free(b->fc1);
        drift_linear_free(b->fc2);
        drift_kv_cache_free(b->cache);
    }
    drift_refiner_free(d->refiner);
    free(d->pos_embed);
    free(d->text_table);
    free(d->text_null);
    drift_arena_free(d->arena); /* every activation tensor is a view into it */
    memset(d, 0, sizeof(*d));
}

double dit_flops_per_eval(const struct dit_config *c, int past)
{
    double D = c->hidden, T = c->tokens, P = c->in_dim, r = c->mlp_ratio;
    double mac = T * P * D * (c->previous_frame_input ? 2 : 1) + DIT_FREQ_DIM * D + D * D;
    double block = D * 6 * D + T * (3 * D * D + D * D + 2 * r * D * D) + 2 * T * (past + 1) * T * D;
    mac += c->depth * block + 2 * D * D + T * D * P;
    return 2 * mac + (c->refiner.layers ? drift_refiner_flops(&c->refiner) : 0);
}
