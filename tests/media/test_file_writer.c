/* File writer failure paths: bad arguments, an unwritable place, a cancel that leaves nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "drift/media/file_writer.h"

#include "small_output.h"

static int count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    return n;
}

static void rejects_bad_arguments_naming_them(void **state)
{
    struct drift_stream_output *aac = small_output(false, DRIFT_AUDIO_AAC, 10), *opus = small_output(false, DRIFT_AUDIO_OPUS, 10);
    struct drift_file_writer *w = NULL;
    struct drift_error err;
    assert_int_equal(drift_file_writer_init(&w, aac, "/tmp/x.avi", 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "path"));
    assert_int_equal(drift_file_writer_init(&w, aac, "", 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "path"));
    assert_int_equal(drift_file_writer_init(&w, NULL, "/tmp/x.mp4", 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "out"));
    assert_int_equal(drift_file_writer_init(&w, opus, "/tmp/x.mp4", 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "AAC"));
    assert_int_equal(drift_file_writer_init(&w, aac, "/tmp/x.mkv", 0, &err), -EINVAL);
    assert_non_null(strstr(err.message, "Opus"));
    assert_int_equal(drift_file_writer_init(&w, aac, "/tmp/x", DRIFT_FILE_MKV, &err), -EINVAL);
    assert_null(w);
    drift_stream_output_free(aac);
    drift_stream_output_free(opus);
}

static void unwritable_place_fails_at_once(void **state)
{
    struct drift_stream_output *out = small_output(false, DRIFT_AUDIO_AAC, 10);
    struct drift_file_writer *w = NULL;
    struct drift_error err;
    int r = drift_file_writer_init(&w, out, "/nonexistent-drift-dir/x.mp4", 0, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent-drift-dir"));
    if (getuid() != 0) { /* root writes anywhere */
        char *dir = g_dir_make_tmp("drift-ro-XXXXXX", NULL);
        g_chmod(dir, 0500);
        char *path = g_build_filename(dir, "x.mp4", NULL);
        assert_int_equal(drift_file_writer_init(&w, out, path, 0, &err), -EACCES);
        g_free(path);
        g_rmdir(dir);
        g_free(dir);
    }
    assert_null(w);
    drift_stream_output_free(out);
}

static void cancel_leaves_nothing_behind(void **state)
{
    char *dir = g_dir_make_tmp("drift-cancel-XXXXXX", NULL);
    char *path = g_build_filename(dir, "job.mp4", NULL);
    struct drift_stream_output *out = small_output(false, DRIFT_AUDIO_AAC, 10);
    struct drift_file_writer *w = NULL;
    assert_int_equal(drift_file_writer_init(&w, out, path, 0, NULL), 0);
    assert_true(g_file_test(drift_file_writer_temp_path(w), G_FILE_TEST_EXISTS));
    assert_int_equal(count_entries(dir), 1);
    uint8_t rgb[32 * 32 * 3] = { 0 };
    float pcm[4800] = { 0 };
    for (int k = 0; k < 5; k++) {
        assert_int_equal(drift_stream_output_push_video(out, rgb, k), 0);
        assert_int_equal(drift_stream_output_push_audio(out, pcm, 4800, k * 4800), 0);
    }
    drift_file_writer_free(w); /* no finish: a cancel */
    assert_int_equal(count_entries(dir), 0);
    drift_stream_output_free(out);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

static void finish_without_end_of_stream_times_out_and_cleans_up(void **state)
{
    char *dir = g_dir_make_tmp("drift-timeout-XXXXXX", NULL);
    char *path = g_build_filename(dir, "job.mkv", NULL);
    struct drift_stream_output *out = small_output(false, DRIFT_AUDIO_OPUS, 10);
    struct drift_file_writer *w = NULL;
    struct drift_error err;
    assert_int_equal(drift_file_writer_init(&w, out, path, 0, NULL), 0);
    assert_int_equal(drift_file_writer_finish(w, 100, &err), -ETIMEDOUT);
    drift_file_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    drift_stream_output_free(out);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_arguments_naming_them),
        cmocka_unit_test(unwritable_place_fails_at_once),
        cmocka_unit_test(cancel_leaves_nothing_behind),
        cmocka_unit_test(finish_without_end_of_stream_times_out_and_cleans_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
