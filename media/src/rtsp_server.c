/* The RTSP server: listening socket, client signals (keyframe on PLAY, session timeout), and a
 * timer that expires dead sessions and refreshes the client counters. Mounts: rtsp_mount.c. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gst/rtsp-server/rtsp-server.h>

#include "rtsp_server_impl.h"
#include "stream_internal.h"

/* A client started playing a running media: give it a keyframe now rather than within a GOP. */
static void on_play_request(GstRTSPClient *client, GstRTSPContext *ctx, gpointer data)
{
    struct drift_rtsp_server *s = data;
    if (!ctx->uri)
        return;
    g_mutex_lock(&s->lock);
    struct mount *m = drift_rtsp_mount_find(s, ctx->uri->abspath);
    if (m && m->out)
        drift_stream_output_request_keyframe(m->out);
    g_mutex_unlock(&s->lock);
}

static void on_new_session(GstRTSPClient *client, GstRTSPSession *session, gpointer data)
{
    struct drift_rtsp_server *s = data;
    gst_rtsp_session_set_timeout(session, s->session_timeout_s);
}

static void on_client_connected(GstRTSPServer *gst_server, GstRTSPClient *client, gpointer data)
{
    g_signal_connect(client, "play-request", G_CALLBACK(on_play_request), data);
    g_signal_connect(client, "new-session", G_CALLBACK(on_new_session), data);
}

struct count {
    const char *path;
    unsigned n;
};

static GstRTSPFilterResult count_session(GstRTSPSessionPool *pool, GstRTSPSession *session,
                                         gpointer data)
{
    struct count *c = data;
    gint matched = 0;
    if (gst_rtsp_session_get_media(session, c->path, &matched))
        c->n++;
    return GST_RTSP_FILTER_KEEP;
}

unsigned drift_rtsp_count_sessions(struct drift_rtsp_server *s, const char *path)
{
    GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(s->server);
    struct count c = { .path = path };
    GList *l = gst_rtsp_session_pool_filter(pool, count_session, &c);
    g_list_free(l);
    g_object_unref(pool);
    return c.n;
}

/* Twice a second: expire sessions of clients that vanished, refresh the client counters. The
 * mount table only changes on this (main) context, so it is read here without the lock. */
static gboolean on_timer(gpointer data)
{
    struct drift_rtsp_server *s = data;
    GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(s->server);
    gst_rtsp_session_pool_cleanup(pool);
    g_object_unref(pool);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, s->mounts);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        struct mount *m = value;
        drift_stream_output_set_clients(m->out, drift_rtsp_count_sessions(s, m->path));
    }
    return G_SOURCE_CONTINUE;
}

static GSource *listen_source(struct drift_rtsp_server *s, struct drift_error *err)
{
    GError *gerr = NULL;
    GSource *src = gst_rtsp_server_create_source(s->server, NULL, &gerr);
    if (!src) {
        int code = gerr && g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
                       ? -EADDRINUSE : -EINVAL;
        drift_error_set(err, code, "cannot listen on %s:%d: %s", s->address, s->port,
                              gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return NULL;
    }
    g_source_attach(src, s->context);
    return src;
}

int drift_rtsp_server_init(struct drift_rtsp_server **ret_server,
                           const struct drift_rtsp_server_config *config,
                           struct drift_error *err)
{
    if (!ret_server || !config)
        return drift_error_set(err, -EINVAL, "%s: NULL", ret_server ? "config" : "ret_server");
    if (config->port < 0 || config->port > 65535)
        return drift_error_set(err, -EINVAL, "port: %d is outside 0..65535", config->port);
    const char *address = config->address ? config->address : "127.0.0.1";
    if (!g_hostname_is_ip_address(address))
        return drift_error_set(err, -EINVAL, "address: '%s' is not an IP address", address);
    int r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_rtsp_server *s = g_new0(struct drift_rtsp_server, 1);
    s->address = g_strdup(address);
    s->port = config->port;
    s->session_timeout_s = config->session_timeout_s ? config->session_timeout_s : 60;
    s->context = config->context ? g_main_context_ref(config->context) : NULL;
    g_mutex_init(&s->lock);
    s->mounts = g_hash_table_new(g_str_hash, g_str_equal);
    s->server = gst_rtsp_server_new();
    char service[16];
    snprintf(service, sizeof(service), "%d", config->port);
    gst_rtsp_server_set_address(s->server, address);
    gst_rtsp_server_set_service(s->server, service);
    g_signal_connect(s->server, "client-connected", G_CALLBACK(on_client_connected), s);
    if (config->auth || config->tls_certificate) {
        /* GstRTSPAuth's connect check is what turns a connection into TLS. */
        GstRTSPAuth *auth = drift_rtsp_auth_new(config->auth);
        if (config->tls_certificate)
            gst_rtsp_auth_set_tls_certificate(auth, config->tls_certificate);
        s->tls = config->tls_certificate != NULL;
        gst_rtsp_server_set_auth(s->server, auth);
        g_object_unref(auth);
    }
    s->listen = listen_source(s, err);
    if (!s->listen) {
        r = err ? err->code : -EINVAL;
        drift_rtsp_server_free(s);
        return r;
    }
    s->port = gst_rtsp_server_get_bound_port(s->server);
    s->timer = g_timeout_source_new(500);
    g_source_set_callback(s->timer, on_timer, s, NULL);
    g_source_attach(s->timer, s->context);
    *ret_server = s;
    return 0;
}

static GstRTSPFilterResult close_client(GstRTSPServer *server, GstRTSPClient *client, gpointer d)
{
    return GST_RTSP_FILTER_REMOVE;
}

void drift_rtsp_server_free(struct drift_rtsp_server *s)
{
    if (!s)
        return;
    if (s->timer) {
        g_source_destroy(s->timer);
        g_source_unref(s->timer);
    }
    g_list_free(gst_rtsp_server_client_filter(s->server, close_client, NULL));
    drift_rtsp_mounts_clear(s);
    g_hash_table_destroy(s->mounts);
    if (s->listen) {
        g_source_destroy(s->listen);
        g_source_unref(s->listen);
    }
    g_object_unref(s->server);
    if (s->context)
        g_main_context_unref(s->context);
    g_free(s->address);
    g_mutex_clear(&s->lock);
    g_free(s);
}

int drift_rtsp_server_port(const struct drift_rtsp_server *server)
{
    return server->port;
}

char *drift_rtsp_server_url(const struct drift_rtsp_server *s, const char *name)
{
    char *url = NULL;
    bool v6 = strchr(s->address, ':') != NULL;
    if (asprintf(&url, "%s://%s%s%s:%d/%s", s->tls ? "rtsps" : "rtsp", v6 ? "[" : "", s->address,
                 v6 ? "]" : "", s->port, name) < 0)
        return NULL;
    return url;
}
