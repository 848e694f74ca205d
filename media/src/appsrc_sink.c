#include "appsrc_sink.h"
#include "caps.h"
#include "stream_internal.h"

/* Stream times start wherever the stream is when the sink joins; a live pipeline expects them
 * near its current running time, a file at 0. The offset is fixed by the sink's first buffer
 * (a keyframe), so video and audio shift together and A/V sync is kept. */
static GstClockTime rebase(struct drift_appsrc_sink *s, GstClockTime t)
{
    if (!s->have_offset) {
        GstClockTime now = 0;
        if (s->live) {
            GstClockTime rt = gst_element_get_current_running_time(s->pipeline);
            if (GST_CLOCK_TIME_IS_VALID(rt))
                now = rt;
        }
        s->offset = (gint64)now - (gint64)t;
        s->have_offset = true;
    }
    gint64 r = (gint64)t + s->offset;
    return r < 0 ? 0 : (GstClockTime)r;
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
    if (GST_BUFFER_PTS_IS_VALID(buf))
        GST_BUFFER_PTS(buf) = rebase(s, GST_BUFFER_PTS(buf));
    if (GST_BUFFER_DTS_IS_VALID(buf))
        GST_BUFFER_DTS(buf) = rebase(s, GST_BUFFER_DTS(buf));
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

static void setup(GstAppSrc *src, GstCaps *caps, bool live)
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
}

void drift_appsrc_sink_init(struct drift_appsrc_sink *sink, struct drift_stream_output *out,
                            GstElement *pipeline, GstElement *video, GstElement *audio,
                            bool live)
{
    *sink = (struct drift_appsrc_sink){ .base.ops = &appsrc_ops, .live = live };
    sink->pipeline = gst_object_ref(pipeline);
    sink->video = GST_APP_SRC(gst_object_ref(video));
    setup(sink->video, drift_caps_video(drift_stream_output_video_encoder(out)), live);
    const struct drift_audio_encoder *aenc = drift_stream_output_audio_encoder(out);
    if (audio && aenc) {
        sink->audio = GST_APP_SRC(gst_object_ref(audio));
        setup(sink->audio, drift_caps_audio(aenc), live);
    }
}

void drift_appsrc_sink_clear(struct drift_appsrc_sink *sink)
{
    if (sink->video)
        gst_object_unref(sink->video);
    if (sink->audio)
        gst_object_unref(sink->audio);
    if (sink->pipeline)
        gst_object_unref(sink->pipeline);
    sink->video = sink->audio = NULL;
    sink->pipeline = NULL;
}
