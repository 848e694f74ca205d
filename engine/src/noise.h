/* Reproducible Gaussian noise, bit-for-bit the same as the reference sampler's (docs/MODELS.md,
 * tools/models/noise.py): a counter-based generator, so frame N's noise does not depend on how
 * many frames came before or on which thread runs it. */
#ifndef DRIFT_NOISE_H
#define DRIFT_NOISE_H

#include <stddef.h>
#include <stdint.h>

/* What a draw is for (the `stream` of the key). */
enum { DRIFT_NOISE_INIT = 0, DRIFT_NOISE_CONTEXT = 1 };

/* The splitmix64 finaliser (tools/models/noise.py mix): a 64-bit hash of a counter. */
uint64_t drift_noise_mix(uint64_t z);

/* Fills out[0..n) with N(0,1) samples for (seed, frame, stream). */
void drift_noise_fill(uint64_t seed, uint64_t frame, uint64_t stream, float *out, size_t n);

#endif
