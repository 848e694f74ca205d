#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame_ring.h"

int drift_frame_ring_init(struct drift_frame_ring *ring, unsigned capacity, size_t frame_bytes)
{
    memset(ring, 0, sizeof(*ring));
    if (capacity == 0 || frame_bytes == 0)
        return -EINVAL;
    ring->capacity = capacity;
    ring->frame_bytes = frame_bytes;
    ring->slots = calloc(capacity, sizeof(*ring->slots));
    ring->index = calloc(capacity, sizeof(*ring->index));
    ring->current = calloc(1, frame_bytes);
    if (!ring->slots || !ring->index || !ring->current)
        goto fail;
    for (unsigned i = 0; i < capacity; i++)
        if (!(ring->slots[i] = malloc(frame_bytes)))
            goto fail;
    return 0;
fail:
    drift_frame_ring_free(ring);
    return -ENOMEM;
}

void drift_frame_ring_free(struct drift_frame_ring *ring)
{
    if (ring->slots)
        for (unsigned i = 0; i < ring->capacity; i++)
            free(ring->slots[i]);
    free(ring->slots);
    free(ring->index);
    free(ring->current);
    memset(ring, 0, sizeof(*ring));
}

void drift_frame_ring_push(struct drift_frame_ring *ring, const uint8_t *rgb, int64_t index)
{
    unsigned tail = (ring->head + ring->count) % ring->capacity;
    memcpy(ring->slots[tail], rgb, ring->frame_bytes);
    ring->index[tail] = index;
    ring->count++;
}

void drift_frame_ring_drop_oldest(struct drift_frame_ring *ring)
{
    ring->head = (ring->head + 1) % ring->capacity;
    ring->count--;
}

int64_t drift_frame_ring_pop(struct drift_frame_ring *ring)
{
    uint8_t *frame = ring->slots[ring->head];
    int64_t index = ring->index[ring->head];
    ring->slots[ring->head] = ring->current;
    ring->current = frame;
    drift_frame_ring_drop_oldest(ring);
    return index;
}
