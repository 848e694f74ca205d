/* The bounded queue between generation and encoding, and the encoder thread that drains it.
 * See stream_output.h for the contract; the locking is:
 *   lock       - queue rings, flags, stats; producers and the encoder thread
 *   sinks_lock - the list of destinations; the encoder thread while dispatching, the main loop
 *                while attaching/detaching
 * Encoding runs without either lock; the encoder thread owns frames.current and audio_chunk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include "stream_output_impl.h"


static int check_config(const struct drift_stream_output_config *c, struct drift_error *err)
{
    if (c->queue_seconds < 0 || c->queue_seconds > 10)
        return drift_error_set(err, -EINVAL, "queue_seconds: %g is outside 0..10",
                                     c->queue_seconds);
    if (c->push_timeout_ms < -1)
        return drift_error_set(err, -EINVAL, "push_timeout_ms: %d is below -1",
                                     c->push_timeout_ms);
    if (c->audio && (c->audio_rate < 8000 || c->audio_rate > 192000))
        return drift_error_set(err, -EINVAL, "audio_rate: %d is outside 8000..192000",
                                     c->audio_rate);
    if (c->audio_on_clock && (!c->audio || !c->live))
        return drift_error_set(err, -EINVAL, "audio_on_clock: only for a live output with audio");
    if (c->audio && (c->audio_channels < 1 || c->audio_channels > 8))
        return drift_error_set(err, -EINVAL, "audio_channels: %d is outside 1..8",
                                     c->audio_channels);
    return 0;
}

static int open_encoders(struct drift_stream_output *out, const struct drift_stream_output_config *c,
                         struct drift_error *err)
{
    struct drift_video_encoder_config vc = {
        .in_width = c->width, .in_height = c->height,
        .out_width = c->out_width, .out_height = c->out_height,
        .fps_num = c->fps_num, .fps_den = c->fps_den,
        .bitrate_kbps = c->video_bitrate_kbps, .gop = c->gop, .preset = c->preset,
        /* A live output is also watched by browsers (WebRTC), which all decode only constrained
         * baseline; it is encoded once for RTSP and WebRTC alike. Files keep high. */
        .baseline = c->live,
    };
    int r = drift_video_encoder_init(&out->venc, &vc, err);
    if (r < 0 || !c->audio)
        return r;
    struct drift_audio_encoder_config ac = {
        .codec = c->audio_codec, .in_rate = c->audio_rate, .in_channels = c->audio_channels,
        .bitrate_kbps = c->audio_bitrate_kbps,
    };
    return drift_audio_encoder_init(&out->aenc, &ac, err);
}

static int alloc_queues(struct drift_stream_output *out)
{
    const struct drift_stream_output_config *c = &out->cfg;
    double seconds = c->queue_seconds > 0 ? c->queue_seconds : 0.5;
    unsigned frames = (unsigned)(seconds * av_q2d(out->fps) + 0.5);
    if (frames < 1)
        frames = 1;
    int r = drift_frame_ring_init(&out->frames, frames, (size_t)c->width * c->height * 3);
    if (r < 0 || !c->audio)
        return r;
    /* The audio queue covers the same time plus two frames of slack for chunking. */
    size_t per_frame = (size_t)frame_start_sample(out, 1) + 1;
    r = drift_audio_ring_init(&out->audio, (size_t)frames * per_frame + 2 * per_frame,
                              c->audio_channels);
    if (r < 0)
        return r;
    out->audio_chunk_cap = per_frame + 1;
    out->audio_chunk = calloc(out->audio_chunk_cap * (size_t)c->audio_channels, sizeof(float));
    return out->audio_chunk ? 0 : -ENOMEM;
}

int drift_stream_output_init(struct drift_stream_output **ret_out,
                             const struct drift_stream_output_config *config,
                             struct drift_error *err)
{
    if (!ret_out || !config)
        return drift_error_set(err, -EINVAL, "%s: NULL", ret_out ? "config" : "ret_out");
    int r = check_config(config, err);
    if (r < 0)
        return r;
    struct drift_stream_output *out = calloc(1, sizeof(*out));
    if (!out)
        return drift_error_set(err, -ENOMEM, "out of memory");
    out->cfg = *config;
    out->cfg.preset = NULL; /* the encoder copies what it needs; do not keep the caller's string */
    out->fps = (AVRational){ config->fps_num, config->fps_den ? config->fps_den : 1 };
    g_mutex_init(&out->lock);
    g_cond_init(&out->cond);
    g_mutex_init(&out->sinks_lock);
    g_cond_init(&out->sinks_cond);
    out->sinks = g_ptr_array_new();
    r = open_encoders(out, config, err);
    if (r == 0 && (r = alloc_queues(out)) < 0)
        drift_error_set(err, r, "out of memory");
    if (r < 0) {
        drift_stream_output_free(out);
        return r;
    }
    int ms = config->push_timeout_ms;
    if (ms == 0)
        out->push_timeout_us = config->live ? (gint64)(2e6 / av_q2d(out->fps)) : 10 * G_USEC_PER_SEC;
    else
        out->push_timeout_us = ms < 0 ? -1 : (gint64)ms * 1000;
    out->stats.queue_capacity = out->frames.capacity;
    out->thread = g_thread_try_new("drift-encode", drift_stream_output_encoder_thread, out, NULL);
    if (!out->thread) {
        drift_stream_output_free(out);
        return drift_error_set(err, -EAGAIN, "cannot start the encoder thread");
    }
    *ret_out = out;
    return 0;
}

void drift_stream_output_free(struct drift_stream_output *out)
{
    if (!out)
        return;
    if (out->thread) {
        g_mutex_lock(&out->lock);
        out->stopping = true;
        g_cond_broadcast(&out->cond);
        g_mutex_unlock(&out->lock);
        g_thread_join(out->thread);
    }
    drift_video_encoder_free(out->venc);
    drift_audio_encoder_free(out->aenc);
    drift_frame_ring_free(&out->frames);
    drift_audio_ring_free(&out->audio);
    free(out->audio_chunk);
    g_ptr_array_free(out->sinks, TRUE);
    g_cond_clear(&out->sinks_cond);
    g_mutex_clear(&out->sinks_lock);
    g_cond_clear(&out->cond);
    g_mutex_clear(&out->lock);
    free(out);
}

/* Waits (lock held) until @ready(out) or the timeout; returns whether ready. */
static bool wait_for(struct drift_stream_output *out, bool (*ready)(struct drift_stream_output *))
{
    if (ready(out))
        return true;
    if (out->push_timeout_us < 0)
        return false;
    gint64 deadline = g_get_monotonic_time() + out->push_timeout_us;
    while (!ready(out) && !out->stopping)
        if (!g_cond_wait_until(&out->cond, &out->lock, deadline))
            break;
    return ready(out);
}

static bool frame_room(struct drift_stream_output *out)
{
    return !drift_frame_ring_full(&out->frames);
}

static bool audio_room(struct drift_stream_output *out)
{
    return drift_audio_ring_space(&out->audio) > 0;
}

int drift_stream_output_push_video(struct drift_stream_output *out, const uint8_t *rgb,
                                   int64_t frame_index)
{
    if (!out || !rgb)
        return -EINVAL;
    g_mutex_lock(&out->lock);
    int r = 0;
    if (out->finishing || out->stopping || (out->have_last && frame_index <= out->last_index)) {
        r = -EINVAL;
    } else if (out->finished) {
        r = -EIO; /* the encoder thread stopped on an error: see last_error */
    } else if (!wait_for(out, frame_room)) {
        if (out->cfg.live) {
            drift_frame_ring_drop_oldest(&out->frames);
            out->stats.frames_dropped++;
        } else {
            r = -EAGAIN;
        }
    }
    if (r == 0) {
        drift_frame_ring_push(&out->frames, rgb, frame_index);
        out->last_index = frame_index;
        out->have_last = true;
        out->stats.frames_pushed++;
        g_cond_broadcast(&out->cond);
    }
    g_mutex_unlock(&out->lock);
    return r;
}

/* Lines @sample_index up with the queue: drops what overlaps, fills a gap with silence (or
 * restarts an empty queue there). Returns how many leading frames of the chunk to skip. */
static size_t align_audio(struct drift_stream_output *out, size_t n, int64_t sample_index)
{
    struct drift_audio_ring *ring = &out->audio;
    int64_t want = drift_audio_ring_write_index(ring);
    if (sample_index < want) {
        size_t skip = (size_t)MIN((int64_t)n, want - sample_index);
        out->stats.audio_dropped_samples += skip;
        return skip;
    }
    if (sample_index > want) {
        if (ring->count == 0) {
            drift_audio_ring_reset(ring, sample_index);
        } else {
            size_t gap = (size_t)MIN((int64_t)drift_audio_ring_space(ring), sample_index - want);
            drift_audio_ring_write(ring, NULL, gap);
            out->stats.audio_silence_samples += gap;
            if (drift_audio_ring_write_index(ring) < sample_index) /* no room: restart there */
                drift_audio_ring_reset(ring, sample_index);
        }
    }
    return 0;
}

int drift_stream_output_push_audio(struct drift_stream_output *out, const float *pcm,
                                   size_t n_frames, int64_t sample_index)
{
    if (!out || !pcm || !out->aenc)
        return -EINVAL;
    size_t ch = (size_t)out->cfg.audio_channels;
    g_mutex_lock(&out->lock);
    int r = (out->finishing || out->stopping) ? -EINVAL : out->finished ? -EIO : 0;
    if (r == 0) {
        size_t skip = align_audio(out, n_frames, sample_index);
        pcm += skip * ch;
        n_frames -= skip;
    }
    while (r == 0 && n_frames > 0) {
        if (!wait_for(out, audio_room)) {
            if (!out->cfg.live) {
                r = -EAGAIN; /* what was queued stays; a retry of the same chunk drops it */
                break;
            }
            size_t drop = MIN(n_frames, out->audio.capacity);
            out->stats.audio_dropped_samples += drift_audio_ring_read(&out->audio, NULL, drop);
        }
        size_t n = MIN(n_frames, drift_audio_ring_space(&out->audio));
        drift_audio_ring_write(&out->audio, pcm, n);
        out->stats.audio_samples_pushed += n;
        pcm += n * ch;
        n_frames -= n;
        g_cond_broadcast(&out->cond);
    }
    g_mutex_unlock(&out->lock);
    return r;
}

void drift_stream_output_request_keyframe(struct drift_stream_output *out)
{
    if (!out)
        return;
    g_mutex_lock(&out->lock);
    out->force_key = true;
    g_mutex_unlock(&out->lock);
}
