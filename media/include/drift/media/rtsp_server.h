/* The RTSP server: serves every stream output at rtsp://ADDRESS:PORT/<name>.
 *
 * One shared GStreamer media per stream (all clients get the same packets, encoded once), H.264
 * (payload 96) + Opus (payload 97), over UDP or TCP-interleaved as the client asks. The media is
 * built when the first client asks for the stream and torn down after the last one leaves. A
 * joining client makes the encoder emit an IDR frame (with SPS/PPS in front) at once, and a new
 * media gets nothing before a keyframe, so players start on a decodable picture.
 *
 * The server runs on a GLib main context (the daemon's main loop): all functions must be called
 * from the thread that runs that context, except where noted.
 */
#ifndef DRIFT_MEDIA_RTSP_SERVER_H
#define DRIFT_MEDIA_RTSP_SERVER_H

#include <gio/gio.h>
#include <glib.h>

#include "drift/media/media.h"
#include "drift/media/stream_output.h"

#ifdef __cplusplus
extern "C" {
#endif

struct drift_rtsp_server;

/* Who may watch: the server asks check() for every request (OPTIONS included), with the user
 * and password of the request's Basic Authorization (both NULL when it has none, or not
 * Basic) and the client's IP address (text). check returns 0 to let the request through,
 * -EACCES to answer 401 with "WWW-Authenticate: Basic realm=\"drift\"", -EAGAIN to answer 503
 * (the address is refused for a while). It runs on gst-rtsp-server's client threads, not on
 * the server's context: it must be thread-safe. Only Basic is offered, as checking Digest
 * needs the password or a digest of it, which the caller's password hashes do not keep. */
struct drift_rtsp_auth {
    int (*check)(void *userdata, const char *user, const char *password, const char *peer);
    void *userdata;
};

struct drift_rtsp_server_config {
    const char *address;   /* listen address; NULL = "127.0.0.1" */
    int port;              /* 0 = any free port (see drift_rtsp_server_port()); 1..65535 */
    GMainContext *context; /* transfer none; NULL = the global default context */
    unsigned session_timeout_s; /* sessions of vanished UDP clients expire; 0 = 60 */
    const struct drift_rtsp_auth *auth; /* copied; NULL = everyone may watch */
    /* Serve RTSPS (RTSP over TLS; URLs rtsps://) with this certificate and its key (transfer
     * none: the server takes a reference); NULL = plain RTSP. */
    GTlsCertificate *tls_certificate;
};

/**
 * drift_rtsp_server_init() - bind the listening socket and attach the server to the context.
 * @ret_server: receives the server (transfer full: drift_rtsp_server_free()).
 * Returns 0, -EINVAL (bad address or port), -EADDRINUSE (the message says which), -ENOENT (a
 * GStreamer plugin is missing), -ENOMEM.
 */
int drift_rtsp_server_init(struct drift_rtsp_server **ret_server,
                           const struct drift_rtsp_server_config *config,
                           struct drift_error *err);

/**
 * drift_rtsp_server_free() - disconnect every client, stop listening and free the server. The
 * stream outputs are not freed. NULL is ignored.
 */
void drift_rtsp_server_free(struct drift_rtsp_server *server);

/** drift_rtsp_server_port() - the bound TCP port (useful after port 0). */
int drift_rtsp_server_port(const struct drift_rtsp_server *server);

/**
 * drift_rtsp_server_add_stream() - serve @out at /@name.
 * @name: [A-Za-z0-9._-]{1,64} (copied).
 * @out: must be a live output with Opus audio or no audio (transfer none: it must stay valid
 *       until drift_rtsp_server_remove_stream() or drift_rtsp_server_free()).
 * Returns 0, -EINVAL (bad name, offline output, AAC audio), -EEXIST (name taken).
 */
int drift_rtsp_server_add_stream(struct drift_rtsp_server *server, const char *name,
                                 struct drift_stream_output *out, struct drift_error *err);

/**
 * drift_rtsp_server_remove_stream() - stop serving /@name: its clients are disconnected and its
 * media torn down; afterwards the server no longer touches the output. Returns 0 or -ENOENT.
 */
int drift_rtsp_server_remove_stream(struct drift_rtsp_server *server, const char *name);

/**
 * drift_rtsp_server_url() - "rtsp://ADDRESS:PORT/NAME" ("rtsps://" with TLS) (transfer full: free()), NULL on ENOMEM.
 */
char *drift_rtsp_server_url(const struct drift_rtsp_server *server, const char *name);

/**
 * drift_rtsp_server_clients() - RTSP sessions currently playing /@name (counted now; the
 * output's stats.clients is refreshed twice a second).
 */
unsigned drift_rtsp_server_clients(struct drift_rtsp_server *server, const char *name);

#ifdef __cplusplus
}
#endif
#endif
