/* The RTSP server's state, shared by rtsp_server.c (listening, clients, counters) and
 * rtsp_mount.c (one mount per stream, one destination per GStreamer media).
 *
 * Threads: the public functions and the timer run on the server's main context; gst-rtsp-server
 * handles clients on its own pool threads, which configure and tear down medias and send PLAY.
 * `lock` serialises what both sides touch: the mount table, each mount's media list, and the
 * links between them. It is never held while calling into gst-rtsp-server. */
#ifndef DRIFT_MEDIA_RTSP_SERVER_IMPL_H
#define DRIFT_MEDIA_RTSP_SERVER_IMPL_H

#include <gst/rtsp-server/rtsp-server.h>

#include "appsrc_sink.h"
#include "drift/media/rtsp_server.h"

struct mount {
    struct drift_rtsp_server *server;
    char *name, *path;
    struct drift_stream_output *out; /* NULL once removed (the struct lives on with its factory) */
    GList *medias;                   /* struct media_sink * */
};

/* The destination for one GStreamer media (one per stream while anyone watches). */
struct media_sink {
    struct drift_appsrc_sink sink;
    struct drift_rtsp_server *server;
    struct mount *mount; /* NULL once detached */
};

struct drift_rtsp_server {
    GstRTSPServer *server;
    GMainContext *context;
    GSource *listen, *timer;
    char *address;
    int port;
    bool tls;                 /* RTSPS */
    unsigned session_timeout_s;
    GMutex lock;
    GHashTable *mounts; /* name -> struct mount * (owned by their factories) */
};

/* A GstRTSPAuth that asks auth->check (copied; NULL: everyone is let in) for every request
 * (rtsp_auth.c). Transfer full (g_object_unref). */
GstRTSPAuth *drift_rtsp_auth_new(const struct drift_rtsp_auth *auth);

/* Removes every mount (server shutdown); main context. */
void drift_rtsp_mounts_clear(struct drift_rtsp_server *s);

/* The mount serving @abspath, or NULL; lock held. */
struct mount *drift_rtsp_mount_find(struct drift_rtsp_server *s, const char *abspath);

/* RTSP sessions that have media at @path. */
unsigned drift_rtsp_count_sessions(struct drift_rtsp_server *s, const char *path);

#endif
