/* drift engine: generators — a model, a prompt and a seed turned into an endless stream of video
 * frames (RGB) or audio chunks (float PCM), one at a time.
 *
 * A generator owns everything it uses (its own context, the model's packed weights, the rolling
 * KV cache, scratch); two generators run side by side in one process, each on one thread at a
 * time. Steady state allocates nothing per frame. */
#ifndef DRIFT_GENERATOR_H
#define DRIFT_GENERATOR_H

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <drift/context.h>
#include <drift/error.h>

enum drift_model_kind {
    DRIFT_MODEL_VIDEO = 0,
    DRIFT_MODEL_AUDIO = 1,
};

/* What a model file is, read from its config. Strings are owned by the generator (or by the
 * drift_model_info_free() caller for drift_model_probe()). */
struct drift_model_info {
    enum drift_model_kind kind;
    int width, height;         /* video: native frame size in pixels */
    int latent_factor;         /* video: 1 = the transformer makes the pixels; > 1 = it makes a
                                  latent this many times smaller per side, which the engine
                                  decodes to width x height pixels (docs/MODELS.md, latent) */
    double fps;                /* video: content frame rate */
    int sample_rate;           /* audio: samples per second */
    int chunk_samples;         /* audio: samples per chunk, per channel */
    int channels;              /* audio: 1, or 2 (interleaved L, R) */
    int window;                /* past frames/chunks kept in the KV cache */
    int default_steps;
    char default_sampler[32];
    double default_guidance;
    int commit_evals;          /* evaluations a frame costs beyond its sampler's to join the
                                  window, by the model's sampler.commit: 1 (pass), 0 (last-step) */
    double flops_per_eval;     /* one model evaluation of one frame with a full window, batch 1 */
    size_t vocab_size;
    const char *const *vocab;  /* the words a prompt may use */
};

/* Step-level cache policies (DESIGN.md `cache` key): "none" (recompute the window at every
 * evaluation), "kv" (rolling KV cache), "kv+teacache" (also "kv+step"), "kv+fbcache",
 * "kv+fora". Names and numbers: drift_cache_policy_name(), drift_cache_policy_from_string(). */
enum drift_cache_policy {
    DRIFT_CACHE_NONE = 0,
    DRIFT_CACHE_KV,
    DRIFT_CACHE_KV_TEACACHE,
    DRIFT_CACHE_KV_FIRST_BLOCK,
    DRIFT_CACHE_KV_FORA,
};

/* The ranges drift_generator_new() and drift_generator_update() accept, for the layers above
 * (the daemon's settings table, drift-gen) to take theirs from instead of repeating them:
 *   steps            1..DRIFT_STEPS_MAX (0 = the model's default)
 *   guidance         0..DRIFT_GUIDANCE_MAX (< 0 = the model's default; 1 = no guidance)
 *   cache_threshold  0..DRIFT_CACHE_THRESHOLD_MAX (the FORA interval when >= 1)
 *   cache            DRIFT_CACHE_POLICY_NAMES, as users read them */
#define DRIFT_STEPS_MAX 50
#define DRIFT_GUIDANCE_MAX 20
#define DRIFT_CACHE_THRESHOLD_MAX 10
#define DRIFT_CACHE_POLICY_NAMES "none, kv, kv+step, kv+teacache, kv+fbcache or kv+fora"

#define DRIFT_CACHE_POLICIES 5 /* policies 0..DRIFT_CACHE_POLICIES-1 */

/* The name of a cache policy ("none", "kv", "kv+teacache", "kv+fbcache", "kv+fora"); "?" for a
 * number that is none. Header-only, so that programs that only check settings need not link
 * the engine. */
static inline const char *drift_cache_policy_name(enum drift_cache_policy policy)
{
    static const char *const names[DRIFT_CACHE_POLICIES] = { "none", "kv", "kv+teacache",
                                                             "kv+fbcache", "kv+fora" };
    return (unsigned)policy < DRIFT_CACHE_POLICIES ? names[policy] : "?";
}

/* Parses a cache policy name (a name above, or "kv+step", DESIGN.md's name of kv+teacache)
 * into *ret: 0, or -EINVAL for NULL or an unknown name (*ret untouched). */
static inline int drift_cache_policy_from_string(const char *name, enum drift_cache_policy *ret)
{
    if (!name)
        return -EINVAL;
    if (strcmp(name, "kv+step") == 0) {
        *ret = DRIFT_CACHE_KV_TEACACHE;
        return 0;
    }
    for (int p = 0; p < DRIFT_CACHE_POLICIES; p++)
        if (strcmp(name, drift_cache_policy_name((enum drift_cache_policy)p)) == 0) {
            *ret = (enum drift_cache_policy)p;
            return 0;
        }
    return -EINVAL;
}

/* How a generated frame enters the window the next frames attend to. */
enum drift_commit {
    DRIFT_COMMIT_MODEL = 0,  /* the model's default (sampler.commit; "pass" when it says none) */
    DRIFT_COMMIT_PASS,       /* one more evaluation: the clean frame noised to context_t */
    /* the keys and values of the sampler's last evaluation (its input at its own t, the last
     * step's): no extra evaluation, one fewer per frame */
    DRIFT_COMMIT_LAST_STEP,
};

/* "pass", "last-step" (DRIFT_COMMIT_MODEL: "model") */
static inline const char *drift_commit_name(enum drift_commit c)
{
    return c == DRIFT_COMMIT_PASS ? "pass" : c == DRIFT_COMMIT_LAST_STEP ? "last-step" : "model";
}

/* "pass" or "last-step" into *ret: 0, or -EINVAL (*ret untouched). */
static inline int drift_commit_from_string(const char *name, enum drift_commit *ret)
{
    if (name && !strcmp(name, "pass"))
        *ret = DRIFT_COMMIT_PASS;
    else if (name && !strcmp(name, "last-step"))
        *ret = DRIFT_COMMIT_LAST_STEP;
    else
        return -EINVAL;
    return 0;
}

#define DRIFT_NOISE_CARRY_MAX 0.999

struct drift_generator_settings {
    const char *prompt;          /* words from the model's vocabulary; "" = unconditional */
    const char *negative_prompt; /* used as the unconditional branch of guidance; NULL = "" */
    uint64_t seed;
    int steps;                   /* 0 = the model's default; 1..DRIFT_STEPS_MAX */
    const char *sampler;         /* NULL = the model's default; "euler", "dpmpp-2m", "heun" */
    double guidance;             /* < 0 = the model's default; 1 = no guidance;
                                    0..DRIFT_GUIDANCE_MAX */
    double shift;                /* timestep shift; 0 = the model's default; 0.05..20 */
    double context_t;            /* noise level of frames in the window, 0..0.5; 0 = the model's
                                    default (a zeroed struct gets the defaults) */
    enum drift_commit commit;    /* DRIFT_COMMIT_MODEL = the model's default */
    /* How much of the frame before's starting noise a frame's starting noise keeps (the rest is
     * fresh, variance kept): 0..DRIFT_NOISE_CARRY_MAX; 0 = the model's default, < 0 = none. */
    double noise_carry;
    enum drift_cache_policy cache;
    double cache_threshold;      /* TeaCache / first-block threshold; FORA interval when >= 1;
                                    0..DRIFT_CACHE_THRESHOLD_MAX */
    int prompt_blend_frames;     /* frames over which a new prompt fades in; 0 = at once */
    /* Similarity filter (StreamDiffusion's idea): while the prompt is unchanged and the last two
     * frames differ by less than skip_threshold (mean absolute difference in model space, [-1,1]
     * pixels), the last frame is served again instead of denoising a new one, at most skip_max
     * times in a row. 0 = off. */
    double skip_threshold;
    int skip_max;
    enum drift_precision precision;
    /* OpenMP threads for this generator's work, 0..256; 0 = chosen from the model's size
     * (drift_model_threads). */
    int threads;
};

struct drift_generator_counters {
    uint64_t frames;            /* frames (or chunks) produced */
    uint64_t evals_run;         /* model evaluations computed */
    uint64_t evals_skipped;     /* evaluations served by a step-level cache */
    uint64_t frames_skipped;    /* frames served by the similarity filter */
    double flops;
    double seconds_text, seconds_model, seconds_sampler, seconds_decode;
    uint64_t allocations;       /* engine allocations since creation: flat in steady state */
    uint64_t primitives;        /* oneDNN primitives created since creation: flat likewise */
    double seconds_by_op[DRIFT_OP_KINDS]; /* engine time per kind of op (drift_op_kind_name) */
};

struct drift_generator;

/* Reads and validates a model (NAME.safetensors with NAME.json beside it; path may name either
 * or the stem) without running it. Fills *info (free its strings with drift_model_info_free).
 * Errors name the file and the fault. */
int drift_model_probe(const char *path, struct drift_model_info *info, struct drift_error *err);
void drift_model_info_free(struct drift_model_info *info);

/* Threads a generator uses for a model when its settings say 0: one where a single core runs an
 * evaluation in under a quarter of a millisecond (estimated from its FLOPs at ~200 GFLOP/s per
 * core in bf16, ~100 in f32: the audio model in bf16) — its kernels are microseconds long, a
 * second thread adds a synchronisation per kernel and gains nothing — otherwise 0 (the OpenMP
 * default: OMP_NUM_THREADS, else every core). `bf16`: the products run in bf16. */
int drift_model_threads(double flops_per_eval, bool bf16);

/* Loads the model, validates settings (unknown prompt words, out-of-range values: -EINVAL with
 * the word or key named) and prepares the first frame. The caller owns *ret. */
int drift_generator_new(const char *model_path, const struct drift_generator_settings *settings,
                        struct drift_generator **ret, struct drift_error *err);
void drift_generator_free(struct drift_generator *gen);

const struct drift_model_info *drift_generator_info(const struct drift_generator *gen);

/* Video: writes the next frame, width*height*3 bytes of RGB24, into rgb (size must be at least
 * that). Audio: -EINVAL. */
int drift_generator_next_frame(struct drift_generator *gen, uint8_t *rgb, size_t size,
                               struct drift_error *err);
/* Audio: writes the next chunk, chunk_samples x channels float samples in [-1, 1] (stereo
 * interleaved L, R); samples is pcm's room in floats. Video: -EINVAL. */
int drift_generator_next_audio(struct drift_generator *gen, float *pcm, size_t samples,
                               struct drift_error *err);

/* Checks a prompt against the vocabulary: 0, or -EINVAL naming the first unknown word. */
int drift_generator_check_prompt(const struct drift_generator *gen, const char *prompt,
                                 struct drift_error *err);
/* Changes the prompt between frames; it blends in over prompt_blend_frames. On error nothing
 * changes. */
int drift_generator_set_prompt(struct drift_generator *gen, const char *prompt,
                               struct drift_error *err);
/* Changes steps, sampler, guidance, cache policy and threshold between frames (prompt and seed
 * too; precision and threads stay as created). On error nothing changes. */
int drift_generator_update(struct drift_generator *gen,
                           const struct drift_generator_settings *settings,
                           struct drift_error *err);
/* Caps the OpenMP threads of the generator's work from the next frame on: 1..the count it was
 * created with, or 0 for that count again (kernels are built for the team they were made with,
 * so never more). A caller that lowers it from its own thread may then end that thread's team
 * (drift_release_threads). -EINVAL outside the range; nothing changes then. */
int drift_generator_set_threads(struct drift_generator *gen, int threads, struct drift_error *err);

void drift_generator_get_counters(const struct drift_generator *gen,
                                  struct drift_generator_counters *ret);

#endif
