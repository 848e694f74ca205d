/* The fused attention kernel (attention_fused.h): the task driver, shared by every instruction
 * set, and the portable tile loops. The driver keeps the bookkeeping (which keys a query sees,
 * the running max and sum) in one place so that the AVX2 and AVX512-BF16 tiles differ from the
 * portable ones only in how they compute, not in what. */
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "attention_fused.h"
#include "attention_fused_tiles.h"
#include "internal.h"
#include "softmax_row.h"

#define QB DRIFT_FUSED_QUERY_BLOCK
#define KB DRIFT_FUSED_KEY_BLOCK

/* ---- portable tiles: plain loops, `omp simd` where a loop is a clean vector loop ----------- */

static void scores_portable(const float *q, int64_t q_row, int nq, const void *keys,
                            int64_t kt_row, int nk, int64_t head_dim, float scale, float *s,
                            void *work)
{
    (void)work;
    const float *kt = keys;
    for (int r = 0; r < nq; r++) {
        float *restrict row = s + r * KB;
        const float *qr = q + r * q_row;
        memset(row, 0, (size_t)nk * sizeof(float));
        /* Keys are stored transposed: one query element times a contiguous run of keys. */
        for (int64_t d = 0; d < head_dim; d++) {
            const float x = qr[d], *restrict k = kt + d * kt_row;
#pragma omp simd
            for (int c = 0; c < nk; c++)
                row[c] += x * k[c];
        }
#pragma omp simd
        for (int c = 0; c < nk; c++)
            row[c] *= scale;
    }
}

static void softmax_portable(float *s, int nq, int nk, const float *bias, const float *offset,
                             const int *visible, float *m, float *l, float *alpha)
{
    for (int r = 0; r < nq; r++) {
        float *restrict row = s + r * KB;
        int vis = visible[r];
        float max = drift_bias_and_max(row, bias, offset[r], vis, m[r]);
        /* vis = 0 leaves max = m[r]: alpha = exp(0) = 1 (m[r] is finite then, see the header). */
        alpha[r] = drift_exp_nonpositive(m[r] - max);
        float sum = drift_exp_and_sum(row, vis, max);
        for (int c = vis; c < nk; c++)
            row[c] = 0.0f;
        l[r] = l[r] * alpha[r] + sum;
        m[r] = max;
    }
}

static void accumulate_portable(float *o, int64_t o_row, int nq, const float *p, int nk,
                                const void *values, int64_t v_row, int64_t head_dim,
                                const float *alpha, void *work)
{
    (void)work;
    const float *v = values;
    for (int r = 0; r < nq; r++) {
        float *restrict orow = o + r * o_row;
        const float *prow = p + r * KB, a = alpha[r];
#pragma omp simd
        for (int64_t d = 0; d < head_dim; d++)
            orow[d] *= a;
        for (int c = 0; c < nk; c++) {
            const float x = prow[c], *restrict vrow = v + c * v_row;
#pragma omp simd
            for (int64_t d = 0; d < head_dim; d++)
                orow[d] += x * vrow[d];
        }
    }
}

const struct drift_fused_tiles drift_fused_tiles_portable = {
    .queries = NULL,
    .scores = scores_portable,
    .softmax = softmax_portable,
    .accumulate = accumulate_portable,
};

/* ---- the driver ---------------------------------------------------------------------------- */

enum drift_fused_isa drift_fused_isa_best(void)
{
#ifdef DRIFT_FUSED_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return DRIFT_FUSED_AVX2;
#endif
    return DRIFT_FUSED_PORTABLE;
}

const char *drift_fused_isa_name(enum drift_fused_isa isa)
{
    switch (isa) {
    case DRIFT_FUSED_AVX2: return "avx2";
    case DRIFT_FUSED_AVX512_BF16: return "avx512-bf16";
    case DRIFT_FUSED_AMX_BF16: return "amx-bf16";
    default: return "portable";
    }
}

bool drift_fused_bf16_supported(void)
{
#ifdef DRIFT_FUSED_HAVE_AVX512_BF16
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

#ifdef DRIFT_FUSED_HAVE_AMX
/* CPUID leaf 7's AMX-BF16 and AMX-TILE bits, XCR0's tile configuration and data bits (the OS
 * saves the tile state), and Linux's per-process permission for the tile data (5.16 on: without
 * it the first tile instruction faults). */
static bool amx_usable(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!drift_fused_bf16_supported() || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) ||
        !(edx & (1u << 22)) || !(edx & (1u << 24)))
        return false;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & (3u << 17)) != (3u << 17))
        return false;
#ifdef __linux__
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
        return false;
#endif
    return true;
}
#endif

bool drift_fused_amx_supported(void)
{
#ifdef DRIFT_FUSED_HAVE_AMX
    /* Asked once: 1 yes, 0 no, -1 not yet (threads racing here all get the same answer). */
    static int usable = -1;
    int seen = __atomic_load_n(&usable, __ATOMIC_ACQUIRE);
    if (seen < 0) {
        seen = amx_usable() ? 1 : 0;
        __atomic_store_n(&usable, seen, __ATOMIC_RELEASE);
    }
    return seen == 1;
#else
    return false;
#endif
}

/* Output accumulator row: head_dim rounded up to whole 16-float vectors, so that the AVX2 and
 * AVX-512 tiles load and store it without masks. */
static int64_t acc_row(int64_t head_dim)
{
    return (head_dim + 15) / 16 * 16;
}

/* A task's floats: its score tile, its output accumulators, and the bf16 set's work (a multiple
 * of 16 floats, as the other two are, so that every part stays 64-byte aligned). */
static size_t task_floats(int64_t head_dim, enum drift_fused_isa isa)
{
    size_t floats = (size_t)QB * KB + (size_t)QB * (size_t)acc_row(head_dim);
#ifdef DRIFT_FUSED_HAVE_AVX512_BF16
    if (isa == DRIFT_FUSED_AVX512_BF16)
        floats += drift_fused_bf16_work_floats(head_dim);
#endif
#ifdef DRIFT_FUSED_HAVE_AMX
    if (isa == DRIFT_FUSED_AMX_BF16)
        floats += drift_fused_amx_work_floats(head_dim);
#endif
#if !defined(DRIFT_FUSED_HAVE_AVX512_BF16) && !defined(DRIFT_FUSED_HAVE_AMX)
    (void)isa;
#endif
    return floats;
}

size_t drift_fused_scratch_floats(int64_t batch, int64_t heads, int64_t lq, int64_t head_dim,
                                  enum drift_fused_isa isa)
{
    return (size_t)(batch * heads * ((lq + QB - 1) / QB)) * task_floats(head_dim, isa);
}

/* Keys [0, visible) are the ones query i sees. */
static int64_t visible_keys(const struct drift_fused_attention *a, int64_t i)
{
    switch (a->mask) {
    case DRIFT_MASK_CAUSAL: return i + 1;
    case DRIFT_MASK_BLOCK_CAUSAL: {
        int64_t end = (i / a->block + 1) * a->block;
        return end < a->lk ? end : a->lk;
    }
    default: return a->lk;
    }
}

struct fused_job {
    const struct drift_fused_attention *a;
    const struct drift_fused_tiles *tiles;
    int64_t query_blocks;
    size_t elem; /* bytes per key or value element */
};

/* Task t: (batch row, head, query block) = (b, h, qb), t = (b * heads + h) * query_blocks + qb. */
static void run_task(void *arg, int64_t t)
{
    const struct fused_job *job = arg;
    const struct drift_fused_attention *a = job->a;
    const struct drift_fused_tiles *tiles = job->tiles;
    int64_t bh = t / job->query_blocks, b = bh / a->heads, h = bh % a->heads;
    int64_t i0 = (t % job->query_blocks) * QB, D = a->head_dim, o_row = acc_row(D);
    int nq = (int)(a->lq - i0 < QB ? a->lq - i0 : QB);
    float *s = a->scratch + (size_t)t * task_floats(D, a->isa), *o = s + (size_t)QB * KB;
    void *work = o + (size_t)QB * (size_t)o_row;
    float m[QB], l[QB], alpha[QB], offset[QB];
    int64_t seen[QB];
    int visible[QB];
    for (int r = 0; r < nq; r++) {
        int64_t i = i0 + r;
        seen[r] = visible_keys(a, i);
        offset[r] = a->slope ? -a->slope[h] * (float)(i / a->block) : 0.0f;
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    memset(o, 0, (size_t)nq * (size_t)o_row * sizeof(float));
    const float *q = a->q + b * a->q_batch + i0 * a->q_row + h * D;
    const char *kt = (const char *)a->kt + (size_t)(bh * a->kt_head) * job->elem;
    const char *v = (const char *)a->v + (size_t)(b * a->v_batch + h * a->v_head) * job->elem;
    const float *bias = a->bias ? a->bias + h * a->lk : NULL;
    /* Every mask lets a query see key 0, so the first tile gives each row a finite max, and
     * the last row of the block sees the most keys: no tile past it is needed. */
    int64_t end = seen[nq - 1];
    if (tiles->queries)
        tiles->queries(q, a->q_row, nq, D, work);
    for (int64_t j0 = 0; j0 < end; j0 += KB) {
        int nk = (int)(end - j0 < KB ? end - j0 : KB);
        for (int r = 0; r < nq; r++) {
            int64_t vis = seen[r] - j0;
            visible[r] = (int)(vis < 0 ? 0 : vis > nk ? nk : vis);
        }
        tiles->scores(q, a->q_row, nq, kt + (size_t)j0 * job->elem, a->kt_row, nk, D, a->scale, s,
                      work);
        tiles->softmax(s, nq, nk, bias ? bias + j0 : NULL, offset, visible, m, l, alpha);
        tiles->accumulate(o, o_row, nq, s, nk, v + (size_t)(j0 * a->v_row) * job->elem, a->v_row,
                          D, alpha, work);
    }
    if (tiles->done)
        tiles->done();
    for (int r = 0; r < nq; r++) {
        float *restrict dst = a->out + b * a->out_batch + (i0 + r) * a->out_row + h * D;
        const float *restrict acc = o + r * o_row;
        const float inv = 1.0f / l[r];
#pragma omp simd
        for (int64_t d = 0; d < D; d++)
            dst[d] = acc[d] * inv;
    }
}

void drift_attention_fused(const struct drift_fused_attention *a)
{
    struct fused_job job = { a, &drift_fused_tiles_portable, (a->lq + QB - 1) / QB,
                             sizeof(float) };
#ifdef DRIFT_FUSED_HAVE_AVX2
    if (a->isa == DRIFT_FUSED_AVX2)
        job.tiles = &drift_fused_tiles_avx2;
#endif
#ifdef DRIFT_FUSED_HAVE_AVX512_BF16
    if (a->isa == DRIFT_FUSED_AVX512_BF16) {
        job.tiles = &drift_fused_tiles_avx512bf16;
        job.elem = sizeof(uint16_t);
    }
#endif
#ifdef DRIFT_FUSED_HAVE_AMX
    if (a->isa == DRIFT_FUSED_AMX_BF16) {
        job.tiles = &drift_fused_tiles_amx;
        job.elem = sizeof(uint16_t);
    }
#endif
    int64_t tasks = a->batch * a->heads * job.query_blocks;
    /* Work as the softmax pass it replaces counts it: one element per score. */
    drift_parallel_for(tasks, a->batch * a->heads * a->lq * a->lk, run_task, &job);
}
