/* The settings table: types, ranges, scopes, and messages that name key and range. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "settings.h"

static void strings_parse_into_typed_values(void **state)
{
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "width", "640", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "fps", "29.97", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "audio", "no", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "seed",
                                               "18446744073709551615", &err), 0);
    assert_int_equal(s.width, 640);
    assert_true(s.fps > 29.96 && s.fps < 29.98);
    assert_false(s.audio);
    assert_true(s.seed == UINT64_MAX);
    assert_true(drift_settings_has(&s, DRIFT_KEY_WIDTH));
    assert_false(drift_settings_has(&s, DRIFT_KEY_HEIGHT));
    drift_settings_done(&s);
}

static void bad_values_are_refused_and_change_nothing(void **state)
{
    static const struct { const char *key, *value, *needle; } cases[] = {
        { "width", "15", "width: 15 is out of range; allowed: 16..4096, even" },
        { "width", "4098", "16..4096" },
        { "width", "101", "odd" },
        { "width", " 64", "not an unsigned integer" },
        { "width", "64px", "not an unsigned integer" },
        { "seed", "18446744073709551616", "not an unsigned integer" },
        { "fps", "0", "fps: 0 is out of range; allowed: 1..60" },
        { "fps", "nan", "fps" },
        { "fps", "", "not a number" },
        { "steps", "51", "0..50" },
        { "guidance", "20.5", "0..20" },
        { "cache", "fast", "not a cache policy" },
        { "cache_threshold", "-0.1", "0..100" },
        { "audio", "2", "not a boolean" },
        { "model", "", "model: 0 bytes" },
        { "prompt", "a\x01", "control character" },
        { "prompt", "\xff\xfe", "UTF-8" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct drift_settings s = { 0 };
        struct drift_error err = { 0 };
        int r = drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, cases[i].key, cases[i].value, &err);
        if (r != -EINVAL || !strstr(err.message, cases[i].needle))
            fail_msg("%s=%s: r=%d '%s' lacks '%s'", cases[i].key, cases[i].value, r, err.message,
                     cases[i].needle);
        assert_int_equal(s.set, 0);
        drift_settings_done(&s);
    }
}

static void values_read_back_from_their_text(void **state)
{
    /* A subnormal that D-Bus delivered is written to a job file as text and must read back. */
    struct drift_settings s = { 0 }, t = { 0 };
    struct drift_error err = { 0 };
    struct drift_setting_value v = { .type = DRIFT_SETTING_DOUBLE, .d = 5e-322 };
    assert_int_equal(drift_settings_set(&s, DRIFT_SCOPE_STREAM, "guidance", &v, &err), 0);
    char *text = drift_setting_to_string(&s, DRIFT_KEY_GUIDANCE);
    assert_int_equal(drift_settings_set_string(&t, DRIFT_SCOPE_STREAM, "guidance", text, &err), 0);
    assert_true(t.guidance == s.guidance);
    g_free(text);
    drift_settings_done(&s), drift_settings_done(&t);
}

static void long_prompts_are_refused(void **state)
{
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    char *p = g_strnfill(DRIFT_PROMPT_MAX, 'a');
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "prompt", p, &err), 0);
    g_free(p);
    p = g_strnfill(DRIFT_PROMPT_MAX + 1, 'a');
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "prompt", p, &err), -EINVAL);
    assert_non_null(strstr(err.message, "1025 bytes"));
    g_free(p);
    drift_settings_done(&s);
}

static void keys_belong_to_scopes(void **state)
{
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "seconds", "5", &err), -ENOENT);
    assert_non_null(strstr(err.message, "unknown key 'seconds'"));
    assert_null(strstr(err.message, "seconds,"));
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_JOB, "seconds", "5", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_JOB, "format", "mkv", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_JOB, "format", "avi", &err), -EINVAL);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_JOB, "bogus", "1", &err), -ENOENT);
    assert_non_null(strstr(err.message, "known keys: model"));
    drift_settings_done(&s);
}

static void typed_values_must_have_the_right_type(void **state)
{
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    struct drift_setting_value v = { .type = DRIFT_SETTING_STRING, .s = "big" };
    assert_int_equal(drift_settings_set(&s, DRIFT_SCOPE_STREAM, "width", &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "width: must be an unsigned integer"));
    v = (struct drift_setting_value){ .type = DRIFT_SETTING_UINT, .u = 64 };
    assert_int_equal(drift_settings_set(&s, DRIFT_SCOPE_STREAM, "width", &v, &err), 0);
    drift_settings_done(&s);
}

static void diff_and_merge_move_only_changed_keys(void **state)
{
    struct drift_settings a, b;
    struct drift_error err = { 0 };
    drift_settings_init_stream(&a, "/v", "/a");
    drift_settings_init_stream(&b, "/v", "/a");
    assert_int_equal(drift_settings_diff(&a, &b), 0);
    drift_settings_set_string(&b, DRIFT_SCOPE_STREAM, "prompt", "fire", &err);
    drift_settings_set_string(&b, DRIFT_SCOPE_STREAM, "steps", "3", &err);
    uint32_t mask = drift_settings_diff(&a, &b);
    assert_int_equal(mask, (1u << DRIFT_KEY_PROMPT) | (1u << DRIFT_KEY_STEPS));
    struct drift_settings c;
    drift_settings_copy(&c, &a);
    drift_settings_merge_mask(&c, &b, 1u << DRIFT_KEY_PROMPT);
    assert_string_equal(c.prompt, "fire");
    assert_int_equal(c.steps, 0);
    drift_settings_done(&a), drift_settings_done(&b), drift_settings_done(&c);
}

static void stream_names(void **state)
{
    struct drift_error err = { 0 };
    assert_int_equal(drift_stream_name_check("live", &err), 0);
    assert_int_equal(drift_stream_name_check("a.b_c-9", &err), 0);
    assert_int_equal(drift_stream_name_check("", &err), -EINVAL);
    assert_int_equal(drift_stream_name_check("a/b", &err), -EINVAL);
    assert_int_equal(drift_stream_name_check("a b", &err), -EINVAL);
    char *longname = g_strnfill(65, 'n');
    assert_int_equal(drift_stream_name_check(longname, &err), -EINVAL);
    g_free(longname);
}

static void cache_policies_match_the_engine(void **state)
{
    assert_int_equal(drift_cache_policy_parse("none"), 0);
    assert_int_equal(drift_cache_policy_parse("kv"), 1);
    assert_int_equal(drift_cache_policy_parse("kv+step"), 2);
    assert_int_equal(drift_cache_policy_parse("kv+fora"), 4);
    assert_int_equal(drift_cache_policy_parse("KV"), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_parse_into_typed_values),
        cmocka_unit_test(bad_values_are_refused_and_change_nothing),
        cmocka_unit_test(values_read_back_from_their_text),
        cmocka_unit_test(long_prompts_are_refused),
        cmocka_unit_test(keys_belong_to_scopes),
        cmocka_unit_test(typed_values_must_have_the_right_type),
        cmocka_unit_test(diff_and_merge_move_only_changed_keys),
        cmocka_unit_test(stream_names),
        cmocka_unit_test(cache_policies_match_the_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
