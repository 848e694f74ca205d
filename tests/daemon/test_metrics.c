/* The Prometheus text format of /metrics (daemon/metrics.c): families with HELP and TYPE, label
 * values escaped, values written so that they read back exactly; and every mistake a caller can
 * make refused with a message, the page left as it was. tests/daemon/http_test.py parses a real
 * page with prometheus_client's own parser. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const char *text(struct drift_metrics *m)
{
    return drift_metrics_text(m, NULL);
}

static void a_family_has_help_type_and_its_samples(void **state)
{
    struct drift_metrics *m = drift_metrics_new();
    struct drift_error err = { 0 };
    assert_int_equal(drift_metrics_family(m, "drift_frames_total", DRIFT_METRIC_COUNTER,
                                          "Frames made.", &err), 0);
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "stream", "live", NULL }, 42,
                                          &err), 0);
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "stream", "b", "protocol",
                                                                    "rtsp", NULL }, 7, &err), 0);
    assert_int_equal(drift_metrics_family(m, "drift_rss_bytes", DRIFT_METRIC_GAUGE, "Memory.", &err), 0);
    assert_int_equal(drift_metrics_sample(m, NULL, 1.5, &err), 0);
    size_t size;
    const char *t = drift_metrics_text(m, &size);
    assert_string_equal(t, "# HELP drift_frames_total Frames made.\n"
                           "# TYPE drift_frames_total counter\n"
                           "drift_frames_total{stream=\"live\"} 42\n"
                           "drift_frames_total{stream=\"b\",protocol=\"rtsp\"} 7\n"
                           "# HELP drift_rss_bytes Memory.\n"
                           "# TYPE drift_rss_bytes gauge\n"
                           "drift_rss_bytes 1.5\n");
    assert_int_equal(size, strlen(t));
    drift_metrics_free(m);
}

static void label_values_and_help_are_escaped(void **state)
{
    struct drift_metrics *m = drift_metrics_new();
    struct drift_error err = { 0 };
    assert_int_equal(drift_metrics_family(m, "drift_x", DRIFT_METRIC_GAUGE, "a \\ b\nc \"q\"", &err), 0);
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "v", "a\"b\\c\nd é", NULL }, 1,
                                          &err), 0);
    assert_string_equal(text(m), "# HELP drift_x a \\\\ b\\nc \"q\"\n"
                                 "# TYPE drift_x gauge\n"
                                 "drift_x{v=\"a\\\"b\\\\c\\nd é\"} 1\n");
    drift_metrics_free(m);
}

static void values_read_back_exactly(void **state)
{
    char buf[32];
    assert_string_equal(drift_metrics_format_value(0, buf, sizeof buf), "0");
    assert_string_equal(drift_metrics_format_value(24, buf, sizeof buf), "24");
    assert_string_equal(drift_metrics_format_value(0.1, buf, sizeof buf), "0.1");
    assert_string_equal(drift_metrics_format_value(-2.5, buf, sizeof buf), "-2.5");
    assert_string_equal(drift_metrics_format_value(NAN, buf, sizeof buf), "NaN");
    assert_string_equal(drift_metrics_format_value(INFINITY, buf, sizeof buf), "+Inf");
    assert_string_equal(drift_metrics_format_value(-INFINITY, buf, sizeof buf), "-Inf");
    /* 2^53 + 2 and 1/3 need all 17 digits, and come back the same */
    double hard[] = { 9007199254740994.0, 1.0 / 3, 123456789.123456789, 1e300, 5e-324 };
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        assert_true(strtod(drift_metrics_format_value(hard[i], buf, sizeof buf), NULL) == hard[i]);
}

static void bad_names_are_refused(void **state)
{
    struct drift_metrics *m = drift_metrics_new();
    struct drift_error err = { 0 };
    assert_int_equal(drift_metrics_family(m, "9lives", DRIFT_METRIC_GAUGE, "", &err), -EINVAL);
    assert_non_null(strstr(err.message, "metric name '9lives'"));
    assert_int_equal(drift_metrics_family(m, "drift-x", DRIFT_METRIC_GAUGE, "", &err), -EINVAL);
    assert_int_equal(drift_metrics_family(m, "", DRIFT_METRIC_GAUGE, "", &err), -EINVAL);
    assert_int_equal(drift_metrics_family(m, NULL, DRIFT_METRIC_GAUGE, "", &err), -EINVAL);
    assert_int_equal(drift_metrics_family(m, "drift_frames", DRIFT_METRIC_COUNTER, "", &err), -EINVAL);
    assert_non_null(strstr(err.message, "ends in _total"));
    assert_string_equal(text(m), ""); /* nothing written */
    assert_int_equal(drift_metrics_family(m, "drift_a:b_total", DRIFT_METRIC_COUNTER, "", &err), 0);
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "a:b", "1", NULL }, 1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "label name 'a:b'"));
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "__name", "1", NULL }, 1, &err), -EINVAL);
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "s", "1", "s", "2", NULL }, 1, &err),
                     -EINVAL);
    assert_non_null(strstr(err.message, "label s: given twice"));
    assert_int_equal(drift_metrics_sample(m, (const char *const[]){ "s", "\xff", NULL }, 1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "UTF-8"));
    drift_metrics_free(m);
}

static void a_family_twice_or_a_sample_before_one_is_refused(void **state)
{
    struct drift_metrics *m = drift_metrics_new();
    struct drift_error err = { 0 };
    assert_int_equal(drift_metrics_sample(m, NULL, 1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "before any metric family"));
    assert_int_equal(drift_metrics_family(m, "drift_y", DRIFT_METRIC_GAUGE, "", &err), 0);
    assert_int_equal(drift_metrics_family(m, "drift_y", DRIFT_METRIC_GAUGE, "", &err), -EINVAL);
    assert_non_null(strstr(err.message, "written twice"));
    drift_metrics_free(m);
}

static void a_counter_is_finite_and_never_negative(void **state)
{
    struct drift_metrics *m = drift_metrics_new();
    struct drift_error err = { 0 };
    assert_int_equal(drift_metrics_family(m, "drift_c_total", DRIFT_METRIC_COUNTER, "", &err), 0);
    assert_int_equal(drift_metrics_sample(m, NULL, -1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "counter's value -1"));
    assert_int_equal(drift_metrics_sample(m, NULL, NAN, &err), -EINVAL);
    assert_int_equal(drift_metrics_sample(m, NULL, INFINITY, &err), -EINVAL);
    const char *before = text(m);
    char *copy = strdup(before);
    assert_int_equal(drift_metrics_sample(m, NULL, 3, &err), 0);
    assert_int_equal(strlen(text(m)), strlen(copy) + strlen("drift_c_total 3\n"));
    free(copy);
    /* a gauge may be anything */
    assert_int_equal(drift_metrics_family(m, "drift_g", DRIFT_METRIC_GAUGE, "", &err), 0);
    assert_int_equal(drift_metrics_sample(m, NULL, -INFINITY, &err), 0);
    assert_int_equal(drift_metrics_sample(m, NULL, NAN, &err), 0);
    drift_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_family_has_help_type_and_its_samples),
        cmocka_unit_test(label_values_and_help_are_escaped),
        cmocka_unit_test(values_read_back_exactly),
        cmocka_unit_test(bad_names_are_refused),
        cmocka_unit_test(a_family_twice_or_a_sample_before_one_is_refused),
        cmocka_unit_test(a_counter_is_finite_and_never_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
