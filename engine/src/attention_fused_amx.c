/* The fused attention kernel's tile loops for bf16 contexts on CPUs with AMX
 * (attention_fused_tiles.h): q k^T and p v as AMX tile products, tdpbf16ps (a 16-row block of
 * bf16 pairs times a block of 16 columns of pairs, summed into a 16 x 16 fp32 tile), the online
 * softmax the AVX512-BF16 set's. Rounding is the AVX512-BF16 set's too: queries to bf16 once per
 * task, probabilities once per tile, every product summed in fp32, so the two sets agree to the
 * order of the fp32 sums. Functions carry a target attribute (the build needs no -m flags);
 * attention_fused.c picks this set only after drift_fused_amx_supported() said the CPU has the
 * tiles and the kernel lets the process use them.
 *
 * Layouts, all in the task's work (drift_fused_amx_work_floats()):
 * - queries: QB rows of round32(head_dim) bf16, the padding 0: A operands of q k^T, one 32-wide
 *   step of the head dimension per tile;
 * - keys: the AVX512-BF16 set's pairs, kt's rows 2p and 2p+1 interleaved key by key (a row of
 *   KB keys x 2 per pair), rows up to round32(head_dim) / 2 (the padding pairs 0): B operands,
 *   16 pairs by 16 keys;
 * - probabilities: QB rows of KB bf16, zero past the tile's keys to the next 32: A operands of
 *   p v, 32 keys a step;
 * - values: value rows 2c and 2c+1 interleaved column by column, round16(head_dim) columns, pairs
 *   up to the next 16 zero: B operands, 16 key pairs by 16 columns.
 * Tiles 0-3 hold fp32 results (up to 64 key or output columns), tile 4 the A operand, tile 5 the
 * B one, all 16 rows x 64 bytes. Rows of a partial query block past nq compute on whatever the
 * work holds there and are never read. */
#include "attention_fused_tiles.h"

#ifdef DRIFT_FUSED_HAVE_AMX

#include <immintrin.h>
#include <string.h>

#include "attention_fused.h"
#include "attention_fused_bf16_pack.h"

#define QB DRIFT_FUSED_QUERY_BLOCK
#define KB DRIFT_FUSED_KEY_BLOCK
#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

/* Tile numbers are macros, not enumerators: the intrinsics paste them into the instruction. */
#define TILE_A 4
#define TILE_B 5
enum { TILE_ROWS = 16, TILE_BYTES = 64 };

static int64_t query_cols(int64_t head_dim) { return (head_dim + 31) / 32 * 32; }
static int64_t key_pairs(int64_t head_dim) { return query_cols(head_dim) / 2; }
static int64_t value_cols(int64_t head_dim) { return (head_dim + 15) / 16 * 16; }

struct work {
    uint16_t *q; /* QB x query_cols(D) */
    uint16_t *k; /* key_pairs(D) x KB x 2 */
    uint16_t *p; /* QB x KB */
    uint16_t *v; /* KB / 2 pairs x value_cols(D) x 2 */
};

/* Every part is a multiple of 32 bf16 (64 bytes) long, so each starts 64-byte aligned. */
static struct work work_parts(void *base, int64_t head_dim)
{
    struct work w;
    w.q = base;
    w.k = w.q + QB * query_cols(head_dim);
    w.p = w.k + key_pairs(head_dim) * KB * 2;
    w.v = w.p + QB * KB;
    return w;
}

size_t drift_fused_amx_work_floats(int64_t head_dim)
{
    int64_t elems = QB * query_cols(head_dim) + key_pairs(head_dim) * KB * 2 + QB * KB +
                    KB * value_cols(head_dim);
    return (size_t)(elems / 2); /* a multiple of 16 floats */
}

/* ldtilecfg's 64-byte operand: palette 1, then each tile's bytes per row and rows. */
struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
};

/* A constant, not a filled-in local: GCC 12 dropped the stores into a local configuration before
 * ldtilecfg (it sees no read of them), which then loaded stack garbage and faulted. */
static const struct tile_config six_tiles = {
    .palette = 1,
    .bytes_per_row = { TILE_BYTES, TILE_BYTES, TILE_BYTES, TILE_BYTES, TILE_BYTES, TILE_BYTES },
    .rows = { TILE_ROWS, TILE_ROWS, TILE_ROWS, TILE_ROWS, TILE_ROWS, TILE_ROWS },
};

/* Once per task on the thread that runs it (the configuration is per thread, and oneDNN's AMX
 * kernels, which may have run on this thread since, load their own): six tiles of 16 x 64
 * bytes. Then the block's queries rounded to bf16, each row padded with zeros to whole 32-wide
 * steps, rows up to the next 16 zero too, and the key pairs past the head dimension zeroed for
 * the task's tiles (pack_keys writes only the pairs that have keys). */
AMX static void queries_amx(const float *q, int64_t q_row, int nq, int64_t head_dim, void *work)
{
    _tile_loadconfig(&six_tiles);
    struct work w = work_parts(work, head_dim);
    int rows = (nq + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
    round_queries(q, q_row, nq, rows, head_dim, query_cols(head_dim), w.q);
    int64_t real_pairs = (head_dim + 1) / 2;
    memset(w.k + real_pairs * KB * 2, 0,
           (size_t)(key_pairs(head_dim) - real_pairs) * KB * 2 * sizeof(uint16_t));
}

AMX static void done_amx(void)
{
    _tile_release();
}

/* The tile intrinsics take their tile numbers as immediates: op(tile, ...) on result tile j, one
 * case per tile. */
#define ON_RESULT_TILE(j, op, ...)                                                               \
    do {                                                                                         \
        switch (j) {                                                                             \
        case 0: op(0, __VA_ARGS__); break;                                                       \
        case 1: op(1, __VA_ARGS__); break;                                                       \
        case 2: op(2, __VA_ARGS__); break;                                                       \
        default: op(3, __VA_ARGS__); break;                                                      \
        }                                                                                        \
    } while (0)
#define DOT_INTO(j) ON_RESULT_TILE(j, _tile_dpbf16ps, TILE_A, TILE_B)
#define LOAD_RESULT(j, at, stride) ON_RESULT_TILE(j, _tile_loadd, at, stride)
#define STORE_RESULT(j, at, stride) ON_RESULT_TILE(j, _tile_stored, at, stride)

/* s = scale q k^T for the tile: per block of 16 queries, up to four 16-key result tiles, summed
 * over the head dimension's 32-wide steps. */
AMX static void scores_amx(const float *q, int64_t q_row, int nq, const void *keys,
                           int64_t kt_row, int nk, int64_t head_dim, float scale, float *s,
                           void *work)
{
    (void)q; /* read as queries_amx left it */
    (void)q_row;
    struct work w = work_parts(work, head_dim);
    pack_keys(keys, kt_row, nk, head_dim, w.k);
    int64_t cols = query_cols(head_dim);
    int key_tiles = (nk + 15) / 16;
    for (int r0 = 0; r0 < nq; r0 += TILE_ROWS) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t d0 = 0; d0 < cols; d0 += 32) {
            _tile_loadd(TILE_A, w.q + r0 * cols + d0, cols * 2);
            for (int j = 0; j < key_tiles; j++) {
                _tile_loadd(TILE_B, w.k + (d0 / 2) * KB * 2 + j * 32, KB * 2 * 2);
                DOT_INTO(j);
            }
        }
        for (int j = 0; j < key_tiles; j++)
            STORE_RESULT(j, s + r0 * KB + j * 16, KB * 4);
    }
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int r = 0; r < nq; r++)
        for (int c = 0; c < nk; c += 16) {
            float *at = s + r * KB + c;
            _mm512_storeu_ps(at, _mm512_mul_ps(_mm512_loadu_ps(at), vscale));
        }
}

/* o = o * alpha + p v: the rows scaled on vectors, then per block of 16 queries and up to four
 * 16-column result tiles (loaded from o, stored back) the products over 32-key steps. */
AMX static void accumulate_amx(float *o, int64_t o_row, int nq, const float *p, int nk,
                               const void *values, int64_t v_row, int64_t head_dim,
                               const float *alpha, void *work)
{
    struct work w = work_parts(work, head_dim);
    round_probabilities(p, nq, nk, w.p);
    int64_t cols = value_cols(head_dim);
    int steps = (nk + 31) / 32, pairs = (nk + 1) / 2;
    pack_values(values, v_row, nk, head_dim, cols, w.v);
    memset(w.v + pairs * cols * 2, 0,
           (size_t)(steps * 16 - pairs) * (size_t)cols * 2 * sizeof(uint16_t));
    for (int r = 0; r < nq; r++) {
        __m512 a = _mm512_set1_ps(alpha[r]);
        for (int64_t d = 0; d < cols; d += 16) {
            float *at = o + r * o_row + d;
            _mm512_storeu_ps(at, _mm512_mul_ps(_mm512_loadu_ps(at), a));
        }
    }
    int col_tiles = (int)(cols / 16);
    for (int r0 = 0; r0 < nq; r0 += TILE_ROWS)
        for (int j0 = 0; j0 < col_tiles; j0 += 4) {
            int n = col_tiles - j0 < 4 ? col_tiles - j0 : 4;
            float *out = o + r0 * o_row + j0 * 16;
            for (int j = 0; j < n; j++)
                LOAD_RESULT(j, out + j * 16, o_row * 4);
            for (int s0 = 0; s0 < steps; s0++) {
                _tile_loadd(TILE_A, w.p + r0 * KB + s0 * 32, KB * 2);
                for (int j = 0; j < n; j++) {
                    _tile_loadd(TILE_B, w.v + (s0 * 16) * cols * 2 + (j0 + j) * 32, cols * 2 * 2);
                    DOT_INTO(j);
                }
            }
            for (int j = 0; j < n; j++)
                STORE_RESULT(j, out + j * 16, o_row * 4);
        }
}

const struct drift_fused_tiles drift_fused_tiles_amx = {
    .queries = queries_amx,
    .scores = scores_amx,
    .softmax = drift_fused_softmax_avx512,
    .accumulate = accumulate_amx,
    .done = done_amx,
};

#endif
