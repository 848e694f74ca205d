/* driftd's configuration: defaults, drop-ins in order, and errors that name file and line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "paths.h"

static struct driftd_config *parse(const char *text, int *ret, struct drift_error *err)
{
    struct driftd_config *cfg = driftd_config_new("/m/video.safetensors", "/m/audio.safetensors");
    *err = (struct drift_error){ 0 };
    *ret = driftd_config_apply_data(cfg, "/etc/drift/driftd.conf", text, strlen(text), err);
    return cfg;
}

static void defaults_without_a_file(void **state)
{
    struct driftd_config *cfg = driftd_config_new("/m/v.safetensors", "/m/a.safetensors");
    assert_null(cfg->state_dir); /* not set: drift_state_dir() decides */
    assert_string_equal(cfg->rtsp_address, "127.0.0.1");
    assert_int_equal(cfg->rtsp_port, 8554);
    assert_string_equal(cfg->http_address, "127.0.0.1");
    assert_int_equal(cfg->http_port, 8555);
    assert_int_equal(cfg->http_webrtc_sessions, 16);
    assert_int_equal(driftd_config_check(cfg, NULL), 0);
    assert_int_equal(cfg->max_streams, 8);
    assert_int_equal(cfg->jobs_concurrency, 1);
    assert_true(cfg->private_socket);
    assert_true(cfg->admission_strict);
    assert_int_equal(cfg->streams->len, 0);
    driftd_config_free(cfg);
}

static void stream_section_gets_defaults_and_values(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("[stream.live]\nprompt = fast red flames\nwidth = 320\n"
                                      "fps = 30\ncache = kv+step\n", &r, &err);
    assert_int_equal(r, 0);
    assert_int_equal(cfg->streams->len, 1);
    const struct drift_stream_config *sc = driftd_config_stream(cfg, "live");
    assert_non_null(sc);
    assert_string_equal(sc->settings.prompt, "fast red flames");
    assert_int_equal(sc->settings.width, 320);
    assert_int_equal(sc->settings.height, 256);
    assert_true(sc->settings.fps == 30);
    assert_string_equal(sc->settings.model, "/m/video.safetensors");
    assert_true(sc->settings.audio);
    assert_true(sc->settings.on_demand);
    assert_true(sc->settings.idle_after == 5);
    driftd_config_free(cfg);
}

static void relative_model_paths_are_relative_to_the_file(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("[stream.a]\nmodel = models/x.safetensors\n", &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(driftd_config_stream(cfg, "a")->settings.model,
                        "/etc/drift/models/x.safetensors");
    driftd_config_free(cfg);
}

static void unknown_key_names_file_and_line(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("# comment\n[rtsp]\nport = 9000\n\n[stream.live]\n"
                                      "prompt = x\ncolour = red\n", &r, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.message, "/etc/drift/driftd.conf:7"));
    assert_non_null(strstr(err.message, "unknown key 'colour'"));
    driftd_config_free(cfg);
}

static void unknown_section_names_its_line(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("[daemon]\nmax_streams = 2\n[streams]\nx = 1\n", &r, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.message, "driftd.conf:3"));
    assert_non_null(strstr(err.message, "unknown section [streams]"));
    driftd_config_free(cfg);
}

static void out_of_range_values_name_key_and_range(void **state)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "[rtsp]\nport = 70000\n", "driftd.conf:2: port: '70000' is out of range; allowed: 0..65535" },
        { "[rtsp]\naddress = example.org\n", "driftd.conf:2: address" },
        { "[http]\nport = 65536\n", "driftd.conf:2: port: '65536' is out of range; allowed: 0..65535" },
        { "[http]\n\nport = -1\n", "driftd.conf:3: port: '-1' is out of range; allowed: 0..65535" },
        { "[http]\naddress = localhost\n", "driftd.conf:2: address: 'localhost' is not an IPv4 or IPv6 address" },
        { "[http]\nbind = 1\n", "driftd.conf:2: unknown key 'bind' in [http]; known keys: address, port, webrtc_sessions" },
        { "[http]\nwebrtc_sessions = 257\n", "driftd.conf:2: webrtc_sessions: '257' is out of range; allowed: 0..256" },
        { "[daemon]\nmax_streams = 0\n", "allowed: 1..64" },
        { "[daemon]\nstate_dir = relative\n", "absolute path" },
        { "[daemon]\nadmission = maybe\n", "driftd.conf:2: admission: 'maybe'; allowed: strict or allow" },
        { "[stream.live]\nidle_after = 0\n", "idle_after: 0 is out of range; allowed: 0.1..86400" },
        { "[stream.live]\non_demand = sometimes\n", "on_demand: 'sometimes' is not a boolean" },
        { "[jobs]\nconcurrency = 99\n", "allowed: 1..16" },
        { "[stream.live]\n\n\nwidth = 5000\n", "driftd.conf:4: width: 5000 is out of range" },
        { "[stream.live]\nheight = 255\n", "odd" },
        { "[stream.live]\nfps = fast\n", "fps: 'fast' is not a number" },
        { "[stream.live]\nsteps = -1\n", "not an unsigned integer" },
        { "[stream.live]\ncache = turbo\n", "not a cache policy" },
        { "[stream.live]\naudio = maybe\n", "not a boolean" },
        { "[stream.live]\nseconds = 5\n", "unknown key 'seconds'" },
        { "[stream.bad name]\n", "driftd.conf:1: stream name" },
        { "[stream.]\n", "stream name: 0 bytes" },
        { "[stream.live]\nprompt[de] = x\n", "unknown key 'prompt[de]'" },
        { "port = 1\n", "driftd.conf:1: key outside of any [section]" },
        { "[rtsp]\njust words\n", "driftd.conf:2: expected KEY = VALUE" },
        { "[rtsp\n", "driftd.conf:1: a section header" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r;
        struct drift_error err;
        struct driftd_config *cfg = parse(cases[i].text, &r, &err);
        if (r >= 0 || !strstr(err.message, cases[i].needle))
            fail_msg("case %zu (%s): r=%d message '%s' lacks '%s'", i, cases[i].text, r,
                     err.message, cases[i].needle);
        driftd_config_free(cfg);
    }
}

static void write_file(const char *path, const char *text)
{
    assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void drop_ins_apply_in_lexical_order_later_wins(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("drift-config-XXXXXX", NULL);
    g_autofree char *main_path = g_build_filename(dir, "driftd.conf", NULL);
    g_autofree char *d = g_build_filename(dir, "driftd.conf.d", NULL);
    g_autofree char *a = g_build_filename(d, "10-a.conf", NULL);
    g_autofree char *b = g_build_filename(d, "20-b.conf", NULL);
    g_autofree char *ignored = g_build_filename(d, "30-c.conf.disabled", NULL);
    g_mkdir(d, 0755);
    write_file(main_path, "[rtsp]\nport = 1000\n[stream.live]\nprompt = one\nsteps = 4\n");
    write_file(b, "[stream.live]\nprompt = three\n[stream.extra]\nfps = 12\n");
    write_file(a, "[rtsp]\nport = 2000\n[stream.live]\nprompt = two\n");
    write_file(ignored, "[rtsp]\nport = 3000\n");
    struct driftd_config *cfg = driftd_config_new("/v", "/a");
    struct drift_error err = { 0 };
    assert_int_equal(driftd_config_load(cfg, main_path, false, &err), 0);
    assert_int_equal(cfg->rtsp_port, 2000);
    const struct drift_stream_config *live = driftd_config_stream(cfg, "live");
    assert_string_equal(live->settings.prompt, "three");
    assert_int_equal(live->settings.steps, 4);
    assert_true(driftd_config_stream(cfg, "extra")->settings.fps == 12);
    assert_int_equal(cfg->streams->len, 2);
    driftd_config_free(cfg);

    /* An error in a drop-in names the drop-in. */
    write_file(b, "[stream.live]\nprompt = three\nsteps = 51\n");
    cfg = driftd_config_new("/v", "/a");
    assert_int_equal(driftd_config_load(cfg, main_path, false, &err), -EINVAL);
    assert_non_null(strstr(err.message, "20-b.conf:3"));
    assert_non_null(strstr(err.message, "0..50"));
    driftd_config_free(cfg);
    g_unlink(a), g_unlink(b), g_unlink(ignored), g_unlink(main_path), g_rmdir(d), g_rmdir(dir);
}

static void missing_file_is_an_error_unless_optional(void **state)
{
    struct driftd_config *cfg = driftd_config_new("/v", "/a");
    struct drift_error err = { 0 };
    assert_int_equal(driftd_config_load(cfg, "/nonexistent/driftd.conf", true, &err), 0);
    assert_int_equal(driftd_config_load(cfg, "/nonexistent/driftd.conf", false, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/driftd.conf"));
    driftd_config_free(cfg);
}

static void repo_config_parses(void **state)
{
    struct driftd_config *cfg = driftd_config_new("/v", "/a");
    struct drift_error err = { 0 };
    int r = driftd_config_load(cfg, DRIFT_SOURCE_ROOT "/conf/driftd.conf", false, &err);
    if (r < 0)
        fail_msg("%s", err.message);
    assert_non_null(driftd_config_stream(cfg, "live"));
    driftd_config_free(cfg);
}

static void state_dir_is_option_then_config_then_systemd(void **state)
{
    g_setenv("STATE_DIRECTORY", "/run/systemd-state", TRUE);
    g_autofree char *a = drift_state_dir("/opt/option", "/srv/configured");
    g_autofree char *b = drift_state_dir(NULL, "/srv/configured");
    /* Configured to what happens to be the usual default: still what the file says. */
    g_autofree char *c = drift_state_dir(NULL, "/var/lib/drift");
    g_autofree char *d = drift_state_dir(NULL, NULL);
    g_setenv("STATE_DIRECTORY", "relative", TRUE);
    g_autofree char *e = drift_state_dir(NULL, NULL);
    g_unsetenv("STATE_DIRECTORY");
    assert_string_equal(a, "/opt/option");
    assert_string_equal(b, "/srv/configured");
    assert_string_equal(c, "/var/lib/drift");
    assert_string_equal(d, "/run/systemd-state");
    assert_true(g_path_is_absolute(e) && strcmp(e, "relative") != 0);
}

static void an_empty_state_dir_unsets_it(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("[daemon]\nstate_dir = /srv/x\n", &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(cfg->state_dir, "/srv/x");
    const char *dropin = "[daemon]\nstate_dir =\n";
    r = driftd_config_apply_data(cfg, "drop-in.conf", dropin, strlen(dropin), &err);
    assert_int_equal(r, 0);
    assert_null(cfg->state_dir);
    driftd_config_free(cfg);
}

/* Every "#key = value" of the shipped file's [daemon], [rtsp] and [jobs] sections, uncommented,
 * gives the defaults: the file documents the defaults the code has. (Stream keys:
 * daemon_test_settings.) */
static void the_shipped_config_shows_the_defaults(void **state)
{
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(DRIFT_SOURCE_ROOT "/conf/driftd.conf", &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GString) uncommented = g_string_new(NULL);
    bool daemon_section = false;
    unsigned shown = 0;
    for (size_t i = 0; lines[i]; i++) {
        const char *l = lines[i];
        if (l[0] == '[')
            daemon_section = !g_str_has_prefix(l, "[stream.");
        if (!daemon_section)
            continue;
        if (l[0] == '#' && g_ascii_isalpha(l[1]) && strchr(l, '=')) {
            g_string_append_printf(uncommented, "%s\n", l + 1);
            shown++;
        } else if (l[0] == '[') {
            g_string_append_printf(uncommented, "%s\n", l);
        }
    }
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse(uncommented->str, &r, &err);
    if (r < 0)
        fail_msg("%s", err.message);
    struct driftd_config *def = driftd_config_new("/v", "/a");
    assert_true(shown >= 10);
    assert_null(cfg->state_dir);
    assert_int_equal(cfg->max_streams, def->max_streams);
    assert_int_equal(cfg->private_socket, def->private_socket);
    assert_int_equal(cfg->admission_strict, def->admission_strict);
    assert_string_equal(cfg->rtsp_address, def->rtsp_address);
    assert_int_equal(cfg->rtsp_port, def->rtsp_port);
    assert_string_equal(cfg->http_address, def->http_address);
    assert_int_equal(cfg->http_port, def->http_port);
    assert_null(cfg->access_users);
    assert_int_equal(cfg->jobs_concurrency, def->jobs_concurrency);
    assert_int_equal(cfg->jobs_nice, def->jobs_nice);
    assert_int_equal(cfg->jobs_keep_days, def->jobs_keep_days);
    assert_int_equal(cfg->jobs_output_keep_days, def->jobs_output_keep_days);
    assert_int_equal(cfg->jobs_output_max_mb, def->jobs_output_max_mb);
    driftd_config_free(def);
    driftd_config_free(cfg);
}

/* Without access control the web server listens on loopback only: any other address is
 * refused for the whole configuration, naming the key and why; port 0 (no server) takes any. */
static void the_web_server_stays_on_loopback(void **state)
{
    static const struct {
        const char *text;
        int result;
    } cases[] = {
        { "[http]\naddress = 127.0.0.1\nport = 8080\n", 0 },
        { "[http]\naddress = 127.0.0.2\n", 0 },
        { "[http]\naddress = ::1\n", 0 },
        { "[http]\naddress = 0.0.0.0\n", -EINVAL },
        { "[http]\naddress = ::\n", -EINVAL },
        { "[http]\naddress = 192.168.1.10\n", -EINVAL },
        { "[http]\naddress = 0.0.0.0\nport = 0\n", 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int r;
        struct drift_error err;
        struct driftd_config *cfg = parse(cases[i].text, &r, &err);
        assert_int_equal(r, 0); /* each key is fine alone */
        r = driftd_config_check(cfg, &err);
        if (r != cases[i].result)
            fail_msg("%s: %d (%s)", cases[i].text, r, err.message);
        if (r < 0) {
            assert_non_null(strstr(err.message, "[http] address: "));
            assert_non_null(strstr(err.message, "is not a loopback address"));
            assert_non_null(strstr(err.message, "requires access control"));
        }
        driftd_config_free(cfg);
    }
}

/* [rtsp] is held to the same rule; with users configured ([access] users) any address goes. */
static void without_users_every_surface_stays_on_loopback(void **state)
{
    static const struct {
        const char *text;
        const char *refused; /* the key named, or NULL: accepted */
    } cases[] = {
        { "[rtsp]\naddress = ::1\n", NULL },
        { "[rtsp]\naddress = 0.0.0.0\n", "[rtsp] address: 0.0.0.0 is not a loopback address" },
        { "[rtsp]\naddress = 10.0.0.1\nport = 0\n", "[rtsp] address: 10.0.0.1" },
        { "[rtsp]\naddress = 0.0.0.0\n[access]\nusers = /etc/drift/users\n", NULL },
        { "[http]\naddress = ::\n[access]\nusers = users\n", NULL },
        { "[http]\naddress = ::\n[access]\nusers = users\nusers =\n", "[http] address: ::" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int r;
        struct drift_error err;
        struct driftd_config *cfg = parse(cases[i].text, &r, &err);
        assert_int_equal(r, 0);
        r = driftd_config_check(cfg, &err);
        if (cases[i].refused ? r != -EINVAL || !strstr(err.message, cases[i].refused) : r != 0)
            fail_msg("%s: %d (%s)", cases[i].text, r, err.message);
        if (r < 0)
            assert_non_null(strstr(err.message, "set [access] users"));
        driftd_config_free(cfg);
    }
}

static void the_users_file_is_relative_to_the_config_file(void **state)
{
    int r;
    struct drift_error err;
    struct driftd_config *cfg = parse("[access]\nusers = users\n", &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(cfg->access_users, "/etc/drift/users");
    driftd_config_free(cfg);
    cfg = parse("[access]\nusers = /srv/drift/users\n", &r, &err);
    assert_string_equal(cfg->access_users, "/srv/drift/users");
    driftd_config_free(cfg);
    cfg = parse("[access]\n\nuser = x\n", &r, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.message, "/etc/drift/driftd.conf:3: unknown key 'user' in [access]; "
                                        "known keys: users, tls_certificate, tls_key"));
    driftd_config_free(cfg);
    /* TLS takes the certificate and its key, both. */
    cfg = parse("[access]\ntls_certificate = tls/drift.crt\ntls_key = /k\n", &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(cfg->tls_certificate, "/etc/drift/tls/drift.crt");
    assert_int_equal(driftd_config_check(cfg, &err), 0);
    driftd_config_free(cfg);
    cfg = parse("[access]\ntls_certificate = /c\n", &r, &err);
    assert_int_equal(driftd_config_check(cfg, &err), -EINVAL);
    assert_non_null(strstr(err.message, "[access] tls_certificate: set, but not tls_key"));
    driftd_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_without_a_file),
        cmocka_unit_test(stream_section_gets_defaults_and_values),
        cmocka_unit_test(relative_model_paths_are_relative_to_the_file),
        cmocka_unit_test(unknown_key_names_file_and_line),
        cmocka_unit_test(unknown_section_names_its_line),
        cmocka_unit_test(out_of_range_values_name_key_and_range),
        cmocka_unit_test(drop_ins_apply_in_lexical_order_later_wins),
        cmocka_unit_test(missing_file_is_an_error_unless_optional),
        cmocka_unit_test(repo_config_parses),
        cmocka_unit_test(state_dir_is_option_then_config_then_systemd),
        cmocka_unit_test(an_empty_state_dir_unsets_it),
        cmocka_unit_test(the_shipped_config_shows_the_defaults),
        cmocka_unit_test(the_web_server_stays_on_loopback),
        cmocka_unit_test(without_users_every_surface_stays_on_loopback),
        cmocka_unit_test(the_users_file_is_relative_to_the_config_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
