"""Counter-based Gaussian noise, reproducible bit for bit in C (docs/MODELS.md, "Noise").

    mix(z)   = splitmix64 finaliser: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
               z *= 0x94D049BB133111EB; z ^= z >> 31            (all arithmetic mod 2^64)
    G        = 0x9E3779B97F4A7C15
    key      = mix(mix(mix(seed + G) + (frame + 1) * G) + (stream + 1) * G)
    r(i)     = mix(key + (i + 1) * G)                          i = 0, 1, 2, ...
    for pair j: u1 = ((r(2j) >> 11) + 1) * 2^-53   (in (0, 1])
                u2 =  (r(2j+1) >> 11)     * 2^-53   (in [0, 1))
                rad = sqrt(-2 ln u1)   (double)
                out[2j] = (float) (rad * cos(2 pi u2)),  out[2j+1] = (float) (rad * sin(2 pi u2))
    an odd count drops the last sine.
`frame` is the frame (or audio chunk) index in the stream, `stream` says what the draw is for:
0 = the initial noise of the frame (t = 1), 1 = the context noise of the cache pass.
Element i is the i-th value of the tensor in memory order (video: H, W, RGB interleaved; audio: samples).
"""
import numpy as np

G = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
STREAM_INIT, STREAM_CONTEXT = 0, 1


NOISE_CARRY_MAX = 0.999   # sampler.noise_carry's bound (engine: DRIFT_NOISE_CARRY_MAX)


def carry(start_prev, draw, c):
    """sampler.noise_carry: a frame's starting noise from the frame before's (start_prev) and its own draw,
    c * start_prev + sqrt(1 - c^2) * draw (unit variance kept), with c and sqrt(1 - c^2) rounded to float32
    first, as the engine computes them. Works on tensors and arrays alike."""
    c32 = np.float32(c)
    fresh = np.sqrt(np.float32(1) - c32 * c32, dtype=np.float32)
    return float(c32) * start_prev + float(fresh) * draw


def mix(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z ^ (z >> np.uint64(30))
        z = z * M1
        z = z ^ (z >> np.uint64(27))
        z = z * M2
        z = z ^ (z >> np.uint64(31))
    return z


def key(seed, frame, stream):
    with np.errstate(over="ignore"):
        k = mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + G)
        k = mix(k + np.uint64(frame + 1) * G)
        k = mix(k + np.uint64(stream + 1) * G)
    return k


def gaussian(seed, frame, stream, n):
    """-> float32 numpy array of n standard normal values"""
    k = key(seed, frame, stream)
    m = (n + 1) // 2
    with np.errstate(over="ignore"):
        i = np.arange(2 * m, dtype=np.uint64)
        r = mix(k + (i + np.uint64(1)) * G)
    a, b = r[0::2], r[1::2]
    u1 = ((a >> np.uint64(11)).astype(np.float64) + 1.0) * (2.0 ** -53)
    u2 = (b >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    rad = np.sqrt(-2.0 * np.log(u1))
    out = np.empty(2 * m, dtype=np.float32)
    out[0::2] = (rad * np.cos(2.0 * np.pi * u2)).astype(np.float32)
    out[1::2] = (rad * np.sin(2.0 * np.pi * u2)).astype(np.float32)
    return out[:n]


if __name__ == "__main__":  # print the first values for a quick C cross-check
    print(key(0, 0, 0), [float(x) for x in gaussian(0, 0, 0, 4)], gaussian(1, 2, 0, 100000).std())
