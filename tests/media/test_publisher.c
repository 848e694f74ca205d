/* Publisher: argument checks, and a destination that refuses is reported, not hidden. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "drift/media/publisher.h"
#include "small_output.h"

static void rejects_bad_arguments_naming_them(void **state)
{
    struct drift_stream_output *live = small_output(true, DRIFT_AUDIO_OPUS, 25);
    struct drift_stream_output *offline = small_output(false, DRIFT_AUDIO_OPUS, 25);
    struct drift_stream_output *aac = small_output(true, DRIFT_AUDIO_AAC, 25);
    struct drift_publisher *p = NULL;
    struct drift_error err;
    struct drift_publisher_config c = { .url = "http://example.com/x" };
    assert_int_equal(drift_publisher_init(&p, live, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "url"));
    c.url = "rtsp://127.0.0.1:1/x\" ! fakesink";
    assert_int_equal(drift_publisher_init(&p, live, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "url"));
    c.url = "rtsp://127.0.0.1:1/x";
    c.latency_ms = -1;
    assert_int_equal(drift_publisher_init(&p, live, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "latency_ms"));
    c.latency_ms = 0;
    assert_int_equal(drift_publisher_init(&p, offline, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "live"));
    assert_int_equal(drift_publisher_init(&p, aac, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "AAC"));
    assert_int_equal(drift_publisher_init(&p, NULL, &c, &err), -EINVAL);
    assert_null(p);
    drift_stream_output_free(live);
    drift_stream_output_free(offline);
    drift_stream_output_free(aac);
}

/* Nobody listens on port 1: the failure must surface through drift_publisher_check(), while
 * the output itself keeps running. */
static void refused_connection_is_reported(void **state)
{
    struct drift_stream_output *out = small_output(true, DRIFT_AUDIO_OPUS, 25);
    struct drift_publisher *p = NULL;
    struct drift_error err = { 0 };
    struct drift_publisher_config c = { .url = "rtsp://127.0.0.1:1/x", .tcp = true };
    int r = drift_publisher_init(&p, out, &c, &err);
    if (r == 0) {
        uint8_t rgb[32 * 32 * 3] = { 0 };
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        for (int k = 0; (r = drift_publisher_check(p, &err)) == 0; k++) {
            assert_true(g_get_monotonic_time() < deadline);
            assert_int_equal(drift_stream_output_push_video(out, rgb, k), 0);
        }
    }
    assert_int_equal(r, -EIO); /* at init, or later through check() */
    assert_true(err.message[0] != '\0');
    if (p)
        assert_int_equal(drift_publisher_check(p, NULL), -EIO); /* stays failed */
    drift_publisher_free(p);
    drift_stream_output_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_arguments_naming_them),
        cmocka_unit_test(refused_connection_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
