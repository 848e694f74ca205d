/* The bf16 linear layer for a few rows (linear_direct.h).
 *
 * vdpbf16ps adds, per fp32 lane, a0 b0 + a1 b1 over a pair of bf16: the pair runs along the
 * reduction. So the weights are packed once as panels of 32 output columns, each a run of input
 * pairs: for pair p, the 32 columns' (w[n][2p], w[n][2p+1]) side by side, two 64-byte vectors.
 * An input row's pair (x[2p], x[2p+1]) is one 32-bit broadcast. A register block is up to 8 rows
 * x 32 columns (16 accumulators; per pair 2 weight loads and up to 8 broadcasts feed up to 16 dot
 * products), so the weights stream once per 8 rows and the accumulators never leave registers.
 * The epilogue (bias, activation, the residual sum) works on the accumulators before the one
 * store, masked at the last panel's edge.
 *
 * Like the fused attention's bf16 set, the functions carry a target attribute instead of the
 * file being built with -mavx512bf16: the engine still runs on CPUs without the instructions,
 * and linear.c calls the kernel only after drift_linear_direct_supported() said yes. */
#include "linear_direct.h"

#include <string.h>

#include "internal.h"

#define PANEL 32 /* output columns per packed panel: two vectors of 16 fp32 lanes */
#define ROW_BLOCK 8

static int64_t pairs_of(int in) { return ((int64_t)in + 1) / 2; }

size_t drift_linear_direct_packed_elems(int in, int out)
{
    int64_t panels = ((int64_t)out + PANEL - 1) / PANEL;
    return (size_t)(panels * pairs_of(in) * PANEL * 2);
}

size_t drift_linear_direct_x_elems(int in, int64_t rows)
{
    return (size_t)(rows * pairs_of(in) * 2);
}

void drift_linear_direct_pack(const uint16_t *w, int in, int out, uint16_t *packed)
{
    int64_t pairs = pairs_of(in), panels = ((int64_t)out + PANEL - 1) / PANEL;
    for (int64_t panel = 0; panel < panels; panel++)
        for (int64_t p = 0; p < pairs; p++) {
            uint16_t *dst = packed + (panel * pairs + p) * PANEL * 2;
            for (int64_t c = 0; c < PANEL; c++) {
                int64_t n = panel * PANEL + c;
                for (int64_t e = 0; e < 2; e++) {
                    int64_t k = 2 * p + e;
                    dst[2 * c + e] = n < out && k < in ? w[n * in + k] : 0;
                }
            }
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define TARGET "avx512f,avx512bw,avx512vl,avx512bf16"
#define KERNEL __attribute__((target(TARGET)))
#define KERNEL_INLINE static inline __attribute__((always_inline, target(TARGET)))

bool drift_linear_direct_supported(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

/* e^x for fp32 lanes: e^x = 2^n e^r with n = round(x log2 e), r = x - n ln 2 (ln 2 in two parts,
 * |r| <= ln2/2), e^r by its Taylor series to r^7 (relative error ~1e-7), 2^n by scalef, which
 * gives inf and 0 at the ends. */
KERNEL_INLINE __m512 exp_ps(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* x / (1 + e^(-z)): SiLU with z = x; GELU's tanh form with z = 2 sqrt(2/pi) (x + 0.044715 x^3),
 * since 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)). Where e^(-z) overflows the quotient is 0. */
KERNEL_INLINE __m512 activate(__m512 x, enum drift_activation act)
{
    if (act == DRIFT_ACT_NONE)
        return x;
    __m512 z = x;
    if (act == DRIFT_ACT_GELU_TANH) {
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        z = _mm512_mul_ps(_mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x),
                          _mm512_set1_ps(1.5957691216057308f));
    }
    __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

KERNEL_INLINE __mmask16 lanes_below(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* One register block: rows r < nr (a compile-time count after inlining) of the bf16 input (row
 * stride 2*pairs) times one weight panel, then the epilogue into y's columns n0.. (n0 + 32). */
KERNEL_INLINE void block(const uint32_t *x, int64_t pairs, const uint16_t *panel, int nr,
                         const float *bias, int64_t n0, int out, enum drift_activation act,
                         float *y, int64_t y_stride, bool accumulate)
{
    __m512 acc[ROW_BLOCK][2];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; p++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel + p * PANEL * 2);
        __m512bh w1 = (__m512bh)_mm512_loadu_si512(panel + p * PANEL * 2 + PANEL);
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            __m512bh xr = (__m512bh)_mm512_set1_epi32((int)x[r * pairs + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xr, w0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xr, w1);
        }
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        int64_t n = n0 + 16 * h;
        __mmask16 m = lanes_below(out - n);
        if (!m)
            break;
        __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + n) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            __m512 v = activate(_mm512_add_ps(acc[r][h], b), act);
            float *yr = y + r * y_stride + n;
            if (accumulate)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, yr));
            _mm512_mask_storeu_ps(yr, m, v);
        }
    }
}

/* The row counts specialised: each call below inlines block() with a constant nr. */
#define BLOCK_CASE(NR)                                                                           \
    case NR:                                                                                     \
        block(x, pairs, panel, NR, bias, n0, out, act, y, y_stride, accumulate);                 \
        break;

KERNEL static void rows_times_panel(const uint32_t *x, int64_t pairs, const uint16_t *panel,
                                    int nr, const float *bias, int64_t n0, int out,
                                    enum drift_activation act, float *y, int64_t y_stride,
                                    bool accumulate)
{
    switch (nr) {
    BLOCK_CASE(1) BLOCK_CASE(2) BLOCK_CASE(3) BLOCK_CASE(4)
    BLOCK_CASE(5) BLOCK_CASE(6) BLOCK_CASE(7) BLOCK_CASE(8)
    default:
        break;
    }
}

void drift_linear_direct_forward(const uint16_t *packed, const float *bias, int in, int out,
                                 enum drift_activation act, const float *x, int64_t rows,
                                 int64_t x_stride, float *y, int64_t y_stride, bool accumulate,
                                 uint16_t *x_scratch)
{
    int64_t pairs = pairs_of(in), panels = ((int64_t)out + PANEL - 1) / PANEL;
    for (int64_t r = 0; r < rows; r++) {
        uint16_t *dst = x_scratch + r * pairs * 2;
        const float *src = x + r * x_stride;
        for (int64_t k = 0; k < in; k++)
            dst[k] = drift_bf16_round_select(src[k]);
        if (in % 2)
            dst[in] = 0;
    }
    const uint32_t *x32 = (const uint32_t *)x_scratch;
    for (int64_t r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        int nr = rows - r0 < ROW_BLOCK ? (int)(rows - r0) : ROW_BLOCK;
        for (int64_t panel = 0; panel < panels; panel++)
            rows_times_panel(x32 + r0 * pairs, pairs, packed + panel * pairs * PANEL * 2, nr, bias,
                             panel * PANEL, out, act, y + r0 * y_stride, y_stride, accumulate);
    }
}

#else

bool drift_linear_direct_supported(void) { return false; }

void drift_linear_direct_forward(const uint16_t *packed, const float *bias, int in, int out,
                                 enum drift_activation act, const float *x, int64_t rows,
                                 int64_t x_stride, float *y, int64_t y_stride, bool accumulate,
                                 uint16_t *x_scratch)
{
    (void)packed; (void)bias; (void)in; (void)out; (void)act; (void)x; (void)rows;
    (void)x_stride; (void)y; (void)y_stride; (void)accumulate; (void)x_scratch;
    __builtin_trap(); /* linear.c asks drift_linear_direct_supported() first */
}

#endif
