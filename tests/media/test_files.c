/* Files through both muxers: MP4 (H.264 + AAC, moov in front) and Matroska (H.264 + Opus).
 * ffprobe must see the right streams, size, rate and duration; ffmpeg must decode them to the
 * end without a single error; nothing but the final file is left in the directory. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "drift/media/file_writer.h"
#include "test_pattern.h"

#define W 160
#define H 120
#define FPS 25
#define SECONDS 4
#define RATE 44100

static char *run(const char *cmd, int *ret_status)
{
    char *out = NULL, *err = NULL;
    GError *gerr = NULL;
    assert_true(g_spawn_command_line_sync(cmd, &out, &err, ret_status, &gerr));
    if (err && *err)
        print_message("%s: %s\n", cmd, err);
    if (ret_status)
        *ret_status = (err && *err) ? 1 : *ret_status;
    g_free(err);
    return out;
}

/* Renders SECONDS of the test pattern into @path through an offline output. */
static void write_file(const char *path, enum drift_audio_codec codec, int out_w, int out_h)
{
    struct drift_stream_output_config c = {
        .width = W, .height = H, .out_width = out_w, .out_height = out_h, .fps_num = FPS,
        .preset = "veryfast", .audio = true, .audio_rate = RATE, .audio_channels = 2,
        .audio_codec = codec, .live = false,
    };
    struct drift_stream_output *out;
    struct drift_file_writer *w;
    struct drift_error err = { 0 };
    assert_int_equal(drift_stream_output_init(&out, &c, &err), 0);
    assert_int_equal(drift_file_writer_init(&w, out, path, DRIFT_FILE_AUTO, &err), 0);
    uint8_t *rgb = malloc(W * H * 3);
    float *pcm = malloc(2 * (RATE / FPS + 1) * sizeof(float));
    for (int k = 0; k < SECONDS * FPS; k++) {
        int64_t s0 = (int64_t)k * RATE / FPS, s1 = (int64_t)(k + 1) * RATE / FPS;
        drift_test_pattern_video(rgb, W, H, k, FPS, 1);
        drift_test_pattern_audio(pcm, (size_t)(s1 - s0), 2, RATE, s0);
        assert_int_equal(drift_stream_output_push_video(out, rgb, k), 0);
        assert_int_equal(drift_stream_output_push_audio(out, pcm, (size_t)(s1 - s0), s0), 0);
    }
    assert_false(g_file_test(path, G_FILE_TEST_EXISTS)); /* not before it is complete */
    assert_int_equal(drift_stream_output_finish(out), 0);
    if (drift_file_writer_finish(w, 30000, &err) < 0)
        fail_msg("finish: %s", err.message);
    drift_file_writer_free(w);
    drift_stream_output_free(out);
    free(rgb);
    free(pcm);
}

static void check_file(const char *path, const char *audio_codec, int w, int h)
{
    int status;
    char *cmd = g_strdup_printf("ffprobe -v error -count_frames -show_entries "
                                "stream=codec_name,width,height,r_frame_rate,nb_read_frames,"
                                "sample_rate:format=duration -of default=nw=1 '%s'", path);
    char *out = run(cmd, &status);
    print_message("%s:\n%s", path, out);
    assert_int_equal(status, 0);
    char want[256];
    snprintf(want, sizeof(want), "codec_name=h264\nwidth=%d\nheight=%d\nr_frame_rate=%d/1\n", w,
             h, FPS);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "nb_read_frames=%d\n", SECONDS * FPS);
    assert_non_null(strstr(out, want)); /* every frame, none repeated or lost */
    snprintf(want, sizeof(want), "codec_name=%s\nsample_rate=48000\n", audio_codec);
    assert_non_null(strstr(out, want));
    double duration = g_ascii_strtod(strstr(out, "duration=") + 9, NULL);
    assert_true(duration > SECONDS - 0.05 && duration < SECONDS + 0.1);
    g_free(out);
    g_free(cmd);
    cmd = g_strdup_printf("ffmpeg -nostdin -v error -i '%s' -f null -", path);
    g_free(run(cmd, &status));
    assert_int_equal(status, 0); /* decodes to the end, not one error */
    g_free(cmd);
}

/* The directory holds the final file and nothing else (no temporary left). */
static void check_alone(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    g_dir_close(d);
    assert_int_equal(n, 1);
}

static void mp4_with_aac_and_moov_first(void **state)
{
    char *dir = g_dir_make_tmp("drift-mp4-XXXXXX", NULL);
    char *path = g_build_filename(dir, "render.mp4", NULL);
    write_file(path, DRIFT_AUDIO_AAC, 0, 0);
    check_file(path, "aac", W, H);
    check_alone(dir);
    /* faststart: the index (moov) comes before the media data (mdat). */
    gchar *data;
    gsize len;
    assert_true(g_file_get_contents(path, &data, &len, NULL));
    void *moov = memmem(data, len, "moov", 4), *mdat = memmem(data, len, "mdat", 4);
    assert_non_null(moov);
    assert_non_null(mdat);
    assert_true(moov < mdat);
    g_free(data);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

static void matroska_with_opus_scaled_up(void **state)
{
    char *dir = g_dir_make_tmp("drift-mkv-XXXXXX", NULL);
    char *path = g_build_filename(dir, "render.mkv", NULL);
    write_file(path, DRIFT_AUDIO_OPUS, 2 * W, 2 * H); /* output larger than the model's frames */
    check_file(path, "opus", 2 * W, 2 * H);
    check_alone(dir);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mp4_with_aac_and_moov_first),
        cmocka_unit_test(matroska_with_opus_scaled_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
