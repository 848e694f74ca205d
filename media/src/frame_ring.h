/* A fixed ring of RGB frames between the generator and the encoder thread.
 * All memory is allocated at init: capacity slots plus one "current" frame owned by the consumer.
 * Popping swaps buffers instead of copying, and the consumer keeps the last frame for repeats.
 * Not thread-safe: the stream output holds its lock around every call. */
#ifndef DRIFT_MEDIA_FRAME_RING_H
#define DRIFT_MEDIA_FRAME_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct drift_frame_ring {
    uint8_t **slots;   /* capacity buffers of frame_bytes */
    int64_t *index;    /* generator frame index per slot */
    uint8_t *current;  /* consumer's frame: the last popped one */
    size_t frame_bytes;
    unsigned capacity, head, count;
};

/** Allocates @capacity (>= 1) slots of @frame_bytes. Returns 0, -EINVAL or -ENOMEM. */
int drift_frame_ring_init(struct drift_frame_ring *ring, unsigned capacity, size_t frame_bytes);
void drift_frame_ring_free(struct drift_frame_ring *ring);

static inline bool drift_frame_ring_full(const struct drift_frame_ring *ring)
{
    return ring->count == ring->capacity;
}

/** Copies @rgb (frame_bytes) into the tail; the ring must not be full. */
void drift_frame_ring_push(struct drift_frame_ring *ring, const uint8_t *rgb, int64_t index);

/** Discards the oldest frame; the ring must not be empty. */
void drift_frame_ring_drop_oldest(struct drift_frame_ring *ring);

/** Moves the oldest frame into ring->current (a buffer swap); returns its index. Must not be
 * empty. */
int64_t drift_frame_ring_pop(struct drift_frame_ring *ring);

#endif
