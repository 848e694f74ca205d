/* The refiner of a latent video model: config, tensors, and the run (convolutions on oneDNN, the
 * layout changes here). See refiner.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drift/arena.h>
#include <drift/ops.h>

#include "internal.h"
#include "refiner.h"

struct drift_refiner {
    struct drift_context *ctx;
    struct drift_refiner_config cfg;
    struct drift_conv *convs[DRIFT_REFINER_MAX_LAYERS];
    /* Layer i reads in[i] and writes out[i] (= in[i + 1]): views into two buffers used in turn. */
    struct drift_tensor in[DRIFT_REFINER_MAX_LAYERS], out[DRIFT_REFINER_MAX_LAYERS];
    /* Value i of a frame in token layout (raster over patches, values ordered (dy, dx, c)) is
     * channel c's plane at cell (y, x): index c * grid_h * grid_w + y * grid_w + x. */
    int64_t *plane_of;
    struct drift_arena *arena;
};

static int get_int(const struct drift_config *c, const char *key, int64_t min, int64_t max,
                   int *ret, struct drift_error *err)
{
    int64_t v;
    int r = drift_config_get_int(c, key, min, max, &v, err);
    if (r == 0)
        *ret = (int)v;
    return r;
}

int drift_refiner_read_config(const struct drift_config *c, int tokens, int in_dim,
                              struct drift_refiner_config *cfg, struct drift_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (!drift_config_has(c, "arch.refiner"))
        return 0;
    const char *label = drift_config_label(c);
    int width = 0, height = 0, factor = 0, r = 0;
    if (r == 0) r = get_int(c, "arch.refiner.channels", 1, 512, &cfg->channels, err);
    if (r == 0) r = get_int(c, "arch.refiner.layers", 2, DRIFT_REFINER_MAX_LAYERS, &cfg->layers, err);
    if (r == 0) r = get_int(c, "arch.patch", 1, 64, &cfg->patch, err);
    if (r == 0) r = get_int(c, "video.width", 1, 16384, &width, err);
    if (r == 0) r = get_int(c, "video.height", 1, 16384, &height, err);
    if (r == 0) r = get_int(c, "latent.factor", 1, 64, &factor, err);
    if (r == 0) r = get_int(c, "latent.channels", 1, 64, &cfg->cell_channels, err);
    if (r < 0) {
        drift_error_prefix(err, "arch.refiner needs a latent video model");
        return r;
    }
    cfg->grid_w = width / factor;
    cfg->grid_h = height / factor;
    /* The generator checks the same tiling later (with this wording); the refiner needs it
     * before it sizes its buffers. */
    int p = cfg->patch, need_tokens = (cfg->grid_w / p) * (cfg->grid_h / p),
        need_dim = p * p * cfg->cell_channels;
    if (width % factor || height % factor || cfg->grid_w % p || cfg->grid_h % p)
        return drift_error_set(err, -EINVAL, "%s: arch.refiner: a %dx%d frame at latent.factor %d "
                               "does not split into arch.patch %d patches", label, width, height,
                               factor, p);
    if (need_tokens != tokens || need_dim != in_dim)
        return drift_error_set(err, -EINVAL, "%s: arch.tokens %d and arch.in_dim %d do not tile the "
                               "latent (%d tokens of %d values)", label, tokens, in_dim,
                               need_tokens, need_dim);
    return 0;
}

static int64_t conv_in(const struct drift_refiner_config *c, int n)
{
    return n == 0 ? 3LL * c->cell_channels + 1 : c->channels;
}

static int64_t conv_out(const struct drift_refiner_config *c, int n)
{
    return n == c->layers - 1 ? c->cell_channels : c->channels;
}

double drift_refiner_flops(const struct drift_refiner_config *c)
{
    double mac = 0;
    for (int n = 0; n < c->layers; n++)
        mac += 9.0 * (double)conv_in(c, n) * (double)conv_out(c, n);
    return 2.0 * mac * c->grid_h * c->grid_w;
}

static int check_tensors(const struct drift_safetensors *st, const struct drift_refiner_config *c,
                         struct drift_error *err)
{
    struct drift_tensor_spec specs[2 * DRIFT_REFINER_MAX_LAYERS];
    memset(specs, 0, sizeof(specs));
    for (int n = 0; n < c->layers; n++) {
        struct drift_tensor_spec *w = &specs[2 * n], *b = &specs[2 * n + 1];
        snprintf(w->name, sizeof(w->name), "refiner.%d.weight", n);
        w->ndim = 4;
        w->shape[0] = conv_out(c, n), w->shape[1] = conv_in(c, n), w->shape[2] = w->shape[3] = 3;
        snprintf(b->name, sizeof(b->name), "refiner.%d.bias", n);
        b->ndim = 1;
        b->shape[0] = conv_out(c, n);
    }
    int r = drift_safetensors_check(st, specs, 2 * (size_t)c->layers, err);
    if (r < 0)
        return r;
    /* A stray refiner tensor means a file for another refiner: refuse it rather than run with a
     * part left out. */
    for (size_t i = 0; i < drift_safetensors_count(st); i++) {
        const char *name = drift_safetensors_at(st, i)->name;
        if (strncmp(name, "refiner.", 8) != 0)
            continue;
        bool ours = false;
        for (int k = 0; k < 2 * c->layers && !ours; k++)
            ours = strcmp(name, specs[k].name) == 0;
        if (!ours)
            return drift_error_set(err, -EINVAL, "tensor '%.64s' is not part of the refiner "
                                   "described by arch.refiner (%d layers)", name, c->layers);
    }
    return 0;
}

static int plan_activations(struct drift_refiner *d, struct drift_error *err)
{
    const struct drift_refiner_config *c = &d->cfg;
    int64_t plane = (int64_t)c->grid_h * c->grid_w, widest = conv_in(c, 0);
    widest = c->channels > widest ? c->channels : widest;
    size_t buffer = ((size_t)(widest * plane) * sizeof(float) + 63) & ~(size_t)63,
           map = ((size_t)(plane * c->cell_channels) * sizeof(int64_t) + 63) & ~(size_t)63;
    if (!(d->arena = drift_arena_new(2 * buffer + map)))
        return drift_error_set(err, -ENOMEM, "refiner: out of memory for %zu bytes of activations",
                               2 * buffer + map);
    d->ctx->counters.allocations++;
    d->ctx->counters.bytes_allocated += 2 * buffer + map;
    float *ping = drift_arena_alloc(d->arena, buffer), *pong = drift_arena_alloc(d->arena, buffer);
    d->plane_of = drift_arena_alloc(d->arena, map);
    if (!ping || !pong || !d->plane_of)
        return drift_error_set(err, -ENOMEM, "refiner: activation arena too small");
    int p = c->patch, C = c->cell_channels, per_row = c->grid_w / p;
    for (int y = 0; y < c->grid_h; y++)
        for (int x = 0; x < c->grid_w; x++)
            for (int ch = 0; ch < C; ch++) {
                int64_t token = (int64_t)(y / p) * per_row + x / p;
                int64_t value = token * p * p * C + ((int64_t)(y % p) * p + x % p) * C + ch;
                d->plane_of[value] = ch * plane + (int64_t)y * c->grid_w + x;
            }
    for (int n = 0; n < c->layers; n++) {
        int64_t si[4] = { 1, conv_in(c, n), c->grid_h, c->grid_w },
                so[4] = { 1, conv_out(c, n), c->grid_h, c->grid_w };
        drift_tensor_view(&d->in[n], DRIFT_F32, n % 2 ? pong : ping, 4, si);
        drift_tensor_view(&d->out[n], DRIFT_F32, n % 2 ? ping : pong, 4, so);
    }
    return 0;
}

int drift_refiner_new(struct drift_context *ctx, const struct drift_safetensors *weights,
                      const struct drift_refiner_config *cfg, struct drift_refiner **ret,
                      struct drift_error *err)
{
    if (cfg->layers < 2 || cfg->layers > DRIFT_REFINER_MAX_LAYERS)
        return drift_error_set(err, -EINVAL, "refiner: %d layers, 2..%d allowed", cfg->layers,
                               DRIFT_REFINER_MAX_LAYERS);
    int r = check_tensors(weights, cfg, err);
    if (r < 0)
        return r;
    struct drift_refiner *d = calloc(1, sizeof(*d));
    if (!d)
        return drift_error_set(err, -ENOMEM, "refiner: out of memory");
    d->ctx = ctx;
    d->cfg = *cfg;
    /* SiLU after every conv but the last, fused into the kernel */
    for (int n = 0; r == 0 && n < cfg->layers; n++)
        r = drift_conv_load(ctx, weights, "refiner", n,
                            n < cfg->layers - 1 ? DRIFT_ACT_SILU : DRIFT_ACT_NONE, &d->convs[n], err);
    if (r == 0)
        r = plan_activations(d, err);
    if (r < 0) {
        drift_refiner_free(d);
        return r;
    }
    *ret = d;
    return 0;
}

void drift_refiner_free(struct drift_refiner *d)
{
    if (!d)
        return;
    for (int n = 0; n < DRIFT_REFINER_MAX_LAYERS; n++)
        drift_conv_free(d->convs[n]);
    drift_arena_free(d->arena);
    free(d);
}

int drift_refiner_run(struct drift_refiner *d, float *x0, const float *x, const float *previous,
                      float t, struct drift_error *err)
{
    const struct drift_refiner_config *c = &d->cfg;
    int64_t plane = (int64_t)c->grid_h * c->grid_w, values = plane * c->cell_channels;
    float *in = d->in[0].data;
    for (int64_t i = 0; i < values; i++) {
        in[d->plane_of[i]] = x0[i];
        in[values + d->plane_of[i]] = x[i];
        in[2 * values + d->plane_of[i]] = previous ? previous[i] : 0.0f;
    }
    for (int64_t i = 0; i < plane; i++)
        in[3 * values + i] = t;
    int r = 0;
    for (int n = 0; r == 0 && n < c->layers; n++)
        r = drift_conv_forward(d->ctx, d->convs[n], &d->in[n], &d->out[n], err);
    if (r < 0) {
        drift_error_prefix(err, "refiner");
        return r;
    }
    const float *delta = d->out[c->layers - 1].data;
    for (int64_t i = 0; i < values; i++)
        x0[i] += delta[d->plane_of[i]];
    return 0;
}
