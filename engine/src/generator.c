/* Generators: model files + settings -> an endless stream of frames or audio chunks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator_internal.h"
#include "internal.h"
#include "prompt.h"

/* NAME.safetensors and NAME.json from a path naming either or the stem. */
static int model_paths(const char *path, char *weights, char *config, size_t size,
                       struct drift_error *err)
{
    if (!path || !*path)
        return drift_error_set(err, -EINVAL, "model: no path given");
    size_t len = strlen(path);
    const char *exts[] = { ".safetensors", ".json" };
    for (int i = 0; i < 2; i++) {
        size_t el = strlen(exts[i]);
        if (len > el && strcmp(path + len - el, exts[i]) == 0)
            len -= el;
    }
    if (len + 13 >= size)
        return drift_error_set(err, -ENAMETOOLONG, "model: path too long");
    snprintf(weights, size, "%.*s.safetensors", (int)len, path);
    snprintf(config, size, "%.*s.json", (int)len, path);
    return 0;
}

static int config_int(const struct drift_config *c, const char *key, int64_t min, int64_t max,
                      int *ret, struct drift_error *err)
{
    int64_t v;
    int r = drift_config_get_int(c, key, min, max, &v, err);
    if (r == 0)
        *ret = (int)v;
    return r;
}

/* Optional keys keep their default when absent; present ones must be valid. */
static int opt_double(const struct drift_config *c, const char *key, double min, double max,
                      double *value, struct drift_error *err)
{
    return drift_config_has(c, key) ? drift_config_get_double(c, key, min, max, value, err) : 0;
}

/* "sampler": {"default": NAME, "steps": N, "guidance": G, "shift": S, "context_t": T,
 * "commit": "pass" | "last-step", "noise_carry": C, "guidance_t_max": M}; each key optional
 * (euler, 4, 1, 1, 0, pass, 0, 1). */
static int read_sampler_defaults(const struct drift_config *c, struct drift_model_info *info,
                                 double *shift, double *context_t, enum drift_commit *commit,
                                 double *noise_carry, double *guidance_t_max, struct drift_error *err)
{
    double steps = 4, guidance = 1.0;
    const char *name = "euler";
    *shift = 1.0;
    *context_t = 0.0;
    *noise_carry = 0.0;
    *guidance_t_max = 1.0;
    int r = opt_double(c, "sampler.steps", 1, DRIFT_MAX_STEPS, &steps, err);
    if (r == 0) r = opt_double(c, "sampler.guidance", 0, DRIFT_GUIDANCE_MAX, &guidance, err);
    /* Guidance from pure noise narrows the samples without improving them (Kynkaanniemi et al.,
     * 2024, "Applying guidance in a limited interval"); models/README.md measures it. */
    if (r == 0) r = opt_double(c, "sampler.guidance_t_max", 0.05, 1, guidance_t_max, err);
    if (r == 0) r = opt_double(c, "sampler.shift", 0.05, 20, shift, err);
    if (r == 0) r = opt_double(c, "sampler.context_t", 0, 0.5, context_t, err);
    if (r == 0)
        r = opt_double(c, "sampler.noise_carry", 0, DRIFT_NOISE_CARRY_MAX, noise_carry, err);
    if (r == 0 && drift_config_has(c, "sampler.default"))
        r = drift_config_get_string(c, "sampler.default", &name, err);
    const char *how = "pass";
    if (r == 0 && drift_config_has(c, "sampler.commit"))
        r = drift_config_get_string(c, "sampler.commit", &how, err);
    if (r < 0)
        return r;
    if (drift_commit_from_string(how, commit) < 0)
        return drift_error_set(err, -EINVAL, "%s: sampler.commit '%.32s' is not one of pass, "
                               "last-step", drift_config_label(c), how);
    enum drift_sampler s;
    if (drift_sampler_from_string(name, &s) < 0)
        return drift_error_set(err, -EINVAL, "%s: sampler.default '%s' is not one of euler, "
                               "dpmpp-2m, heun", drift_config_label(c), name);
    info->default_steps = (int)steps;
    info->commit_evals = *commit == DRIFT_COMMIT_LAST_STEP ? 0 : 1;
    info->default_guidance = guidance;
    snprintf(info->default_sampler, sizeof(info->default_sampler), "%s", name);
    return 0;
}

/* An audio model's representation: "pcm" (tokens of `patch` samples, pcm = x * scale) or "stft"
 * (one token per STFT frame: n_fft, hop = patch, floor, spread; engine/src/spectral.h).
 * spectral->n_fft stays 0 for "pcm". */
static int read_audio_representation(const struct drift_config *c, int patch,
                                     struct drift_spectral_params *spectral, struct drift_error *err)
{
    memset(spectral, 0, sizeof(*spectral));
    if (!drift_config_has(c, "audio.representation"))
        return 0;
    const char *name;
    int r = drift_config_get_string(c, "audio.representation", &name, err);
    if (r < 0 || strcmp(name, "pcm") == 0)
        return r;
    if (strcmp(name, "stft") != 0)
        return drift_error_set(err, -EINVAL, "%s: audio.representation '%.32s' is not pcm or stft",
                               drift_config_label(c), name);
    int n_fft = 0;
    r = config_int(c, "audio.n_fft", 64, 8192, &n_fft, err);
    if (r == 0) r = drift_config_get_double(c, "audio.floor", 1e-12, 0.5, &spectral->floor, err);
    if (r == 0) r = drift_config_get_double(c, "audio.spread", 0.01, 100, &spectral->spread, err);
    if (r == 0 && ((n_fft & (n_fft - 1)) || patch * 4 != n_fft))
        r = drift_error_set(err, -EINVAL, "%s: audio.n_fft %d must be a power of two and 4 x arch.patch "
                            "(the hop, %d)", drift_config_label(c), n_fft, patch);
    /* Optional (absent: 1): spectral.h says why a model sets it. */
    spectral->noise_level = 1.0;
    if (r == 0 && drift_config_has(c, "audio.noise_level"))
        r = drift_config_get_double(c, "audio.noise_level", 0.25, 4, &spectral->noise_level, err);
    spectral->n_fft = r == 0 ? n_fft : 0;
    spectral->hop = patch;
    return r;
}

/* audio.channels (absent: 1) and, with 2, audio.stereo_width. Stereo comes from the synthesiser
 * (spectral.h): the network is mono, so a waveform ("pcm") model is mono. */
static int read_audio_channels(const struct drift_config *c, struct drift_spectral_params *spectral,
                               int *channels, struct drift_error *err)
{
    int r = 0;
    *channels = 1;
    if (drift_config_has(c, "audio.channels"))
        r = config_int(c, "audio.channels", 1, spectral->n_fft ? 2 : 1, channels, err);
    if (r == 0 && *channels == 2)
        r = drift_config_get_double(c, "audio.stereo_width", 0, 1, &spectral->width, err);
    else if (r == 0 && drift_config_has(c, "audio.stereo_width"))
        r = drift_error_set(err, -EINVAL, "%s: audio.stereo_width is set but audio.channels is not 2",
                            drift_config_label(c));
    spectral->channels = *channels;
    return r;
}

/* The model's kind, sizes, rates and vocabulary from its config (docs/MODELS.md): "kind", "arch",
 * "video": {width, height, channels, fps} (+ "latent": the transformer's frame and its decoder) or
 * "audio": {sample_rate, chunk, scale | representation "stft", n_fft, floor, spread}, "vocab". */
static int read_info(const struct drift_config *c, struct drift_model_info *info, int *patch,
                     double *audio_scale, struct drift_spectral_params *spectral,
                     struct drift_video_decoder_config *latent, struct drift_error *err)
{
    memset(spectral, 0, sizeof(*spectral));
    memset(latent, 0, sizeof(*latent));
    latent->clip = 1.0; /* audio: tokens live in [-1, 1] */
    const char *kind;
    int r = drift_config_get_string(c, "kind", &kind, err);
    if (r < 0)
        return r;
    memset(info, 0, sizeof(*info));
    r = config_int(c, "arch.patch", 1, 1024, patch, err);
    if (r == 0) r = config_int(c, "arch.window", 0, 64, &info->window, err);
    if (strcmp(kind, "video") == 0) {
        info->kind = DRIFT_MODEL_VIDEO;
        if (r == 0) r = config_int(c, "video.width", 8, 4096, &info->width, err);
        if (r == 0) r = config_int(c, "video.height", 8, 4096, &info->height, err);
        int channels; /* checked: RGB is the only picture format */
        if (r == 0) r = config_int(c, "video.channels", 3, 3, &channels, err);
        if (r == 0) r = drift_config_get_double(c, "video.fps", 1, 240, &info->fps, err);
        if (r == 0)
            r = drift_video_decoder_read_config(c, info->width, info->height, latent, err);
        info->latent_factor = latent->factor;
        if (r == 0 && (latent->grid_w % *patch || latent->grid_h % *patch))
            r = drift_error_set(err, -EINVAL, "%s: %s %dx%d is not a multiple of patch %d",
                                drift_config_label(c), latent->factor > 1 ? "latent" : "frame",
                                latent->grid_w, latent->grid_h, *patch);
    } else if (strcmp(kind, "audio") == 0) {
        info->kind = DRIFT_MODEL_AUDIO;
        if (r == 0) r = config_int(c, "audio.sample_rate", 8000, 192000, &info->sample_rate, err);
        if (r == 0) r = config_int(c, "audio.chunk", 16, 1 << 20, &info->chunk_samples, err);
        if (r == 0) r = read_audio_representation(c, *patch, spectral, err);
        if (r == 0 && spectral->n_fft == 0)
            r = drift_config_get_double(c, "audio.scale", 1e-6, 100, audio_scale, err);
        if (r == 0) r = read_audio_channels(c, spectral, &info->channels, err);
        if (r == 0 && info->chunk_samples % *patch)
            r = drift_error_set(err, -EINVAL, "%s: chunk %d is not a multiple of patch %d",
                                drift_config_label(c), info->chunk_samples, *patch);
    } else {
        return drift_error_set(err, -EINVAL, "%s: kind '%s' is not video or audio",
                               drift_config_label(c), kind);
    }
    if (r < 0)
        return r;
    const char **vocab = NULL;
    size_t n = 0;
    if ((r = drift_config_get_string_array(c, "vocab", &vocab, &n, err)) < 0)
        return r;
    info->vocab = vocab;
    info->vocab_size = n;
    return 0;
}

void drift_model_info_free(struct drift_model_info *info)
{
    if (!info)
        return;
    free((void *)info->vocab);
    info->vocab = NULL;
    info->vocab_size = 0;
}

/* The transformer's tokens must tile its frame: (w/p)(h/p) tokens of p*p*channels values of the
 * latent (w x h x channels; the picture itself for a pixel model), chunk/p tokens of p samples, or
 * (stft) chunk/hop tokens of n_fft/2+1 magnitudes. */
static int check_layout(const struct drift_config *c, const struct drift_model_info *info,
                        int patch, const struct drift_video_decoder_config *latent,
                        const struct drift_spectral_params *spectral,
                        const struct dit_config *cfg, struct drift_error *err)
{
    bool video = info->kind == DRIFT_MODEL_VIDEO;
    int tokens = video ? (latent->grid_w / patch) * (latent->grid_h / patch)
                       : info->chunk_samples / patch;
    int in_dim = video ? patch * patch * latent->channels
                       : spectral->n_fft ? spectral->n_fft / 2 + 1 : patch;
    if (cfg->tokens != tokens || cfg->in_dim != in_dim)
        return drift_error_set(err, -EINVAL, "%s: arch.tokens %d and arch.in_dim %d do not tile the "
                               "%s (%d tokens of %d values)", drift_config_label(c), cfg->tokens,
                               cfg->in_dim, !video ? "chunk" : latent->factor > 1 ? "latent" : "frame",
                               tokens, in_dim);
    return 0;
}

/* The per-bin normalisation of a spectral audio model: tensors spectral.mean and spectral.std,
 * n_fft/2+1 values each, f32. *ret owned by the caller (drift_spectral_free). */
static int load_spectral(const struct drift_safetensors *st, const struct drift_spectral_params *p,
                         struct drift_spectral **ret, struct drift_error *err)
{
    struct drift_tensor_spec specs[2] = { { "spectral.mean", 1, { p->n_fft / 2 + 1 } },
                                          { "spectral.std", 1, { p->n_fft / 2 + 1 } } };
    int r = drift_safetensors_check(st, specs, 2, err);
    if (r < 0)
        return r;
    const struct drift_st_entry *mean = drift_safetensors_find(st, "spectral.mean"),
                                *std = drift_safetensors_find(st, "spectral.std");
    if (mean->dtype != DRIFT_F32 || std->dtype != DRIFT_F32)
        return drift_error_set(err, -EINVAL, "tensors spectral.mean and spectral.std must be F32");
    /* The mapping may leave them unaligned: copy before reading floats. */
    size_t bytes = (size_t)(p->n_fft / 2 + 1) * sizeof(float);
    float *buf = malloc(2 * bytes);
    if (!buf)
        return drift_error_set(err, -ENOMEM, "spectral: out of memory");
    memcpy(buf, mean->data, bytes);
    memcpy((char *)buf + bytes, std->data, bytes);
    r = drift_spectral_new(p, buf, (float *)((char *)buf + bytes), ret, err);
    free(buf);
    return r;
}

/* Replaces info->vocab (strings owned by a config) with one block holding the pointer array and
 * the strings, so that it outlives the config and drift_model_info_free() releases it. */
static int own_vocab(struct drift_model_info *info)
{
    size_t bytes = (info->vocab_size + 1) * sizeof(char *);
    for (size_t i = 0; i < info->vocab_size; i++)
        bytes += strlen(info->vocab[i]) + 1;
    char **block = malloc(bytes);
    if (!block)
        return -ENOMEM;
    char *pool = (char *)(block + info->vocab_size + 1);
    for (size_t i = 0; i < info->vocab_size; i++) {
        block[i] = pool;
        pool = stpcpy(pool, info->vocab[i]) + 1;
    }
    block[info->vocab_size] = NULL;
    free((void *)info->vocab);
    info->vocab = (const char *const *)block;
    return 0;
}

int drift_model_probe(const char *path, struct drift_model_info *info, struct drift_error *err)
{
    char wpath[4096], cpath[4096];
    struct drift_config *c = NULL;
    struct drift_safetensors *st = NULL;
    struct drift_context *ctx = NULL;
    struct drift_context_options f32 = { .precision = DRIFT_PRECISION_F32 };
    struct drift_spectral_params spectral;
    struct drift_spectral *synth = NULL;
    struct drift_video_decoder_config latent;
    int patch, r = model_paths(path, wpath, cpath, sizeof(wpath), err);
    double scale = 1, shift, ctx_t, carry, guidance_t_max;
    enum drift_commit commit;
    memset(info, 0, sizeof(*info));
    if (r == 0) r = drift_safetensors_open(wpath, &st, err);
    if (r == 0) r = drift_config_open(cpath, &c, err);
    if (r == 0) r = read_info(c, info, &patch, &scale, &spectral, &latent, err);
    if (r == 0)
        r = read_sampler_defaults(c, info, &shift, &ctx_t, &commit, &carry, &guidance_t_max, err);
    /* Loading the weights into a throwaway f32 context checks every tensor and its shape. */
    if (r == 0) r = drift_context_new(&f32, &ctx, err);
    if (r == 0) {
        struct dit d;
        if ((r = dit_load(ctx, st, c, 1, &d, err)) == 0) {
            r = check_layout(c, info, patch, &latent, &spectral, &d.cfg, err);
            info->flops_per_eval = dit_flops_per_eval(&d.cfg, d.cfg.window);
            struct noise_flow flow;
            if (r == 0)
                r = noise_flow_load(st, d.cfg.hidden, info->kind == DRIFT_MODEL_VIDEO, carry, &flow, err);
            if (r == 0)
                noise_flow_free(&flow);
            dit_free(&d);
        }
    }
    if (r == 0 && spectral.n_fft)
        r = load_spectral(st, &spectral, &synth, err);
    drift_spectral_free(synth);
    if (r == 0 && latent.layer_count) { /* builds it to check its tensors; runs nothing */
        struct drift_video_decoder *dec = NULL;
        r = drift_video_decoder_new(ctx, st, &latent, &dec, err);
        drift_video_decoder_free(dec);
    }
    if (r == 0 && own_vocab(info) < 0)
        r = drift_error_set(err, -ENOMEM, "model: out of memory");
    if (r < 0)
        drift_model_info_free(info);
    drift_context_free(ctx);
    drift_safetensors_close(st);
    drift_config_free(c);
    return r;
}

/* The settings a generator would run with, resolved against the model's defaults and checked.
 * Nothing in gen changes here. */
struct resolved {
    int steps;
    enum drift_sampler sampler;
    double guidance, threshold, shift, context_t, noise_carry;
    enum drift_commit commit;
    enum drift_cache_policy cache;
    int blend;
};

static int resolve_settings(const struct drift_generator *g, const struct drift_generator_settings *s,
                            struct resolved *out, struct drift_error *err)
{
    out->steps = s->steps ? s->steps : g->info.default_steps;
    if (out->steps < 1 || out->steps > DRIFT_MAX_STEPS)
        return drift_error_set(err, -EINVAL, "steps: %d outside [1, %d]", s->steps, DRIFT_MAX_STEPS);
    const char *sampler = s->sampler ? s->sampler : g->info.default_sampler;
    if (drift_sampler_from_string(sampler, &out->sampler) < 0)
        return drift_error_set(err, -EINVAL, "sampler: '%.32s' is not one of euler, dpmpp-2m, heun",
                               sampler);
    out->guidance = s->guidance < 0 ? g->info.default_guidance : s->guidance;
    if (!(out->guidance <= DRIFT_GUIDANCE_MAX))
        return drift_error_set(err, -EINVAL, "guidance: %g outside [0, %d]", s->guidance,
                               DRIFT_GUIDANCE_MAX);
    out->shift = s->shift == 0 ? g->model_shift : s->shift;
    if (!(out->shift >= 0.05 && out->shift <= 20))
        return drift_error_set(err, -EINVAL, "shift: %g outside [0.05, 20]", s->shift);
    out->context_t = s->context_t == 0 ? g->model_context_t : s->context_t;
    if (!(out->context_t >= 0 && out->context_t <= 0.5))
        return drift_error_set(err, -EINVAL, "context_t: %g outside [0, 0.5]", s->context_t);
    if (!(s->noise_carry <= DRIFT_NOISE_CARRY_MAX)) /* NaN too */
        return drift_error_set(err, -EINVAL, "noise_carry: %g above %g", s->noise_carry,
                               DRIFT_NOISE_CARRY_MAX);
    out->noise_carry = s->noise_carry == 0 ? g->model_noise_carry : s->noise_carry < 0 ? 0
                                                                                      : s->noise_carry;
    if ((unsigned)s->commit > DRIFT_COMMIT_LAST_STEP)
        return drift_error_set(err, -EINVAL, "commit: unknown way %d", (int)s->commit);
    out->commit = s->commit == DRIFT_COMMIT_MODEL ? g->model_commit : s->commit;
    if ((unsigned)s->cache >= DRIFT_CACHE_POLICIES)
        return drift_error_set(err, -EINVAL, "cache: unknown policy %d", (int)s->cache);
    out->cache = s->cache;
    out->threshold = s->cache_threshold;
    if (!(out->threshold >= 0 && out->threshold <= DRIFT_CACHE_THRESHOLD_MAX))
        return drift_error_set(err, -EINVAL, "cache_threshold: %g outside [0, %d]",
                               s->cache_threshold, DRIFT_CACHE_THRESHOLD_MAX);
    if (!(s->skip_threshold >= 0 && s->skip_threshold <= 2) || s->skip_max < 0 || s->skip_max > 100)
        return drift_error_set(err, -EINVAL, "skip: threshold %g outside [0, 2] or max %d outside "
                               "[0, 100]", s->skip_threshold, s->skip_max);
    if (s->prompt_blend_frames < 0 || s->prompt_blend_frames > 240)
        return drift_error_set(err, -EINVAL, "prompt_blend_frames: %d outside [0, 240]",
                               s->prompt_blend_frames);
    out->blend = s->prompt_blend_frames;
    return 0;
}

static int text_of(struct drift_generator *g, const char *prompt, float *out,
                   struct drift_error *err)
{
    int ids[DRIFT_PROMPT_MAX_WORDS], n = 0;
    int r = drift_prompt_tokenize(prompt, g->info.vocab, g->info.vocab_size, ids, &n, err);
    return r < 0 ? r : dit_text_cond(&g->dit, ids, n, out, err);
}

static int alloc_buffers(struct drift_generator *g, struct drift_error *err)
{
    size_t D = (size_t)g->dit.cfg.hidden, W = (size_t)g->dit.cfg.window;
    g->frame_values = (size_t)g->dit.cfg.tokens * g->dit.cfg.in_dim;
    g->text_from = drift_ctx_alloc(g->ctx, 6 * D * sizeof(float));
    g->x = drift_ctx_alloc(g->ctx, 10 * g->frame_values * sizeof(float));
    g->past = drift_ctx_alloc(g->ctx, 2 * (W ? W : 1) * g->frame_values * sizeof(float));
    g->past_position = drift_ctx_alloc(g->ctx, (W ? W : 1) * sizeof(int64_t));
    g->past_t = drift_ctx_alloc(g->ctx, (W ? W : 1) * sizeof(float));
    if (!g->text_from || !g->x || !g->past || !g->past_position || !g->past_t)
        return drift_error_set(err, -ENOMEM, "generator: out of memory");
    g->past_before = g->past + (W ? W : 1) * g->frame_values;
    g->text_to = g->text_from + D;
    g->text_now = g->text_from + 2 * D;
    g->text_uncond = g->text_from + 3 * D;
    g->text_spare = g->text_from + 4 * D;
    g->scratch = g->x + g->frame_values;
    g->x_prev = g->x + 5 * g->frame_values;
    g->before = g->x + 6 * g->frame_values;
    g->evicted = g->x + 7 * g->frame_values;
    g->last_input = g->x + 8 * g->frame_values;
    g->init_prev = g->x + 9 * g->frame_values;
    if (g->flow.present) {
        size_t fine = (size_t)DRIFT_NOISE_FLOW_FINE * DRIFT_NOISE_FLOW_FINE * g->frame_values;
        g->flow_field = drift_ctx_alloc(g->ctx, 2 * fine * sizeof(float));
        if (!g->flow_field)
            return drift_error_set(err, -ENOMEM, "generator: out of memory");
    }
    g->last_change = INFINITY;
    return 0;
}

/* The generator's side of an emptied window: no past frames and no frame before, as at a
 * stream's start (the transformer's cache is emptied by the caller). */
static void forget_window(struct drift_generator *g)
{
    g->past_count = 0;
    g->has_before = g->has_evicted = g->has_init_prev = false;
}

/* (Re)shapes the batch tensors for 1 (no guidance) or 2 rows. */
static int set_batch(struct drift_generator *g, int batch, struct drift_error *err)
{
    if (g->xb.data && g->dit.batch == batch)
        return 0;
    int r = dit_set_batch(&g->dit, batch, err);
    if (r < 0)
        return r;
    drift_tensor_free(&g->xb);
    drift_tensor_free(&g->vb);
    int64_t shape[3] = { batch, g->dit.cfg.tokens, g->dit.cfg.in_dim };
    if (drift_tensor_alloc(&g->xb, DRIFT_F32, 3, shape) < 0 ||
        drift_tensor_alloc(&g->vb, DRIFT_F32, 3, shape) < 0)
        return drift_error_set(err, -ENOMEM, "generator: out of memory");
    forget_window(g); /* dit_set_batch emptied the window */
    return 0;
}

int drift_model_threads(double flops_per_eval, bool bf16)
{
    double core_flops_per_second = bf16 ? 2e11 : 1e11;
    return flops_per_eval / core_flops_per_second < 2.5e-4 ? 1 : 0;
}

void drift_context_fit_threads(struct drift_context *ctx, double flops_per_eval)
{
    ctx->threads = drift_model_threads(flops_per_eval, ctx->compute_dtype == DRIFT_BF16);
}

static int load_model(struct drift_generator *g, const char *path, enum drift_precision precision,
                      int threads, struct drift_error *err)
{
    char wpath[4096], cpath[4096];
    struct dit_config arch;
    int r = model_paths(path, wpath, cpath, sizeof(wpath), err);
    /* The weights first: a missing model is reported by the file the user named. */
    if (r == 0) r = drift_safetensors_open(wpath, &g->weights, err);
    if (r == 0) r = drift_config_open(cpath, &g->config, err);
    if (r == 0)
        r = read_info(g->config, &g->info, &g->patch, &g->audio_scale, &g->spectral_params,
                      &g->latent, err);
    if (r == 0)
        r = read_sampler_defaults(g->config, &g->info, &g->model_shift, &g->model_context_t,
                                  &g->model_commit, &g->model_noise_carry,
                                  &g->model_guidance_t_max, err);
    if (r == 0) r = dit_read_config(g->config, &arch, err);
    if (r == 0)
        g->info.flops_per_eval = dit_flops_per_eval(&arch, arch.window);
    struct drift_context_options opt = { .precision = precision, .threads = threads };
    if (r == 0) r = drift_context_new(&opt, &g->ctx, err);
    /* Before anything is built: kernels are built for the team that runs them. */
    if (r == 0 && threads == 0)
        drift_context_fit_threads(g->ctx, g->info.flops_per_eval);
    if (r == 0)
        g->threads_created = g->ctx->threads;
    if (r == 0) r = dit_load(g->ctx, g->weights, g->config, 1, &g->dit, err);
    if (r == 0)
        r = check_layout(g->config, &g->info, g->patch, &g->latent, &g->spectral_params,
                         &g->dit.cfg, err);
    if (r == 0)
        r = noise_flow_load(g->weights, g->dit.cfg.hidden, g->info.kind == DRIFT_MODEL_VIDEO,
                            g->model_noise_carry, &g->flow, err);
    if (r == 0 && g->spectral_params.n_fft)
        r = load_spectral(g->weights, &g->spectral_params, &g->spectral, err);
    if (r == 0 && g->latent.layer_count)
        r = drift_video_decoder_new(g->ctx, g->weights, &g->latent, &g->decoder, err);
    return r;
}

/* Applies checked settings: prompt texts, sampler, guidance batch, caches. */
static int apply(struct drift_generator *g, const struct drift_generator_settings *s,
                 const struct resolved *rs, bool first, struct drift_error *err)
{
    size_t D = (size_t)g->dit.cfg.hidden;
    float *to = g->text_spare, *uncond = g->text_spare + D; /* checked before anything changes */
    int r = text_of(g, s->prompt, to, err);
    if (r == 0)
        r = text_of(g, s->negative_prompt, uncond, err);
    if (r < 0)
        return r;
    if ((r = set_batch(g, rs->guidance == 1.0 ? 1 : 2, err)) < 0)
        return r;
    memcpy(g->text_from, first ? to : g->text_now, D * sizeof(float));
    memcpy(g->text_to, to, D * sizeof(float));
    memcpy(g->text_uncond, uncond, D * sizeof(float));
    g->blend_frames = rs->blend;
    g->skip_threshold = s->skip_threshold;
    g->skip_max = s->skip_max;
    g->frames_of_prompt = 0; /* new settings: the similarity filter starts over */
    g->last_change = INFINITY;
    g->blend_left = first ? 0 : rs->blend;
    if (first)
        memcpy(g->text_now, to, D * sizeof(float));
    g->seed = s->seed;
    g->steps = rs->steps;
    g->sampler = rs->sampler;
    g->shift = rs->shift;
    g->context_t = rs->context_t;
    g->noise_carry = (float)rs->noise_carry;
    g->guidance = rs->guidance;
    if (!first && g->commit != rs->commit) {
        dit_clear_cache(&g->dit); /* the window's frames were made the other way */
        forget_window(g);
    }
    g->commit = rs->commit;
    if (g->cache != rs->cache) {
        dit_clear_cache(&g->dit); /* the window's meaning changes with the policy */
        forget_window(g);
    }
    g->cache = rs->cache;
    g->cache_threshold = rs->threshold;
    static const enum dit_step_mode modes[] = { DIT_STEP_OFF, DIT_STEP_OFF, DIT_STEP_TEACACHE,
                                                DIT_STEP_FIRST_BLOCK, DIT_STEP_FORA };
    g->step_cache = (struct dit_step_cache){ .mode = modes[rs->cache], .threshold = rs->threshold };
    drift_sampler_times(g->steps, g->shift, g->times);
    return 0;
}

int drift_generator_new(const char *model_path, const struct drift_generator_settings *settings,
                        struct drift_generator **ret, struct drift_error *err)
{
    if (!settings)
        return drift_error_set(err, -EINVAL, "generator: settings are required");
    if (settings->threads < 0 || settings->threads > 256)
        return drift_error_set(err, -EINVAL, "threads: %d outside [0, 256] (0 = automatic)",
                               settings->threads);
    struct drift_generator *g = calloc(1, sizeof(*g));
    if (!g)
        return drift_error_set(err, -ENOMEM, "generator: out of memory");
    struct resolved rs;
    int r = load_model(g, model_path, settings->precision, settings->threads, err);
    if (r == 0) r = alloc_buffers(g, err);
    if (r == 0) r = resolve_settings(g, settings, &rs, err);
    if (r == 0) {
        g->cache = rs.cache;
        r = apply(g, settings, &rs, true, err);
    }
    if (r < 0) {
        drift_generator_free(g);
        return r;
    }
    *ret = g;
    return 0;
}

void drift_generator_free(struct drift_generator *g)
{
    if (!g)
        return;
    dit_free(&g->dit);
    drift_tensor_free(&g->xb);
    drift_tensor_free(&g->vb);
    free(g->text_from);
    free(g->x);
    free(g->past);
    free(g->past_position);
    free(g->past_t);
    free((void *)g->info.vocab); /* the strings belong to the config */
    drift_spectral_free(g->spectral);
    drift_video_decoder_free(g->decoder);
    noise_flow_free(&g->flow);
    free(g->flow_field);
    drift_safetensors_close(g->weights);
    drift_config_free(g->config);
    drift_context_free(g->ctx);
    free(g);
}

const struct drift_model_info *drift_generator_info(const struct drift_generator *g)
{
    return &g->info;
}

/* Value index inside the tokens of cell (y, x) of the transformer's frame (a pixel, or a latent
 * cell), channel 0: token = raster index of the patch, then (dy, dx, c) inside it
 * (tools/models/model.py patchify). */
static size_t token_index(const struct drift_generator *g, int y, int x)
{
    int p = g->patch, cols = g->latent.grid_w / p;
    size_t tok = (size_t)(y / p) * (size_t)cols + (size_t)(x / p);
    return tok * (size_t)g->dit.cfg.in_dim +
           ((size_t)(y % p) * p + (size_t)(x % p)) * (size_t)g->latent.channels;
}

void drift_generator_patchify(const struct drift_generator *g, const float *hwc, float *tokens)
{
    size_t C = (size_t)g->latent.channels;
    for (int y = 0; y < g->latent.grid_h; y++)
        for (int x = 0; x < g->latent.grid_w; x++)
            memcpy(tokens + token_index(g, y, x), hwc + ((size_t)y * g->latent.grid_w + x) * C,
                   C * sizeof(float));
}

void drift_generator_unpatchify(const struct drift_generator *g, const float *tokens, float *hwc)
{
    size_t C = (size_t)g->latent.channels;
    for (int y = 0; y < g->latent.grid_h; y++)
        for (int x = 0; x < g->latent.grid_w; x++)
            memcpy(hwc + ((size_t)y * g->latent.grid_w + x) * C, tokens + token_index(g, y, x),
                   C * sizeof(float));
}

static uint8_t to_byte(float v)
{
    float p = (v + 1.0f) * 127.5f; /* model space [-1, 1] -> [0, 255] */
    return p <= 0.0f ? 0 : p >= 255.0f ? 255 : (uint8_t)(p + 0.5f);
}

int drift_generator_next_frame(struct drift_generator *g, uint8_t *rgb, size_t size,
                               struct drift_error *err)
{
    const struct drift_model_info *in = &g->info;
    size_t need = (size_t)in->width * in->height * 3;
    if (in->kind != DRIFT_MODEL_VIDEO)
        return drift_error_set(err, -EINVAL, "next_frame: this is an audio model");
    if (!rgb || size < need)
        return drift_error_set(err, -EINVAL, "next_frame: buffer of %zu bytes, %zu needed", size, need);
    int r = drift_generator_step(g, err);
    if (r < 0)
        return r;
    if (g->decoder) {
        const float *px;
        if ((r = drift_generator_decode(g, &px, err)) < 0)
            return r;
        for (size_t i = 0; i < need; i++)
            rgb[i] = to_byte(px[i]);
        return 0;
    }
    for (int y = 0; y < in->height; y++)
        for (int x = 0; x < in->width; x++) {
            const float *v = g->x + token_index(g, y, x);
            uint8_t *o = rgb + ((size_t)y * in->width + x) * 3;
            o[0] = to_byte(v[0]);
            o[1] = to_byte(v[1]);
            o[2] = to_byte(v[2]);
        }
    return 0;
}

int drift_generator_next_audio(struct drift_generator *g, float *pcm, size_t samples,
                               struct drift_error *err)
{
    if (g->info.kind != DRIFT_MODEL_AUDIO)
        return drift_error_set(err, -EINVAL, "next_audio: this is a video model");
    size_t needed = (size_t)g->info.chunk_samples * (size_t)g->info.channels;
    if (!pcm || samples < needed)
        return drift_error_set(err, -EINVAL, "next_audio: room for %zu samples, %zu needed (%d per "
                               "channel, %d channels)", samples, needed, g->info.chunk_samples,
                               g->info.channels);
    int r = drift_generator_step(g, err);
    if (r < 0)
        return r;
    if (g->spectral) { /* the phase vocoder's overlap-add joins chunks smoothly: no declick */
        drift_spectral_synthesize(g->spectral, g->x, g->dit.cfg.tokens, pcm);
        return 0;
    }
    for (int i = 0; i < g->info.chunk_samples; i++) /* x is already clamped to [-1, 1] */
        pcm[i] = g->x[i] * (float)g->audio_scale;
    /* Declick (docs/MODELS.md): the chunk's start is pulled to where the last one ended, fading
     * out over 256 samples, so that the joins do not click. Output only: the cache keeps x0. */
    enum { DECLICK = 256 };
    if (g->has_last_sample) {
        float step = g->last_sample - pcm[0];
        for (int n = 0; n < DECLICK && n < g->info.chunk_samples; n++)
            pcm[n] += step * (1.0f - (float)n / DECLICK);
    }
    g->last_sample = pcm[g->info.chunk_samples - 1];
    g->has_last_sample = true;
    return 0;
}

int drift_generator_set_threads(struct drift_generator *g, int threads, struct drift_error *err)
{
    int most = g->threads_created > 0 ? g->threads_created : 256;
    if (threads < 0 || threads > most)
        return drift_error_set(err, -EINVAL, "threads: %d outside [0, %d] (0 = as created)",
                               threads, most);
    g->ctx->threads = threads ? threads : g->threads_created;
    return 0;
}

int drift_generator_check_prompt(const struct drift_generator *g, const char *prompt,
                                 struct drift_error *err)
{
    int ids[DRIFT_PROMPT_MAX_WORDS], n;
    return drift_prompt_tokenize(prompt, g->info.vocab, g->info.vocab_size, ids, &n, err);
}

int drift_generator_set_prompt(struct drift_generator *g, const char *prompt,
                               struct drift_error *err)
{
    size_t D = (size_t)g->dit.cfg.hidden;
    float *to = g->text_spare;
    int r = text_of(g, prompt, to, err);
    if (r < 0)
        return r;
    memcpy(g->text_from, g->text_now, D * sizeof(float));
    memcpy(g->text_to, to, D * sizeof(float));
    g->blend_left = g->blend_frames;
    g->frames_of_prompt = 0; /* the similarity filter waits for two frames of the new prompt */
    g->last_change = INFINITY;
    return 0;
}

int drift_generator_update(struct drift_generator *g, const struct drift_generator_settings *s,
                           struct drift_error *err)
{
    struct resolved rs;
    int r = s ? resolve_settings(g, s, &rs, err) : drift_error_set(err, -EINVAL, "settings: NULL");
    return r < 0 ? r : apply(g, s, &rs, false, err);
}

void drift_generator_get_counters(const struct drift_generator *g,
                                  struct drift_generator_counters *ret)
{
    *ret = g->counters;
    ret->flops = drift_context_counters(g->ctx)->flops;
    ret->allocations = drift_context_counters(g->ctx)->allocations;
    ret->primitives = drift_context_counters(g->ctx)->primitives_created;
    for (int k = 0; k < DRIFT_OP_KINDS; k++)
        ret->seconds_by_op[k] = drift_context_counters(g->ctx)->seconds[k];
}
