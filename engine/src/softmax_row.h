/* One attention row's softmax, fused with what comes before and after it: the additive bias,
 * the causal cut-off and the conversion to the dtype of the next product. One pass over a row
 * that stays in L1, instead of oneDNN's softmax streaming the whole score matrix (several MB)
 * through memory three times after a separate bias pass.
 *
 * Compiled for AVX-512, AVX2 and baseline x86-64, picked at load time by the CPU (GCC/clang
 * target clones), with its own vectorisable exp (relative error < 2e-7 against libm). */
#ifndef DRIFT_SOFTMAX_ROW_H
#define DRIFT_SOFTMAX_ROW_H

#include <stdint.h>

#include <drift/tensor.h>

/* probs[j] = exp(s_j - max) / sum for j < visible, 0 for visible <= j < n, where
 * s_j = scores[j] + (bias ? bias[j] : 0) + offset. scores is overwritten (it holds the
 * exponentials afterwards). probs is f32 or bf16 (`dtype`). visible must be in [1, n]. */
void drift_softmax_row(float *scores, const float *bias, float offset, int64_t visible, int64_t n,
                       void *probs, enum drift_dtype dtype);

/* exp(x) for x <= 0 as the row uses it (exposed for the tests). Inputs below -87.3 give 0. */
float drift_softmax_exp(float x);

#endif
