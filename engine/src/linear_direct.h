/* The bf16 linear layer for a few rows, run by the engine itself instead of a oneDNN call
 * (linear.c picks it). A small model's step is a string of products of a few rows (the audio
 * model: 8 tokens, or 1 row for the conditioning) whose arithmetic takes about as long as a
 * oneDNN call's fixed cost (~3 us); here the product, the bias, the activation and the residual
 * sum run in one pass on the calling thread, on AVX512-BF16's dot product (vdpbf16ps) with fp32
 * accumulation, like oneDNN's bf16 kernels on the same CPU. Private to engine/src. */
#ifndef DRIFT_LINEAR_DIRECT_H
#define DRIFT_LINEAR_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drift/ops.h>

/* The most rows linear.c hands to this kernel: above it oneDNN's blocked kernels (and the
 * thread team) earn their call cost. */
#define DRIFT_LINEAR_DIRECT_MAX_ROWS 16

/* Whether this CPU has the instructions (AVX-512 F/BW/VL and BF16). */
bool drift_linear_direct_supported(void);

/* bf16 elements of the packed weights of an (out, in) layer: panels of 32 output columns, each
 * (in+1)/2 input pairs x 32 columns x 2, zero where past `in` or `out`. */
size_t drift_linear_direct_packed_elems(int in, int out);

/* w: the layer's (out, in) weights as bf16 bits, row-major -> packed (the size above). */
void drift_linear_direct_pack(const uint16_t *w, int in, int out, uint16_t *packed);

/* bf16 elements of the input scratch for `rows` rows (each rounded, padded to whole pairs). */
size_t drift_linear_direct_x_elems(int in, int64_t rows);

/* y[r] (=|+=) act(x[r] W^T + bias) for r < rows (rows <= DRIFT_LINEAR_DIRECT_MAX_ROWS); x and y
 * f32 with row strides x_stride and y_stride floats; bias (out) or NULL; accumulate only with
 * DRIFT_ACT_NONE (linear.c checks). x is rounded to bf16 into x_scratch first. Only where
 * drift_linear_direct_supported(). */
void drift_linear_direct_forward(const uint16_t *packed, const float *bias, int in, int out,
                                 enum drift_activation act, const float *x, int64_t rows,
                                 int64_t x_stride, float *y, int64_t y_stride, bool accumulate,
                                 uint16_t *x_scratch);

#endif
