/* Settings as JSON, for the HTTP API (http_api.c): a request's object of KEY: VALUE members read
 * through the settings table (settings.h), and settings written back as such an object.
 *
 * The same keys, ranges and messages as the a{sv} of D-Bus (bus_settings.c); only the types are
 * JSON's: a string for string keys, true or false for booleans, an integer >= 0 for unsigned
 * keys, an integer or a real for numbers. jansson holds integers up to 2^63-1, so an unsigned
 * value above that (a seed, not_before) is written, and may be given, as a string of decimal
 * digits. */
#ifndef DRIFT_DAEMON_JSON_SETTINGS_H
#define DRIFT_DAEMON_JSON_SETTINGS_H

#include <jansson.h>

#include <drift/error.h>

#include "settings.h"

#define DRIFT_JSON_SETTINGS_MAX 64 /* members of one object, as entries of an a{sv} */

/* Sets each member of obj (borrowed; must be an object) that scope accepts into settings and
 * marks it in settings->set. Returns 0, or -EINVAL with err naming the key and the allowed
 * range (an unknown key, a wrong type, out of range, more than DRIFT_JSON_SETTINGS_MAX
 * members); settings may then hold some of the members (callers throw it away). */
int drift_json_read_settings(const json_t *obj, unsigned scope, struct drift_settings *settings,
                             struct drift_error *err);

/* Every key of scope with its value in s, as an object (transfer full). */
json_t *drift_json_settings(const struct drift_settings *s, unsigned scope);

/* An unsigned 64-bit value as JSON: an integer up to 2^63-1, else a string of its digits
 * (transfer full). */
json_t *drift_json_uint(uint64_t v);

#endif
