/* f32 -> bf16 activation rows for the bf16 products (internal.h). */
#include "internal.h"

DRIFT_CPU_CLONES
static void convert_row(const float *restrict src, int64_t cols, uint16_t *restrict dst)
{
#pragma omp simd
    for (int64_t c = 0; c < cols; c++)
        dst[c] = drift_bf16_round_select(src[c]);
}

struct rows_job {
    const float *src;
    int64_t cols, stride;
    uint16_t *dst;
};

static void convert_one(void *arg, int64_t r)
{
    const struct rows_job *j = arg;
    convert_row(j->src + r * j->stride, j->cols, j->dst + r * j->cols);
}

void drift_f32_rows_to_bf16(const float *src, int64_t rows, int64_t cols, int64_t stride,
                            uint16_t *dst)
{
    struct rows_job job = { src, cols, stride, dst };
    drift_parallel_for(rows, rows * cols, convert_one, &job);
}
