/* Job records and specs: a job survives a round trip through its file; malformed files are
 * refused with a reason; specs complete the same way for --render and SubmitJob; files are
 * replaced atomically. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fileio.h"
#include "jobs.h"
#include "spec.h"

static void init_job(struct drift_job *j)
{
    memset(j, 0, sizeof *j);
    drift_settings_init_stream(&j->spec, "/m/video.safetensors", "/m/audio.safetensors");
}

static void job_survives_its_file(void **state)
{
    struct drift_job a, b;
    struct drift_error err = { 0 };
    init_job(&a);
    init_job(&b);
    a.id = g_strdup("j0123456789abcdef");
    a.state = DRIFT_JOB_RUNNING;
    a.progress = 0.25;
    a.error = g_strdup("");
    a.created = 1795668827374093ULL;
    a.owner = g_strdup("carl"); /* who submitted it over HTTP (docs/ACCESS.md) */
    assert_int_equal(drift_spec_parse("prompt=calm blue ocean,seconds=2.5,fps=12,not_before=5,"
                                      "priority=7,format=mkv", &a.spec, &err), 0);
    assert_int_equal(drift_spec_complete(&a.spec, "/var/lib/drift/renders", a.id, &err), 0);
    size_t size;
    g_autofree char *text = drift_job_to_text(&a, &size);
    assert_int_equal(drift_job_from_text(&b, "x.job", text, size, &err), 0);
    assert_string_equal(b.id, a.id);
    assert_int_equal(b.state, DRIFT_JOB_RUNNING);
    assert_true(b.progress == 0.25);
    assert_true(b.created == a.created);
    assert_string_equal(b.owner, "carl");
    assert_string_equal(b.spec.prompt, "calm blue ocean");
    assert_true(b.spec.seconds == 2.5 && b.spec.fps == 12);
    assert_true(b.spec.not_before == 5 && b.spec.priority == 7);
    assert_string_equal(b.spec.output, "/var/lib/drift/renders/j0123456789abcdef.mkv");
    assert_true(b.spec.guidance < 0); /* the model's default stays a default */
    assert_int_equal(drift_settings_diff(&a.spec, &b.spec) & ~(1u << DRIFT_KEY_GUIDANCE), 0);
    g_free(a.id), g_free(a.error), g_free(b.id), g_free(b.error);
    g_free(a.owner), g_free(b.owner);
    drift_settings_done(&a.spec), drift_settings_done(&b.spec);
}

static void malformed_job_files_are_refused_with_a_reason(void **state)
{
    static const struct { const char *text, *needle; } cases[] = {
        { "garbage\x01", "x.job" },
        { "[job]\nid=j1\nstate=running\n", "needs id, state and error" },
        { "[job]\nid=j1\nstate=exploded\nerror=\ncreated=1\nfinished=0\n[spec]\n", "unknown state" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=x\nfinished=0\n[spec]\n", "created" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=1\nfinished=0\n", "no [spec]" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=1\nfinished=0\n[spec]\nwidth=7\n", "width" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=1\nfinished=0\n[spec]\nbogus=1\n", "unknown key" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=1\nfinished=0\n[spec]\nfps=10\n", "lacks" },
        { "[job]\nid=j1\nstate=done\nerror=\ncreated=1\nfinished=0\nowner=a b\n[spec]\n",
          "owner: 'a b' is not a user name" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct drift_job j;
        struct drift_error err = { 0 };
        memset(&j, 0, sizeof j);
        int r = drift_job_from_text(&j, "x.job", cases[i].text, strlen(cases[i].text), &err);
        if (r >= 0 || !strstr(err.message, cases[i].needle))
            fail_msg("case %zu: r=%d '%s' lacks '%s'", i, r, err.message, cases[i].needle);
        g_free(j.id), g_free(j.error);
        drift_settings_done(&j.spec);
    }
}

static void specs_complete_outputs_and_formats(void **state)
{
    static const struct { const char *spec, *output, *needle; } cases[] = {
        { "seconds=1", "/r/ID.mp4", NULL },
        { "seconds=1,format=mkv", "/r/ID.mkv", NULL },
        { "seconds=1,output=clip.mkv", "/r/clip.mkv", NULL },
        { "seconds=1,output=/srv/out/clip", "/srv/out/clip.mp4", NULL },
        { "seconds=1,output=clip.mp4,format=mkv", NULL, "does not end in .mkv" },
        { "seconds=1,output=../clip.mp4", NULL, "a file name" },
        { "seconds=1,output=a/b.mp4", NULL, "a file name" },
        { "fps=5", NULL, "seconds: missing" },
        { "seconds=1,colour=red", NULL, "unknown key 'colour'" },
        { "seconds", NULL, "expected KEY=VALUE" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct drift_settings s;
        struct drift_error err = { 0 };
        drift_settings_init_stream(&s, "/v", "/a");
        int r = drift_spec_parse(cases[i].spec, &s, &err);
        if (r >= 0)
            r = drift_spec_complete(&s, "/r", "ID", &err);
        if (cases[i].output && (r < 0 || strcmp(s.output, cases[i].output)))
            fail_msg("%s: r=%d output %s (%s)", cases[i].spec, r, s.output, err.message);
        if (!cases[i].output && (r >= 0 || !strstr(err.message, cases[i].needle)))
            fail_msg("%s: r=%d '%s' lacks '%s'", cases[i].spec, r, err.message, cases[i].needle);
        drift_settings_done(&s);
    }
}

static void spec_files_name_their_lines(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("drift-spec-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "nightly.conf", NULL);
    assert_true(g_file_set_contents(path, "# nightly\nprompt = calm blue ocean\n\nseconds = 60\n"
                                    "steps = 99\n", -1, NULL));
    struct drift_settings s;
    struct drift_error err = { 0 };
    drift_settings_init_stream(&s, "/v", "/a");
    assert_int_equal(drift_spec_parse(path, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "nightly.conf:5"));
    assert_non_null(strstr(err.message, "0..50"));
    assert_string_equal(s.prompt, "calm blue ocean");
    drift_settings_done(&s);
    g_unlink(path), g_rmdir(dir);
}

static void atomic_write_replaces_and_leaves_no_temporary(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("drift-atomic-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "a.job", NULL);
    struct drift_error err = { 0 };
    assert_int_equal(drift_write_file_atomic(path, "one", 3, &err), 0);
    assert_int_equal(drift_write_file_atomic(path, "two!", 4, &err), 0);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    assert_string_equal(text, "two!");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    assert_int_equal(n, 1);
    g_autofree char *missing = g_build_filename(dir, "nope", "a.job", NULL);
    assert_int_equal(drift_write_file_atomic(missing, "x", 1, &err), -ENOENT);
    assert_non_null(strstr(err.message, "nope"));
    g_unlink(path), g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_survives_its_file),
        cmocka_unit_test(malformed_job_files_are_refused_with_a_reason),
        cmocka_unit_test(specs_complete_outputs_and_formats),
        cmocka_unit_test(spec_files_name_their_lines),
        cmocka_unit_test(atomic_write_replaces_and_leaves_no_temporary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
