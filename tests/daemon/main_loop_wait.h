/* For daemon unit tests: run the default main context (where streams and jobs hand their events
 * to the main thread) until a condition holds. Needs <glib.h> and <cmocka.h>. */
#ifndef DRIFT_TEST_MAIN_LOOP_WAIT_H
#define DRIFT_TEST_MAIN_LOOP_WAIT_H

/* Fails the test after 10 s without cond. */
#define WAIT_FOR(cond)                                                            \
    do {                                                                          \
        int64_t until_ = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;            \
        while (!(cond)) {                                                         \
            if (g_get_monotonic_time() > until_)                                  \
                fail_msg("waited 10 s for %s", #cond);                            \
            if (!g_main_context_iteration(NULL, FALSE))                           \
                g_usleep(1000);                                                   \
        }                                                                         \
    } while (0)

#endif
