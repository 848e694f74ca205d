#include <gst/pbutils/pbutils.h>

#include "caps.h"

GstCaps *drift_caps_video(const struct drift_video_encoder *enc)
{
    int w, h;
    drift_video_encoder_size(enc, &w, &h);
    AVRational fps = drift_video_encoder_frame_rate(enc);
    return gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream",
                               "alignment", G_TYPE_STRING, "au", "profile", G_TYPE_STRING,
                               drift_video_encoder_baseline(enc) ? "constrained-baseline" : "high",
                               "width", G_TYPE_INT, w, "height", G_TYPE_INT, h, "framerate",
                               GST_TYPE_FRACTION, fps.num, fps.den, "pixel-aspect-ratio",
                               GST_TYPE_FRACTION, 1, 1, NULL);
}

GstCaps *drift_caps_audio(const struct drift_audio_encoder *enc)
{
    size_t size;
    const uint8_t *extra = drift_audio_encoder_extradata(enc, &size);
    GstBuffer *header = gst_buffer_new_memdup(extra, size);
    GstCaps *caps;
    if (drift_audio_encoder_codec(enc) == DRIFT_AUDIO_OPUS) {
        /* OpusHead carries the pre-skip; Matroska needs it as codec private data. */
        caps = gst_codec_utils_opus_create_caps_from_header(header, NULL);
    } else {
        caps = gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format",
                                   G_TYPE_STRING, "raw", "rate", G_TYPE_INT, DRIFT_AUDIO_OUT_RATE,
                                   "channels", G_TYPE_INT, drift_audio_encoder_channels(enc),
                                   "codec_data", GST_TYPE_BUFFER, header, NULL);
    }
    gst_buffer_unref(header);
    return caps;
}
