/* libFuzzer target: request bodies of the JSON API as http_api.c reads them — jansson
 * (duplicates refused), then drift_json_read_settings through the settings table — the PATCH
 * the player page sends and every other settings object. The first byte picks the scope (stream
 * or job). Any input is refused with a message, or read into settings whose given keys write
 * back as JSON and read again to the same values. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "json_settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned scope = (data[0] & 1) ? DRIFT_SCOPE_JOB : DRIFT_SCOPE_STREAM;
    json_error_t je;
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return 0;
    }
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    if (drift_json_read_settings(j, scope, &s, &err) < 0) {
        if (!err.message[0])
            abort(); /* refused without saying why */
    } else {
        /* The keys given, written back as the API writes objects, read again the same. */
        json_t *all = drift_json_settings(&s, scope);
        json_t *back = json_object();
        for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
            const char *name = drift_setting_desc(k)->name;
            if ((s.set & (1u << k)) && json_object_get(all, name))
                json_object_set(back, name, json_object_get(all, name));
        }
        struct drift_settings again = { 0 };
        if (drift_json_read_settings(back, scope, &again, &err) < 0)
            abort(); /* what was accepted must read back */
        if (drift_settings_diff(&again, &s) & s.set)
            abort();
        drift_settings_done(&again);
        json_decref(back);
        json_decref(all);
    }
    drift_settings_done(&s);
    json_decref(j);
    return 0;
}
