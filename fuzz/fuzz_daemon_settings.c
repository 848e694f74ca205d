/* libFuzzer target: a{sv} settings dictionaries as CreateStream, Stream.Set and SubmitJob receive
 * them (daemon/bus_settings.c, drift_bus_read_settings), built into a real sd-bus message from
 * the input, without a bus daemon:
 *   byte 0            scope: 1 = stream, 2 = job, 3 = both (0 counts as 3)
 *   then entries      key selector (a key of the table, or a length-prefixed free name),
 *                     D-Bus type selector (y q u t n i x d b s), value bytes
 * Any dictionary is either read into settings whose every value the table accepts again, or
 * refused with an org.drift1.Error.InvalidArgument naming the problem. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "settings.h"

struct reader {
    const uint8_t *p, *end;
};

static uint8_t take_byte(struct reader *rd)
{
    return rd->p < rd->end ? *rd->p++ : 0;
}

static uint64_t take_u64(struct reader *rd)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take_byte(rd);
    return v;
}

/* A string of up to 2047 bytes, made valid UTF-8 without NULs (what D-Bus can carry). */
static char *take_string(struct reader *rd)
{
    size_t n = ((size_t)take_byte(rd) << 8 | take_byte(rd)) & 0x7ff;
    if (n > (size_t)(rd->end - rd->p))
        n = rd->end - rd->p;
    char *raw = g_strndup((const char *)rd->p, n);
    rd->p += n;
    char *valid = g_utf8_make_valid(raw, -1);
    g_free(raw);
    return valid;
}

static sd_bus *fake_bus(void)
{
    /* Messages need a bus that has been started; a socketpair nobody answers is enough. */
    static sd_bus *bus;
    if (bus)
        return bus;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
        sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
        abort();
    return bus;
}

static int append_entry(sd_bus_message *m, struct reader *rd)
{
    uint8_t ks = take_byte(rd) % (_DRIFT_KEY_MAX + 2);
    g_autofree char *free_name = ks >= _DRIFT_KEY_MAX ? take_string(rd) : NULL;
    const char *key = free_name ? free_name : drift_setting_desc(ks)->name;
    static const char types[] = "yqutnixdbs";
    char type = types[take_byte(rd) % 10];
    char sig[2] = { type, 0 };
    int r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0)
        r = sd_bus_message_append_basic(m, 's', key);
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'v', sig);
    if (r < 0)
        return r;
    if (type == 's') {
        g_autofree char *s = take_string(rd);
        r = sd_bus_message_append_basic(m, 's', s);
    } else if (type == 'b') {
        int b = take_byte(rd) & 1;
        r = sd_bus_message_append_basic(m, 'b', &b);
    } else {
        uint64_t u = take_u64(rd); /* every basic type is read from the front of a uint64_t */
        union { uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u; int64_t x; uint64_t t;
                double d; } v;
        switch (type) {
        case 'y': v.y = u; break;
        case 'q': v.q = u; break;
        case 'n': v.n = u; break;
        case 'u': v.u = u; break;
        case 'i': v.i = u; break;
        case 'd': memcpy(&v.d, &u, sizeof v.d); break;
        default: v.t = u; break;
        }
        r = sd_bus_message_append_basic(m, type, &v);
    }
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    return r;
}

static void check_settings(const struct drift_settings *s, unsigned scope)
{
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        if (!drift_settings_has(s, k))
            continue;
        const struct drift_setting_desc *d = drift_setting_desc(k);
        if (!(d->scope & scope))
            abort(); /* a key outside the method's scope got in */
        struct drift_settings copy = { 0 };
        struct drift_error err = { 0 };
        char *text = drift_setting_to_string(s, k);
        if (drift_settings_set_string(&copy, scope, d->name, text, &err) < 0)
            abort();
        if (drift_settings_diff(&copy, s) & (1u << k))
            abort();
        g_free(text);
        drift_settings_done(&copy);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader rd = { data, data + size };
    unsigned scope = take_byte(&rd) & 3;
    if (!scope)
        scope = DRIFT_SCOPE_STREAM | DRIFT_SCOPE_JOB;
    static uint64_t cookie;
    sd_bus_message *m = NULL;
    if (sd_bus_message_new_method_call(fake_bus(), &m, "org.drift1", "/org/drift1",
                                       "org.drift1.Manager", "SubmitJob") < 0)
        abort();
    int r = sd_bus_message_open_container(m, 'a', "{sv}");
    for (int n = 0; r >= 0 && rd.p < rd.end && n < 100; n++)
        r = append_entry(m, &rd);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r < 0 || sd_bus_message_seal(m, ++cookie, 0) < 0 || sd_bus_message_rewind(m, true) < 0) {
        sd_bus_message_unref(m); /* the input does not make a valid message: not our concern */
        return 0;
    }
    struct drift_settings s = { 0 };
    sd_bus_error error = SD_BUS_ERROR_NULL;
    r = drift_bus_read_settings(m, scope, &s, &error);
    if (r < 0) {
        /* Every refusal a caller sees must be an InvalidArgument with a message. */
        if (!sd_bus_error_is_set(&error) ||
            !sd_bus_error_has_name(&error, DRIFT_ERROR_INVALID_ARGUMENT) || !error.message ||
            !error.message[0])
            abort();
    } else {
        check_settings(&s, scope);
    }
    sd_bus_error_free(&error);
    drift_settings_done(&s);
    sd_bus_message_unref(m);
    return 0;
}
