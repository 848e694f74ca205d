/* The error type every layer shares: a message naming what is at fault, a negative errno, both
 * set in one call; prefixes name the place; a message too long for the struct is cut visibly and
 * never overflows. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <drift/error.h>

static void set_fills_code_and_message_and_returns_the_code(void **state)
{
    struct drift_error err = { 0 };
    assert_int_equal(drift_error_set(&err, -EINVAL, "width: %d is odd", 3), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_string_equal(err.message, "width: 3 is odd");
}

static void set_without_an_error_struct_still_returns_the_code(void **state)
{
    assert_int_equal(drift_error_set(NULL, -ENOENT, "%s: missing", "model.json"), -ENOENT);
}

static void set_replaces_what_was_there(void **state)
{
    struct drift_error err = { 0 };
    drift_error_set(&err, -EIO, "a long first message that must not show through");
    drift_error_set(&err, -EINVAL, "short");
    assert_int_equal(err.code, -EINVAL);
    assert_string_equal(err.message, "short");
}

static void set_may_quote_the_message_it_replaces(void **state)
{
    struct drift_error err = { 0 };
    drift_error_set(&err, -EINVAL, "steps: 0 is out of range");
    drift_error_set(&err, -EINVAL, "[stream.live] %s (from %s)", err.message, "Set");
    assert_string_equal(err.message, "[stream.live] steps: 0 is out of range (from Set)");
}

static int wrapper(struct drift_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int wrapper(struct drift_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = drift_error_setv(err, -EBUSY, fmt, ap);
    va_end(ap);
    return r;
}

static void setv_serves_wrappers(void **state)
{
    struct drift_error err = { 0 };
    assert_int_equal(wrapper(&err, "stream '%s' is %s", "live", "busy"), -EBUSY);
    assert_int_equal(err.code, -EBUSY);
    assert_string_equal(err.message, "stream 'live' is busy");
}

/* A message longer than the struct holds keeps its beginning (what names the fault) and ends in
 * "..." so that a reader knows it was cut. */
static void a_long_message_is_cut_and_says_so(void **state)
{
    char word[3 * DRIFT_ERROR_MESSAGE_MAX];
    memset(word, 'x', sizeof(word) - 1);
    word[sizeof(word) - 1] = '\0';
    struct drift_error err;
    memset(&err, 0x7f, sizeof(err)); /* no terminator to lean on */
    assert_int_equal(drift_error_set(&err, -EINVAL, "prompt: unknown word '%s'", word), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_int_equal(strlen(err.message), DRIFT_ERROR_MESSAGE_MAX - 1);
    assert_memory_equal(err.message, "prompt: unknown word 'xxx", 25);
    assert_string_equal(err.message + DRIFT_ERROR_MESSAGE_MAX - 4, "...");
}

static void a_message_that_just_fits_is_not_marked(void **state)
{
    char text[DRIFT_ERROR_MESSAGE_MAX];
    memset(text, 'y', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    struct drift_error err = { 0 };
    drift_error_set(&err, -EINVAL, "%s", text);
    assert_string_equal(err.message, text);
}

static void prefix_names_the_place_and_keeps_the_code(void **state)
{
    struct drift_error err = { 0 };
    drift_error_set(&err, -ERANGE, "fps: 500 is out of range 1..120");
    drift_error_prefix(&err, "[stream.%s]", "live");
    drift_error_prefix(&err, "%s", "/etc/drift/driftd.conf");
    assert_int_equal(err.code, -ERANGE);
    assert_string_equal(err.message,
                        "/etc/drift/driftd.conf: [stream.live]: fps: 500 is out of range 1..120");
}

static void prefix_without_an_error_struct_does_nothing(void **state)
{
    drift_error_prefix(NULL, "audio_model");
}

/* A callee that failed without a message still yields one that says what failed and why. */
static void prefix_of_an_unset_message_uses_the_code(void **state)
{
    struct drift_error err = { .code = -ENOENT };
    drift_error_prefix(&err, "rtsp");
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.message, "rtsp: No such file or directory");

    struct drift_error none = { 0 };
    drift_error_prefix(&none, "media");
    assert_int_equal(none.code, 0);
    assert_string_equal(none.message, "media: unknown error");
}

/* The prefix stays whole, the message under it is cut and marked. */
static void prefix_of_a_full_message_cuts_the_end(void **state)
{
    char text[DRIFT_ERROR_MESSAGE_MAX];
    memset(text, 'z', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    struct drift_error err = { 0 };
    drift_error_set(&err, -EIO, "%s", text);
    drift_error_prefix(&err, "renders/clip.mp4");
    assert_int_equal(err.code, -EIO);
    assert_int_equal(strlen(err.message), DRIFT_ERROR_MESSAGE_MAX - 1);
    assert_memory_equal(err.message, "renders/clip.mp4: zzz", 21);
    assert_string_equal(err.message + DRIFT_ERROR_MESSAGE_MAX - 4, "...");
}

static void a_prefix_longer_than_the_message_is_cut_too(void **state)
{
    char place[2 * DRIFT_ERROR_MESSAGE_MAX];
    memset(place, 'p', sizeof(place) - 1);
    place[sizeof(place) - 1] = '\0';
    struct drift_error err = { 0 };
    drift_error_set(&err, -EINVAL, "bad");
    drift_error_prefix(&err, "%s", place);
    assert_int_equal(strlen(err.message), DRIFT_ERROR_MESSAGE_MAX - 1);
    assert_string_equal(err.message + DRIFT_ERROR_MESSAGE_MAX - 4, "...");
}

static void clear_empties_code_and_message(void **state)
{
    struct drift_error err = { 0 };
    drift_error_set(&err, -EIO, "disk full");
    drift_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.message, "");
    drift_error_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_fills_code_and_message_and_returns_the_code),
        cmocka_unit_test(set_without_an_error_struct_still_returns_the_code),
        cmocka_unit_test(set_replaces_what_was_there),
        cmocka_unit_test(set_may_quote_the_message_it_replaces),
        cmocka_unit_test(setv_serves_wrappers),
        cmocka_unit_test(a_long_message_is_cut_and_says_so),
        cmocka_unit_test(a_message_that_just_fits_is_not_marked),
        cmocka_unit_test(prefix_names_the_place_and_keeps_the_code),
        cmocka_unit_test(prefix_without_an_error_struct_does_nothing),
        cmocka_unit_test(prefix_of_an_unset_message_uses_the_code),
        cmocka_unit_test(prefix_of_a_full_message_cuts_the_end),
        cmocka_unit_test(a_prefix_longer_than_the_message_is_cut_too),
        cmocka_unit_test(clear_empties_code_and_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
