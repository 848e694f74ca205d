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


NOISE_FLOW_UNITS = 256   # a noise flow moves in 1/256 of a latent cell (engine: DRIFT_NOISE_FLOW_UNITS)
NOISE_FLOW_MAX = 4.0     # cells per frame each way; a faster velocity is clamped (engine: DRIFT_NOISE_FLOW_MAX)
NOISE_FLOW_FINE = 4      # the carried field's sub-cells per latent cell along each side (DRIFT_NOISE_FLOW_FINE)
# Slower than 8 units (1/32 cell) per frame is no motion: the fitted head leaves still scenes (lava, stars,
# water) within about 0.02 cells of 0, and each sub-cell step would renew a quarter of their noise.
NOISE_FLOW_MIN_UNITS = 8  # (engine: DRIFT_NOISE_FLOW_MIN_UNITS)


def flow_units(velocity):
    """a noise flow's velocities (cells per frame, [..., 2] as [vy, vx]) as the engine applies them: float32,
    clamped to +-NOISE_FLOW_MAX, times NOISE_FLOW_UNITS rounded half to even (lrintf), 0 when under
    NOISE_FLOW_MIN_UNITS -> int64 [..., 2]"""
    import torch
    v = torch.as_tensor(velocity, dtype=torch.float32).clamp(-NOISE_FLOW_MAX, NOISE_FLOW_MAX)
    u = torch.round(v * NOISE_FLOW_UNITS).long()
    return torch.where(u.abs() < NOISE_FLOW_MIN_UNITS, torch.zeros_like(u), u)


def flow_step(covered, units):
    """covered: the flow's distance so far (int64 units [..., 2], 0 when the carry starts); units: this frame's
    velocity (flow_units) -> (the new distance, the whole sub-cells it crossed this frame: the field's roll)"""
    import torch
    per = NOISE_FLOW_UNITS // NOISE_FLOW_FINE
    new = covered + units
    return new, torch.div(new, per, rounding_mode="floor") - torch.div(covered, per, rounding_mode="floor")


def flow_field_start(field, draw, c, moved):
    """The noise flow's fine field (float32 [H*F, W*F, C], F = NOISE_FLOW_FINE) for the next frame: the field
    rolled by moved (dy, dx) whole sub-cells, wrapping round (out[y, x] = in[y - dy, x - dx]), carried as
    carry() carries a frame's start, with draw, the frame's own fine draw"""
    return carry(np.roll(field, (int(moved[0]), int(moved[1])), axis=(0, 1)), draw, c).astype(np.float32)


def flow_block_sums(field):
    """[H*F, W*F, C] -> [H, W, C]: each F x F block's sum (float32, added row by row as the engine does) / F,
    unit Gaussian again when the field is"""
    F = NOISE_FLOW_FINE
    H, W, C = field.shape[0] // F, field.shape[1] // F, field.shape[2]
    blocks = field.reshape(H, F, W, F, C)
    out = np.zeros((H, W, C), dtype=np.float32)
    for dy in range(F):
        for dx in range(F):
            out += blocks[:, dy, :, dx, :]
    return out / np.float32(F)


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
