/* See spec.h. */
#include "spec.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#define SCOPE DRIFT_SCOPE_JOB /* a stream's keys that a render takes, and the job keys */

static int parse_item(struct drift_settings *s, const char *where, char *item,
                      struct drift_error *err)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return drift_error_set(err, -EINVAL, "%s: expected KEY=VALUE, got '%.64s'", where, item);
    *eq = 0;
    g_strstrip(item);
    char *value = g_strstrip(eq + 1);
    int r = drift_settings_set_string(s, SCOPE, item, value, err);
    if (r < 0)
        drift_error_prefix(err, "%s", where);
    return r;
}

int drift_spec_parse(const char *spec, struct drift_settings *settings, struct drift_error *err)
{
    g_autofree char *data = NULL;
    bool is_file = g_file_test(spec, G_FILE_TEST_IS_REGULAR);
    if (is_file && !g_file_get_contents(spec, &data, NULL, NULL))
        return drift_error_set(err, -ENOENT, "%s: cannot read", spec);
    g_auto(GStrv) items = g_strsplit(is_file ? data : spec, is_file ? "\n" : ",", -1);
    for (size_t i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        if (!item[0] || item[0] == '#' || item[0] == '[')
            continue;
        g_autofree char *where = is_file ? g_strdup_printf("%s:%zu", spec, i + 1)
                                         : g_strdup_printf("item %zu", i + 1);
        int r = parse_item(settings, where, item, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int drift_spec_complete(struct drift_settings *s, const char *renders_dir, const char *default_name,
                        struct drift_error *err)
{
    if (!drift_settings_has(s, DRIFT_KEY_SECONDS))
        return drift_error_set(err, -EINVAL, "seconds: missing; allowed: %s",
                               drift_setting_desc(DRIFT_KEY_SECONDS)->range);
    if (drift_settings_has(s, DRIFT_KEY_AUDIO_MODEL) && !drift_settings_has(s, DRIFT_KEY_AUDIO))
        s->audio = s->audio_model[0] != 0;
    if (!s->output) {
        s->output = g_strdup_printf("%s/%s.%s", renders_dir, default_name,
                                    s->format ? s->format : "mp4");
    } else if (!g_path_is_absolute(s->output)) {
        if (strchr(s->output, '/') || !strcmp(s->output, ".") || !strcmp(s->output, ".."))
            return drift_error_set(err, -EINVAL,
                                   "output: '%.64s'; allowed: a file name (written under %s) or an absolute path",
                                   s->output, renders_dir);
        char *p = g_build_filename(renders_dir, s->output, NULL);
        g_free(s->output);
        s->output = p;
    }
    bool mkv_name = g_str_has_suffix(s->output, ".mkv");
    bool mp4_name = g_str_has_suffix(s->output, ".mp4");
    if (!s->format)
        s->format = g_strdup(mkv_name ? "mkv" : "mp4");
    if ((mkv_name && strcmp(s->format, "mkv")) || (mp4_name && strcmp(s->format, "mp4")))
        return drift_error_set(err, -EINVAL, "output: '%.64s' does not end in .%s (format)",
                               s->output, s->format);
    if (!mkv_name && !mp4_name) {
        char *p = g_strdup_printf("%s.%s", s->output, s->format);
        g_free(s->output);
        s->output = p;
    }
    return 0;
}
