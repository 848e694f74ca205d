/* libFuzzer target: one configuration file's text (daemon/config.h), as driftd reads
 * driftd.conf or a drop-in. Any input is either applied, leaving a configuration whose every
 * value is in range, or rejected with a message that names the file. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FILE_NAME "/etc/drift/driftd.conf.d/fuzz.conf"

static void check_stream(const struct drift_stream_config *sc)
{
    struct drift_error err = { 0 };
    if (drift_stream_name_check(sc->name, &err) < 0)
        abort();
    /* Every value a stream ends up with must be one the settings table accepts again. */
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        const struct drift_setting_desc *d = drift_setting_desc(k);
        if (!(d->scope & DRIFT_SCOPE_STREAM) || !drift_settings_has(&sc->settings, k))
            continue;
        struct drift_settings copy = { 0 };
        char *text = drift_setting_to_string(&sc->settings, k);
        if (drift_settings_set_string(&copy, DRIFT_SCOPE_STREAM, d->name, text, &err) < 0)
            abort();
        if (drift_settings_diff(&copy, &sc->settings) & (1u << k))
            abort();
        g_free(text);
        drift_settings_done(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct driftd_config *cfg = driftd_config_new("/usr/share/drift/models/video.safetensors",
                                                  "/usr/share/drift/models/audio.safetensors");
    struct drift_error err = { 0 };
    int r = driftd_config_apply_data(cfg, FILE_NAME, (const char *)data, size, &err);
    if (r < 0) {
        if (r != -EINVAL && r != -ENOENT)
            abort();
        if (strncmp(err.message, FILE_NAME, strlen(FILE_NAME)) != 0)
            abort();
    } else {
        if (cfg->rtsp_port > 65535 || cfg->max_streams < 1 ||
            cfg->max_streams > DRIFT_MAX_STREAMS_LIMIT || cfg->jobs_concurrency < 1 ||
            cfg->streams->len > DRIFT_MAX_STREAMS_LIMIT || (cfg->state_dir && !g_path_is_absolute(cfg->state_dir)))
            abort();
        for (guint i = 0; i < cfg->streams->len; i++)
            check_stream(cfg->streams->pdata[i]);
    }
    driftd_config_free(cfg);
    return 0;
}
