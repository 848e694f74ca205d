/* A fixed ring of interleaved float PCM between the generator and the encoder thread, with the
 * generator's sample index of its first sample, so gaps and overlaps can be told apart.
 * Not thread-safe: the stream output holds its lock around every call. */
#ifndef DRIFT_MEDIA_AUDIO_RING_H
#define DRIFT_MEDIA_AUDIO_RING_H

#include <stddef.h>
#include <stdint.h>

struct drift_audio_ring {
    float *data;          /* capacity * channels */
    size_t capacity;      /* frames */
    size_t head, count;   /* frames */
    int channels;
    int64_t read_index;   /* generator sample index of the oldest frame held */
};

/** Returns 0, -EINVAL or -ENOMEM. */
int drift_audio_ring_init(struct drift_audio_ring *ring, size_t capacity, int channels);
void drift_audio_ring_free(struct drift_audio_ring *ring);

/** Sample index one past the newest frame held. */
static inline int64_t drift_audio_ring_write_index(const struct drift_audio_ring *ring)
{
    return ring->read_index + (int64_t)ring->count;
}

static inline size_t drift_audio_ring_space(const struct drift_audio_ring *ring)
{
    return ring->capacity - ring->count;
}

/** Appends @n frames (at most the free space); @pcm NULL appends silence. */
void drift_audio_ring_write(struct drift_audio_ring *ring, const float *pcm, size_t n);

/** Removes up to @n of the oldest frames, copying them to @out when not NULL; returns how many. */
size_t drift_audio_ring_read(struct drift_audio_ring *ring, float *out, size_t n);

/** Empties the ring and moves its position to @index (used when the reader skips ahead). */
void drift_audio_ring_reset(struct drift_audio_ring *ring, int64_t index);

#endif
