/* libFuzzer target: job specs as text (daemon/spec.h), the way driftd --render and driftctl
 * render --spec read them. The first byte picks the form: even = a spec file of KEY = VALUE
 * lines (written to a temporary file), odd = inline KEY=VALUE[,KEY=VALUE…]. A parsed spec is
 * then completed as the daemon does before rendering. Any input is accepted with values in range
 * or rejected with a message. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "spec.h"

static void check_settings(const struct drift_settings *s)
{
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        if (!drift_settings_has(s, k))
            continue;
        const struct drift_setting_desc *d = drift_setting_desc(k);
        struct drift_settings copy = { 0 };
        struct drift_error err = { 0 };
        char *text = drift_setting_to_string(s, k);
        if (drift_settings_set_string(&copy, DRIFT_SCOPE_STREAM | DRIFT_SCOPE_JOB, d->name, text,
                                      &err) < 0)
            abort();
        if (drift_settings_diff(&copy, s) & (1u << k))
            abort();
        g_free(text);
        drift_settings_done(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool as_file = !(data[0] & 1);
    char *text = g_strndup((const char *)data + 1, size - 1); /* stops at a NUL, like argv */
    char path[] = "/tmp/drift-fuzz-spec-XXXXXX";
    const char *spec = text;
    if (as_file) {
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t)n)
            abort();
        close(fd);
        spec = path;
    } else if (g_file_test(text, G_FILE_TEST_EXISTS)) {
        g_free(text); /* an existing path would be read as a file: not what this target tests */
        return 0;
    }
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    int r = drift_spec_parse(spec, &s, &err);
    if (r < 0) {
        if (!err.message[0] || (r != -EINVAL && r != -ENOENT))
            abort();
    } else {
        check_settings(&s);
        struct drift_error err2 = { 0 };
        r = drift_spec_complete(&s, "/var/lib/drift/renders", "job-1", &err2);
        if (r < 0) {
            if (!err2.message[0])
                abort();
        } else if (!s.output || !s.format || !g_path_is_absolute(s.output) ||
                   (!g_str_has_suffix(s.output, ".mp4") && !g_str_has_suffix(s.output, ".mkv"))) {
            abort();
        }
    }
    drift_settings_done(&s);
    if (as_file)
        unlink(path);
    g_free(text);
    return 0;
}
