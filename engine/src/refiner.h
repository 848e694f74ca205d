/* The refiner of a latent video model (private; mirrors tools/models/model.py Refiner): a small
 * stack of 3x3 convolutions on the latent grid after the transformer's final layer.
 *
 *   input (1, 3C+1, H, W) = concat(the transformer's clean frame, the evaluation's input x_t, the
 *   frame before as the window keeps it (zeros when there is none), a plane filled with t)
 *   -> refiner.0 .. refiner.{layers-1}: 3x3 convolutions, padding 1, SiLU after all but the last
 *   -> the clean frame += the last one's output (C channels).
 *
 * The frames come and go in the transformer's token layout (raster over patches, values ordered
 * (dy, dx, c)); the convolutions run in the context's precision (oneDNN, engine/src/conv.c).
 * Every buffer is allocated by drift_refiner_new; running allocates nothing once each conv has
 * built its plan (first run). */
#ifndef DRIFT_REFINER_H
#define DRIFT_REFINER_H

#include <drift/context.h>
#include <drift/error.h>
#include <drift/model_file.h>

#define DRIFT_REFINER_MAX_LAYERS 16

/* The config's "arch.refiner" section with the grid it works on. layers 0: no refiner. */
struct drift_refiner_config {
    int channels;         /* arch.refiner.channels: width of the hidden convolutions, 1..512 */
    int layers;           /* arch.refiner.layers: 2..DRIFT_REFINER_MAX_LAYERS */
    int grid_h, grid_w;   /* the latent grid: video.height / latent.factor, width likewise */
    int cell_channels;    /* latent.channels */
    int patch;            /* arch.patch: cells per token along each side */
};

/* Reads arch.refiner (absent: layers 0) and the grid it needs (arch.patch, video.width/height,
 * latent.factor/channels), checked against the transformer's tokens (count) and in_dim (values
 * per token). 0, or a negative errno with the message naming the key at fault. */
int drift_refiner_read_config(const struct drift_config *config, int tokens, int in_dim,
                              struct drift_refiner_config *cfg, struct drift_error *err);

struct drift_refiner;

/* Builds the refiner from the tensors refiner.N.weight [O, I, 3, 3] and refiner.N.bias [O],
 * N = 0..layers-1, F32 or BF16: present with the shapes cfg implies, and no other refiner.*
 * tensor. Errors name the tensor. The weights are read during the call only. The caller owns
 * *ret (drift_refiner_free). */
int drift_refiner_new(struct drift_context *ctx, const struct drift_safetensors *weights,
                      const struct drift_refiner_config *cfg, struct drift_refiner **ret,
                      struct drift_error *err);
void drift_refiner_free(struct drift_refiner *r);

/* Refines one frame's clean tokens x0 (tokens x in_dim floats) in place, given the evaluation's
 * input x (same layout), the frame before (same layout, or NULL: none) and the noise level t. */
int drift_refiner_run(struct drift_refiner *r, float *x0, const float *x, const float *previous,
                      float t, struct drift_error *err);

/* FLOPs of one run. */
double drift_refiner_flops(const struct drift_refiner_config *cfg);

#endif
