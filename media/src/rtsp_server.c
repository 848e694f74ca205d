/* gst-rtsp-server around stream outputs: one shared media factory per stream whose pipeline is a
 * pair of appsrc elements fed by the output's encoder thread (see appsrc_sink.c). */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gst/rtsp-server/rtsp-server.h>

#include "appsrc_sink.h"
#include "drift/media/rtsp_server.h"
#include "stream_internal.h"

struct mount;

/* The destination for one GStreamer media (one per stream while anyone watches). */
struct media_sink {
    struct drift_appsrc_sink sink;
    struct mount *mount; /* NULL once the mount is gone */
};

struct mount {
    struct drift_rtsp_server *server;
    char *name, *path;
    struct drift_stream_output *out;
    GstRTSPMediaFactory *factory;
    GList *medias; /* struct media_sink * */
};

struct drift_rtsp_server {
    GstRTSPServer *server;
    GMainContext *context;
    GSource *listen, *timer;
    char *address;
    int port;
    unsigned session_timeout_s;
    GHashTable *mounts; /* name -> struct mount *, owned */
};

static void media_sink_detach(struct media_sink *ms)
{
    if (!ms->mount)
        return;
    drift_stream_output_detach(ms->mount->out, &ms->sink.base);
    ms->mount->medias = g_list_remove(ms->mount->medias, ms);
    ms->mount = NULL;
}

static void media_sink_free(gpointer data)
{
    struct media_sink *ms = data;
    media_sink_detach(ms);
    drift_appsrc_sink_clear(&ms->sink);
    g_free(ms);
}

static void on_media_unprepared(GstRTSPMedia *media, gpointer data)
{
    media_sink_detach(data); /* freed with the media */
}

static void on_media_configure(GstRTSPMediaFactory *factory, GstRTSPMedia *media, gpointer data)
{
    struct mount *m = data;
    GstElement *bin = gst_rtsp_media_get_element(media);
    GstElement *video = gst_bin_get_by_name(GST_BIN(bin), "video");
    GstElement *audio = gst_bin_get_by_name(GST_BIN(bin), "audio");
    struct media_sink *ms = g_new0(struct media_sink, 1);
    /* The appsrc itself answers "what is the running time now" for the rebase. */
    drift_appsrc_sink_init(&ms->sink, m->out, video, video, audio, true);
    ms->mount = m;
    m->medias = g_list_prepend(m->medias, ms);
    g_object_set_data_full(G_OBJECT(media), "drift-media-sink", ms, media_sink_free);
    g_signal_connect(media, "unprepared", G_CALLBACK(on_media_unprepared), ms);
    drift_stream_output_attach(m->out, &ms->sink.base);
    gst_object_unref(video);
    if (audio)
        gst_object_unref(audio);
    gst_object_unref(bin);
}

static struct mount *find_mount_by_path(struct drift_rtsp_server *s, const char *abspath)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, s->mounts);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        struct mount *m = value;
        size_t n = strlen(m->path);
        if (strncmp(abspath, m->path, n) == 0 && (abspath[n] == '\0' || abspath[n] == '/'))
            return m;
    }
    return NULL;
}

/* A client started playing a running media: give it a keyframe now rather than within a GOP. */
static void on_play_request(GstRTSPClient *client, GstRTSPContext *ctx, gpointer data)
{
    struct mount *m = ctx->uri ? find_mount_by_path(data, ctx->uri->abspath) : NULL;
    if (m)
        drift_stream_output_request_keyframe(m->out);
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

static unsigned count_clients(struct drift_rtsp_server *s, const char *path)
{
    GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(s->server);
    struct count c = { .path = path };
    GList *l = gst_rtsp_session_pool_filter(pool, count_session, &c);
    g_list_free(l);
    g_object_unref(pool);
    return c.n;
}

/* Twice a second: expire sessions of clients that vanished, refresh the client counters. */
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
        drift_stream_output_set_clients(m->out, count_clients(s, m->path));
    }
    return G_SOURCE_CONTINUE;
}

static GSource *listen_source(struct drift_rtsp_server *s, struct drift_media_error *err)
{
    GError *gerr = NULL;
    GSource *src = gst_rtsp_server_create_source(s->server, NULL, &gerr);
    if (!src) {
        int code = gerr && g_error_matches(gerr, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
                       ? -EADDRINUSE : -EINVAL;
        drift_media_error_set(err, code, "cannot listen on %s:%d: %s", s->address, s->port,
                              gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return NULL;
    }
    g_source_attach(src, s->context);
    return src;
}

static void mount_free(gpointer data);

int drift_rtsp_server_init(struct drift_rtsp_server **ret_server,
                           const struct drift_rtsp_server_config *config,
                           struct drift_media_error *err)
{
    if (!ret_server || !config)
        return drift_media_error_set(err, -EINVAL, "%s: NULL", ret_server ? "config" : "ret_server");
    if (config->port < 0 || config->port > 65535)
        return drift_media_error_set(err, -EINVAL, "port: %d is outside 0..65535", config->port);
    const char *address = config->address ? config->address : "127.0.0.1";
    if (!g_hostname_is_ip_address(address))
        return drift_media_error_set(err, -EINVAL, "address: '%s' is not an IP address", address);
    int r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_rtsp_server *s = g_new0(struct drift_rtsp_server, 1);
    s->address = g_strdup(address);
    s->port = config->port;
    s->session_timeout_s = config->session_timeout_s ? config->session_timeout_s : 60;
    s->context = config->context ? g_main_context_ref(config->context) : NULL;
    s->mounts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, mount_free);
    s->server = gst_rtsp_server_new();
    char service[16];
    snprintf(service, sizeof(service), "%d", config->port);
    gst_rtsp_server_set_address(s->server, address);
    gst_rtsp_server_set_service(s->server, service);
    g_signal_connect(s->server, "client-connected", G_CALLBACK(on_client_connected), s);
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
    g_hash_table_destroy(s->mounts);
    if (s->listen) {
        g_source_destroy(s->listen);
        g_source_unref(s->listen);
    }
    g_object_unref(s->server);
    if (s->context)
        g_main_context_unref(s->context);
    g_free(s->address);
    g_free(s);
}

int drift_rtsp_server_port(const struct drift_rtsp_server *server)
{
    return server->port;
}

static bool valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("._-", name[i]))
            return false;
    return true;
}

static int check_output(struct drift_stream_output *out, struct drift_media_error *err)
{
    if (!out)
        return drift_media_error_set(err, -EINVAL, "out: NULL");
    if (!drift_stream_output_is_live(out))
        return drift_media_error_set(err, -EINVAL, "out: an offline output cannot be served live");
    const struct drift_audio_encoder *a = drift_stream_output_audio_encoder(out);
    if (a && drift_audio_encoder_codec(a) != DRIFT_AUDIO_OPUS)
        return drift_media_error_set(err, -EINVAL, "out: RTSP carries Opus audio, not AAC");
    return 0;
}

int drift_rtsp_server_add_stream(struct drift_rtsp_server *s, const char *name,
                                 struct drift_stream_output *out, struct drift_media_error *err)
{
    if (!s)
        return drift_media_error_set(err, -EINVAL, "server: NULL");
    if (!valid_name(name))
        return drift_media_error_set(err, -EINVAL, "name: '%s' is not 1..64 of [A-Za-z0-9._-]",
                                     name ? name : "(null)");
    int r = check_output(out, err);
    if (r < 0)
        return r;
    if (g_hash_table_contains(s->mounts, name))
        return drift_media_error_set(err, -EEXIST, "name: '%s' is already served", name);
    struct mount *m = g_new0(struct mount, 1);
    m->server = s;
    m->name = g_strdup(name);
    m->path = g_strdup_printf("/%s", name);
    m->out = out;
    m->factory = gst_rtsp_media_factory_new();
    bool audio = drift_stream_output_audio_encoder(out) != NULL;
    char *launch = g_strdup_printf(
        "( appsrc name=video ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        "aggregate-mode=zero-latency %s )",
        audio ? "appsrc name=audio ! rtpopuspay name=pay1 pt=97" : "");
    gst_rtsp_media_factory_set_launch(m->factory, launch);
    g_free(launch);
    /* One media for all clients: encoded once, and every client sees the same stream clock. */
    gst_rtsp_media_factory_set_shared(m->factory, TRUE);
    gst_rtsp_media_factory_set_latency(m->factory, 100);
    g_signal_connect(m->factory, "media-configure", G_CALLBACK(on_media_configure), m);
    GstRTSPMountPoints *points = gst_rtsp_server_get_mount_points(s->server);
    gst_rtsp_mount_points_add_factory(points, m->path, g_object_ref(m->factory));
    g_object_unref(points);
    g_hash_table_insert(s->mounts, m->name, m);
    return 0;
}

static GstRTSPFilterResult drop_session(GstRTSPSessionPool *pool, GstRTSPSession *session,
                                        gpointer data)
{
    gint matched = 0;
    return gst_rtsp_session_get_media(session, data, &matched) ? GST_RTSP_FILTER_REMOVE
                                                              : GST_RTSP_FILTER_KEEP;
}

/* Unmounts, drops the stream's sessions and cuts every media off the output. */
static void mount_free(gpointer data)
{
    struct mount *m = data;
    struct drift_rtsp_server *s = m->server;
    GstRTSPMountPoints *points = gst_rtsp_server_get_mount_points(s->server);
    gst_rtsp_mount_points_remove_factory(points, m->path);
    g_object_unref(points);
    GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(s->server);
    g_list_free(gst_rtsp_session_pool_filter(pool, drop_session, m->path));
    g_object_unref(pool);
    while (m->medias)
        media_sink_detach(m->medias->data);
    g_signal_handlers_disconnect_by_data(m->factory, m);
    g_object_unref(m->factory);
    g_free(m->path);
    g_free(m->name);
    g_free(m);
}

int drift_rtsp_server_remove_stream(struct drift_rtsp_server *s, const char *name)
{
    if (!s || !name)
        return -EINVAL;
    return g_hash_table_remove(s->mounts, name) ? 0 : -ENOENT;
}

char *drift_rtsp_server_url(const struct drift_rtsp_server *s, const char *name)
{
    char *url = NULL;
    bool v6 = strchr(s->address, ':') != NULL;
    if (asprintf(&url, "rtsp://%s%s%s:%d/%s", v6 ? "[" : "", s->address, v6 ? "]" : "", s->port,
                 name) < 0)
        return NULL;
    return url;
}

unsigned drift_rtsp_server_clients(struct drift_rtsp_server *s, const char *name)
{
    struct mount *m = g_hash_table_lookup(s->mounts, name);
    return m ? count_clients(s, m->path) : 0;
}
