#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audio_ring.h"

int drift_audio_ring_init(struct drift_audio_ring *ring, size_t capacity, int channels)
{
    memset(ring, 0, sizeof(*ring));
    if (capacity == 0 || channels <= 0)
        return -EINVAL;
    ring->data = calloc(capacity * (size_t)channels, sizeof(float));
    if (!ring->data)
        return -ENOMEM;
    ring->capacity = capacity;
    ring->channels = channels;
    return 0;
}

void drift_audio_ring_free(struct drift_audio_ring *ring)
{
    free(ring->data);
    memset(ring, 0, sizeof(*ring));
}

void drift_audio_ring_write(struct drift_audio_ring *ring, const float *pcm, size_t n)
{
    size_t ch = (size_t)ring->channels;
    if (n > drift_audio_ring_space(ring))
        n = drift_audio_ring_space(ring);
    while (n > 0) {
        size_t tail = (ring->head + ring->count) % ring->capacity;
        size_t run = ring->capacity - tail < n ? ring->capacity - tail : n;
        if (pcm) {
            memcpy(ring->data + tail * ch, pcm, run * ch * sizeof(float));
            pcm += run * ch;
        } else {
            memset(ring->data + tail * ch, 0, run * ch * sizeof(float));
        }
        ring->count += run;
        n -= run;
    }
}

size_t drift_audio_ring_read(struct drift_audio_ring *ring, float *out, size_t n)
{
    size_t ch = (size_t)ring->channels, done = 0;
    if (n > ring->count)
        n = ring->count;
    while (done < n) {
        size_t run = ring->capacity - ring->head < n - done ? ring->capacity - ring->head
                                                            : n - done;
        if (out)
            memcpy(out + done * ch, ring->data + ring->head * ch, run * ch * sizeof(float));
        ring->head = (ring->head + run) % ring->capacity;
        ring->count -= run;
        ring->read_index += (int64_t)run;
        done += run;
    }
    return done;
}

void drift_audio_ring_reset(struct drift_audio_ring *ring, int64_t index)
{
    ring->head = 0;
    ring->count = 0;
    ring->read_index = index;
}
