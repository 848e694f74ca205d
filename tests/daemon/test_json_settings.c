/* Settings as JSON (daemon/json_settings.c), the HTTP API's side of the settings table: the
 * same keys, ranges and messages as D-Bus a{sv} dictionaries, JSON's types, and every refusal
 * naming the key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "json_settings.h"

/* Reads text (a JSON object) with scope; returns the result, err and settings filled. */
static int read_text(const char *text, unsigned scope, struct drift_settings *s,
                     struct drift_error *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    *s = (struct drift_settings){ 0 };
    int r = drift_json_read_settings(j, scope, s, err);
    json_decref(j);
    return r;
}

static void every_type_is_read_and_marked_as_given(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    assert_int_equal(read_text("{\"prompt\": \"w1 w2\", \"width\": 96, \"fps\": 12.5,"
                               " \"guidance\": 3, \"audio\": false, \"cache\": \"none\"}",
                               DRIFT_SCOPE_STREAM, &s, &err), 0);
    assert_string_equal(s.prompt, "w1 w2");
    assert_int_equal(s.width, 96);
    assert_true(s.fps == 12.5);
    assert_true(s.guidance == 3); /* an integer where a number is wanted */
    assert_false(s.audio);
    assert_string_equal(s.cache, "none");
    assert_int_equal(s.set, (1u << DRIFT_KEY_PROMPT) | (1u << DRIFT_KEY_WIDTH) |
                                (1u << DRIFT_KEY_FPS) | (1u << DRIFT_KEY_GUIDANCE) |
                                (1u << DRIFT_KEY_AUDIO) | (1u << DRIFT_KEY_CACHE));
    drift_settings_done(&s);
}

static void an_out_of_range_value_gets_the_tables_message(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    assert_int_equal(read_text("{\"width\": 5000}", DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    /* word for word what Stream.Set answers on D-Bus */
    assert_string_equal(err.message, "width: 5000 is out of range; allowed: 16..4096, even");
    drift_settings_done(&s);
    assert_int_equal(read_text("{\"steps\": 51}", DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    assert_string_equal(err.message, "steps: 51 is out of range; allowed: 0..50 (0 = the model's default)");
    drift_settings_done(&s);
}

static void unknown_keys_and_keys_of_another_scope_are_invalid_arguments(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    assert_int_equal(read_text("{\"colour\": \"red\"}", DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    assert_int_equal(err.code, -EINVAL); /* InvalidArgument, as on D-Bus, not NotFound */
    assert_non_null(strstr(err.message, "unknown key 'colour'; known keys: model,"));
    drift_settings_done(&s);
    assert_int_equal(read_text("{\"seconds\": 5}", DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "unknown key 'seconds'"));
    drift_settings_done(&s);
    assert_int_equal(read_text("{\"seconds\": 5, \"output\": \"a.mp4\"}", DRIFT_SCOPE_JOB, &s, &err), 0);
    assert_true(s.seconds == 5);
    drift_settings_done(&s);
}

static void wrong_json_types_name_the_key_and_what_is_wanted(void **state)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        { "{\"width\": \"big\"}", "width: a JSON string where an unsigned integer is wanted" },
        { "{\"width\": 64.0}", "width: a JSON real where an unsigned integer is wanted" },
        { "{\"prompt\": 5}", "prompt: a JSON integer where a string is wanted" },
        { "{\"audio\": \"yes\"}", "audio: a JSON string where a boolean is wanted" },
        { "{\"fps\": null}", "fps: a JSON null where a number is wanted" },
        { "{\"cache\": [\"kv\"]}", "cache: a JSON array where a string is wanted" },
        { "{\"seed\": -3}", "seed: negative value; allowed: 0..18446744073709551615" },
        { "{\"seed\": \"99999999999999999999\"}", "seed: '99999999999999999999' is not an unsigned integer" },
        { "{\"seed\": \"-1\"}", "seed: a JSON string where an unsigned integer is wanted" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct drift_settings s;
        struct drift_error err = { 0 };
        assert_int_equal(read_text(cases[i].json, DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
        if (!strstr(err.message, cases[i].message))
            fail_msg("%s: '%s' lacks '%s'", cases[i].json, err.message, cases[i].message);
        drift_settings_done(&s);
    }
}

static void a_seed_above_what_json_integers_hold_goes_as_digits(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    assert_int_equal(read_text("{\"seed\": \"18446744073709551615\"}", DRIFT_SCOPE_STREAM, &s, &err), 0);
    assert_true(s.seed == UINT64_MAX);
    json_t *out = drift_json_settings(&s, DRIFT_SCOPE_STREAM);
    assert_string_equal(json_string_value(json_object_get(out, "seed")), "18446744073709551615");
    json_decref(out);
    drift_settings_done(&s);
    json_t *small = drift_json_uint(INT64_MAX);
    assert_true(json_is_integer(small) && json_integer_value(small) == INT64_MAX);
    json_decref(small);
}

static void not_an_object_or_too_many_members_is_refused(void **state)
{
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    json_t *arr = json_array();
    assert_int_equal(drift_json_read_settings(arr, DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    assert_string_equal(err.message, "settings: a JSON array where an object is wanted");
    json_decref(arr);
    assert_int_equal(drift_json_read_settings(NULL, DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    json_t *many = json_object();
    for (int i = 0; i < DRIFT_JSON_SETTINGS_MAX + 1; i++) {
        char key[16];
        g_snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(many, key, json_integer(i));
    }
    assert_int_equal(drift_json_read_settings(many, DRIFT_SCOPE_STREAM, &s, &err), -EINVAL);
    assert_string_equal(err.message, "settings: more than 64 entries");
    json_decref(many);
}

static void settings_are_written_with_the_values_and_types_given(void **state)
{
    struct drift_settings s;
    struct drift_error err = { 0 };
    assert_int_equal(read_text("{\"prompt\": \"w1\", \"width\": 96, \"fps\": 12.5,"
                               " \"audio\": true, \"seed\": 7}", DRIFT_SCOPE_STREAM, &s, &err), 0);
    json_t *j = drift_json_settings(&s, DRIFT_SCOPE_STREAM);
    assert_string_equal(json_string_value(json_object_get(j, "prompt")), "w1");
    assert_int_equal(json_integer_value(json_object_get(j, "width")), 96);
    assert_true(json_real_value(json_object_get(j, "fps")) == 12.5);
    assert_true(json_is_true(json_object_get(j, "audio")));
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 7);
    assert_non_null(json_object_get(j, "on_demand")); /* every key of the scope */
    assert_null(json_object_get(j, "seconds"));       /* a job's key */
    assert_string_equal(json_string_value(json_object_get(j, "model")), ""); /* not given */
    json_decref(j);
    drift_settings_done(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_is_read_and_marked_as_given),
        cmocka_unit_test(an_out_of_range_value_gets_the_tables_message),
        cmocka_unit_test(unknown_keys_and_keys_of_another_scope_are_invalid_arguments),
        cmocka_unit_test(wrong_json_types_name_the_key_and_what_is_wanted),
        cmocka_unit_test(a_seed_above_what_json_integers_hold_goes_as_digits),
        cmocka_unit_test(not_an_object_or_too_many_members_is_refused),
        cmocka_unit_test(settings_are_written_with_the_values_and_types_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
