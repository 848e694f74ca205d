/* drift engine: the model alone — single evaluations of the diffusion transformer.
 *
 * For tools that time or check one denoising step against another implementation (drift-bench
 * peers against PyTorch and ONNX Runtime). To make video or audio, use a generator
 * (<drift/generator.h>): it owns the sampler, the caches, the window's bookkeeping and decoding.
 *
 * A model owns its context and its packed weights; one thread at a time. A frame is a dense f32
 * tensor (1, tokens, in_dim): one video frame's or audio chunk's patches, as the model sees them.
 * Evaluations are batch 1 (no guidance). */
#ifndef DRIFT_MODEL_H
#define DRIFT_MODEL_H

#include <stdint.h>

#include <drift/context.h>
#include <drift/error.h>
#include <drift/model_file.h>
#include <drift/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

struct drift_model;

struct drift_model_shape {
    int window; /* past frames the KV cache holds */
    int tokens; /* patches per frame */
    int in_dim; /* values per patch */
    int hidden; /* width of the model, and of a text vector */
};

/* Builds the model described by config from weights (both read during the call only: close them
 * when you like), validating every tensor, in a context of its own made with options (may be
 * NULL: automatic precision). When options->threads is 0 the context gets the thread count a
 * generator would pick for this model (drift_model_threads). Returns 0 and sets *ret (the caller
 * owns it: drift_model_free), or a negative errno with err naming the key or tensor at fault;
 * *ret is untouched on failure. */
int drift_model_new(const struct drift_safetensors *weights, const struct drift_config *config,
                    const struct drift_context_options *options, struct drift_model **ret,
                    struct drift_error *err);
/* Frees the model and its context. NULL is a no-op. */
void drift_model_free(struct drift_model *model);

void drift_model_get_shape(const struct drift_model *model, struct drift_model_shape *ret);
/* FLOPs of one evaluation with a full window. */
double drift_model_flops_per_eval(const struct drift_model *model);
/* The model's context (precision, counters); owned by the model, valid until drift_model_free. */
struct drift_context *drift_model_context(struct drift_model *model);

/* Conditions what follows (drift_model_commit, drift_model_forward) on noise level t and a text
 * vector of `hidden` floats (read during the call only), or the null prompt when text is NULL.
 * Returns 0 or a negative errno with err set. */
int drift_model_condition(struct drift_model *model, float t, const float *text,
                          struct drift_error *err);

/* Writes the keys and values of a clean frame (1, tokens, in_dim), conditioned at the window's
 * noise level, into the window as the frame at `position` (0, 1, ...: the frame's index).
 * Returns 0 or a negative errno with err set; -EINVAL for a frame of another shape. */
int drift_model_commit(struct drift_model *model, const struct drift_tensor *frame,
                       int64_t position, struct drift_error *err);

/* One evaluation: the velocity of noisy frame x (1, tokens, in_dim) at `position`, attending to
 * the window, into out (same shape; the caller owns both). Returns 0 or a negative errno with
 * err set; -EINVAL for tensors of another shape. Allocates nothing once warm. */
int drift_model_forward(struct drift_model *model, const struct drift_tensor *x, int64_t position,
                        struct drift_tensor *out, struct drift_error *err);

#ifdef __cplusplus
}
#endif
#endif
