/* The WebRTC viewers of every stream (WHEP, DESIGN.md "Web"): who watches which stream, under
 * which resource id, and how many may at once ([http] webrtc_sessions).
 *
 * The context owns the one list (transfer full: drift_viewers_free). A viewer is a media
 * session (drift/media/webrtc_session.h) attached to its stream's live output; it ends when the
 * viewer says so (DELETE), when its connection fails (drift_viewers_check, from the context's
 * one-second timer), when its stream stops being served (drift_viewers_end_stream, before the
 * output goes) or with the list. Main thread only. */
#ifndef DRIFT_DAEMON_WEBRTC_VIEWERS_H
#define DRIFT_DAEMON_WEBRTC_VIEWERS_H

#include <stddef.h>

#include <drift/error.h>

struct drift_stream_output;
struct drift_viewers;

/* A list that admits at most max viewers at once (0: none). */
struct drift_viewers *drift_viewers_new(unsigned max);
/* Ends every session. NULL is fine. */
void drift_viewers_free(struct drift_viewers *v);

/* A new viewer of stream (its name, copied) watching out (transfer none; end the stream's
 * viewers before it goes) with the SDP offer sdp (len bytes). *ret_id: the session's id, 32 hex
 * digits from getrandom (transfer full, g_free), the last part of its resource URL; *ret_answer:
 * the SDP answer (transfer full, g_free); both untouched on failure. Returns 0, -EUSERS when
 * max viewers watch already (or max is 0), -EINVAL for an offer it cannot answer (err says why),
 * or the media layer's error. Blocks until the answer is ready (ICE gathering: milliseconds). */
int drift_viewers_open(struct drift_viewers *v, const char *stream, struct drift_stream_output *out,
                       const char *sdp, size_t len, char **ret_id, char **ret_answer,
                       struct drift_error *err);
/* Ends the session id of stream: 0, or -ENOENT when there is none (ended already, or never). */
int drift_viewers_close(struct drift_viewers *v, const char *stream, const char *id);
/* Ends every session of stream (its output is about to go). */
void drift_viewers_end_stream(struct drift_viewers *v, const char *stream);
/* Ends the sessions whose connection failed or closed, saying so in the log. */
void drift_viewers_check(struct drift_viewers *v);
/* Sessions of stream now (NULL: all). */
unsigned drift_viewers_count(const struct drift_viewers *v, const char *stream);
/* The most at once. */
unsigned drift_viewers_max(const struct drift_viewers *v);

#endif
