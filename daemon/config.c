/* Reading driftd.conf and its drop-ins; see config.h.
 *
 * GKeyFile parses, but tells no line numbers, so a small scanner over the same text finds the
 * line of a section or key for every message. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "log.h"

#define STREAM_PREFIX "stream."

struct driftd_config *driftd_config_new(const char *default_model, const char *default_audio_model)
{
    struct driftd_config *cfg = g_new0(struct driftd_config, 1);
    cfg->state_dir = NULL; /* not set: drift_state_dir() picks */
    cfg->max_streams = 8;
    cfg->private_socket = true;
    cfg->admission_strict = true;
    cfg->rtsp_address = g_strdup("127.0.0.1");
    cfg->rtsp_port = 8554;
    cfg->http_address = g_strdup("127.0.0.1");
    cfg->http_port = 8555;
    cfg->http_webrtc_sessions = 16;
    cfg->jobs_concurrency = 1;
    cfg->jobs_keep_days = 30;
    cfg->jobs_nice = 10;
    cfg->streams = g_ptr_array_new();
    cfg->default_model = g_strdup(default_model);
    cfg->default_audio_model = g_strdup(default_audio_model);
    return cfg;
}

static void stream_config_free(struct drift_stream_config *sc)
{
    drift_settings_done(&sc->settings);
    g_free(sc->name);
    g_free(sc);
}

void driftd_config_free(struct driftd_config *cfg)
{
    if (!cfg)
        return;
    for (guint i = 0; i < cfg->streams->len; i++)
        stream_config_free(cfg->streams->pdata[i]);
    g_ptr_array_unref(cfg->streams);
    g_free(cfg->state_dir);
    g_free(cfg->rtsp_address);
    g_free(cfg->http_address);
    g_free(cfg->access_users);
    g_free(cfg->tls_certificate);
    g_free(cfg->tls_key);
    g_free(cfg->default_model);
    g_free(cfg->default_audio_model);
    g_free(cfg);
}

const struct drift_stream_config *driftd_config_stream(const struct driftd_config *cfg,
                                                      const char *name)
{
    for (guint i = 0; i < cfg->streams->len; i++) {
        struct drift_stream_config *sc = cfg->streams->pdata[i];
        if (strcmp(sc->name, name) == 0)
            return sc;
    }
    return NULL;
}

/* The 1-based line of [group] (key NULL) or of the last "key =" inside [group] (the value that
 * wins); 0 when not found. */
static unsigned find_line(const char *data, size_t size, const char *group, const char *key)
{
    unsigned line = 0, found = 0;
    bool in_group = false;
    const char *p = data, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        line++;
        while (p < e && g_ascii_isspace(*p))
            p++;
        if (p < e && *p == '[') {
            const char *close = memchr(p, ']', e - p);
            in_group = close && (size_t)(close - p - 1) == strlen(group) &&
                       memcmp(p + 1, group, close - p - 1) == 0;
            if (in_group && !key && !found)
                found = line;
        } else if (in_group && key && p < e && *p != '#') {
            const char *eq = memchr(p, '=', e - p);
            const char *k = eq;
            while (k && k > p && g_ascii_isspace(k[-1]))
                k--;
            if (eq && (size_t)(k - p) == strlen(key) && memcmp(p, key, k - p) == 0)
                found = line;
        }
        p = e + 1;
    }
    return found;
}

/* GKeyFile accepts some lines silently and rejects others with a message without a line
 * number; this pass names the first line that is neither blank, a comment, a [section] nor a
 * key = value. */
static int check_syntax(const char *file, const char *data, size_t size, struct drift_error *err)
{
    unsigned line = 0;
    bool in_group = false;
    const char *p = data, *end = data + size;
    if (memchr(data, '\0', size))
        return drift_error_set(err, -EINVAL, "%s: contains a NUL byte", file);
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        line++;
        while (p < e && g_ascii_isspace(*p))
            p++;
        if (p == e || *p == '#') {
        } else if (*p == '[') {
            const char *q = e;
            while (q > p && g_ascii_isspace(q[-1]))
                q--;
            if (q[-1] != ']' || q - p < 3)
                return drift_error_set(err, -EINVAL, "%s:%u: a section header must read [NAME]",
                                       file, line);
            in_group = true;
        } else if (!memchr(p, '=', e - p)) {
            return drift_error_set(err, -EINVAL, "%s:%u: expected KEY = VALUE, [SECTION] or # comment",
                                   file, line);
        } else if (!in_group) {
            return drift_error_set(err, -EINVAL, "%s:%u: key outside of any [section]", file, line);
        } else {
            /* GKeyFile hides localized keys (key[locale]) from its key list: refuse them here. */
            const char *eq = memchr(p, '=', e - p), *k = eq;
            while (k > p && g_ascii_isspace(k[-1]))
                k--;
            if (memchr(p, '[', k - p))
                return drift_error_set(err, -ENOENT, "%s:%u: unknown key '%.*s' (no localized keys)",
                                       file, line, (int)MIN(k - p, 64), p);
        }
        p = e + 1;
    }
    return 0;
}

struct ctx {
    struct driftd_config *cfg;
    const char *file, *data;
    size_t size;
    GKeyFile *kf;
    struct drift_error *err;
};

static int fail_at(struct ctx *c, const char *group, const char *key, int code)
{
    drift_error_prefix(c->err, "%s:%u", c->file, find_line(c->data, c->size, group, key));
    return code;
}

static int get_string(struct ctx *c, const char *group, const char *key, char **ret)
{
    g_autoptr(GError) e = NULL;
    char *v = g_key_file_get_string(c->kf, group, key, &e);
    if (!v) {
        drift_error_set(c->err, -EINVAL, "%s: %s", key, e->message);
        return fail_at(c, group, key, -EINVAL);
    }
    *ret = v;
    return 0;
}

/* Numbers of the [daemon], [rtsp] and [jobs] sections. */
static int get_uint(struct ctx *c, const char *group, const char *key, unsigned min, unsigned max,
                    unsigned *ret)
{
    g_autofree char *v = NULL;
    int r = get_string(c, group, key, &v);
    if (r < 0)
        return r;
    char *end;
    errno = 0;
    unsigned long long n = g_ascii_strtoull(v, &end, 10);
    if (!g_ascii_isdigit(v[0]) || *end || errno || n < min || n > max) {
        drift_error_set(c->err, -EINVAL, "%s: '%.64s' is out of range; allowed: %u..%u", key, v,
                        min, max);
        return fail_at(c, group, key, -EINVAL);
    }
    *ret = (unsigned)n;
    return 0;
}

static int unknown(struct ctx *c, const char *group, const char *key, const char *allowed)
{
    if (key)
        drift_error_set(c->err, -ENOENT, "unknown key '%s' in [%s]; known keys: %s", key, group,
                        allowed);
    else
        drift_error_set(c->err, -ENOENT,
                        "unknown section [%s]; known sections: [daemon], [rtsp], [http], [access], "
                        "[jobs], [stream.NAME]",
                        group);
    return fail_at(c, group, key, -ENOENT);
}

static int apply_daemon(struct ctx *c, const char *group, const char *key)
{
    if (!strcmp(key, "state_dir")) {
        g_autofree char *v = NULL;
        int r = get_string(c, group, key, &v);
        if (r < 0)
            return r;
        if (v[0] && (!g_path_is_absolute(v) || strlen(v) > DRIFT_PATH_MAX)) {
            drift_error_set(c->err, -EINVAL,
                            "state_dir: '%.64s' must be an absolute path (or empty: not set)", v);
            return fail_at(c, group, key, -EINVAL);
        }
        g_free(c->cfg->state_dir);
        c->cfg->state_dir = v[0] ? g_steal_pointer(&v) : NULL; /* empty: back to not set */
        return 0;
    }
    if (!strcmp(key, "max_streams"))
        return get_uint(c, group, key, 1, DRIFT_MAX_STREAMS_LIMIT, &c->cfg->max_streams);
    if (!strcmp(key, "private_socket")) {
        unsigned v;
        int r = get_uint(c, group, key, 0, 1, &v);
        if (r < 0) {
            g_autoptr(GError) e = NULL;
            gboolean b = g_key_file_get_boolean(c->kf, group, key, &e);
            if (e)
                return r;
            v = b;
        }
        c->cfg->private_socket = v;
        return 0;
    }
    if (!strcmp(key, "admission")) {
        g_autofree char *v = NULL;
        int r = get_string(c, group, key, &v);
        if (r < 0)
            return r;
        if (strcmp(v, "strict") && strcmp(v, "allow")) {
            drift_error_set(c->err, -EINVAL, "admission: '%.64s'; allowed: strict or allow", v);
            return fail_at(c, group, key, -EINVAL);
        }
        c->cfg->admission_strict = !strcmp(v, "strict");
        return 0;
    }
    return unknown(c, group, key, "state_dir, max_streams, private_socket, admission");
}

/* An IPv4 or IPv6 address literal into *ret (transfer full). */
static int get_address(struct ctx *c, const char *group, const char *key, char **ret)
{
    g_autofree char *v = NULL;
    int r = get_string(c, group, key, &v);
    if (r < 0)
        return r;
    g_autoptr(GInetAddress) a = g_inet_address_new_from_string(v);
    if (!a) {
        drift_error_set(c->err, -EINVAL,
                        "address: '%.64s' is not an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::)", v);
        return fail_at(c, group, key, -EINVAL);
    }
    g_free(*ret);
    *ret = g_steal_pointer(&v);
    return 0;
}

static int apply_rtsp(struct ctx *c, const char *group, const char *key)
{
    if (!strcmp(key, "port"))
        return get_uint(c, group, key, 0, 65535, &c->cfg->rtsp_port);
    if (!strcmp(key, "address"))
        return get_address(c, group, key, &c->cfg->rtsp_address);
    return unknown(c, group, key, "address, port");
}

static int apply_http(struct ctx *c, const char *group, const char *key)
{
    if (!strcmp(key, "port"))
        return get_uint(c, group, key, 0, 65535, &c->cfg->http_port);
    if (!strcmp(key, "address"))
        return get_address(c, group, key, &c->cfg->http_address);
    if (!strcmp(key, "webrtc_sessions"))
        return get_uint(c, group, key, 0, 256, &c->cfg->http_webrtc_sessions);
    return unknown(c, group, key, "address, port, webrtc_sessions");
}

/* A file's path into *ret (transfer full), relative to the file that names it like model
 * paths; empty: NULL (a drop-in can unset what an earlier file set). */
static int get_path(struct ctx *c, const char *group, const char *key, char **ret)
{
    g_autofree char *v = NULL;
    int r = get_string(c, group, key, &v);
    if (r < 0)
        return r;
    g_free(*ret);
    *ret = NULL;
    if (!v[0])
        return 0;
    g_autofree char *dir = g_path_get_dirname(c->file);
    *ret = g_canonicalize_filename(v, dir);
    if (strlen(*ret) > DRIFT_PATH_MAX) {
        drift_error_set(c->err, -EINVAL, "%s: path longer than %d bytes", key, DRIFT_PATH_MAX);
        return fail_at(c, group, key, -EINVAL);
    }
    return 0;
}

static int apply_access(struct ctx *c, const char *group, const char *key)
{
    if (!strcmp(key, "users"))
        return get_path(c, group, key, &c->cfg->access_users);
    if (!strcmp(key, "tls_certificate"))
        return get_path(c, group, key, &c->cfg->tls_certificate);
    if (!strcmp(key, "tls_key"))
        return get_path(c, group, key, &c->cfg->tls_key);
    return unknown(c, group, key, "users, tls_certificate, tls_key");
}

static int apply_jobs(struct ctx *c, const char *group, const char *key)
{
    if (!strcmp(key, "concurrency"))
        return get_uint(c, group, key, 1, 16, &c->cfg->jobs_concurrency);
    if (!strcmp(key, "keep_days"))
        return get_uint(c, group, key, 0, 3650, &c->cfg->jobs_keep_days);
    if (!strcmp(key, "nice"))
        return get_uint(c, group, key, 0, 19, &c->cfg->jobs_nice);
    if (!strcmp(key, "output_keep_days"))
        return get_uint(c, group, key, 0, 3650, &c->cfg->jobs_output_keep_days);
    if (!strcmp(key, "output_max_mb"))
        return get_uint(c, group, key, 0, 100000000, &c->cfg->jobs_output_max_mb);
    return unknown(c, group, key, "concurrency, nice, keep_days, output_keep_days, output_max_mb");
}

static struct drift_stream_config *stream_get(struct driftd_config *cfg, const char *name)
{
    struct drift_stream_config *sc = (struct drift_stream_config *)driftd_config_stream(cfg, name);
    if (sc)
        return sc;
    sc = g_new0(struct drift_stream_config, 1);
    sc->name = g_strdup(name);
    drift_settings_init_stream(&sc->settings, cfg->default_model, cfg->default_audio_model);
    g_ptr_array_add(cfg->streams, sc);
    return sc;
}

static int apply_stream_key(struct ctx *c, const char *group, struct drift_stream_config *sc,
                            const char *key)
{
    g_autofree char *v = NULL;
    int r = get_string(c, group, key, &v);
    if (r < 0)
        return r;
    int k = drift_setting_lookup(key);
    if (v[0] && (k == DRIFT_KEY_MODEL || k == DRIFT_KEY_AUDIO_MODEL) && !g_path_is_absolute(v)) {
        /* Relative model paths are relative to the file that names them. */
        g_autofree char *dir = g_path_get_dirname(c->file);
        char *abs = g_canonicalize_filename(v, dir);
        g_free(v);
        v = abs;
    }
    r = drift_settings_set_string(&sc->settings, DRIFT_SCOPE_STREAM, key, v, c->err);
    if (r < 0)
        return fail_at(c, group, key, r);
    return 0;
}

static int apply_group(struct ctx *c, const char *group)
{
    g_auto(GStrv) keys = g_key_file_get_keys(c->kf, group, NULL, NULL);
    struct drift_stream_config *sc = NULL;
    if (g_str_has_prefix(group, STREAM_PREFIX)) {
        const char *name = group + strlen(STREAM_PREFIX);
        if (drift_stream_name_check(name, c->err) < 0)
            return fail_at(c, group, NULL, -EINVAL);
        if (!driftd_config_stream(c->cfg, name) && c->cfg->streams->len >= DRIFT_MAX_STREAMS_LIMIT) {
            drift_error_set(c->err, -EINVAL, "[%s]: more than %d streams", group,
                            DRIFT_MAX_STREAMS_LIMIT);
            return fail_at(c, group, NULL, -EINVAL);
        }
        sc = stream_get(c->cfg, name);
    } else if (strcmp(group, "daemon") && strcmp(group, "rtsp") && strcmp(group, "http") &&
               strcmp(group, "access") && strcmp(group, "jobs")) {
        return unknown(c, group, NULL, NULL);
    }
    for (size_t i = 0; keys && keys[i]; i++) {
        int r;
        if (sc)
            r = apply_stream_key(c, group, sc, keys[i]);
        else if (!strcmp(group, "daemon"))
            r = apply_daemon(c, group, keys[i]);
        else if (!strcmp(group, "rtsp"))
            r = apply_rtsp(c, group, keys[i]);
        else if (!strcmp(group, "http"))
            r = apply_http(c, group, keys[i]);
        else if (!strcmp(group, "access"))
            r = apply_access(c, group, keys[i]);
        else
            r = apply_jobs(c, group, keys[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

int driftd_config_apply_data(struct driftd_config *cfg, const char *file_name, const char *data,
                            size_t size, struct drift_error *err)
{
    int r = check_syntax(file_name, data, size, err);
    if (r < 0)
        return r;
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) e = NULL;
    if (!g_key_file_load_from_data(kf, data, size, G_KEY_FILE_NONE, &e))
        return drift_error_set(err, -EINVAL, "%s: %s", file_name, e->message);
    struct ctx c = { cfg, file_name, data, size, kf, err };
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (size_t i = 0; groups[i]; i++) {
        r = apply_group(&c, groups[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_file(struct driftd_config *cfg, const char *path, bool optional,
                      struct drift_error *err)
{
    g_autofree char *data = NULL;
    gsize size;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, &data, &size, &e)) {
        if (optional && g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return 0;
        return drift_error_set(err, e->code == G_FILE_ERROR_NOENT ? -ENOENT : -EIO, "%s",
                               e->message);
    }
    return driftd_config_apply_data(cfg, path, data, size, err);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool loopback(const char *address)
{
    g_autoptr(GInetAddress) a = g_inet_address_new_from_string(address);
    return a && g_inet_address_get_is_loopback(a);
}

int driftd_config_check(const struct driftd_config *cfg, struct drift_error *err)
{
    /* With nobody to check, no surface may be reachable from other machines (DESIGN.md
     * "Access"). The RTSP server always listens ([rtsp] port = 0 is any free port); the web
     * server not at port 0. */
    if (!cfg->tls_certificate != !cfg->tls_key)
        return drift_error_set(err, -EINVAL, "[access] %s: set, but not %s: TLS needs both the "
                               "certificate and its key", cfg->tls_key ? "tls_key" :
                               "tls_certificate", cfg->tls_key ? "tls_certificate" : "tls_key");
    if (cfg->access_users)
        return 0;
    if (!loopback(cfg->rtsp_address))
        return drift_error_set(err, -EINVAL,
                               "[rtsp] address: %.64s is not a loopback address; serving other "
                               "machines requires access control: set [access] users "
                               "(docs/ACCESS.md), or use 127.0.0.1 or ::1", cfg->rtsp_address);
    if (cfg->http_port && !loopback(cfg->http_address))
        return drift_error_set(err, -EINVAL,
                               "[http] address: %.64s is not a loopback address; serving other "
                               "machines requires access control: set [access] users "
                               "(docs/ACCESS.md), or use 127.0.0.1 or ::1 (or [http] port = 0: "
                               "no web server)", cfg->http_address);
    return 0;
}

int driftd_config_load(struct driftd_config *cfg, const char *path, bool optional,
                      struct drift_error *err)
{
    int r = apply_file(cfg, path, optional, err);
    if (r < 0)
        return r;
    g_autofree char *dir_path = g_strconcat(path, ".d", NULL);
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    if (!dir)
        return 0;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(dir)))
        if (g_str_has_suffix(n, ".conf") && n[0] != '.')
            g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *p = g_build_filename(dir_path, names->pdata[i], NULL);
        r = apply_file(cfg, p, false, err);
        if (r < 0)
            return r;
    }
    return 0;
}
