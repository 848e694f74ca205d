/* The KV cache's layout, shared with attention.c. Values are (B*H, slots*T, D) and keys are
 * stored transposed, (B*H, D, slots*T), so that q k^T is a plain row-major product (oneDNN's
 * transposed-operand path is several times slower in bf16). Both are in the compute dtype;
 * slots = window + 1: `window` committed blocks plus the working block. Key order does not matter
 * to attention, so a commit only moves an index: nothing is copied. */
#ifndef DRIFT_KV_CACHE_INTERNAL_H
#define DRIFT_KV_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <drift/tensor.h>

struct drift_kv_cache {
    int batch, heads, head_dim, block_tokens, window, slots;
    enum drift_dtype dtype;
    void *keys, *values;
    int64_t *position;  /* per slot: position of the committed block in it */
    bool *committed;    /* per slot */
    int length;         /* committed blocks */
    int working;        /* slot the current block is written to */
};

/* Slots in use for attention (committed + working); they form the prefix [0, n). */
static inline int drift_kv_cache_slots_in_use(const struct drift_kv_cache *c)
{
    return c->length + 1 < c->slots ? c->length + 1 : c->slots;
}

#endif
