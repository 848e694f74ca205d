/* WebRTC viewers (WHEP, RFC 9725): one browser or player watching a live stream output.
 *
 * A session answers the viewer's SDP offer with GStreamer's webrtcbin and sends it the output's
 * encoded packets: H.264 constrained baseline (packetization-mode=1) and Opus, the same packets
 * every other destination of the output gets (nothing is encoded per viewer). It is not
 * trickle ICE: the answer is made once every local candidate is gathered, which on loopback and
 * a LAN takes milliseconds.
 *
 * Sessions are independent of each other and of the RTSP server; the caller keeps the list of
 * them, ends them (drift_webrtc_session_free) when the viewer leaves or the output goes, and
 * polls drift_webrtc_session_check() to find those whose connection failed. */
#ifndef DRIFT_MEDIA_WEBRTC_SESSION_H
#define DRIFT_MEDIA_WEBRTC_SESSION_H

#include <stddef.h>

#include "drift/media/media.h"
#include "drift/media/stream_output.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an offer asks for, as far as a session needs it. */
struct drift_webrtc_offer {
    int video_pt;    /* the payload type of the offer's H.264 with packetization-mode=1 and a
                        baseline profile-level-id (42xxxx, constrained baseline preferred) */
    int audio_pt;    /* the payload type of its Opus at 48000 Hz, or -1: no audio m-line, or no
                        Opus in it (the viewer then gets video only) */
};

/**
 * drift_webrtc_offer_parse() - read an SDP offer (@len bytes of text, transfer none; need not
 * end with a NUL) with GstSDP.
 * @ret_offer: untouched on failure.
 * Returns 0, or -EINVAL with a message saying what is wrong: not SDP text, no video m-line, a
 * video m-line that does not receive (sendonly, inactive) or offers no H.264 the output can
 * send (the message lists what it offers).
 */
int drift_webrtc_offer_parse(const char *sdp, size_t len, struct drift_webrtc_offer *ret_offer,
                             struct drift_error *err);

struct drift_webrtc_session;

/**
 * drift_webrtc_session_init() - answer the offer @sdp (@len bytes, transfer none) for a viewer
 * of @out (a live output with Opus or no audio; transfer none: it must outlive the session) and
 * start sending once the viewer connects. Blocks until the answer is ready: ICE gathering, at
 * most @timeout_ms (0 = 5000).
 * @ret_session: transfer full (drift_webrtc_session_free()); untouched on failure.
 * @ret_answer: the SDP answer with its candidates (transfer full: g_free()); untouched on failure.
 * Returns 0, -EINVAL (the offer: see drift_webrtc_offer_parse(), or webrtcbin refused it, with
 * its reason), -ENOENT (webrtcbin or an element it needs is not installed), -ETIMEDOUT (no
 * answer in time), -EIO.
 */
int drift_webrtc_session_init(struct drift_webrtc_session **ret_session, char **ret_answer,
                              struct drift_stream_output *out, const char *sdp, size_t len,
                              int timeout_ms, struct drift_error *err);

/**
 * drift_webrtc_session_check() - 0 while the session is connecting or connected; -EPIPE with a
 * message once its connection failed or closed, or once the viewer sent no RTCP report for 20 s
 * (it went without saying so); -ETIMEDOUT when it did not connect within 30 s of its offer;
 * -EIO once its pipeline hit an error. A session that failed stays failed: free it.
 */
int drift_webrtc_session_check(struct drift_webrtc_session *s, struct drift_error *err);

/** drift_webrtc_session_free() - stop sending, close the connection and free. NULL is ignored. */
void drift_webrtc_session_free(struct drift_webrtc_session *s);

#ifdef __cplusplus
}
#endif
#endif
