/* The web server's pure parts: the page of streams (daemon/web_page.c) escapes what streams
 * carry and refuses a broken template; the request rules (daemon/http_rules.c) keep other sites
 * out of a server without access control; the error names and HTTP statuses (daemon/errors.c)
 * every front end shares. The shipped template itself is checked too. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "errors.h"
#include "http_rules.h"
#include "web_page.h"

static const char tmpl[] = "<table>" DRIFT_WEB_MARK_STREAMS "</table><p>"
                           DRIFT_WEB_MARK_VERSION "</p>";

static void the_page_lists_each_stream_with_its_figures(void **state)
{
    struct drift_web_stream_row rows[] = {
        { "live", "calm blue ocean waves", "running", 24, "rtsp://127.0.0.1:8554/live" },
        { "cam", "", "stopped", 12.5, "" },
    };
    char *page = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_web_page_render(tmpl, strlen(tmpl), rows, 2, "0.1.0", &page, &err), 0);
    assert_non_null(strstr(page, "<td class=\"name\"><a href=\"/stream/live\">live</a></td>"
                                 "<td class=\"prompt\">calm blue ocean "
                                 "waves</td><td class=\"state\">running</td><td class=\"fps\">24</td>"));
    assert_non_null(strstr(page, "<a href=\"rtsp://127.0.0.1:8554/live\">"));
    assert_non_null(strstr(page, "<td class=\"fps\">12.5</td><td class=\"url\">-</td>"));
    assert_non_null(strstr(page, "<p>0.1.0</p>"));
    assert_null(strstr(page, "drift:")); /* both markers replaced */
    g_free(page);
}

static void what_streams_carry_is_escaped(void **state)
{
    struct drift_web_stream_row row = { "x", "<script>alert('a&b')</script>", "running", 1,
                                        "rtsp://h/x\"onclick=\"y" };
    char *page = NULL;
    assert_int_equal(drift_web_page_render(tmpl, strlen(tmpl), &row, 1, "<v>", &page, NULL), 0);
    assert_null(strstr(page, "<script>"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(&apos;a&amp;b&apos;)&lt;/script&gt;"));
    assert_non_null(strstr(page, "href=\"rtsp://h/x&quot;onclick=&quot;y\""));
    assert_non_null(strstr(page, "&lt;v&gt;"));
    g_free(page);
}

static void no_streams_is_said(void **state)
{
    char *page = NULL;
    assert_int_equal(drift_web_page_render(tmpl, strlen(tmpl), NULL, 0, "1", &page, NULL), 0);
    assert_non_null(strstr(page, "no streams"));
    g_free(page);
}

static void a_broken_template_is_refused_naming_the_marker(void **state)
{
    struct drift_error err = { 0 };
    char *page = (char *)"untouched";
    const char *none = "<html></html>";
    assert_int_equal(drift_web_page_render(none, strlen(none), NULL, 0, "1", &page, &err), -EINVAL);
    assert_string_equal(err.message, "page template: no " DRIFT_WEB_MARK_STREAMS);
    assert_string_equal(page, "untouched");
    const char *twice = DRIFT_WEB_MARK_STREAMS DRIFT_WEB_MARK_VERSION DRIFT_WEB_MARK_STREAMS;
    assert_int_equal(drift_web_page_check(twice, strlen(twice), &err), -EINVAL);
    assert_non_null(strstr(err.message, "more than once"));
    const char nul[] = DRIFT_WEB_MARK_STREAMS "\0" DRIFT_WEB_MARK_VERSION;
    assert_int_equal(drift_web_page_check(nul, sizeof nul - 1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "NUL"));
}

static void the_shipped_template_is_usable(void **state)
{
    g_autofree char *path = g_build_filename(DRIFT_SOURCE_ROOT, "daemon", "web", "index.html", NULL);
    g_autofree char *text = NULL;
    gsize len;
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    struct drift_error err = { 0 };
    if (drift_web_page_check(text, len, &err) < 0)
        fail_msg("%s: %s", path, err.message);
    /* nothing fetched from elsewhere: every link and source is a path of ours */
    assert_null(strstr(text, "http://"));
    assert_null(strstr(text, "https://"));
}

static void only_this_machine_may_be_named_in_host(void **state)
{
    const char *ok[] = { NULL, "127.0.0.1", "127.0.0.1:8555", "localhost", "LOCALHOST:8555",
                         "[::1]", "[::1]:8555", "10.1.2.3:80" };
    const char *bad[] = { "", "evil.example", "evil.example:8555", "127.0.0.1.nip.io", "::1",
                          "[::1", "[::1]x", "localhost.evil.example", ":8555" };
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
        if (!drift_http_host_allowed(ok[i]))
            fail_msg("Host %s refused", ok[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        if (drift_http_host_allowed(bad[i]))
            fail_msg("Host %s accepted", bad[i]);
}

static void changes_from_another_origin_are_refused(void **state)
{
    assert_true(drift_http_origin_allowed(NULL, "127.0.0.1:8555"));  /* curl, scripts */
    assert_true(drift_http_origin_allowed("http://127.0.0.1:8555", "127.0.0.1:8555"));
    assert_true(drift_http_origin_allowed("http://localhost:8555", "LOCALHOST:8555"));
    assert_false(drift_http_origin_allowed("http://evil.example", "127.0.0.1:8555"));
    assert_false(drift_http_origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8555"));
    assert_false(drift_http_origin_allowed("null", "127.0.0.1:8555"));
    assert_false(drift_http_origin_allowed("http://127.0.0.1:8555/x", "127.0.0.1:8555"));
    assert_false(drift_http_origin_allowed("http://127.0.0.1:8555", NULL));
}

static void errors_have_one_name_and_status_for_every_front_end(void **state)
{
    static const struct {
        int code;
        const char *name;
        unsigned status;
    } cases[] = {
        { -EINVAL, DRIFT_ERROR_INVALID_ARGUMENT, 400 }, { -ERANGE, DRIFT_ERROR_INVALID_ARGUMENT, 400 },
        { -ESRCH, DRIFT_ERROR_NOT_FOUND, 404 },          { -ENOENT, DRIFT_ERROR_NOT_FOUND, 404 },
        { -EEXIST, DRIFT_ERROR_EXISTS, 409 },            { -EBUSY, DRIFT_ERROR_BUSY, 409 },
        { -EALREADY, DRIFT_ERROR_BUSY, 409 },            { -E2BIG, DRIFT_ERROR_LIMIT, 409 },
        { -ENOEXEC, DRIFT_ERROR_MODEL, 422 },            { -EOPNOTSUPP, DRIFT_ERROR_NOT_SUPPORTED, 501 },
        { -EACCES, DRIFT_ERROR_ACCESS_DENIED, 403 },     { -EIO, DRIFT_ERROR_FAILED, 500 },
        { EINVAL, DRIFT_ERROR_INVALID_ARGUMENT, 400 },   { 0, DRIFT_ERROR_FAILED, 500 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        assert_string_equal(drift_error_name(cases[i].code), cases[i].name);
        assert_int_equal(drift_error_http_status(cases[i].code), cases[i].status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_page_lists_each_stream_with_its_figures),
        cmocka_unit_test(what_streams_carry_is_escaped),
        cmocka_unit_test(no_streams_is_said),
        cmocka_unit_test(a_broken_template_is_refused_naming_the_marker),
        cmocka_unit_test(the_shipped_template_is_usable),
        cmocka_unit_test(only_this_machine_may_be_named_in_host),
        cmocka_unit_test(changes_from_another_origin_are_refused),
        cmocka_unit_test(errors_have_one_name_and_status_for_every_front_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
