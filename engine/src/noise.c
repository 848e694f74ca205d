#include <math.h>

#include "noise.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform double in (0, 1]: 53 random bits, never 0 (log(0) is avoided). */
static double uniform(uint64_t *state)
{
    return ((double)(splitmix64(state) >> 11) + 1.0) * 0x1p-53;
}

void drift_noise_fill(uint64_t seed, uint64_t frame, uint64_t stream, float *out, size_t n)
{
    uint64_t state = seed;
    uint64_t key = splitmix64(&state) ^ (frame * 0xd1b54a32d192ed03ull) ^
                   (stream * 0x8cb92ba72f3d8dd7ull);
    state = key;
    for (size_t i = 0; i < n; i += 2) {
        double u1 = uniform(&state), u2 = uniform(&state);
        double r = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
        out[i] = (float)(r * cos(a));
        if (i + 1 < n)
            out[i + 1] = (float)(r * sin(a));
    }
}
