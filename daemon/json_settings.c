/* See json_settings.h. */
#include "json_settings.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE: case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

static const char *wanted(enum drift_setting_type t)
{
    switch (t) {
    case DRIFT_SETTING_STRING: return "a string";
    case DRIFT_SETTING_BOOL: return "a boolean";
    case DRIFT_SETTING_UINT: return "an unsigned integer";
    case DRIFT_SETTING_DOUBLE: return "a number";
    }
    return "?";
}

/* A string of decimal digits for an unsigned key (values JSON integers cannot hold here). */
static bool digits(const char *s)
{
    if (!s[0])
        return false;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isdigit(*p))
            return false;
    return true;
}

/* The member v of key d as a typed value; strings point into v. */
static int read_value(const struct drift_setting_desc *d, const json_t *v,
                      struct drift_setting_value *ret, struct drift_error *err)
{
    struct drift_setting_value x = { .type = d->type };
    if (d->type == DRIFT_SETTING_STRING && json_is_string(v)) {
        x.s = json_string_value(v);
        if (strlen(x.s) != json_string_length(v))
            return drift_error_set(err, -EINVAL, "%s: contains a NUL character; allowed: %s",
                                   d->name, d->range);
    } else if (d->type == DRIFT_SETTING_BOOL && json_is_boolean(v)) {
        x.b = json_is_true(v);
    } else if ((d->type == DRIFT_SETTING_UINT || d->type == DRIFT_SETTING_DOUBLE) &&
               json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 && d->type == DRIFT_SETTING_UINT)
            return drift_error_set(err, -EINVAL, "%s: negative value; allowed: %s", d->name,
                                   d->range);
        x.u = i < 0 ? 0 : (uint64_t)i;
        x.d = (double)i;
    } else if (d->type == DRIFT_SETTING_DOUBLE && json_is_real(v)) {
        x.d = json_real_value(v);
    } else if (d->type == DRIFT_SETTING_UINT && json_is_string(v) && digits(json_string_value(v))) {
        /* The same parser as configuration files: out of range of 64 bits is refused there. */
        return drift_setting_parse(d, json_string_value(v), ret, err);
    } else {
        return drift_error_set(err, -EINVAL, "%s: a JSON %s where %s is wanted; allowed: %s",
                               d->name, json_kind(v), wanted(d->type), d->range);
    }
    *ret = x;
    return 0;
}

int drift_json_read_settings(const json_t *obj, unsigned scope, struct drift_settings *settings,
                             struct drift_error *err)
{
    if (!json_is_object(obj))
        return drift_error_set(err, -EINVAL, "settings: a JSON %s where an object is wanted",
                               obj ? json_kind(obj) : "nothing");
    if (json_object_size(obj) > DRIFT_JSON_SETTINGS_MAX)
        return drift_error_set(err, -EINVAL, "settings: more than %d entries",
                               DRIFT_JSON_SETTINGS_MAX);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int k = drift_setting_lookup(key);
        struct drift_setting_value x = { 0 };
        int r;
        if (k < 0 || !(drift_setting_desc(k)->scope & scope))
            r = drift_settings_set(settings, scope, key, &x, err); /* names the known keys */
        else if ((r = read_value(drift_setting_desc(k), v, &x, err)) >= 0)
            r = drift_settings_set(settings, scope, key, &x, err);
        if (r < 0) {
            if (err)
                err->code = -EINVAL; /* an unknown key (-ENOENT) too, as on D-Bus */
            return -EINVAL;
        }
    }
    return 0;
}

json_t *drift_json_uint(uint64_t v)
{
    if (v <= INT64_MAX)
        return json_integer((json_int_t)v);
    char text[24];
    g_snprintf(text, sizeof text, "%" G_GUINT64_FORMAT, v);
    return json_string(text);
}

json_t *drift_json_settings(const struct drift_settings *s, unsigned scope)
{
    json_t *obj = json_object();
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        const struct drift_setting_desc *d = drift_setting_desc(k);
        if (!(d->scope & scope))
            continue;
        struct drift_setting_value v = drift_setting_get(s, k);
        json_t *j = NULL;
        switch (v.type) {
        case DRIFT_SETTING_STRING: j = json_string(v.s ? v.s : ""); break;
        case DRIFT_SETTING_UINT: j = drift_json_uint(v.u); break;
        case DRIFT_SETTING_DOUBLE: j = json_real(v.d); break;
        case DRIFT_SETTING_BOOL: j = json_boolean(v.b); break;
        }
        json_object_set_new(obj, d->name, j ? j : json_null());
    }
    return obj;
}
