/* The decoder of a latent video model (private; mirrors tools/models/reference.py decode and
 * tools/models/video_ae.py): the transformer makes a frame as a latent [H/factor, W/factor,
 * channels] (HWC), and this turns it into pixels.
 *
 *   latent HWC -> NCHW -> for each layer: "conv" = KxK convolution (+bias, padding K/2, stride 1;
 *   SiLU after every conv but the last) or "up" = bilinear x2 (half-pixel centres)
 *   -> pixel shuffle by `shuffle` (channel c*s*s + dy*s + dx -> pixel (y*s+dy, x*s+dx), channel c)
 *   -> pixels HWC [H, W, 3] in model space, unclamped.
 *
 * Convolutions run in the context's precision (oneDNN, engine/src/conv.c); the resize and the
 * rearrangements in f32. Every buffer is allocated by drift_video_decoder_new; decoding allocates
 * nothing once each op has built its plan (first decode). */
#ifndef DRIFT_VIDEO_DECODER_H
#define DRIFT_VIDEO_DECODER_H

#include <stdbool.h>

#include <drift/context.h>
#include <drift/error.h>
#include <drift/model_file.h>

#define DRIFT_DECODER_MAX_LAYERS 32
#define DRIFT_DECODER_MAX_KERNEL 15

/* The config's "latent" section (docs/MODELS.md), checked. factor 1 and layer_count 0: the model
 * has no latent section (a pixel model: the transformer's frame is the picture). */
struct drift_video_decoder_config {
    int width, height;          /* pixels out */
    int factor;                 /* pixels per latent cell along each side, a power of two */
    int channels;               /* values per latent cell, 1..64 */
    int grid_w, grid_h;         /* the latent: width / factor, height / factor */
    double clip;                /* the sampled latent is kept in [-clip, clip] */
    int layer_count;            /* 1..DRIFT_DECODER_MAX_LAYERS */
    bool up[DRIFT_DECODER_MAX_LAYERS]; /* layer i is "up" (else "conv") */
    int convs, ups;             /* counts of each kind; convs >= 1 */
    int shuffle;                /* 1..8; 2^ups * shuffle == factor */
};

/* Reads the "latent" section of a video model's config for frames of width x height pixels into
 * *cfg: 0, or a negative errno with the message naming the key at fault. An absent section is a
 * pixel model (factor 1, layer_count 0, grid = the frame, channels 3, clip 1). */
int drift_video_decoder_read_config(const struct drift_config *config, int width, int height,
                                    struct drift_video_decoder_config *cfg,
                                    struct drift_error *err);

struct drift_video_decoder;

/* Builds the decoder of cfg (layer_count > 0) from the tensors decoder.N.weight [O, I, K, K]
 * (K odd, at most DRIFT_DECODER_MAX_KERNEL) and decoder.N.bias [O], N = 0..convs-1, F32 or BF16:
 * present, with shapes that chain (I of the first = channels, each I = the previous O, O of the
 * last = 3 * shuffle^2), and no other decoder.* tensor. Errors name the tensor. The weights are
 * read during the call only. The caller owns *ret (drift_video_decoder_free). */
int drift_video_decoder_new(struct drift_context *ctx, const struct drift_safetensors *weights,
                            const struct drift_video_decoder_config *cfg,
                            struct drift_video_decoder **ret, struct drift_error *err);
void drift_video_decoder_free(struct drift_video_decoder *d);

/* latent: grid_h x grid_w x channels floats (HWC) -> *pixels: height x width x 3 floats (HWC,
 * model space, unclamped), owned by the decoder and valid until the next call. */
int drift_video_decoder_run(struct drift_video_decoder *d, const float *latent,
                            const float **pixels, struct drift_error *err);

#endif
