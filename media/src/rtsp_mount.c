/* One mount per stream: a shared media factory whose pipeline is a pair of appsrc elements fed
 * by the output's encoder thread, and one destination (media_sink) per media it creates. */
#include <errno.h>
#include <string.h>

#include "rtsp_server_impl.h"
#include "stream_internal.h"

/* Lock held. */
static void media_sink_detach_locked(struct media_sink *ms)
{
    if (!ms->mount)
        return;
    drift_stream_output_detach(ms->mount->out, &ms->sink.base);
    ms->mount->medias = g_list_remove(ms->mount->medias, ms);
    ms->mount = NULL;
}

static void media_sink_detach(struct media_sink *ms)
{
    g_mutex_lock(&ms->server->lock);
    media_sink_detach_locked(ms);
    g_mutex_unlock(&ms->server->lock);
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
    struct drift_rtsp_server *s = m->server;
    GstElement *bin = gst_rtsp_media_get_element(media);
    GstElement *video = gst_bin_get_by_name(GST_BIN(bin), "video");
    GstElement *audio = gst_bin_get_by_name(GST_BIN(bin), "audio");
    struct media_sink *ms = g_new0(struct media_sink, 1);
    ms->server = s;
    g_mutex_lock(&s->lock);
    if (m->out) { /* not removed meanwhile */
        drift_appsrc_sink_init(&ms->sink, m->out, video, audio, true);
        ms->mount = m;
        m->medias = g_list_prepend(m->medias, ms);
        drift_stream_output_attach(m->out, &ms->sink.base);
    }
    g_mutex_unlock(&s->lock);
    g_object_set_data_full(G_OBJECT(media), "drift-media-sink", ms, media_sink_free);
    g_signal_connect(media, "unprepared", G_CALLBACK(on_media_unprepared), ms);
    gst_object_unref(video);
    if (audio)
        gst_object_unref(audio);
    gst_object_unref(bin);
}

static void mount_free(gpointer data)
{
    struct mount *m = data;
    g_free(m->path);
    g_free(m->name);
    g_free(m);
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

static int check_output(struct drift_stream_output *out, struct drift_error *err)
{
    if (!out)
        return drift_error_set(err, -EINVAL, "out: NULL");
    if (!drift_stream_output_is_live(out))
        return drift_error_set(err, -EINVAL, "out: an offline output cannot be served live");
    const struct drift_audio_encoder *a = drift_stream_output_audio_encoder(out);
    if (a && drift_audio_encoder_codec(a) != DRIFT_AUDIO_OPUS)
        return drift_error_set(err, -EINVAL, "out: RTSP carries Opus audio, not AAC");
    return 0;
}

static GstRTSPMediaFactory *make_factory(struct mount *m)
{
    GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
    bool audio = drift_stream_output_audio_encoder(m->out) != NULL;
    char *launch = g_strdup_printf(
        "( appsrc name=video ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        "aggregate-mode=zero-latency %s )",
        audio ? "appsrc name=audio ! rtpopuspay name=pay1 pt=97" : "");
    gst_rtsp_media_factory_set_launch(f, launch);
    g_free(launch);
    /* One media for all clients: encoded once, and every client sees the same stream clock. */
    gst_rtsp_media_factory_set_shared(f, TRUE);
    gst_rtsp_media_factory_set_latency(f, 100);
    g_signal_connect(f, "media-configure", G_CALLBACK(on_media_configure), m);
    /* The mount lives as long as the factory: a client thread may still be configuring a media
     * with it after the stream was removed. */
    g_object_set_data_full(G_OBJECT(f), "drift-mount", m, mount_free);
    return f;
}

int drift_rtsp_server_add_stream(struct drift_rtsp_server *s, const char *name,
                                 struct drift_stream_output *out, struct drift_error *err)
{
    if (!s)
        return drift_error_set(err, -EINVAL, "server: NULL");
    if (!valid_name(name))
        return drift_error_set(err, -EINVAL, "name: '%s' is not 1..64 of [A-Za-z0-9._-]",
                                     name ? name : "(null)");
    int r = check_output(out, err);
    if (r < 0)
        return r;
    if (g_hash_table_contains(s->mounts, name))
        return drift_error_set(err, -EEXIST, "name: '%s' is already served", name);
    struct mount *m = g_new0(struct mount, 1);
    m->server = s;
    m->name = g_strdup(name);
    m->path = g_strdup_printf("/%s", name);
    m->out = out;
    GstRTSPMediaFactory *f = make_factory(m);
    g_mutex_lock(&s->lock);
    g_hash_table_insert(s->mounts, m->name, m);
    g_mutex_unlock(&s->lock);
    GstRTSPMountPoints *points = gst_rtsp_server_get_mount_points(s->server);
    gst_rtsp_mount_points_add_factory(points, m->path, f); /* takes the factory */
    g_object_unref(points);
    return 0;
}

static GstRTSPFilterResult drop_session(GstRTSPSessionPool *pool, GstRTSPSession *session,
                                        gpointer data)
{
    gint matched = 0;
    return gst_rtsp_session_get_media(session, data, &matched) ? GST_RTSP_FILTER_REMOVE
                                                              : GST_RTSP_FILTER_KEEP;
}

/* Cuts every media of @m off its output, then unmounts it and drops its sessions. */
static void mount_remove(struct drift_rtsp_server *s, struct mount *m)
{
    g_mutex_lock(&s->lock);
    g_hash_table_remove(s->mounts, m->name);
    while (m->medias)
        media_sink_detach_locked(m->medias->data);
    m->out = NULL;
    g_mutex_unlock(&s->lock);
    char *path = g_strdup(m->path); /* m may go with the factory */
    GstRTSPMountPoints *points = gst_rtsp_server_get_mount_points(s->server);
    gst_rtsp_mount_points_remove_factory(points, path);
    g_object_unref(points);
    GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(s->server);
    g_list_free(gst_rtsp_session_pool_filter(pool, drop_session, path));
    g_object_unref(pool);
    g_free(path);
}

int drift_rtsp_server_remove_stream(struct drift_rtsp_server *s, const char *name)
{
    if (!s || !name)
        return -EINVAL;
    struct mount *m = g_hash_table_lookup(s->mounts, name);
    if (!m)
        return -ENOENT;
    mount_remove(s, m);
    return 0;
}

void drift_rtsp_mounts_clear(struct drift_rtsp_server *s)
{
    GList *all = g_hash_table_get_values(s->mounts);
    for (GList *l = all; l; l = l->next)
        mount_remove(s, l->data);
    g_list_free(all);
}

struct mount *drift_rtsp_mount_find(struct drift_rtsp_server *s, const char *abspath)
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

unsigned drift_rtsp_server_clients(struct drift_rtsp_server *s, const char *name)
{
    if (!s || !name)
        return 0;
    struct mount *m = g_hash_table_lookup(s->mounts, name);
    return m ? drift_rtsp_count_sessions(s, m->path) : 0;
}
