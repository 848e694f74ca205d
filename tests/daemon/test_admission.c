/* Admission of live streams: the measured cost of one step per frame of every live stream must
 * fit the machine; a refusal says what runs and what the new stream needs. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admission.h"

static void a_stream_that_fits_is_admitted(void **state)
{
    /* 24 fps x 10 ms = 0.24 of the machine, twice, and 0.30 more: 0.78 */
    struct drift_admission_load running[] = { { "live", 24, 0.010 }, { "cam", 24, 0.010 } };
    struct drift_admission_load cand = { "third", 30, 0.010 };
    struct drift_error err = { 0 };
    assert_int_equal(drift_admission_check(running, 2, &cand, &err), 0);
}

static void a_stream_that_cannot_fit_is_refused_with_what_runs(void **state)
{
    struct drift_admission_load running[] = { { "live", 24, 0.020 }, { "cam", 24, 0.010 } };
    struct drift_admission_load cand = { "big", 60, 0.010 }; /* 0.48 + 0.24 + 0.60 > 1 */
    struct drift_error err = { 0 };
    assert_int_equal(drift_admission_check(running, 2, &cand, &err), -EBUSY);
    assert_non_null(strstr(err.message, "stream 'big' needs 0.60 of the machine"));
    assert_non_null(strstr(err.message, "60 fps at 1 step per frame"));
    assert_non_null(strstr(err.message, "0.28 is left"));
    assert_non_null(strstr(err.message, "running: live 0.48, cam 0.24"));
    assert_non_null(strstr(err.message, "admission = strict"));
}

static void an_unmeasured_model_is_admitted(void **state)
{
    struct drift_admission_load running[] = { { "live", 24, 0.040 } }; /* 0.96 */
    struct drift_admission_load cand = { "new", 60, 0 };
    struct drift_error err = { 0 };
    assert_int_equal(drift_admission_check(running, 1, &cand, &err), 0);
}

static void a_stream_alone_is_admitted_even_when_too_slow(void **state)
{
    struct drift_admission_load cand = { "only", 60, 0.100 }; /* 6 machines' worth */
    struct drift_error err = { 0 };
    assert_int_equal(drift_admission_check(NULL, 0, &cand, &err), 0);
}

static void a_frame_at_one_step_costs_two_evaluations_of_those_measured(void **state)
{
    /* 2x real time at 24 fps: a frame takes 1/48 s of work at 3 steps (4 evaluations with the
     * commit pass); at 1 step (2 evaluations) half of that, 1/96 s. */
    assert_true(drift_admission_min_frame_seconds(2.0, 24, 3, 1) == 1.0 / 96);
    /* no commit pass: a frame of 3 steps is 3 evaluations, one step a third of it */
    assert_true(fabs(drift_admission_min_frame_seconds(2.0, 24, 3, 0) - 1.0 / 144) < 1e-15);
    assert_true(drift_admission_min_frame_seconds(0, 24, 4, 1) == 0);   /* not measured */
    assert_true(drift_admission_min_frame_seconds(2.0, 24, 0, 1) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_stream_that_fits_is_admitted),
        cmocka_unit_test(a_stream_that_cannot_fit_is_refused_with_what_runs),
        cmocka_unit_test(an_unmeasured_model_is_admitted),
        cmocka_unit_test(a_stream_alone_is_admitted_even_when_too_slow),
        cmocka_unit_test(a_frame_at_one_step_costs_two_evaluations_of_those_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
