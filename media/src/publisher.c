/* appsrc pair -> parsers -> rtspclientsink (ANNOUNCE/RECORD to a remote RTSP server). */
#include <errno.h>
#include <string.h>

#include "appsrc_sink.h"
#include "drift/media/publisher.h"
#include "stream_internal.h"

struct drift_publisher {
    struct drift_appsrc_sink sink;
    struct drift_stream_output *out;
    GstElement *pipeline;
    bool attached, failed;
    char error[256];
};

static int check_args(struct drift_stream_output *out, const struct drift_publisher_config *c,
                      struct drift_error *err)
{
    if (!out || !c)
        return drift_error_set(err, -EINVAL, "%s: NULL", out ? "config" : "out");
    if (!c->url || !g_str_has_prefix(c->url, "rtsp://") || strlen(c->url) <= 7 ||
        strpbrk(c->url, " \"'!"))
        return drift_error_set(err, -EINVAL, "url: '%s' is not an rtsp:// URL",
                                     c->url ? c->url : "(null)");
    if (c->latency_ms < 0 || c->latency_ms > 10000)
        return drift_error_set(err, -EINVAL, "latency_ms: %d is outside 0..10000",
                                     c->latency_ms);
    if (!drift_stream_output_is_live(out))
        return drift_error_set(err, -EINVAL, "out: only live outputs can be published");
    const struct drift_audio_encoder *a = drift_stream_output_audio_encoder(out);
    if (a && drift_audio_encoder_codec(a) != DRIFT_AUDIO_OPUS)
        return drift_error_set(err, -EINVAL, "out: publishing carries Opus audio, not AAC");
    return 0;
}

static int build(struct drift_publisher *p, const struct drift_publisher_config *c,
                 struct drift_error *err)
{
    bool audio = drift_stream_output_audio_encoder(p->out) != NULL;
    char *desc = g_strdup_printf("rtspclientsink name=s latency=%d protocols=%s "
                                 "appsrc name=video ! h264parse ! s. %s",
                                 c->latency_ms ? c->latency_ms : 200, c->tcp ? "tcp" : "udp",
                                 audio ? "appsrc name=audio ! opusparse ! s." : "");
    GError *gerr = NULL;
    p->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!p->pipeline || gerr) {
        drift_error_set(err, -ENOENT, "cannot build the publishing pipeline: %s",
                              gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return -ENOENT;
    }
    GstElement *s = gst_bin_get_by_name(GST_BIN(p->pipeline), "s");
    g_object_set(s, "location", c->url, NULL);
    gst_object_unref(s);
    GstElement *v = gst_bin_get_by_name(GST_BIN(p->pipeline), "video");
    GstElement *a = audio ? gst_bin_get_by_name(GST_BIN(p->pipeline), "audio") : NULL;
    drift_appsrc_sink_init(&p->sink, p->out, v, a, true);
    gst_object_unref(v);
    if (a)
        gst_object_unref(a);
    if (gst_element_set_state(p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return drift_error_set(err, -EIO, "cannot connect to '%s'", c->url);
    return 0;
}

int drift_publisher_init(struct drift_publisher **ret_pub, struct drift_stream_output *out,
                         const struct drift_publisher_config *config,
                         struct drift_error *err)
{
    if (!ret_pub)
        return drift_error_set(err, -EINVAL, "ret_pub: NULL");
    int r = check_args(out, config, err);
    if (r == 0)
        r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_publisher *p = g_new0(struct drift_publisher, 1);
    p->out = out;
    r = build(p, config, err);
    if (r < 0) {
        drift_publisher_free(p);
        return r;
    }
    drift_stream_output_attach(out, &p->sink.base);
    p->attached = true;
    *ret_pub = p;
    return 0;
}

int drift_publisher_check(struct drift_publisher *p, struct drift_error *err)
{
    if (!p)
        return drift_error_set(err, -EINVAL, "pub: NULL");
    GstBus *bus = gst_element_get_bus(p->pipeline);
    GstMessage *msg;
    while (!p->failed && (msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
        GError *gerr = NULL;
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
            gst_message_parse_error(msg, &gerr, NULL);
        g_strlcpy(p->error, gerr ? gerr->message : "the server ended the session",
                  sizeof(p->error));
        g_clear_error(&gerr);
        gst_message_unref(msg);
        p->failed = true;
    }
    gst_object_unref(bus);
    if (p->failed)
        return drift_error_set(err, -EIO, "publishing failed: %s", p->error);
    return 0;
}

void drift_publisher_free(struct drift_publisher *p)
{
    if (!p)
        return;
    if (p->pipeline)
        gst_element_set_state(p->pipeline, GST_STATE_NULL);
    if (p->attached)
        drift_stream_output_detach(p->out, &p->sink.base);
    if (p->pipeline)
        gst_object_unref(p->pipeline);
    drift_appsrc_sink_clear(&p->sink);
    g_free(p);
}
