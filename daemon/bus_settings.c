/* a{sv} dictionaries of settings (CreateStream, Set, SubmitJob) into struct drift_settings. */
#include <errno.h>
#include <string.h>

#include "bus.h"
#include "settings.h"

#define MAX_ENTRIES 64

/* Integers of any D-Bus width are accepted where the key wants a number, so that callers in
 * languages without unsigned types (or busctl users who typed 'i') are not punished. */
static int read_integer(sd_bus_message *m, char type, bool *ret_negative, uint64_t *ret)
{
    union { uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u; int64_t x; uint64_t t; } v;
    int r = sd_bus_message_read_basic(m, type, &v);
    if (r < 0)
        return r;
    int64_t s = 0;
    bool is_signed = true;
    switch (type) {
    case 'y': *ret = v.y; is_signed = false; break;
    case 'q': *ret = v.q; is_signed = false; break;
    case 'u': *ret = v.u; is_signed = false; break;
    case 't': *ret = v.t; is_signed = false; break;
    case 'n': s = v.n; break;
    case 'i': s = v.i; break;
    case 'x': s = v.x; break;
    }
    *ret_negative = is_signed && s < 0;
    if (is_signed)
        *ret = s < 0 ? (uint64_t)(-(s + 1)) + 1 : (uint64_t)s;
    return 0;
}

static int read_value(sd_bus_message *m, const struct drift_setting_desc *d,
                      struct drift_setting_value *v, sd_bus_error *error)
{
    char type;
    const char *contents;
    int r = sd_bus_message_peek_type(m, &type, &contents);
    if (r < 0)
        return r;
    r = sd_bus_message_enter_container(m, 'v', contents);
    if (r < 0)
        return r;
    bool integer = contents[0] && !contents[1] && strchr("yqutnix", contents[0]);
    v->type = d->type;
    if (d->type == DRIFT_SETTING_STRING && !strcmp(contents, "s")) {
        r = sd_bus_message_read_basic(m, 's', &v->s);
    } else if (d->type == DRIFT_SETTING_BOOL && !strcmp(contents, "b")) {
        int b;
        r = sd_bus_message_read_basic(m, 'b', &b);
        v->b = b;
    } else if (d->type == DRIFT_SETTING_DOUBLE && !strcmp(contents, "d")) {
        r = sd_bus_message_read_basic(m, 'd', &v->d);
    } else if ((d->type == DRIFT_SETTING_UINT || d->type == DRIFT_SETTING_DOUBLE) && integer) {
        bool negative;
        uint64_t u;
        r = read_integer(m, contents[0], &negative, &u);
        if (r >= 0 && negative && d->type == DRIFT_SETTING_UINT)
            return sd_bus_error_setf(error, DRIFT_ERROR_INVALID_ARGUMENT,
                                     "%s: negative value; allowed: %s", d->name, d->range);
        v->u = u;
        v->d = negative ? -(double)u : (double)u;
    } else {
        return sd_bus_error_setf(error, DRIFT_ERROR_INVALID_ARGUMENT,
                                 "%s: a value of D-Bus type '%s' where %s is wanted; allowed: %s",
                                 d->name, contents,
                                 d->type == DRIFT_SETTING_STRING ? "a string (s)"
                                 : d->type == DRIFT_SETTING_BOOL ? "a boolean (b)"
                                 : d->type == DRIFT_SETTING_UINT ? "an unsigned integer (u or t)"
                                                                 : "a number (d)",
                                 d->range);
    }
    if (r < 0)
        return r;
    return sd_bus_message_exit_container(m);
}

int drift_bus_read_settings(sd_bus_message *m, unsigned scope, struct drift_settings *settings,
                            sd_bus_error *error)
{
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0)
        return r;
    for (int n = 0;; n++) {
        const char *key;
        r = sd_bus_message_enter_container(m, 'e', "sv");
        if (r < 0)
            return r;
        if (r == 0)
            break;
        if (n >= MAX_ENTRIES)
            return sd_bus_error_setf(error, DRIFT_ERROR_INVALID_ARGUMENT,
                                     "settings: more than %d entries", MAX_ENTRIES);
        r = sd_bus_message_read_basic(m, 's', &key);
        if (r < 0)
            return r;
        struct drift_error err = { 0 };
        int k = drift_setting_lookup(key);
        if (k < 0 || !(drift_setting_desc(k)->scope & scope)) {
            drift_settings_set(settings, scope, key, &(struct drift_setting_value){ 0 }, &err);
            return sd_bus_error_set(error, DRIFT_ERROR_INVALID_ARGUMENT, err.message);
        }
        struct drift_setting_value v = { 0 };
        r = read_value(m, drift_setting_desc(k), &v, error);
        if (r < 0)
            return r;
        if (drift_settings_set(settings, scope, key, &v, &err) < 0)
            return sd_bus_error_set(error, DRIFT_ERROR_INVALID_ARGUMENT, err.message);
        r = sd_bus_message_exit_container(m);
        if (r < 0)
            return r;
    }
    return sd_bus_message_exit_container(m);
}
