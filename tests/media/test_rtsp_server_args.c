/* RTSP server set-up: binds a free port, refuses a taken one, names every bad argument. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drift/media/rtsp_server.h"

#include "small_output.h"

static void binds_a_free_port_and_refuses_a_taken_one(void **state)
{
    struct drift_rtsp_server *a = NULL, *b = NULL;
    struct drift_error err;
    struct drift_rtsp_server_config c = { .port = 0 };
    assert_int_equal(drift_rtsp_server_init(&a, &c, &err), 0);
    int port = drift_rtsp_server_port(a);
    assert_true(port > 0);
    c.port = port;
    assert_int_equal(drift_rtsp_server_init(&b, &c, &err), -EADDRINUSE);
    assert_non_null(strstr(err.message, "127.0.0.1"));
    assert_null(b);
    char *url = drift_rtsp_server_url(a, "live");
    char want[64];
    snprintf(want, sizeof(want), "rtsp://127.0.0.1:%d/live", port);
    assert_string_equal(url, want);
    free(url);
    drift_rtsp_server_free(a);
    drift_rtsp_server_free(NULL);
}

static void rejects_bad_server_settings(void **state)
{
    struct drift_rtsp_server *s = NULL;
    struct drift_error err;
    struct drift_rtsp_server_config c = { .port = 70000 };
    assert_int_equal(drift_rtsp_server_init(&s, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "port"));
    c = (struct drift_rtsp_server_config){ .address = "localhost:1" };
    assert_int_equal(drift_rtsp_server_init(&s, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "address"));
    assert_int_equal(drift_rtsp_server_init(&s, NULL, &err), -EINVAL);
    assert_null(s);
}

static void rejects_bad_streams_and_serves_good_ones(void **state)
{
    struct drift_rtsp_server *s;
    struct drift_error err;
    struct drift_rtsp_server_config c = { .port = 0 };
    assert_int_equal(drift_rtsp_server_init(&s, &c, NULL), 0);
    struct drift_stream_output *live = small_output(true, DRIFT_AUDIO_OPUS, 10);
    struct drift_stream_output *offline = small_output(false, DRIFT_AUDIO_OPUS, 10);
    struct drift_stream_output *aac = small_output(true, DRIFT_AUDIO_AAC, 10);
    assert_int_equal(drift_rtsp_server_add_stream(s, "bad/name", live, &err), -EINVAL);
    assert_non_null(strstr(err.message, "name"));
    assert_int_equal(drift_rtsp_server_add_stream(s, "", live, &err), -EINVAL);
    assert_int_equal(drift_rtsp_server_add_stream(s, "x", NULL, &err), -EINVAL);
    assert_non_null(strstr(err.message, "out"));
    assert_int_equal(drift_rtsp_server_add_stream(s, "x", offline, &err), -EINVAL);
    assert_non_null(strstr(err.message, "offline"));
    assert_int_equal(drift_rtsp_server_add_stream(s, "x", aac, &err), -EINVAL);
    assert_non_null(strstr(err.message, "AAC"));
    assert_int_equal(drift_rtsp_server_add_stream(s, "live", live, &err), 0);
    assert_int_equal(drift_rtsp_server_add_stream(s, "live", live, &err), -EEXIST);
    assert_int_equal(drift_rtsp_server_clients(s, "live"), 0);
    assert_int_equal(drift_rtsp_server_remove_stream(s, "live"), 0);
    assert_int_equal(drift_rtsp_server_remove_stream(s, "live"), -ENOENT);
    assert_int_equal(drift_rtsp_server_add_stream(s, "live", live, &err), 0);
    drift_rtsp_server_free(s); /* with a stream still mounted */
    drift_stream_output_free(live);
    drift_stream_output_free(offline);
    drift_stream_output_free(aac);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binds_a_free_port_and_refuses_a_taken_one),
        cmocka_unit_test(rejects_bad_server_settings),
        cmocka_unit_test(rejects_bad_streams_and_serves_good_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
