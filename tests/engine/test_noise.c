/* The noise generator matches tools/models/noise.py bit for bit (values printed by it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "noise.h"

static void noise_matches_the_reference_bit_for_bit(void **state)
{
    /* /usr/bin/python3 -c "import noise as N; print(N.gaussian(0, 0, 0, 5), N.gaussian(123456789, 41, 1, 3))" */
    const float want0[5] = { 1.922742247581482f, 0.6236693859100342f, -0.3264251947402954f,
                             -0.8327195048332214f, -0.2545361816883087f };
    const float want1[3] = { -0.7206013202667236f, 0.9756302237510681f, 0.5110041499137878f };
    float got0[5], got1[3];
    drift_noise_fill(0, 0, DRIFT_NOISE_INIT, got0, 5);
    drift_noise_fill(123456789, 41, DRIFT_NOISE_CONTEXT, got1, 3);
    assert_memory_equal(got0, want0, sizeof(want0));
    assert_memory_equal(got1, want1, sizeof(want1));
}

static void noise_depends_only_on_seed_frame_and_stream(void **state)
{
    float a[64], b[64], c[64];
    drift_noise_fill(7, 3, 0, a, 64);
    drift_noise_fill(7, 3, 0, b, 64);
    drift_noise_fill(7, 3, 1, c, 64);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    double mean = 0, var = 0;
    static float big[100000];
    drift_noise_fill(1, 2, 0, big, 100000);
    for (int i = 0; i < 100000; i++)
        mean += big[i] / 100000.0;
    for (int i = 0; i < 100000; i++)
        var += (big[i] - mean) * (big[i] - mean) / 100000.0;
    assert_true(mean > -0.02 && mean < 0.02);
    assert_true(var > 0.97 && var < 1.03);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(noise_matches_the_reference_bit_for_bit),
        cmocka_unit_test(noise_depends_only_on_seed_frame_and_stream),
    };
    return cmocka_run_group_tests_name("noise", tests, NULL, NULL);
}
