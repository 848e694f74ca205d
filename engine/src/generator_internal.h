/* The generator's state, shared by generator.c (lifecycle, settings, API) and
 * generator_frame.c (one frame: sampling, guidance, caches, output). */
#ifndef DRIFT_GENERATOR_INTERNAL_H
#define DRIFT_GENERATOR_INTERNAL_H

#include <drift/generator.h>
#include <drift/model_file.h>

#include "dit.h"
#include "noise_flow.h"
#include "sampler.h"
#include "spectral.h"
#include "video_decoder.h"

struct drift_generator {
    struct drift_context *ctx;
    int threads_created;              /* ctx->threads as loaded (0: the OpenMP default) */
    struct drift_safetensors *weights;
    struct drift_config *config;
    struct drift_model_info info;
    struct dit dit;
    int patch;
    /* video: the transformer's frame (grid, channels) and the decoder of a latent model (NULL for
     * a pixel model, whose "latent" is the picture: factor 1, 3 channels, clip 1) */
    struct drift_video_decoder_config latent;
    struct drift_video_decoder *decoder;
    double audio_scale;                  /* audio "pcm": pcm = x * audio_scale */
    struct drift_spectral_params spectral_params; /* audio "stft" (n_fft 0 otherwise) */
    struct drift_spectral *spectral;     /* its synthesiser, owned */
    double model_shift, model_context_t, model_noise_carry; /* the model's sampler defaults */
    /* sampler.guidance_t_max: the steps at noise levels above it are not guided (1: every step) */
    double model_guidance_t_max;
    double shift, context_t;             /* in force */
    enum drift_commit model_commit;      /* the model's default (never DRIFT_COMMIT_MODEL) */
    enum drift_commit commit;            /* in force */

    /* settings in force */
    uint64_t seed;
    int steps;
    enum drift_sampler sampler;
    double guidance;
    enum drift_cache_policy cache;
    double cache_threshold;
    int blend_frames;
    double skip_threshold;
    int skip_max;

    /* conditioning: text vectors (D floats each) */
    float *text_from, *text_to, *text_now, *text_uncond;
    float *text_spare;          /* 2 D: new texts are computed here before they are applied */
    int blend_left;

    /* per-frame buffers */
    size_t frame_values;        /* T * P */
    float *x, *scratch;         /* (T*P), 4 (T*P) */
    float *x_prev;              /* (T*P): the frame before, for the similarity filter */
    /* arch.previous_frame_input: the frame before as the window keeps it (noised to context_t), or
     * as it was made (arch.previous_frame_clean), an input of the next frame's evaluations and commit */
    float *before;              /* (T*P) */
    /* the sampler's last evaluation of this frame: its input (T*P) and t (commit "last-step") */
    float *last_input;
    float last_t;
    /* The last frame's starting noise (tokens), kept for noise_carry while has_init_prev. */
    float *init_prev;
    bool has_init_prev;
    float noise_carry;
    /* the model's noise flow (flow.present false: none): two fine fields of carried noise used in
     * turn (2 · FINE² · T·P; flow_current is the last frame's, valid while has_init_prev),
     * and the distance covered since the carry started (1/DRIFT_NOISE_FLOW_UNITS cells: down, right) */
    struct noise_flow flow;
    float *flow_field;
    bool flow_current;
    int64_t flow_covered[2];
    bool has_before;
    double last_change;         /* mean |x - x_prev| of the last generated frame */
    int64_t frames_of_prompt;   /* frames generated since the prompt last changed */
    float last_sample;          /* audio: the last output sample, for the declick filter */
    bool has_last_sample;
    int skips_in_a_row;
    struct drift_tensor xb, vb; /* (B,T,P) */
    float times[DRIFT_MAX_STEPS + 1];
    /* cache "none": the clean past frames, recomputed into the window at every evaluation */
    float *past;                /* window * T * P */
    float *past_before;         /* window * T * P: the "frame before" input each past frame gives the
                                 * next (itself, or as made: arch.previous_frame_clean) */
    int64_t *past_position;
    float *past_t;              /* the noise level each was committed at */
    int past_count;
    float *evicted;             /* (T*P): past[0]'s "frame before" input when recommitted */
    bool has_evicted;
    int64_t frame;
    struct dit_step_cache step_cache;
    struct drift_generator_counters counters;
};

/* Rearranges a video model's frame (the latent's grid_h x grid_w x channels floats, HWC: pixels
 * for a pixel model) into tokens (raster over patches, each patch's values ordered (dy, dx, c)),
 * and back. */
void drift_generator_patchify(const struct drift_generator *gen, const float *hwc, float *tokens);
void drift_generator_unpatchify(const struct drift_generator *gen, const float *tokens, float *hwc);

/* Produces the next frame's clean values into gen->x (T*P floats, model space). */
int drift_generator_step(struct drift_generator *gen, struct drift_error *err);

/* A latent video model: the frame in gen->x (tokens) decoded into *pixels (height x width x 3,
 * HWC, model space, unclamped; owned by the decoder, valid until the next call). Uses gen->scratch. */
int drift_generator_decode(struct drift_generator *gen, const float **pixels,
                           struct drift_error *err);

#endif
