/* One frame of a generator: noise -> sampler steps (each a guided, possibly cached model
 * evaluation attending to the window) -> the frame joins the window: through a commit pass on
 * the clean frame noised to context_t, or (commit "last-step") as the sampler's last evaluation
 * already saw it, whose keys and values are kept without another evaluation. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "generator_internal.h"
#include "noise.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Every batch row gets the same values (the guidance branches differ only in text). */
static void broadcast_rows(struct drift_generator *g, const float *x)
{
    for (int b = 0; b < g->dit.batch; b++)
        memcpy((float *)g->xb.data + (size_t)b * g->frame_values, x, g->frame_values * sizeof(float));
}

static int condition(struct drift_generator *g, float t, struct drift_error *err)
{
    float ts[2] = { t, t };
    const float *texts[2] = { g->text_now, g->text_uncond };
    return dit_condition(&g->dit, ts, texts, err);
}

static int set_before(struct drift_generator *g, struct drift_error *err)
{
    return dit_set_previous(&g->dit, g->has_before ? g->before : NULL, err);
}

/* Cache "none": rebuild the window from the stored frames (as the window keeps them) before an
 * evaluation, each at its noise level and with the frame before it as its input, as when it was
 * committed. */
static int rebuild_window(struct drift_generator *g, struct drift_error *err)
{
    dit_clear_cache(&g->dit);
    int r = 0;
    for (int i = 0; r == 0 && i < g->past_count; i++) {
        const float *prev = i > 0 ? g->past_before + (size_t)(i - 1) * g->frame_values
                                  : g->has_evicted ? g->evicted : NULL;
        if ((r = condition(g, g->past_t[i], err)) < 0 ||
            (r = dit_set_previous(&g->dit, prev, err)) < 0)
            break;
        broadcast_rows(g, g->past + (size_t)i * g->frame_values);
        r = dit_commit(&g->dit, &g->xb, g->past_position[i], err);
        g->counters.evals_run++;
    }
    return r == 0 ? set_before(g, err) : r;
}

struct eval_args {
    struct drift_generator *g;
    struct drift_error *err;
};

static int velocity(void *user, const float *x, float t, int step, int last, float *v)
{
    struct eval_args *a = user;
    struct drift_generator *g = a->g;
    int r = 0;
    double t0 = now();
    if (g->cache == DRIFT_CACHE_NONE)
        r = rebuild_window(g, a->err);
    if (r == 0)
        r = condition(g, t, a->err);
    if (r < 0)
        return r;
    broadcast_rows(g, x);
    if (g->commit == DRIFT_COMMIT_LAST_STEP && last) { /* what the window keeps */
        memcpy(g->last_input, x, g->frame_values * sizeof(float));
        g->last_t = t;
    }
    struct dit_step_cache *sc = g->cache >= DRIFT_CACHE_KV_TEACACHE ? &g->step_cache : NULL;
    if (sc) {
        int interval = g->cache_threshold >= 1.0 ? (int)g->cache_threshold : 2;
        sc->force = step == 0 || last ||
                    (g->cache == DRIFT_CACHE_KV_FORA && step % interval == 0);
    }
    /* Above the model's guidance_t_max the step takes the conditional branch alone (w = 1), so the
     * unconditional row is not evaluated: one of a frame's six evaluations at the video model's
     * defaults. Both rows still run where the window keeps this evaluation's keys and values
     * (commit last-step, the last step: the unconditional branch attends to them next frame) and
     * under a step cache (its residuals are per row). */
    bool guided = t <= g->model_guidance_t_max;
    int rows = g->dit.batch == 2 && !guided && !sc && !(g->commit == DRIFT_COMMIT_LAST_STEP && last)
                   ? 1 : g->dit.batch;
    struct drift_tensor xr = g->xb, vr = g->vb;
    xr.shape[0] = vr.shape[0] = rows;
    if ((r = dit_forward(&g->dit, &xr, g->frame, sc, &vr, a->err)) < 0)
        return r;
    g->counters.seconds_model += now() - t0;
    if (sc && sc->skipped)
        g->counters.evals_skipped++;
    else
        g->counters.evals_run++;
    const float *vc = g->vb.data, *vu = vc + g->frame_values;
    float w = guided ? (float)g->guidance : 1.0f;
    if (rows == 2)
        for (size_t i = 0; i < g->frame_values; i++)
            v[i] = vu[i] + w * (vc[i] - vu[i]);
    else
        memcpy(v, vc, g->frame_values * sizeof(float));
    return 0;
}

static void advance_prompt_blend(struct drift_generator *g)
{
    size_t D = (size_t)g->dit.cfg.hidden;
    if (g->blend_left <= 0) {
        memcpy(g->text_now, g->text_to, D * sizeof(float));
        return;
    }
    float alpha = 1.0f - (float)g->blend_left / (float)(g->blend_frames + 1);
    for (size_t i = 0; i < D; i++)
        g->text_now[i] = g->text_from[i] + alpha * (g->text_to[i] - g->text_from[i]);
    g->blend_left--;
}

/* context: the frame as the window keeps it; before: the "frame before" input it gives the next */
static int remember_past(struct drift_generator *g, const float *context, const float *before, float t)
{
    int W = g->dit.cfg.window;
    if (W == 0)
        return 0;
    size_t keep = (size_t)(W - 1) * g->frame_values * sizeof(float);
    if (g->past_count == W) { /* drop the oldest */
        memcpy(g->evicted, g->past_before, g->frame_values * sizeof(float));
        g->has_evicted = true;
        memmove(g->past, g->past + g->frame_values, keep);
        memmove(g->past_before, g->past_before + g->frame_values, keep);
        memmove(g->past_position, g->past_position + 1, (size_t)(W - 1) * sizeof(int64_t));
        memmove(g->past_t, g->past_t + 1, (size_t)(W - 1) * sizeof(float));
        g->past_count--;
    }
    memcpy(g->past + (size_t)g->past_count * g->frame_values, context, g->frame_values * sizeof(float));
    memcpy(g->past_before + (size_t)g->past_count * g->frame_values, before,
           g->frame_values * sizeof(float));
    g->past_t[g->past_count] = t;
    g->past_position[g->past_count++] = g->frame;
    return 0;
}

/* The similarity filter: serve the last frame again instead of denoising a new one. */
static bool may_skip(struct drift_generator *g)
{
    if (g->skip_threshold <= 0 || g->blend_left > 0 || g->skips_in_a_row >= g->skip_max ||
        !(g->last_change < g->skip_threshold))
        return false;
    g->skips_in_a_row++;
    g->counters.frames_skipped++;
    g->counters.frames++;
    return true;
}

static void measure_change(struct drift_generator *g)
{
    double sum = 0;
    for (size_t i = 0; i < g->frame_values; i++)
        sum += fabsf(g->x[i] - g->x_prev[i]);
    /* the first frame of a prompt has no predecessor of the same prompt to compare with */
    g->last_change = g->frames_of_prompt++ > 0 ? sum / (double)g->frame_values : INFINITY;
    memcpy(g->x_prev, g->x, g->frame_values * sizeof(float));
    g->skips_in_a_row = 0;
}

/* Noise for (frame, stream) in the frame's memory order (video H, W, RGB; audio samples), as the
 * reference draws it, rearranged into the transformer's tokens in `out`. */
static void frame_noise(struct drift_generator *g, uint64_t stream, float *out)
{
    if (g->info.kind == DRIFT_MODEL_AUDIO) { /* tokens are consecutive runs of samples */
        drift_noise_fill(g->seed, (uint64_t)g->frame, stream, out, g->frame_values);
        return;
    }
    float *hwc = g->scratch + 3 * g->frame_values;
    drift_noise_fill(g->seed, (uint64_t)g->frame, stream, hwc, g->frame_values);
    drift_generator_patchify(g, hwc, out);
}

/* A model with a noise flow (noise_flow.h) carries a fine field of noise instead of the latent's:
 * the field keeps noise_carry of the frame before's, rolled (wrapping round) by the whole sub-cells
 * the prompt's velocity has crossed, and the frame starts from its block sums. The detail the noise
 * decides then travels with the scene in steps of a quarter cell instead of standing on the screen. */
static void flow_start(struct drift_generator *g)
{
    const int F = DRIFT_NOISE_FLOW_FINE, H = g->latent.grid_h * F, W = g->latent.grid_w * F;
    const int C = g->latent.channels;
    const size_t n = (size_t)H * W * C;
    /* two fields in turn: the frame before's and this frame's (no copy between them) */
    float *field = g->flow_field + (size_t)g->flow_current * n, *next = g->flow_field + (size_t)!g->flow_current * n;
    drift_noise_fill(g->seed, (uint64_t)g->frame, DRIFT_NOISE_INIT, next, n);
    if (g->has_init_prev) {
        int64_t units[2];
        int moved[2];
        noise_flow_units(&g->flow, g->text_now, units);
        noise_flow_step(g->flow_covered, units, moved);
        const float c = g->noise_carry, fresh = sqrtf(1.0f - c * c);
        for (int y = 0; y < H; y++) {
            const float *from_row = field + (size_t)(((y - moved[0]) % H + H) % H) * W * C;
            float *row = next + (size_t)y * W * C;
            for (int x = 0; x < W; x++) {
                const float *from = from_row + (size_t)(((x - moved[1]) % W + W) % W) * C;
                for (int k = 0; k < C; k++)
                    row[(size_t)x * C + k] = c * from[k] + fresh * row[(size_t)x * C + k];
            }
        }
    } else {
        g->flow_covered[0] = g->flow_covered[1] = 0; /* a new chain starts */
    }
    g->flow_current = !g->flow_current;
    g->has_init_prev = true;
    /* frame_noise's buffer: the latent in HWC, then the transformer's tokens */
    float *hwc = g->scratch + 3 * g->frame_values;
    noise_flow_block_sums(next, g->latent.grid_h, g->latent.grid_w, C, hwc);
    drift_generator_patchify(g, hwc, g->x);
}

/* noise_carry c: the starting noise is c·(the frame before's) + sqrt(1 − c²)·fresh, still unit
 * Gaussian, so a frame starts where the one before started. Why: the sampler is deterministic
 * from its starting noise, and fresh noise every frame redraws the detail the window does not pin
 * down (the context is noisy) — the slow families flicker and every family blurs towards the
 * average of its redraws. Correlated starts keep the detail in place from frame to frame. */
static void carry_noise(struct drift_generator *g)
{
    if (g->noise_carry > 0 && g->has_init_prev) {
        const float c = g->noise_carry, fresh = sqrtf(1.0f - c * c);
        for (size_t i = 0; i < g->frame_values; i++)
            g->x[i] = c * g->init_prev[i] + fresh * g->x[i];
    }
    memcpy(g->init_prev, g->x, g->frame_values * sizeof(float));
    g->has_init_prev = true;
}

/* The frame just made joins the window the next frames attend to, and becomes their "frame
 * before" input. Commit "pass": the clean frame noised to context_t (as training saw context),
 * through one more evaluation. Commit "last-step": the sampler's last evaluation already wrote
 * the keys and values of its input (the frame at the last step's t) into the working slot; they
 * are kept as they are. */
static int join_window(struct drift_generator *g, struct drift_error *err)
{
    float *context = g->scratch;
    float tc;
    if (g->commit == DRIFT_COMMIT_LAST_STEP) {
        memcpy(context, g->last_input, g->frame_values * sizeof(float));
        tc = g->last_t;
    } else {
        frame_noise(g, DRIFT_NOISE_CONTEXT, context);
        tc = (float)g->context_t;
        for (size_t i = 0; i < g->frame_values; i++)
            context[i] = (1.0f - tc) * g->x[i] + tc * context[i];
    }
    /* the next frames' "frame before" input: as the window keeps it, or (arch.previous_frame_clean)
     * as it was made, which holds the detail the window's noise hides */
    const float *before = g->dit.cfg.previous_frame_clean ? g->x : context;
    int r = 0;
    if (g->cache == DRIFT_CACHE_NONE) {
        remember_past(g, context, before, tc);
    } else if (g->commit == DRIFT_COMMIT_LAST_STEP) {
        if ((r = dit_commit_working(&g->dit, g->frame, err)) < 0)
            return r;
    } else {
        if ((r = condition(g, tc, err)) < 0)
            return r;
        broadcast_rows(g, context);
        double t0 = now();
        if ((r = dit_commit(&g->dit, &g->xb, g->frame, err)) < 0)
            return r;
        g->counters.seconds_model += now() - t0;
        g->counters.evals_run++;
    }
    memcpy(g->before, before, g->frame_values * sizeof(float));
    g->has_before = true;
    return 0;
}

int drift_generator_step(struct drift_generator *g, struct drift_error *err)
{
    if (may_skip(g)) {
        memcpy(g->x, g->x_prev, g->frame_values * sizeof(float));
        return 0;
    }
    double t_start = now(), model_before = g->counters.seconds_model;
    advance_prompt_blend(g);
    if (g->flow.present && g->noise_carry > 0) {
        flow_start(g);
    } else {
        frame_noise(g, DRIFT_NOISE_INIT, g->x);
        carry_noise(g);
    }
    dit_step_cache_reset(&g->dit, &g->step_cache);
    struct eval_args args = { g, err };
    int r = set_before(g, err);
    if (r < 0)
        return r;
    r = drift_sampler_run(g->sampler, g->times, g->steps, g->x, g->frame_values, g->scratch,
                              velocity, &args);
    if (r < 0)
        return r;
    /* The frame's values live in [-clip, clip] ([-1, 1] for pixels and audio): the output and the
     * context the window keeps alike. */
    float clip = (float)g->latent.clip;
    for (size_t i = 0; i < g->frame_values; i++)
        g->x[i] = g->x[i] < -clip ? -clip : g->x[i] > clip ? clip : g->x[i];
    if ((r = join_window(g, err)) < 0)
        return r;
    measure_change(g);
    g->frame++;
    g->counters.frames++;
    g->counters.seconds_sampler += now() - t_start - (g->counters.seconds_model - model_before);
    return 0;
}

int drift_generator_decode(struct drift_generator *g, const float **pixels, struct drift_error *err)
{
    /* The sampler is done with its scratch: the latent in HWC goes there. */
    float *latent = g->scratch;
    drift_generator_unpatchify(g, g->x, latent);
    double t0 = now();
    int r = drift_video_decoder_run(g->decoder, latent, pixels, err);
    g->counters.seconds_decode += now() - t0;
    return r;
}
