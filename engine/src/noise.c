/* The counter-based noise of docs/MODELS.md ("Noise", tools/models/noise.py), bit for bit:
 *   drift_noise_mix(z)  = splitmix64 finaliser, G = 0x9E3779B97F4A7C15 (arithmetic mod 2^64)
 *   key     = drift_noise_mix(drift_noise_mix(drift_noise_mix(seed + G) + (frame + 1) G) + (stream + 1) G)
 *   r(i)    = drift_noise_mix(key + (i + 1) G)
 *   pair j: u1 = ((r(2j) >> 11) + 1) 2^-53 in (0, 1], u2 = (r(2j+1) >> 11) 2^-53 in [0, 1)
 *           out[2j] = (float)(sqrt(-2 ln u1) cos(2 pi u2)), out[2j+1] = (float)(... sin(2 pi u2))
 * Element i is the i-th value in the frame's memory order (video H, W, RGB; audio samples). */
#include <math.h>

#include "noise.h"

#define GOLDEN 0x9e3779b97f4a7c15ull

uint64_t drift_noise_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void drift_noise_fill(uint64_t seed, uint64_t frame, uint64_t stream, float *out, size_t n)
{
    uint64_t key = drift_noise_mix(drift_noise_mix(drift_noise_mix(seed + GOLDEN) + (frame + 1) * GOLDEN) + (stream + 1) * GOLDEN);
    for (size_t j = 0; 2 * j < n; j++) {
        uint64_t a = drift_noise_mix(key + (2 * j + 1) * GOLDEN), b = drift_noise_mix(key + (2 * j + 2) * GOLDEN);
        double u1 = ((double)(a >> 11) + 1.0) * 0x1p-53, u2 = (double)(b >> 11) * 0x1p-53;
        double rad = sqrt(-2.0 * log(u1));
        out[2 * j] = (float)(rad * cos(2.0 * M_PI * u2));
        if (2 * j + 1 < n)
            out[2 * j + 1] = (float)(rad * sin(2.0 * M_PI * u2));
    }
}
