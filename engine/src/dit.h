/* The causal diffusion transformer of the default models (docs/MODELS.md), on the engine's ops.
 *
 * One evaluation denoises one frame (a video frame's patches or an audio chunk's patches) for a
 * batch of 1 or 2 (conditional and unconditional guidance branches), attending to the rolling
 * KV cache of past frames. Each block writes the frame's keys and values into the cache's
 * working slot; dit_commit() makes the frame part of the window. */
#ifndef DRIFT_DIT_H
#define DRIFT_DIT_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/arena.h>
#include <drift/context.h>
#include <drift/model_file.h>
#include <drift/ops.h>

#include "refiner.h"

#define DIT_MAX_DEPTH 32
#define DIT_MAX_HEADS 32
#define DIT_FREQ_DIM 256

/* x prediction (arch.prediction "x"): the network's output is the clean frame, and the velocity
 * the samplers integrate is v = (x_t - out) / max(t, DIT_X_PRED_T_MIN) (tools/models/model.py). */
#define DIT_X_PRED_T_MIN 0.05f

struct dit_config {
    int hidden, depth, heads, mlp_ratio, window, text_dim, vocab_size;
    int tokens, in_dim;
    bool x_prediction; /* arch.prediction: "v" (default) or "x" */
    /* arch.previous_frame_input: the frame before (as the window keeps it) is an input too,
     * embedded by prev_embed (no bias) and added to the frame's tokens (dit_set_previous) */
    bool previous_frame_input;
    /* arch.previous_frame_clean: that input is the frame before as it was made (the sampler's clean
     * output), not as the window keeps it; the window itself is unchanged */
    bool previous_frame_clean;
    /* arch.previous_frame_residual (x prediction, previous_frame_clean): the clean frame is the
     * frame before as made plus the network's output (zeros before a stream's first frame) */
    bool previous_frame_residual;
    /* arch.refiner (x prediction, latent video): convolutions on the latent grid refine the clean
     * frame of every evaluation (refiner.h); layers 0 = none */
    struct drift_refiner_config refiner;
    float slopes[DIT_MAX_HEADS];
};

/* Step-level caching of one evaluation (reset at each frame: the first step always computes). */
enum dit_step_mode {
    DIT_STEP_OFF = 0,
    DIT_STEP_TEACACHE,    /* skip every block while the summed relative L1 change of block 0's
                             modulated input stays under the threshold: h = h0 + last residual */
    DIT_STEP_FIRST_BLOCK, /* compute block 0; skip the rest while its residual's summed relative
                             change stays under the threshold: h = h1 + last residual */
    DIT_STEP_FORA,        /* reuse the last full residual except on refresh steps (force) */
};

struct dit_step_cache {
    enum dit_step_mode mode;
    double threshold;
    bool force;          /* in: compute everything this step (first/last step, FORA refresh) */
    double accumulated;  /* state: summed relative change since the last full evaluation */
    bool skipped;        /* out: this evaluation reused the residual */
};

struct dit_block {
    struct drift_linear *ada, *qkv, *proj, *fc1, *fc2;
    struct drift_kv_cache *cache;
};

/* The conditioning memo: a stream evaluates the same few noise levels every frame (the sampler's
 * steps and the commit pass) with the same prompt, so the products that depend on (t, text) only
 * (the time embedding's MLP, every block's adaLN and the final one) are kept per key and reused.
 * An entry's storage, in dit.memo_store's row e: text (B,D) | cond (B,D) | mods of block 0..depth-1
 * (B,6D each) | final mods (B,2D); `done` says which of the modulations are filled (bit i: block
 * i, bit depth: the final layer), since a step cache may skip blocks. */
#define DIT_COND_MEMO 8

struct dit_cond_memo {
    bool valid;
    float t[2];
    uint64_t done;
};

struct dit {
    struct dit_config cfg;
    int batch;
    int rows; /* the rows the last evaluation ran: the batch, or its first (the input's shape[0]) */
    struct drift_context *ctx;         /* not owned */
    struct drift_linear *patch_embed, *t_fc1, *t_fc2, *text_fc1, *text_fc2;
    struct drift_linear *final_ada, *final_linear;
    struct drift_linear *prev_embed;   /* (D,P), no bias; NULL unless previous_frame_input */
    struct drift_refiner *refiner;     /* NULL unless cfg.refiner.layers */
    float *pos_embed;                  /* (T,D) */
    float *text_table;                 /* (V,E) */
    float *text_null;                  /* (D) */
    struct dit_block blocks[DIT_MAX_DEPTH];
    /* activations: views carved from one arena, allocated once per batch size */
    struct drift_arena *arena;
    struct drift_tensor h, h0, h1, a, qkv, attn, tmp, mlp, mods, fmods, temb, t1, cond;
    struct drift_tensor residual_all, residual_rest; /* step-cache residuals (B,T,D) */
    float t_rows[2];                                 /* each row's t of the last dit_condition */
    struct drift_tensor signal_prev;                 /* (B,T,D): TeaCache / first-block signal */
    struct drift_tensor base;  /* (1,T,D): pos_embed + prev_embed(the frame before), added to every
                                  row's embedding; pos_embed alone when there is no frame before */
    struct drift_tensor previous;  /* (1,T,P): the frame before, kept for the refiner and
                                      arch.previous_frame_residual */
    bool has_previous;
    bool residual_valid, signal_valid;
    struct dit_cond_memo memo[DIT_COND_MEMO];
    struct drift_tensor memo_store;  /* (DIT_COND_MEMO, dit_memo_floats) */
    int memo_current, memo_next;     /* the last dit_condition's entry; the next one replaced */
};

/* Floats of one conditioning memo entry for the dit's batch and config. */
int64_t dit_memo_floats(const struct dit *dit);

/* Reads the architecture from the config and the weights from the file, validates every tensor's
 * presence and shape, and packs the weights. Returns 0 or a negative errno with err naming the
 * key or tensor. */
/* The architecture from the model's configuration (the "arch" keys), checked and ranged. */
int dit_read_config(const struct drift_config *config, struct dit_config *cfg,
                    struct drift_error *err);
int dit_load(struct drift_context *ctx, const struct drift_safetensors *st,
             const struct drift_config *config, int batch, struct dit *ret,
             struct drift_error *err);
void dit_free(struct dit *dit);

/* (Re)allocates the KV caches for a batch of 1 or 2; clears the window. */
int dit_set_batch(struct dit *dit, int batch, struct drift_error *err);
void dit_clear_cache(struct dit *dit);

/* Text conditioning of a prompt's word ids: mean of embeddings -> MLP, or the null embedding
 * for no words. out: (D) floats. */
int dit_text_cond(struct dit *dit, const int *ids, int count, float *out, struct drift_error *err);

/* The conditioning vectors for noise levels t[b] and text vectors text[b] (D floats each) into
 * dit->cond (B,D). */
int dit_condition(struct dit *dit, const float *t, const float *const *text,
                  struct drift_error *err);

/* The frame before the next ones evaluated or committed: prev (T*P floats, read during the call
 * only) or NULL for none (a stream's first frame). A no-op returning 0 for a model with neither
 * previous_frame_input nor a refiner. Cleared (none) by dit_set_batch. */
int dit_set_previous(struct dit *dit, const float *prev, struct drift_error *err);

/* One evaluation on x (B,T,P) with dit->cond; writes the velocity to out (B,T,P). `position` is
 * the frame's index (keys' ages). sc may be NULL (no step caching). B is the batch, or fewer: the
 * first B rows alone (B = 1: the conditional branch, for a sampler step that does not guide), whose
 * keys and values alone are written, so such an evaluation's working slot cannot be committed. A
 * change of B forgets the step cache's residuals. Conditioning (dit_condition) stays per batch. */
int dit_forward(struct dit *dit, const struct drift_tensor *x, int64_t position,
                struct dit_step_cache *sc, struct drift_tensor *out, struct drift_error *err);
/* Forgets the step cache's residuals (at the start of a frame). */
void dit_step_cache_reset(struct dit *dit, struct dit_step_cache *sc);

/* Runs the blocks on a clean frame (x, with dit->cond set for its context noise level) only as far
 * as needed to write every layer's keys and values, then commits it to the window at
 * `position`. */
int dit_commit(struct dit *dit, const struct drift_tensor *x, int64_t position,
               struct drift_error *err);
/* Commits what the last dit_forward() wrote into the working slot (its input's keys and values)
 * to the window at `position`, with no evaluation. -EINVAL if that evaluation ran fewer rows than
 * the batch (the window would hold another evaluation's keys for the others). */
int dit_commit_working(struct dit *dit, int64_t position, struct drift_error *err);

/* FLOPs of one evaluation of batch 1 with `past` frames in the window. */
double dit_flops_per_eval(const struct dit_config *cfg, int past);

#endif
