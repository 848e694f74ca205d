/* Where a stream output sends its encoded buffers: an RTSP media, a file, a publisher.
 * A small method table so the stream output does not know which. */
#ifndef DRIFT_MEDIA_SINK_H
#define DRIFT_MEDIA_SINK_H

#include <stdbool.h>

#include <gst/gst.h>

enum drift_media_kind { DRIFT_MEDIA_VIDEO, DRIFT_MEDIA_AUDIO };

struct drift_media_sink;

struct drift_media_sink_ops {
    /* Takes @buf (transfer full). Called from the encoder thread, stream lock held: must not
     * block for long. */
    void (*push)(struct drift_media_sink *sink, enum drift_media_kind kind, GstBuffer *buf);
    /* End of stream: no push follows. */
    void (*eos)(struct drift_media_sink *sink);
};

struct drift_media_sink {
    const struct drift_media_sink_ops *ops;
    bool started; /* set by the stream output once a keyframe went out: nothing before it does */
};

#endif
