/* What the media layer's own parts (RTSP server, file writer, publisher) use of an output. */
#ifndef DRIFT_MEDIA_STREAM_INTERNAL_H
#define DRIFT_MEDIA_STREAM_INTERNAL_H

#include "drift/media/stream_output.h"
#include "drift/media/video_encoder.h"
#include "sink.h"

/* Attach @sink (transfer none: it must stay valid until detached). Nothing reaches it before the
 * next keyframe, which is requested at once. Thread-safe. */
void drift_stream_output_attach(struct drift_stream_output *out, struct drift_media_sink *sink);

/* Detach @sink; once this returns the encoder thread no longer touches it. Idempotent. */
void drift_stream_output_detach(struct drift_stream_output *out, struct drift_media_sink *sink);

void drift_stream_output_set_clients(struct drift_stream_output *out, unsigned clients);

/* The encoders, for caps (read-only, valid for the output's life). Audio NULL when none. */
const struct drift_video_encoder *drift_stream_output_video_encoder(struct drift_stream_output *out);
const struct drift_audio_encoder *drift_stream_output_audio_encoder(struct drift_stream_output *out);

bool drift_stream_output_is_live(const struct drift_stream_output *out);

#endif
