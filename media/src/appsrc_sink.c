#include "appsrc_sink.h"
#include "caps.h"
#include "stream_internal.h"

/* Stream times start wherever the stream is when the sink joins; a file expects them from 0, a
 * live pipeline near its running time. The offset is fixed by the sink's first buffer (a
 * keyframe), so video and audio shift together and A/V sync is kept. */
static GstClockTime rebase(struct drift_appsrc_sink *s, GstClockTime t, GstClockTime now)
{
    g_mutex_lock(&s->lock);
    if (!s->have_offset) {
        s->offset = (gint64)now - (gint64)t;
        s->have_offset = true;
    }
    gint64 r = (gint64)t + s->offset;
    g_mutex_unlock(&s->lock);
    return r < 0 ? 0 : (GstClockTime)r;
}

static void rebase_buffer(struct drift_appsrc_sink *s, GstBuffer *buf, GstClockTime now)
{
    if (GST_BUFFER_PTS_IS_VALID(buf))
        GST_BUFFER_PTS(buf) = rebase(s, GST_BUFFER_PTS(buf), now);
    if (GST_BUFFER_DTS_IS_VALID(buf))
        GST_BUFFER_DTS(buf) = rebase(s, GST_BUFFER_DTS(buf), now);
}

/* Live pipelines: rebase as the buffer leaves the appsrc, in its streaming thread. Only then is
 * the running time sure to be valid: when the buffer is pushed the pipeline may still be going to
 * PLAYING with no base time yet, and a buffer stamped with the clock's absolute time would make
 * the sinks wait for it for as long as the machine has been up. */
static GstPadProbeReturn on_live_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct drift_appsrc_sink *s = data;
    GstElement *src = GST_ELEMENT(gst_pad_get_parent(pad));
    GstClockTime now = 0;
    if (src && GST_STATE(src) == GST_STATE_PLAYING && GST_ELEMENT_CAST(src)->base_time != 0) {
        now = gst_element_get_current_running_time(src);
        if (!GST_CLOCK_TIME_IS_VALID(now))
            now = 0;
    }
    if (src)
        gst_object_unref(src);
    GstBuffer *buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    rebase_buffer(s, buf, now);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    return GST_PAD_PROBE_OK;
}

static void appsrc_push(struct drift_media_sink *base, enum drift_media_kind kind, GstBuffer *buf)
{
    struct drift_appsrc_sink *s = (struct drift_appsrc_sink *)base;
    GstAppSrc *src = kind == DRIFT_MEDIA_VIDEO ? s->video : s->audio;
    if (!src) {
        gst_buffer_unref(buf);
        return;
    }
    buf = gst_buffer_make_writable(buf); /* shares the memory, copies only the metadata */
    if (!s->live)
        rebase_buffer(s, buf, 0);
    gst_app_src_push_buffer(src, buf);
}

static void appsrc_eos(struct drift_media_sink *base)
{
    struct drift_appsrc_sink *s = (struct drift_appsrc_sink *)base;
    gst_app_src_end_of_stream(s->video);
    if (s->audio)
        gst_app_src_end_of_stream(s->audio);
}

static const struct drift_media_sink_ops appsrc_ops = {
    .push = appsrc_push,
    .eos = appsrc_eos,
};

static gulong setup(struct drift_appsrc_sink *sink, GstAppSrc *src, GstCaps *caps, bool live)
{
    gst_app_src_set_caps(src, caps);
    gst_caps_unref(caps);
    gst_app_src_set_stream_type(src, GST_APP_STREAM_TYPE_STREAM);
    g_object_set(src, "format", GST_FORMAT_TIME, "is-live", (gboolean)live, "do-timestamp",
                 FALSE, NULL);
    gst_app_src_set_max_bytes(src, 0);
    /* Two seconds in flight at most. Live: drop the oldest rather than stall the clock (a client
     * that misses data recovers at the next keyframe, at most a second away). Files: block, which
     * becomes backpressure on the generator through the bounded queue. */
    gst_app_src_set_max_time(src, 2 * GST_SECOND);
    gst_app_src_set_leaky_type(src, live ? GST_APP_LEAKY_TYPE_DOWNSTREAM : GST_APP_LEAKY_TYPE_NONE);
    g_object_set(src, "block", (gboolean)!live, NULL);
    if (!live)
        return 0;
    GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(src), "src");
    gulong id = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_live_buffer, sink, NULL);
    gst_object_unref(pad);
    return id;
}

void drift_appsrc_sink_init(struct drift_appsrc_sink *sink, struct drift_stream_output *out,
                            GstElement *video, GstElement *audio, bool live)
{
    *sink = (struct drift_appsrc_sink){ .base.ops = &appsrc_ops, .live = live };
    g_mutex_init(&sink->lock);
    sink->video = GST_APP_SRC(gst_object_ref(video));
    sink->probes[0] = setup(sink, sink->video,
                            drift_caps_video(drift_stream_output_video_encoder(out)), live);
    const struct drift_audio_encoder *aenc = drift_stream_output_audio_encoder(out);
    if (audio && aenc) {
        sink->audio = GST_APP_SRC(gst_object_ref(audio));
        sink->probes[1] = setup(sink, sink->audio, drift_caps_audio(aenc), live);
    }
}

static void remove_probe(GstAppSrc *src, gulong id)
{
    if (!src || !id)
        return;
    GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(src), "src");
    gst_pad_remove_probe(pad, id);
    gst_object_unref(pad);
}

void drift_appsrc_sink_clear(struct drift_appsrc_sink *sink)
{
    /* The pipeline may outlive us (an RTSP media finalizes later): no probe may point here. */
    remove_probe(sink->video, sink->probes[0]);
    remove_probe(sink->audio, sink->probes[1]);
    if (sink->video)
        gst_object_unref(sink->video);
    if (sink->audio)
        gst_object_unref(sink->audio);
    sink->video = sink->audio = NULL;
    if (sink->base.ops)
        g_mutex_clear(&sink->lock);
    sink->base.ops = NULL;
}
