/* The settings table: types, ranges, scopes, and messages that name key and range. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include <drift/generator.h>

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
        { "cache_threshold", "-0.1", "0..10" },
        { "cache_threshold", "50", "cache_threshold: 50 is out of range; allowed: 0..10" },
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
    /* on_demand and idle_after belong to live streams: a render has nobody to wait for. */
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_JOB, "on_demand", "false", &err), -ENOENT);
    assert_non_null(strstr(err.message, "unknown key 'on_demand'"));
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "on_demand", "false", &err), 0);
    assert_false(s.on_demand);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "idle_after", "0", &err), -EINVAL);
    assert_string_equal(err.message, "idle_after: 0 is out of range; allowed: 0.1..86400");
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

static void cache_policies_are_the_engines(void **state)
{
    /* Every name the engine has is accepted, and only those (plus its alias kv+step). */
    struct drift_settings s = { 0 };
    struct drift_error err = { 0 };
    for (int p = 0; p < DRIFT_CACHE_POLICIES; p++) {
        const char *name = drift_cache_policy_name(p);
        assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "cache", name, &err), 0);
        assert_non_null(strstr(drift_setting_desc(DRIFT_KEY_CACHE)->range, name));
    }
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "cache", "kv+step", &err), 0);
    assert_int_equal(drift_settings_set_string(&s, DRIFT_SCOPE_STREAM, "cache", "KV", &err), -EINVAL);
    drift_settings_done(&s);
}

static void ranges_are_the_engines(void **state)
{
    /* What the engine accepts is what the daemon accepts: a value the daemon lets through is
     * never refused later by the generator with another range. */
    assert_true(drift_setting_desc(DRIFT_KEY_STEPS)->max == DRIFT_STEPS_MAX);
    assert_true(drift_setting_desc(DRIFT_KEY_GUIDANCE)->max == DRIFT_GUIDANCE_MAX);
    assert_true(drift_setting_desc(DRIFT_KEY_CACHE_THRESHOLD)->max == DRIFT_CACHE_THRESHOLD_MAX);
    assert_true(drift_setting_desc(DRIFT_KEY_CACHE_THRESHOLD)->min == 0);
}

static void range_texts_say_the_ranges(void **state)
{
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        const struct drift_setting_desc *d = drift_setting_desc(k);
        if ((d->type != DRIFT_SETTING_UINT && d->type != DRIFT_SETTING_DOUBLE) ||
            k == DRIFT_KEY_NOT_BEFORE)
            continue;
        g_autofree char *want = d->max >= 18446744073709551615.0
                                    ? g_strdup_printf("%g..%" PRIu64, d->min, UINT64_MAX)
                                    : g_strdup_printf("%g..%g", d->min, d->max);
        if (!g_str_has_prefix(d->range, want))
            fail_msg("%s: range '%s' does not start with %s", d->name, d->range, want);
    }
}

static void defaults_are_valid_values(void **state)
{
    /* Every default parses as its key's value; keys without one say what it is instead. */
    for (int k = 0; k < _DRIFT_KEY_MAX; k++) {
        const struct drift_setting_desc *d = drift_setting_desc(k);
        struct drift_settings s = { 0 };
        struct drift_error err = { 0 };
        if (!d->def) {
            if (!d->def_text || !d->def_text[0])
                fail_msg("%s: neither a default nor a text for it", d->name);
            continue;
        }
        if (drift_settings_set_string(&s, d->scope, d->name, d->def, &err) < 0)
            fail_msg("%s: default '%s': %s", d->name, d->def, err.message);
        drift_settings_done(&s);
    }
    struct drift_settings s;
    drift_settings_init_stream(&s, "/v", "");
    assert_int_equal(s.set, 0);
    assert_string_equal(s.cache, "kv");
    assert_int_equal(s.width, 256);
    assert_true(s.fps == 24 && s.guidance < 0);
    assert_false(s.audio);
    drift_settings_done(&s);
}

static char *read_source(const char *relative)
{
    g_autofree char *path = g_build_filename(DRIFT_SOURCE_ROOT, relative, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        fail_msg("cannot read %s", path);
    return text;
}

/* conf/driftd.conf's [stream.live] documents every stream key: a "#key = value" (or
 * "key = value") line whose value is the default where there is one, under comment lines that
 * give the range. */
static void the_shipped_config_documents_every_key(void **state)
{
    g_autofree char *text = read_source("conf/driftd.conf");
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    bool seen[_DRIFT_KEY_MAX] = { false };
    bool in_stream = false, after_key = false;
    g_autoptr(GString) comment = g_string_new(NULL); /* the comment lines above a key line */
    for (size_t i = 0; lines[i]; i++) {
        const char *l = lines[i];
        if (l[0] == '[')
            in_stream = g_str_has_prefix(l, "[stream.");
        if (!in_stream || l[0] == '[' || !l[0]) {
            g_string_truncate(comment, 0);
            after_key = false;
            continue;
        }
        if (g_str_has_prefix(l, "# ") || !strcmp(l, "#")) {
            if (after_key)
                g_string_truncate(comment, 0); /* a new key's comment */
            g_string_append_printf(comment, "%s ", l[1] ? l + 2 : "");
            after_key = false;
            continue;
        }
        /* "key = value" or "#key = value" (a default left commented out) */
        const char *body = l[0] == '#' ? l + 1 : l;
        const char *eq = strstr(body, " =");
        g_autofree char *name = eq ? g_strndup(body, eq - body) : g_strdup(body);
        int k = drift_setting_lookup(name);
        if (k < 0)
            fail_msg("conf/driftd.conf:%zu: '%s' is not a key", i + 1, name);
        const struct drift_setting_desc *d = drift_setting_desc(k);
        const char *value = eq[2] == ' ' ? eq + 3 : eq + 2;
        if (!(d->scope & DRIFT_SCOPE_STREAM))
            fail_msg("conf/driftd.conf:%zu: %s is not a stream key", i + 1, d->name);
        if (l[0] == '#' && d->def && strcmp(value, d->def) != 0)
            fail_msg("conf/driftd.conf:%zu: #%s = %s, but the default is '%s'", i + 1, d->name,
                     value, d->def);
        if (!strstr(comment->str, d->range))
            fail_msg("conf/driftd.conf:%zu: the comment above %s does not give its range '%s'",
                     i + 1, d->name, d->range);
        seen[k] = true;
        after_key = true;
    }
    for (int k = 0; k < _DRIFT_KEY_MAX; k++)
        if ((drift_setting_desc(k)->scope & DRIFT_SCOPE_STREAM) && !seen[k])
            fail_msg("conf/driftd.conf: stream key %s is not documented", drift_setting_desc(k)->name);
}

static void the_daemon_docs_show_the_table(void **state)
{
    g_autofree char *doc = read_source("docs/DAEMON.md");
    g_autofree char *table = drift_settings_reference();
    if (!strstr(doc, table))
        fail_msg("docs/DAEMON.md lacks the settings table as `driftctl keys` prints it:\n%s", table);
}

static void key_lists_follow_the_table(void **state)
{
    g_autofree char *stream = drift_settings_key_list(DRIFT_SCOPE_STREAM, 0);
    g_autofree char *job_only = drift_settings_key_list(DRIFT_SCOPE_JOB, DRIFT_SCOPE_STREAM);
    assert_true(g_str_has_prefix(stream, "model, audio_model, prompt"));
    assert_null(strstr(stream, "seconds"));
    assert_string_equal(job_only, "seconds, output, format, not_before, priority");
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
        cmocka_unit_test(cache_policies_are_the_engines),
        cmocka_unit_test(ranges_are_the_engines),
        cmocka_unit_test(range_texts_say_the_ranges),
        cmocka_unit_test(defaults_are_valid_values),
        cmocka_unit_test(the_shipped_config_documents_every_key),
        cmocka_unit_test(the_daemon_docs_show_the_table),
        cmocka_unit_test(key_lists_follow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
