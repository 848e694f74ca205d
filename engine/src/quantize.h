/* Symmetric int8 quantisation for the int8 linear layers: weights per output channel (once, at
 * load), activations per call (one scale for the whole input). */
#ifndef DRIFT_QUANTIZE_H
#define DRIFT_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include <drift/tensor.h>

/* w (N,K) f32 or bf16, dense -> q (N,K) int8 and scale (N): w[n,k] ~ q[n,k] * scale[n]. */
void drift_quantize_rows(const struct drift_tensor *w, int8_t *q, float *scale);

/* x: rows of K f32 with row stride `stride` -> q (rows,K) dense int8; returns the scale
 * (x ~ q * scale). */
float drift_quantize_activations(const float *x, int64_t rows, int64_t cols, int64_t stride,
                                 int8_t *q);

#endif
