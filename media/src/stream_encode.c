/* The encoder thread of a stream output: takes one frame per tick (live: paced by the stream
 * clock, repeating the last frame when the queue is empty; offline: whenever one is queued),
 * takes that frame's audio, encodes both and hands the packets to every destination. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gst_packet.h"
#include "stream_output_impl.h"

/* Sends one packet to every destination. A destination receives nothing before its first
 * keyframe, so every client and file starts decodable. Takes @buf. */
static void dispatch(struct drift_stream_output *out, enum drift_media_kind kind, GstBuffer *buf)
{
    bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    g_mutex_lock(&out->sinks_lock);
    for (guint i = 0; i < out->sinks->len; i++) {
        struct drift_media_sink *sink = g_ptr_array_index(out->sinks, i);
        if (!sink->started && !(kind == DRIFT_MEDIA_VIDEO && key))
            continue;
        sink->started = true;
        sink->ops->push(sink, kind, gst_buffer_ref(buf));
    }
    g_mutex_unlock(&out->sinks_lock);
    gst_buffer_unref(buf);
}

/* Moves every packet the encoders have ready to the destinations. */
static int drain(struct drift_stream_output *out)
{
    AVPacket *pkt;
    int r;
    while ((r = drift_video_encoder_receive(out->venc, &pkt)) == 0) {
        bool key = pkt->flags & AV_PKT_FLAG_KEY;
        int size = pkt->size;
        GstBuffer *buf = drift_gst_buffer_from_packet(pkt, av_inv_q(out->fps));
        if (!buf)
            return -EIO;
        dispatch(out, DRIFT_MEDIA_VIDEO, buf);
        g_mutex_lock(&out->lock);
        out->stats.keyframes += key;
        out->stats.video_bytes += (uint64_t)size;
        g_mutex_unlock(&out->lock);
    }
    if (r != -EAGAIN && r != -ENODATA)
        return r;
    while (out->aenc && (r = drift_audio_encoder_receive(out->aenc, &pkt)) == 0) {
        int size = pkt->size;
        GstBuffer *buf = drift_gst_buffer_from_packet(pkt, (AVRational){ 1, DRIFT_AUDIO_OUT_RATE });
        if (!buf)
            return -EIO;
        dispatch(out, DRIFT_MEDIA_AUDIO, buf);
        g_mutex_lock(&out->lock);
        out->stats.audio_bytes += (uint64_t)size;
        g_mutex_unlock(&out->lock);
    }
    return (!out->aenc || r == -EAGAIN || r == -ENODATA) ? 0 : r;
}

static bool audio_ready(struct drift_stream_output *out, int64_t end)
{
    return drift_audio_ring_write_index(&out->audio) >= end || out->finishing || out->stopping;
}

/* Copies the audio for output frame `tick` into audio_chunk (lock held). Its length comes from
 * the output clock, S(tick + 1) - S(tick), so the audio timeline is exactly the video's however
 * frames are repeated or dropped. Its content is generator frame @gen's audio, from S(gen) on
 * (off by at most a sample where the two frames' lengths differ), or silence for a repeat; with
 * audio_on_clock it is the audio pushed for the tick's own time, S(tick) on, repeat or not.
 * Returns the frame count. */
static size_t take_audio(struct drift_stream_output *out, bool repeat, int64_t gen)
{
    struct drift_audio_ring *ring = &out->audio;
    size_t ch = (size_t)out->cfg.audio_channels;
    size_t n = (size_t)(frame_start_sample(out, out->tick + 1) - frame_start_sample(out, out->tick));
    size_t got = 0;
    if (!repeat || out->cfg.audio_on_clock) {
        int64_t first = out->cfg.audio_on_clock ? out->tick : gen;
        int64_t start = frame_start_sample(out, first), end = start + (int64_t)n;
        /* Offline outputs wait for the frame's audio: nothing may be lost in a file. */
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while (!out->cfg.live && !audio_ready(out, end))
            if (!g_cond_wait_until(&out->cond, &out->lock, deadline))
                break;
        if (ring->read_index < start) { /* audio of dropped frames, or whose time passed */
            size_t late = (size_t)MIN((int64_t)ring->count, start - ring->read_index);
            out->stats.audio_dropped_samples += drift_audio_ring_read(ring, NULL, late);
            if (ring->read_index < start)
                drift_audio_ring_reset(ring, start);
        }
        got = drift_audio_ring_read(ring, out->audio_chunk, n);
        if (got < n) /* generation's audio is late: it will be dropped as an overlap */
            drift_audio_ring_reset(ring, MAX(end, ring->read_index));
    }
    memset(out->audio_chunk + got * ch, 0, (n - got) * ch * sizeof(float));
    out->stats.audio_silence_samples += n - got;
    out->stats.audio_samples_out += n;
    return n;
}

/* Waits (lock held) for the next frame to encode. Returns 1 with *ret_repeat set, or 0 when the
 * stream ends (stop, or finish with an empty queue). */
static int next_frame(struct drift_stream_output *out, bool *ret_repeat, int64_t *ret_gen)
{
    if (out->cfg.live) {
        gint64 deadline = drift_stream_clock_deadline(&out->clock, out->tick);
        while (!out->stopping && g_get_monotonic_time() < deadline)
            g_cond_wait_until(&out->cond, &out->lock, deadline);
    } else {
        while (!out->stopping && !out->finishing && out->frames.count == 0)
            g_cond_wait(&out->cond, &out->lock);
    }
    if (out->stopping || (out->finishing && out->frames.count == 0))
        return 0;
    *ret_repeat = out->frames.count == 0;
    if (!*ret_repeat)
        *ret_gen = drift_frame_ring_pop(&out->frames);
    return 1;
}

static bool watched(struct drift_stream_output *out)
{
    g_mutex_lock(&out->sinks_lock);
    bool any = out->sinks->len > 0;
    g_mutex_unlock(&out->sinks_lock);
    return any || !out->cfg.live; /* an offline output encodes whatever happens */
}

/* Encodes the tick's frame and audio, or, with nobody attached, only moves the audio clock on
 * (the video encoder accepts the jump in pts). Returns 0 or a negative errno. */
static int encode_tick(struct drift_stream_output *out, bool key, size_t audio_frames,
                       bool *ret_watched)
{
    struct drift_error err = { 0 };
    int r = 0;
    *ret_watched = watched(out);
    if (!*ret_watched)
        return out->aenc ? drift_audio_encoder_skip(out->aenc, audio_frames) : 0;
    r = drift_video_encoder_send(out->venc, out->frames.current, 0, out->tick, key, &err);
    if (r == 0 && out->aenc)
        r = drift_audio_encoder_send(out->aenc, out->audio_chunk, audio_frames);
    if (r == 0)
        r = drain(out);
    if (r < 0) {
        g_mutex_lock(&out->lock);
        /* %.200s: the message fits with its prefix (and -Wformat-truncation agrees). */
        snprintf(out->error, sizeof(out->error), "encoding frame %lld: %.200s",
                 (long long)out->tick, err.message[0] ? err.message : strerror(-r));
        g_mutex_unlock(&out->lock);
    }
    return r;
}

/* Encodes frames until stopped or finished. Returns 0 or a negative errno (error recorded). */
static int run(struct drift_stream_output *out)
{
    g_mutex_lock(&out->lock);
    while (!out->stopping && !out->finishing && out->frames.count == 0)
        g_cond_wait(&out->cond, &out->lock);
    drift_stream_clock_start(&out->clock, out->fps.num, out->fps.den);
    int64_t gen = 0;
    bool repeat;
    while (next_frame(out, &repeat, &gen)) {
        bool key = out->force_key;
        out->force_key = false;
        size_t audio_frames = out->aenc ? take_audio(out, repeat, gen) : 0;
        out->stats.frames_repeated += repeat;
        out->stats.frames_out++; /* with its audio, in one step: the two counts always agree */
        g_cond_broadcast(&out->cond); /* room for the generator */
        g_mutex_unlock(&out->lock);
        bool encoded;
        int r = encode_tick(out, key, audio_frames, &encoded);
        g_mutex_lock(&out->lock);
        if (r < 0) {
            g_mutex_unlock(&out->lock);
            return r;
        }
        if (!encoded)
            out->force_key |= key; /* keep a request for when someone is there */
        out->stats.frames_unwatched += !encoded;
        out->stats.frames_encoded += encoded;
        out->tick++;
    }
    g_mutex_unlock(&out->lock);
    return 0;
}

/* End of stream: drain the encoders, then tell every destination. */
static void finish_encoders(struct drift_stream_output *out)
{
    bool ok = drift_video_encoder_flush(out->venc) == 0 &&
              (!out->aenc || drift_audio_encoder_flush(out->aenc) == 0) && drain(out) == 0;
    if (!ok) {
        g_mutex_lock(&out->lock);
        snprintf(out->error, sizeof(out->error), "draining the encoders failed");
        g_mutex_unlock(&out->lock);
    }
    g_mutex_lock(&out->sinks_lock);
    for (guint i = 0; i < out->sinks->len; i++) {
        struct drift_media_sink *sink = g_ptr_array_index(out->sinks, i);
        sink->ops->eos(sink);
    }
    g_mutex_unlock(&out->sinks_lock);
}

gpointer drift_stream_output_encoder_thread(gpointer data)
{
    struct drift_stream_output *out = data;
    int r = run(out);
    g_mutex_lock(&out->lock);
    bool clean = out->finishing && !out->stopping && r == 0;
    g_mutex_unlock(&out->lock);
    if (clean)
        finish_encoders(out);
    g_mutex_lock(&out->lock);
    out->finished = true;
    g_cond_broadcast(&out->cond);
    g_mutex_unlock(&out->lock);
    return NULL;
}

int drift_stream_output_finish(struct drift_stream_output *out)
{
    if (!out)
        return -EINVAL;
    g_mutex_lock(&out->lock);
    out->finishing = true;
    g_cond_broadcast(&out->cond);
    while (!out->finished)
        g_cond_wait(&out->cond, &out->lock);
    int r = out->error[0] ? -EIO : 0;
    g_mutex_unlock(&out->lock);
    return r;
}

void drift_stream_output_attach(struct drift_stream_output *out, struct drift_media_sink *sink)
{
    sink->started = false;
    g_mutex_lock(&out->sinks_lock);
    g_ptr_array_add(out->sinks, sink);
    g_cond_broadcast(&out->sinks_cond);
    g_mutex_unlock(&out->sinks_lock);
    drift_stream_output_request_keyframe(out);
}

void drift_stream_output_detach(struct drift_stream_output *out, struct drift_media_sink *sink)
{
    g_mutex_lock(&out->sinks_lock);
    g_ptr_array_remove(out->sinks, sink);
    g_mutex_unlock(&out->sinks_lock);
}

bool drift_stream_output_wait_watched(struct drift_stream_output *out, int64_t timeout_us)
{
    gint64 deadline = g_get_monotonic_time() + MAX(timeout_us, 0);
    g_mutex_lock(&out->sinks_lock);
    while (out->sinks->len == 0 && timeout_us > 0 &&
           g_cond_wait_until(&out->sinks_cond, &out->sinks_lock, deadline))
        ;
    bool watched = out->sinks->len > 0;
    g_mutex_unlock(&out->sinks_lock);
    return watched;
}

void drift_stream_output_set_clients(struct drift_stream_output *out, unsigned clients)
{
    g_mutex_lock(&out->lock);
    out->stats.clients = clients;
    g_mutex_unlock(&out->lock);
}

void drift_stream_output_get_stats(struct drift_stream_output *out,
                                   struct drift_stream_stats *ret_stats)
{
    if (!out || !ret_stats)
        return;
    g_mutex_lock(&out->lock);
    *ret_stats = out->stats;
    ret_stats->queued_frames = out->frames.count;
    g_mutex_unlock(&out->lock);
}

const char *drift_stream_output_last_error(struct drift_stream_output *out)
{
    if (!out)
        return "";
    g_mutex_lock(&out->lock); /* written by the encoder thread under the lock */
    const char *error = out->error;
    g_mutex_unlock(&out->lock);
    return error;
}

const struct drift_video_encoder *drift_stream_output_video_encoder(struct drift_stream_output *out)
{
    return out->venc;
}

const struct drift_audio_encoder *drift_stream_output_audio_encoder(struct drift_stream_output *out)
{
    return out->aenc;
}

bool drift_stream_output_is_live(const struct drift_stream_output *out)
{
    return out->cfg.live;
}
