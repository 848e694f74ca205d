/* The stream output's state, shared by its two halves: stream_output.c (the generator's side:
 * init, free, pushes) and stream_encode.c (the encoder thread and the destinations). */
#ifndef DRIFT_MEDIA_STREAM_OUTPUT_IMPL_H
#define DRIFT_MEDIA_STREAM_OUTPUT_IMPL_H

#include <glib.h>
#include <libavutil/mathematics.h>

#include "audio_ring.h"
#include "frame_ring.h"
#include "stream_clock.h"
#include "stream_internal.h"

struct drift_stream_output {
    struct drift_stream_output_config cfg;
    AVRational fps;
    struct drift_video_encoder *venc;
    struct drift_audio_encoder *aenc;

    GMutex lock;
    GCond cond;
    struct drift_frame_ring frames;
    struct drift_audio_ring audio;
    int64_t last_index; /* generator index of the last pushed frame */
    bool have_last;
    bool force_key, finishing, stopping, finished;
    gint64 push_timeout_us; /* -1: never wait */
    struct drift_stream_stats stats;
    char error[256];

    GMutex sinks_lock;
    GCond sinks_cond;  /* broadcast when a destination attaches */
    GPtrArray *sinks; /* struct drift_media_sink *, transfer none */

    GThread *thread;
    struct drift_stream_clock clock;
    int64_t tick;          /* output frames encoded: the stream clock */
    float *audio_chunk;    /* one frame's audio, encoder thread only */
    size_t audio_chunk_cap;
};

/* First input sample of generator frame @k: frame k starts at k * rate / fps. */
static inline int64_t frame_start_sample(const struct drift_stream_output *out, int64_t k)
{
    return av_rescale(k, (int64_t)out->cfg.audio_rate * out->fps.den, out->fps.num);
}

/* The encoder thread's body (stream_encode.c). */
gpointer drift_stream_output_encoder_thread(gpointer data);

#endif
