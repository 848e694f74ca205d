/* drift media layer: common definitions.
 *
 * The media layer turns RGB24 frames and float PCM into H.264 + Opus/AAC, carries the packets
 * through GStreamer and serves them over RTSP, writes MP4/Matroska files and publishes to
 * external RTSP servers. It never reads wall time for timestamps: one clock per stream, derived
 * from frame and sample counts.
 *
 * Errors: functions return 0 (or a pointer) on success and a negative errno (or NULL) on
 * failure. Functions that can fail for a reason worth telling a user take an optional
 * `struct drift_error *` (<drift/error.h>, libdrift-common: the type every layer shares) that
 * receives a message naming the argument at fault, e.g. "width: 3 is odd; H.264 4:2:0 needs
 * even sizes".
 * Library code never prints.
 */
#ifndef DRIFT_MEDIA_MEDIA_H
#define DRIFT_MEDIA_MEDIA_H

#include <drift/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * drift_media_init() - initialise GStreamer once per process (thread-safe, idempotent).
 * Every constructor of the media layer calls it, so callers only need it to check plugins early.
 * @err: optional error out.
 * Returns 0, or -ENOENT when a GStreamer element the media layer needs is missing (the message
 * names it).
 */
int drift_media_init(struct drift_error *err);

#ifdef __cplusplus
}
#endif
#endif
