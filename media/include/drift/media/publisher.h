/* Publishing out: pushes a live stream output to an external RTSP server with RTSP ANNOUNCE/
 * RECORD (GStreamer's rtspclientsink), so that a media server (MediaMTX, Wowza, another drift)
 * fans it out to many viewers. One publisher per destination; any number per output. */
#ifndef DRIFT_MEDIA_PUBLISHER_H
#define DRIFT_MEDIA_PUBLISHER_H

#include <stdbool.h>

#include "drift/media/media.h"
#include "drift/media/stream_output.h"

#ifdef __cplusplus
extern "C" {
#endif

struct drift_publisher;

struct drift_publisher_config {
    const char *url; /* rtsp://HOST[:PORT]/PATH of the receiving server (copied) */
    bool tcp;        /* true: RTP interleaved over the RTSP connection; false: UDP */
    int latency_ms;  /* rtspclientsink latency; 0 = 200 */
};

/**
 * drift_publisher_init() - start publishing @out (a live output with Opus or no audio;
 * transfer none: must outlive the publisher). Connection errors are asynchronous: poll
 * drift_publisher_check().
 * Returns 0, -EINVAL (bad URL or output; message says which), -ENOENT (rtspclientsink missing).
 */
int drift_publisher_init(struct drift_publisher **ret_pub, struct drift_stream_output *out,
                         const struct drift_publisher_config *config,
                         struct drift_error *err);

/**
 * drift_publisher_check() - report the first error the publishing pipeline hit, if any
 * (e.g. the server refused or went away). Returns 0 while healthy, -EIO with a message once
 * failed; a failed publisher stays failed (free it and create a new one to retry).
 */
int drift_publisher_check(struct drift_publisher *pub, struct drift_error *err);

/** drift_publisher_free() - stop publishing (sends TEARDOWN) and free. NULL is ignored. */
void drift_publisher_free(struct drift_publisher *pub);

#ifdef __cplusplus
}
#endif
#endif
