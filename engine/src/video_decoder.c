/* The latent video decoder: the config's "latent" section, the decoder.N tensors, and the decode
 * itself (convolutions and resizes on oneDNN, the layout changes here). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drift/arena.h>
#include <drift/ops.h>

#include "internal.h"
#include "video_decoder.h"

struct drift_video_decoder {
    struct drift_context *ctx;
    struct drift_video_decoder_config cfg;
    struct drift_conv *convs[DRIFT_DECODER_MAX_LAYERS];
    /* The activations of layer i are views into two buffers used in turn: layer i reads in[i] and
     * writes out[i] (= in[i + 1]); shapes fixed at creation. */
    struct drift_tensor in[DRIFT_DECODER_MAX_LAYERS], out[DRIFT_DECODER_MAX_LAYERS];
    float *pixels;              /* height x width x 3, HWC */
    struct drift_arena *arena;  /* every buffer above */
};

static bool power_of_two(int v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

/* "layers": 1..DRIFT_DECODER_MAX_LAYERS entries, each "conv" or "up", at least one conv. */
static int read_layers(const struct drift_config *c, struct drift_video_decoder_config *cfg,
                       struct drift_error *err)
{
    const char *key = "latent.decoder.layers";
    const char **layers = NULL;
    size_t n = 0;
    int r = drift_config_get_string_array(c, key, &layers, &n, err);
    if (r < 0)
        return r;
    if (n < 1 || n > DRIFT_DECODER_MAX_LAYERS) {
        free(layers);
        return drift_error_set(err, -EINVAL, "%s: %s has %zu entries, 1..%d allowed",
                               drift_config_label(c), key, n, DRIFT_DECODER_MAX_LAYERS);
    }
    cfg->layer_count = (int)n;
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (strcmp(layers[i], "conv") == 0)
            cfg->convs++;
        else if (strcmp(layers[i], "up") == 0)
            cfg->up[i] = true, cfg->ups++;
        else
            r = drift_error_set(err, -EINVAL, "%s: %s[%zu] '%.32s' is not conv or up",
                                drift_config_label(c), key, i, layers[i]);
    }
    free(layers);
    if (r == 0 && cfg->convs == 0)
        r = drift_error_set(err, -EINVAL, "%s: %s has no conv (the last conv makes the pixels)",
                            drift_config_label(c), key);
    return r;
}

int drift_video_decoder_read_config(const struct drift_config *c, int width, int height,
                                    struct drift_video_decoder_config *cfg,
                                    struct drift_error *err)
{
    *cfg = (struct drift_video_decoder_config){ .width = width, .height = height, .factor = 1,
                                                .channels = 3, .grid_w = width, .grid_h = height,
                                                .clip = 1.0, .shuffle = 1 };
    if (!drift_config_has(c, "latent"))
        return 0;
    const char *label = drift_config_label(c);
    int64_t factor = 0, channels = 0, shuffle = 0;
    const char *s;
    int r = drift_config_get_int(c, "latent.factor", 1, 64, &factor, err);
    if (r == 0 && (!power_of_two((int)factor) || width % factor || height % factor))
        r = drift_error_set(err, -EINVAL, "%s: latent.factor %lld is not a power of two dividing "
                            "the frame %dx%d", label, (long long)factor, width, height);
    if (r == 0) r = drift_config_get_int(c, "latent.channels", 1, 64, &channels, err);
    if (r == 0) r = drift_config_get_double(c, "latent.clip", 0, 100, &cfg->clip, err);
    if (r == 0 && !(cfg->clip > 0))
        r = drift_error_set(err, -EINVAL, "%s: latent.clip %g must be above 0", label, cfg->clip);
    /* The transformer's frame is the latent in HWC order, the only layout the reference has. */
    if (r == 0 && drift_config_has(c, "latent.layout") &&
        (r = drift_config_get_string(c, "latent.layout", &s, err)) == 0 && strcmp(s, "HWC") != 0)
        r = drift_error_set(err, -EINVAL, "%s: latent.layout '%.32s' is not HWC", label, s);
    if (r == 0) r = read_layers(c, cfg, err);
    if (r == 0 && (r = drift_config_get_string(c, "latent.decoder.activation", &s, err)) == 0 &&
        strcmp(s, "silu") != 0)
        r = drift_error_set(err, -EINVAL, "%s: latent.decoder.activation '%.32s' is not silu",
                            label, s);
    if (r == 0) r = drift_config_get_int(c, "latent.decoder.shuffle", 1, 8, &shuffle, err);
    /* ups <= 32 and shuffle <= 8: no overflow in 64 bits */
    int64_t scale = r == 0 ? ((int64_t)1 << cfg->ups) * shuffle : 0;
    if (r == 0 && scale != factor)
        r = drift_error_set(err, -EINVAL, "%s: latent.decoder: %d \"up\" layers and shuffle %lld "
                            "scale the latent by %lld, not latent.factor %lld", label, cfg->ups,
                            (long long)shuffle, (long long)scale, (long long)factor);
    if (r < 0)
        return r;
    cfg->factor = (int)factor;
    cfg->channels = (int)channels;
    cfg->shuffle = (int)shuffle;
    cfg->grid_w = width / cfg->factor;
    cfg->grid_h = height / cfg->factor;
    return 0;
}

/* decoder.N.weight [O, I, K, K] (K odd) and decoder.N.bias [O] of every conv, chaining from the
 * latent's channels to 3 * shuffle^2; shapes of conv N in out_ch[N], in_ch[N], kernel[N]. */
static int check_tensors(const struct drift_safetensors *st, const struct drift_video_decoder_config *cfg,
                         int64_t *out_ch, int64_t *kernel, struct drift_error *err)
{
    int64_t in = cfg->channels, last = 3LL * cfg->shuffle * cfg->shuffle;
    for (int n = 0; n < cfg->convs; n++) {
        char wname[64], bname[64];
        snprintf(wname, sizeof(wname), "decoder.%d.weight", n);
        snprintf(bname, sizeof(bname), "decoder.%d.bias", n);
        const struct drift_st_entry *w = drift_safetensors_find(st, wname),
                                    *b = drift_safetensors_find(st, bname);
        if (!w || !b)
            return drift_error_set(err, -ENOENT, "tensor '%s' is missing (the decoder has %d "
                                   "convs)", w ? bname : wname, cfg->convs);
        if (w->ndim != 4)
            return drift_error_set(err, -EINVAL, "tensor '%s' has %d dimensions, needs 4 "
                                   "[out, in, K, K]", wname, w->ndim);
        int64_t o = w->shape[0], k = w->shape[2];
        if (k != w->shape[3] || k % 2 == 0 || k > DRIFT_DECODER_MAX_KERNEL)
            return drift_error_set(err, -EINVAL, "tensor '%s': kernel %lldx%lld must be square, "
                                   "odd and at most %d", wname, (long long)k,
                                   (long long)w->shape[3], DRIFT_DECODER_MAX_KERNEL);
        if (w->shape[1] != in)
            return drift_error_set(err, -EINVAL, "tensor '%s' takes %lld channels, the %s gives "
                                   "%lld", wname, (long long)w->shape[1],
                                   n ? "previous conv" : "latent", (long long)in);
        if (n == cfg->convs - 1 && o != last)
            return drift_error_set(err, -EINVAL, "tensor '%s' makes %lld channels, the last conv "
                                   "must make 3 x shuffle^2 = %lld", wname, (long long)o,
                                   (long long)last);
        if (b->ndim != 1 || b->shape[0] != o)
            return drift_error_set(err, -EINVAL, "tensor '%s' must be [%lld]", bname, (long long)o);
        out_ch[n] = o;
        kernel[n] = k;
        in = o;
    }
    /* A stray decoder tensor means a file for another decoder description: refuse it rather
     * than decode with a part left out. */
    for (size_t i = 0; i < drift_safetensors_count(st); i++) {
        const char *name = drift_safetensors_at(st, i)->name;
        if (strncmp(name, "decoder.", 8) != 0)
            continue;
        int n = -1, end = 0;
        char part[8] = "";
        bool ours = sscanf(name, "decoder.%d.%7[a-z]%n", &n, part, &end) == 2 && name[end] == 0 &&
                    n >= 0 && n < cfg->convs && (!strcmp(part, "weight") || !strcmp(part, "bias"));
        char canonical[64];
        snprintf(canonical, sizeof(canonical), "decoder.%d.%s", n, part);
        if (!ours || strcmp(canonical, name) != 0) /* "decoder.01.bias" is not decoder.1.bias */
            return drift_error_set(err, -EINVAL, "tensor '%.64s' is not part of the decoder "
                                   "described by latent.decoder (%d convs)", name, cfg->convs);
    }
    return 0;
}

/* The shapes of every layer's input and output, and two buffers big enough for any of them. */
static int plan_activations(struct drift_video_decoder *d, const int64_t *out_ch,
                            struct drift_error *err)
{
    const struct drift_video_decoder_config *c = &d->cfg;
    int64_t shapes[DRIFT_DECODER_MAX_LAYERS + 1][4];
    int64_t ch = c->channels, h = c->grid_h, w = c->grid_w, biggest = 0;
    for (int i = 0, conv = 0; i <= c->layer_count; i++) {
        int64_t *s = shapes[i];
        s[0] = 1, s[1] = ch, s[2] = h, s[3] = w;
        biggest = ch * h * w > biggest ? ch * h * w : biggest;
        if (i == c->layer_count)
            break;
        if (c->up[i])
            h *= 2, w *= 2;
        else
            ch = out_ch[conv++];
    }
    size_t buffer = ((size_t)biggest * sizeof(float) + 63) & ~(size_t)63,
           pixels = (size_t)c->width * c->height * 3 * sizeof(float);
    if (!(d->arena = drift_arena_new(2 * buffer + pixels)))
        return drift_error_set(err, -ENOMEM, "decoder: out of memory for %zu bytes of activations",
                               2 * buffer + pixels);
    d->ctx->counters.allocations++;
    d->ctx->counters.bytes_allocated += 2 * buffer + pixels;
    float *ping = drift_arena_alloc(d->arena, buffer), *pong = drift_arena_alloc(d->arena, buffer);
    d->pixels = drift_arena_alloc(d->arena, pixels);
    if (!ping || !pong || !d->pixels)
        return drift_error_set(err, -ENOMEM, "decoder: activation arena too small");
    for (int i = 0; i < c->layer_count; i++) {
        drift_tensor_view(&d->in[i], DRIFT_F32, i % 2 ? pong : ping, 4, shapes[i]);
        drift_tensor_view(&d->out[i], DRIFT_F32, i % 2 ? ping : pong, 4, shapes[i + 1]);
    }
    return 0;
}

int drift_video_decoder_new(struct drift_context *ctx, const struct drift_safetensors *weights,
                            const struct drift_video_decoder_config *cfg,
                            struct drift_video_decoder **ret, struct drift_error *err)
{
    if (cfg->layer_count < 1 || cfg->layer_count > DRIFT_DECODER_MAX_LAYERS)
        return drift_error_set(err, -EINVAL, "decoder: %d layers, 1..%d allowed", cfg->layer_count,
                               DRIFT_DECODER_MAX_LAYERS);
    int64_t out_ch[DRIFT_DECODER_MAX_LAYERS], kernel[DRIFT_DECODER_MAX_LAYERS];
    int r = check_tensors(weights, cfg, out_ch, kernel, err);
    if (r < 0)
        return r;
    struct drift_video_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return drift_error_set(err, -ENOMEM, "decoder: out of memory");
    d->ctx = ctx;
    d->cfg = *cfg;
    for (int n = 0; r == 0 && n < cfg->convs; n++)
        r = drift_conv_load(ctx, weights, "decoder", n, /* SiLU after every conv but the last */
                            n < cfg->convs - 1 ? DRIFT_ACT_SILU : DRIFT_ACT_NONE, &d->convs[n], err);
    if (r == 0)
        r = plan_activations(d, out_ch, err);
    if (r < 0) {
        drift_video_decoder_free(d);
        return r;
    }
    *ret = d;
    return 0;
}

void drift_video_decoder_free(struct drift_video_decoder *d)
{
    if (!d)
        return;
    for (int n = 0; n < DRIFT_DECODER_MAX_LAYERS; n++)
        drift_conv_free(d->convs[n]);
    drift_arena_free(d->arena);
    free(d);
}

int drift_video_decoder_run(struct drift_video_decoder *d, const float *latent,
                            const float **pixels, struct drift_error *err)
{
    const struct drift_video_decoder_config *c = &d->cfg;
    int64_t C = c->channels, HW = (int64_t)c->grid_h * c->grid_w;
    float *nchw = d->in[0].data;
    for (int64_t p = 0; p < HW; p++) /* HWC -> CHW */
        for (int64_t ch = 0; ch < C; ch++)
            nchw[ch * HW + p] = latent[p * C + ch];
    int r = 0;
    for (int i = 0, conv = 0; r == 0 && i < c->layer_count; i++)
        r = c->up[i] ? drift_resize_bilinear(d->ctx, &d->in[i], &d->out[i], err)
                     : drift_conv_forward(d->ctx, d->convs[conv++], &d->in[i], &d->out[i], err);
    if (r < 0) {
        drift_error_prefix(err, "decoder");
        return r;
    }
    /* Pixel shuffle into HWC: channel ch*s*s + dy*s + dx of cell (y, x) is pixel (y*s+dy, x*s+dx),
     * colour ch. */
    const struct drift_tensor *last = &d->out[c->layer_count - 1];
    const float *src = last->data;
    int s = c->shuffle;
    int64_t h = last->shape[2], w = last->shape[3], plane = h * w, W = c->width;
    for (int64_t y = 0; y < h; y++)
        for (int dy = 0; dy < s; dy++)
            for (int64_t x = 0; x < w; x++)
                for (int dx = 0; dx < s; dx++) {
                    float *o = d->pixels + (((y * s + dy) * W) + x * s + dx) * 3;
                    const float *i = src + (int64_t)(dy * s + dx) * plane + y * w + x;
                    o[0] = i[0];
                    o[1] = i[(int64_t)s * s * plane];
                    o[2] = i[2 * (int64_t)s * s * plane];
                }
    *pixels = d->pixels;
    return 0;
}
