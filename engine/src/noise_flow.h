/* The noise flow (tools/models/noise_flow.py): a video model's carried starting noise moves with
 * the scene. With sampler.noise_carry a frame starts from the noise of the frame before, so the
 * detail the noise decides stays where it was on the screen, and scenes that travel (flames and
 * smoke rise, rain falls) stand still. The model's text conditioning gives a velocity in latent
 * cells per frame through a linear head (tensors noise_flow.weight [2, hidden], noise_flow.bias
 * [2], F32, optional), and the carried noise moves with it.
 *
 * Rolling the latent's noise by whole cells (8 pixels) would move the detail in jerks. So a model
 * with a flow carries a finer field instead: DRIFT_NOISE_FLOW_FINE² unit Gaussians per latent value,
 * rolled by whole sub-cells, and a frame's starting noise is the field's block sums over
 * DRIFT_NOISE_FLOW_FINE (unit Gaussian again, independent from cell to cell). Velocities are applied
 * in integer 1/DRIFT_NOISE_FLOW_UNITS of a cell, so that the engine and the reference roll on the
 * same frames. */
#ifndef DRIFT_NOISE_FLOW_H
#define DRIFT_NOISE_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/model_file.h>
#include <drift/tensor.h>

#define DRIFT_NOISE_FLOW_UNITS 256 /* per latent cell (tools/models/noise.py NOISE_FLOW_UNITS) */
#define DRIFT_NOISE_FLOW_MAX 4.0f  /* cells per frame each way; faster is clamped */
/* Slower is no motion: the fitted head leaves still scenes within ~0.02 cells of 0, and each
 * sub-cell step renews a quarter of their noise. */
#define DRIFT_NOISE_FLOW_MIN_UNITS 8
#define DRIFT_NOISE_FLOW_FINE 4    /* sub-cells per latent cell along each side (noise.py NOISE_FLOW_FINE) */

struct noise_flow {
    bool present;       /* the model has the head */
    int hidden;
    float *weight;      /* [2, hidden], owned */
    float bias[2];
};

/* Reads the head when the model has one (*f zeroed and present = false when it has neither tensor).
 * Refuses one tensor without the other, a shape other than [2, hidden] / [2], a dtype other than
 * F32, a value that is not finite, and a head on a model that does not carry its noise
 * (noise_carry 0) or is not video; the message names the tensor. Free with noise_flow_free. */
int noise_flow_load(const struct drift_safetensors *st, int hidden, bool video, double noise_carry,
                    struct noise_flow *f, struct drift_error *err);
void noise_flow_free(struct noise_flow *f);

/* This frame's velocity for the conditioning `text` (hidden floats) in 1/DRIFT_NOISE_FLOW_UNITS
 * of a cell: units[0] down, units[1] right; float32 dot products, clamped, rounded half to even,
 * 0 under DRIFT_NOISE_FLOW_MIN_UNITS. */
void noise_flow_units(const struct noise_flow *f, const float *text, int64_t units[2]);

/* Adds a frame's velocity to the distance covered so far (0 when the carry starts) and gives the
 * whole sub-cells crossed this frame: how far the carried field rolls (down, right). */
void noise_flow_step(int64_t covered[2], const int64_t units[2], int moved[2]);

/* The fine field's block sums: fine is (H·F) x (W·F) x C (HWC, F = DRIFT_NOISE_FLOW_FINE), out is
 * H x W x C with out = (the F x F values' sum, row by row) / F. */
void noise_flow_block_sums(const float *fine, int H, int W, int C, float *out);

#endif
