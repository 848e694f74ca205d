/* A sink that feeds a pair of appsrc elements (video, optional audio) of one GStreamer pipeline:
 * the common part of RTSP medias, file writers and publishers. */
#ifndef DRIFT_MEDIA_APPSRC_SINK_H
#define DRIFT_MEDIA_APPSRC_SINK_H

#include <gst/app/gstappsrc.h>

#include "sink.h"

struct drift_stream_output;

struct drift_appsrc_sink {
    struct drift_media_sink base;
    GstAppSrc *video, *audio; /* refs held; audio NULL for video-only streams */
    bool live;
    GMutex lock;      /* offset: set by whichever streaming thread sees the first buffer */
    bool have_offset;
    gint64 offset;    /* added to stream times: the sink starts at its first keyframe */
    gulong probes[2]; /* live: the rebasing probes on the appsrc pads */
};

/**
 * Configures @video/@audio (caps, time format, live or blocking) from the output's encoders and
 * takes references. @audio may be NULL. Live sinks never block the encoder thread: their appsrc
 * queue is bounded and drops the oldest data; file sinks block (backpressure to the generator).
 */
void drift_appsrc_sink_init(struct drift_appsrc_sink *sink, struct drift_stream_output *out,
                            GstElement *video, GstElement *audio, bool live);
void drift_appsrc_sink_clear(struct drift_appsrc_sink *sink);

#endif
