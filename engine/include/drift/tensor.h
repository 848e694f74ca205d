/* drift engine: tensors.
 *
 * A tensor is a view: dtype, up to 4 dimensions with element strides, and a data pointer. Whether
 * it owns its memory is recorded in `owns_data`; drift_tensor_free() releases only owned memory.
 * Activations are f32; weights and KV caches may be bf16. */
#ifndef DRIFT_TENSOR_H
#define DRIFT_TENSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <drift/error.h>

#define DRIFT_MAX_DIMS 4

enum drift_dtype {
    DRIFT_F32 = 0,
    DRIFT_BF16 = 1,
};

struct drift_tensor {
    enum drift_dtype dtype;
    int ndim;
    int64_t shape[DRIFT_MAX_DIMS];
    int64_t stride[DRIFT_MAX_DIMS]; /* in elements */
    void *data;
    bool owns_data;                 /* true: drift_tensor_free() frees data */
};

/* Size in bytes of one element of dtype. */
size_t drift_dtype_size(enum drift_dtype dtype);
/* "f32" / "bf16". */
const char *drift_dtype_name(enum drift_dtype dtype);

/* Makes t a dense (row-major) view of data, which the caller keeps owning. Returns 0, or -EINVAL
 * for ndim outside 1..4 or a non-positive dimension. */
int drift_tensor_view(struct drift_tensor *t, enum drift_dtype dtype, void *data, int ndim,
                      const int64_t *shape);

/* Allocates a dense zeroed tensor (64-byte aligned); t owns the memory. Returns 0, -EINVAL for a
 * bad shape, -EOVERFLOW when the size overflows, -ENOMEM. */
int drift_tensor_alloc(struct drift_tensor *t, enum drift_dtype dtype, int ndim,
                       const int64_t *shape);

/* Frees owned memory and clears t. Safe on a zeroed or already freed tensor. */
void drift_tensor_free(struct drift_tensor *t);

int64_t drift_tensor_numel(const struct drift_tensor *t);
size_t drift_tensor_nbytes(const struct drift_tensor *t);
/* True when the strides are those of a dense row-major tensor of the same shape. */
bool drift_tensor_is_dense(const struct drift_tensor *t);

/* bf16 <-> f32 conversion (round to nearest even; NaN stays NaN). */
uint16_t drift_f32_to_bf16(float f);
float drift_bf16_to_f32(uint16_t h);
void drift_convert_f32_to_bf16(uint16_t *dst, const float *src, size_t n);
void drift_convert_bf16_to_f32(float *dst, const uint16_t *src, size_t n);

#endif
