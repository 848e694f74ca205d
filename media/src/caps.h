/* GstCaps for our encoded streams, shared by every appsrc we feed. */
#ifndef DRIFT_MEDIA_CAPS_H
#define DRIFT_MEDIA_CAPS_H

#include <gst/gst.h>

#include "drift/media/audio_encoder.h"
#include "drift/media/video_encoder.h"

/** H.264 Annex-B, one access unit per buffer. Transfer full. */
GstCaps *drift_caps_video(const struct drift_video_encoder *enc);

/** Opus (with OpusHead) or AAC raw with codec_data. Transfer full; NULL on a bad header. */
GstCaps *drift_caps_audio(const struct drift_audio_encoder *enc);

#endif
