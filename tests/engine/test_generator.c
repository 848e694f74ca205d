/* Generators on the tiny random model (tests/fixtures/dit): determinism, the rolling KV cache
 * against recomputing the window, samplers, step caches, prompt handling, settings errors,
 * steady-state allocations, and two generators side by side. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drift/generator.h>

#define MODEL FIXTURES_DIR "/dit/tiny"
#define FRAME_BYTES (32 * 32 * 3)

static struct drift_generator_settings defaults(void)
{
    return (struct drift_generator_settings){ .prompt = "w1 w3", .seed = 42, .guidance = -1,
                                              .cache = DRIFT_CACHE_KV,
                                              .precision = DRIFT_PRECISION_F32 };
}

static struct drift_generator *open_gen(const struct drift_generator_settings *s)
{
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    if (drift_generator_new(MODEL, s, &g, &err) < 0)
        fail_msg("generator: %s", err.message);
    return g;
}

static void frames(struct drift_generator *g, int n, uint8_t *out)
{
    struct drift_error err = { 0 };
    for (int i = 0; i < n; i++)
        if (drift_generator_next_frame(g, out + (size_t)i * FRAME_BYTES, FRAME_BYTES, &err) < 0)
            fail_msg("frame %d: %s", i, err.message);
}

/* A fresh stream of n frames with settings s. */
static void stream_frames(const struct drift_generator_settings *s, int n, uint8_t *out)
{
    struct drift_generator *g = open_gen(s);
    frames(g, n, out);
    drift_generator_free(g);
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static void same_seed_gives_same_frames_and_another_seed_differs(void **state)
{
    struct drift_generator_settings s = defaults();
    uint8_t a[6 * FRAME_BYTES], b[6 * FRAME_BYTES];
    stream_frames(&s, 6, a);
    stream_frames(&s, 6, b);
    assert_memory_equal(a, b, sizeof(a));
    s.seed = 43;
    stream_frames(&s, 6, b);
    assert_true(max_diff(a, b, sizeof(a)) > 16);
}

static void rolling_kv_cache_equals_recomputing_the_window(void **state)
{
    struct drift_generator_settings s = defaults();
    s.guidance = 3.0; /* both guidance branches, each with its own window */
    uint8_t kv[8 * FRAME_BYTES], none[8 * FRAME_BYTES];
    struct drift_generator *g = open_gen(&s);
    frames(g, 8, kv);
    struct drift_generator_counters ckv, cnone;
    drift_generator_get_counters(g, &ckv);
    drift_generator_free(g);
    s.cache = DRIFT_CACHE_NONE;
    g = open_gen(&s);
    frames(g, 8, none);
    drift_generator_get_counters(g, &cnone);
    drift_generator_free(g);
    assert_true(max_diff(kv, none, sizeof(kv)) <= 1);
    /* Without the cache every evaluation recomputes the window: far more evaluations. */
    assert_true(cnone.evals_run > 2 * ckv.evals_run);
}

static void every_sampler_runs_with_its_evaluation_count(void **state)
{
    const char *names[] = { "euler", "dpmpp-2m", "heun" };
    const uint64_t evals_per_frame[] = { 5, 5, 8 }; /* 4 steps (+7 for heun) + 1 commit pass */
    uint8_t out[3][2 * FRAME_BYTES];
    for (int i = 0; i < 3; i++) {
        struct drift_generator_settings s = defaults();
        s.sampler = names[i];
        struct drift_generator *g = open_gen(&s);
        frames(g, 2, out[i]);
        struct drift_generator_counters c;
        drift_generator_get_counters(g, &c);
        assert_int_equal(c.evals_run, 2 * evals_per_frame[i]);
        assert_int_equal(c.frames, 2);
        drift_generator_free(g);
    }
    /* Different solvers of the same ODE land near each other, not on the same bytes. */
    assert_true(max_diff(out[0], out[2], sizeof(out[0])) > 0);
}

/* Commit "last-step": the window keeps the sampler's last evaluation, so a frame costs one
 * evaluation fewer; the rolling cache still equals recomputing the window (each frame at its
 * own t), the frames differ from the commit pass's, and switching mid-stream starts a new window. */
static void last_step_commit_saves_an_evaluation_per_frame(void **state)
{
    struct drift_generator_settings s = defaults();
    s.guidance = 3.0; /* both guidance branches keep their last evaluation */
    uint8_t pass[6 * FRAME_BYTES], kv[6 * FRAME_BYTES], none[6 * FRAME_BYTES];
    struct drift_generator_counters c;
    struct drift_generator *g = open_gen(&s);
    frames(g, 6, pass);
    drift_generator_get_counters(g, &c);
    assert_int_equal(c.evals_run, 6 * 5); /* 4 steps + the commit pass (both branches at once) */
    drift_generator_free(g);
    s.commit = DRIFT_COMMIT_LAST_STEP;
    g = open_gen(&s);
    frames(g, 6, kv);
    drift_generator_get_counters(g, &c);
    assert_int_equal(c.evals_run, 6 * 4);
    drift_generator_free(g);
    s.cache = DRIFT_CACHE_NONE;
    g = open_gen(&s);
    frames(g, 6, none);
    drift_generator_free(g);
    assert_true(max_diff(kv, none, sizeof(kv)) <= 1);
    /* the first frame has an empty window either way; the later ones attend to another one */
    assert_memory_equal(kv, pass, FRAME_BYTES);
    assert_true(max_diff(kv + FRAME_BYTES, pass + FRAME_BYTES, 5 * FRAME_BYTES) > 0);
    /* switching the way mid-stream is allowed and keeps producing frames */
    s = defaults();
    g = open_gen(&s);
    frames(g, 2, pass);
    s.commit = DRIFT_COMMIT_LAST_STEP;
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_update(g, &s, &err), 0);
    frames(g, 2, pass);
    drift_generator_free(g);
    assert_string_equal(drift_commit_name(DRIFT_COMMIT_LAST_STEP), "last-step");
    enum drift_commit back = DRIFT_COMMIT_MODEL;
    assert_int_equal(drift_commit_from_string("last-step", &back), 0);
    assert_int_equal(back, DRIFT_COMMIT_LAST_STEP);
    assert_int_equal(drift_commit_from_string("later", &back), -EINVAL);
}

static double mean_frame_change(const uint8_t *f, int n)
{
    double sum = 0;
    for (int i = 1; i < n; i++)
        for (size_t j = 0; j < FRAME_BYTES; j++)
            sum += abs((int)f[(size_t)i * FRAME_BYTES + j] - (int)f[(size_t)(i - 1) * FRAME_BYTES + j]);
    return sum / ((double)(n - 1) * FRAME_BYTES);
}

/* noise_carry: the first frame starts from fresh noise as always; the later ones start near the
 * frame before's start, so they change less from frame to frame; the carry does not depend on the
 * cache path; "none" (< 0) is what a model without the key does by default. */
static void noise_carry_keeps_the_start_of_the_frame_before(void **state)
{
    struct drift_generator_settings s = defaults();
    uint8_t fresh[6 * FRAME_BYTES], carried[6 * FRAME_BYTES], none[6 * FRAME_BYTES];
    stream_frames(&s, 6, fresh);
    s.noise_carry = -1;
    stream_frames(&s, 6, none);
    assert_memory_equal(fresh, none, sizeof(fresh));
    s.noise_carry = 0.99;
    stream_frames(&s, 6, carried);
    assert_memory_equal(carried, fresh, FRAME_BYTES);
    assert_true(max_diff(carried + FRAME_BYTES, fresh + FRAME_BYTES, 5 * FRAME_BYTES) > 0);
    double change_fresh = mean_frame_change(fresh, 6), change_carried = mean_frame_change(carried, 6);
    print_message("mean change between frames: fresh noise %.2f, carried %.2f\n", change_fresh,
                  change_carried);
    assert_true(change_carried < 0.5 * change_fresh);
    s.cache = DRIFT_CACHE_NONE;
    stream_frames(&s, 6, none);
    assert_true(max_diff(carried, none, sizeof(carried)) <= 1);
}

static void step_caches_skip_evaluations_but_never_the_first_or_last(void **state)
{
    enum drift_cache_policy policies[] = { DRIFT_CACHE_KV_TEACACHE, DRIFT_CACHE_KV_FIRST_BLOCK,
                                           DRIFT_CACHE_KV_FORA };
    double thresholds[] = { 10.0, 10.0, 8.0 };
    for (int i = 0; i < 3; i++) {
        struct drift_generator_settings s = defaults();
        s.steps = 8;
        s.cache = policies[i];
        s.cache_threshold = thresholds[i];
        struct drift_generator *g = open_gen(&s);
        uint8_t out[2 * FRAME_BYTES];
        frames(g, 2, out);
        struct drift_generator_counters c;
        drift_generator_get_counters(g, &c);
        /* A huge threshold skips everything it may: 6 of 8 steps per frame. */
        assert_int_equal(c.evals_skipped, 2 * 6);
        assert_int_equal(c.evals_run, 2 * (2 + 1));
        drift_generator_free(g);
    }
}

static void unknown_words_are_named_and_change_nothing(void **state)
{
    struct drift_generator_settings s = defaults();
    s.prompt = "w1 dragon";
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "unknown word 'dragon'"));
    assert_null(g);

    s = defaults();
    uint8_t a[3 * FRAME_BYTES], b[3 * FRAME_BYTES];
    g = open_gen(&s);
    assert_int_equal(drift_generator_set_prompt(g, "W3   w1\tzebra", &err), -EINVAL);
    assert_non_null(strstr(err.message, "'zebra'"));
    assert_int_equal(drift_generator_check_prompt(g, "W3 w1", &err), 0); /* case-insensitive */
    frames(g, 3, a);
    drift_generator_free(g);
    g = open_gen(&s);
    frames(g, 3, b);
    drift_generator_free(g);
    assert_memory_equal(a, b, sizeof(a)); /* the failed change left the stream as it was */
}

static double mean_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += abs((int)a[i] - (int)b[i]);
    return sum / (double)n;
}

/* Six frames from the same seed with prompt "" for the first; then, when to is not NULL, the
 * prompt becomes to, blended in over blend frames. */
static void run_with_switch(int blend, const char *to, uint8_t *out)
{
    struct drift_generator_settings s = defaults();
    struct drift_error err = { 0 };
    s.prompt = "";
    s.prompt_blend_frames = blend;
    struct drift_generator *g = open_gen(&s);
    frames(g, 1, out);
    if (to)
        assert_int_equal(drift_generator_set_prompt(g, to, &err), 0);
    frames(g, 5, out + FRAME_BYTES);
    drift_generator_free(g);
}

/* A new prompt fades in: the first frame after the change is neither the old prompt's frame nor
 * the new prompt's (an instant switch), and it is nearer the old one; later frames move on
 * towards the new prompt. */
static void prompt_change_blends_over_frames(void **state)
{
    uint8_t kept[6 * FRAME_BYTES], instant[6 * FRAME_BYTES], blended[6 * FRAME_BYTES];
    run_with_switch(4, NULL, kept);
    run_with_switch(0, "w5 w6 w7", instant);
    run_with_switch(4, "w5 w6 w7", blended);
    const uint8_t *k1 = kept + FRAME_BYTES, *i1 = instant + FRAME_BYTES, *b1 = blended + FRAME_BYTES;
    assert_memory_equal(kept, blended, FRAME_BYTES); /* the same until the change */
    assert_memory_equal(kept, instant, FRAME_BYTES);
    double instant_step = mean_diff(i1, k1, FRAME_BYTES); /* what the new prompt changes at once */
    double blended_step = mean_diff(b1, k1, FRAME_BYTES);
    print_message("mean |frame - old prompt's frame| after the change: instant %.2f, blended "
                  "(1/5 of the way) %.2f\n", instant_step, blended_step);
    assert_true(instant_step > 0.5);                 /* the new prompt shows */
    assert_true(max_diff(b1, i1, FRAME_BYTES) > 0);  /* not an instant switch */
    assert_true(blended_step > 0);                   /* but it starts at once */
    assert_true(blended_step < 0.6 * instant_step);  /* a small part of the way */
    /* by the end of the blend the frames are further from the old prompt's than at its start */
    const size_t last = 4 * FRAME_BYTES;
    double late_step = mean_diff(blended + last, kept + last, FRAME_BYTES);
    print_message("4 frames later: %.2f\n", late_step);
    assert_true(late_step > 1.5 * blended_step);
}

static void out_of_range_settings_are_rejected_by_name(void **state)
{
    struct drift_generator_settings s;
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    s = defaults(); s.steps = 51;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "steps: 51 outside [1, 50]"));
    s = defaults(); s.sampler = "ddpm";
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "sampler: 'ddpm'"));
    s = defaults(); s.guidance = 25;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "guidance"));
    s = defaults(); s.cache_threshold = -1;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cache_threshold"));
    s = defaults(); s.threads = 257;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "threads: 257 outside [0, 256]"));
    s = defaults(); s.commit = (enum drift_commit)7;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "commit: unknown way 7"));
    s = defaults(); s.noise_carry = 1.0;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "noise_carry: 1 above 0.999"));
    s = defaults(); s.threads = -1;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "threads"));
    s = defaults();
    assert_int_equal(drift_generator_new("/nonexistent/model", &s, &g, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/model.safetensors"));
    assert_null(g);
    s = defaults();
    g = open_gen(&s);
    uint8_t small[16];
    assert_int_equal(drift_generator_next_frame(g, small, sizeof(small), &err), -EINVAL);
    float pcm[16];
    assert_int_equal(drift_generator_next_audio(g, pcm, 16, &err), -EINVAL);
    s.steps = 0; s.sampler = "nope";
    assert_int_equal(drift_generator_update(g, &s, &err), -EINVAL);
    drift_generator_free(g);
}

/* One thread for a model whose evaluation is too small to share, the OpenMP default otherwise. */
static void automatic_thread_count_follows_the_model_size(void **state)
{
    assert_int_equal(drift_model_threads(3e7, true), 1);  /* the audio model in bf16: one thread */
    assert_int_equal(drift_model_threads(3e7, false), 0); /* in f32: the OpenMP default */
    assert_int_equal(drift_model_threads(4.5e9, true), 0); /* the video model */
}

/* The thread count changes how the kernels split the work, not what a frame is. */
static int worst_byte_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static void thread_count_does_not_change_the_frames(void **state)
{
#ifndef _OPENMP
    /* The engine uses OpenMP only when built with GCC (engine/CMakeLists.txt); here (the clang
     * sanitizer build) a generator's thread count is ignored, so both runs would be the same
     * single-threaded run and the comparison could not fail. The GCC builds run it. */
    print_message("skipped: this build's engine has no OpenMP, so thread counts are ignored "
                  "(the GCC build runs this test)\n");
    skip();
#endif
    struct drift_generator_settings s = defaults();
    uint8_t one[3 * FRAME_BYTES], two[3 * FRAME_BYTES];
    s.threads = 1;
    struct drift_generator *g = open_gen(&s);
    frames(g, 3, one);
    drift_generator_free(g);
    s.threads = 2;
    g = open_gen(&s);
    frames(g, 3, two);
    drift_generator_free(g);
    assert_true(worst_byte_difference(one, two, sizeof(one)) <= 1); /* f32 sums in another order:
                                                                       at most one 8-bit step */
}

/* A generator made for 2 threads capped to 1 between frames (a render beside a live stream)
 * makes the frames a 1-thread generator makes, within one 8-bit step; more than it was made
 * for, or a negative count, is refused and changes nothing; 0 lifts the cap. */
static void a_thread_cap_between_frames_keeps_the_frames(void **state)
{
    (void)state;
    struct drift_generator_settings s = defaults();
    uint8_t capped[3 * FRAME_BYTES], one[3 * FRAME_BYTES];
    s.threads = 2;
    struct drift_generator *g = open_gen(&s);
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_set_threads(g, 3, &err), -EINVAL);
    assert_non_null(strstr(err.message, "threads: 3 outside [0, 2]"));
    assert_int_equal(drift_generator_set_threads(g, -1, &err), -EINVAL);
    assert_int_equal(drift_generator_set_threads(g, 1, &err), 0);
    frames(g, 3, capped);
    assert_int_equal(drift_generator_set_threads(g, 0, &err), 0);
    drift_generator_free(g);
    s.threads = 1;
    g = open_gen(&s);
    frames(g, 3, one);
    drift_generator_free(g);
    assert_true(worst_byte_difference(one, capped, sizeof(one)) <= 1);
}

static void steady_state_allocates_nothing(void **state)
{
    struct drift_generator_settings s = defaults();
    s.guidance = 2.0;
    struct drift_generator *g = open_gen(&s);
    uint8_t out[3 * FRAME_BYTES];
    frames(g, 3, out); /* window of 2 filled: every plan exists */
    struct drift_generator_counters c1, c2;
    drift_generator_get_counters(g, &c1);
    for (int i = 0; i < 10; i++)
        frames(g, 1, out);
    drift_generator_get_counters(g, &c2);
    assert_int_equal(c2.allocations, c1.allocations);
    assert_int_equal(c2.primitives, c1.primitives);
    assert_int_equal(c2.frames, c1.frames + 10);
    drift_generator_free(g);
}

struct worker {
    uint64_t seed;
    uint8_t out[4 * FRAME_BYTES];
};

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct drift_generator_settings s = defaults();
    s.seed = w->seed;
    struct drift_generator *g = NULL;
    if (drift_generator_new(MODEL, &s, &g, NULL) < 0)
        return NULL;
    for (int i = 0; i < 4; i++)
        drift_generator_next_frame(g, w->out + (size_t)i * FRAME_BYTES, FRAME_BYTES, NULL);
    drift_generator_free(g);
    return w;
}

static void two_generators_run_side_by_side(void **state)
{
    static struct worker w[2] = { { .seed = 1 }, { .seed = 2 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_worker, &w[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *res;
        pthread_join(th[i], &res);
        assert_non_null(res);
    }
    struct drift_generator_settings s = defaults();
    s.seed = 2;
    struct drift_generator *g = open_gen(&s);
    uint8_t alone[4 * FRAME_BYTES];
    frames(g, 4, alone);
    drift_generator_free(g);
    assert_memory_equal(alone, w[1].out, sizeof(alone));
}

static void similarity_filter_repeats_still_frames_up_to_its_cap(void **state)
{
    struct drift_generator_settings s = defaults();
    s.skip_threshold = 2.0; /* the largest mean change of [-1, 1] values: everything is still */
    s.skip_max = 2;
    struct drift_generator *g = open_gen(&s);
    uint8_t out[8 * FRAME_BYTES];
    frames(g, 8, out);
    struct drift_generator_counters c;
    drift_generator_get_counters(g, &c);
    /* frames 0, 1 generated; 2, 3 repeated; 4 generated; 5, 6 repeated; 7 generated */
    assert_int_equal(c.frames, 8);
    assert_int_equal(c.frames_skipped, 4);
    assert_memory_equal(out + 2 * FRAME_BYTES, out + 1 * FRAME_BYTES, FRAME_BYTES);
    assert_memory_equal(out + 3 * FRAME_BYTES, out + 1 * FRAME_BYTES, FRAME_BYTES);
    assert_true(max_diff(out + 4 * FRAME_BYTES, out + 3 * FRAME_BYTES, FRAME_BYTES) > 0);
    /* a new prompt is never skipped while it blends in */
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_set_prompt(g, "w9", &err), 0);
    frames(g, 2, out);
    drift_generator_get_counters(g, &c);
    assert_int_equal(c.frames_skipped, 4);
    s.skip_threshold = 3.0;
    assert_int_equal(drift_generator_update(g, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "skip"));
    drift_generator_free(g);
}

static void cache_policy_names_round_trip(void **state)
{
    const char *names[] = { "none", "kv", "kv+teacache", "kv+fbcache", "kv+fora" };
    for (int i = 0; i < 5; i++) {
        enum drift_cache_policy p = (enum drift_cache_policy)-1;
        assert_int_equal(drift_cache_policy_from_string(names[i], &p), 0);
        assert_string_equal(drift_cache_policy_name(p), names[i]);
    }
    enum drift_cache_policy p;
    assert_int_equal(drift_cache_policy_from_string("kv+step", &p), 0);
    assert_int_equal(p, DRIFT_CACHE_KV_TEACACHE);
    assert_int_equal(drift_cache_policy_from_string("fast", &p), -EINVAL);
    assert_int_equal(drift_cache_policy_from_string(NULL, &p), -EINVAL);
    /* Every policy has a name, and the text users read lists each one. */
    assert_int_equal(DRIFT_CACHE_POLICIES, 5);
    assert_string_equal(drift_cache_policy_name(DRIFT_CACHE_POLICIES), "?");
    for (int i = 0; i < 5; i++)
        assert_non_null(strstr(DRIFT_CACHE_POLICY_NAMES, names[i]));
    assert_non_null(strstr(DRIFT_CACHE_POLICY_NAMES, "kv+step"));
}

static void the_public_ranges_are_the_ones_checked(void **state)
{
    struct drift_generator *g = NULL;
    struct drift_error err = { 0 };
    struct drift_generator_settings s = defaults();
    s.steps = DRIFT_STEPS_MAX;
    s.guidance = DRIFT_GUIDANCE_MAX;
    s.cache_threshold = DRIFT_CACHE_THRESHOLD_MAX;
    assert_int_equal(drift_generator_new(MODEL, &s, &g, &err), 0);
    s.steps = DRIFT_STEPS_MAX + 1;
    assert_int_equal(drift_generator_update(g, &s, &err), -EINVAL);
    s = defaults(), s.guidance = DRIFT_GUIDANCE_MAX + 0.01;
    assert_int_equal(drift_generator_update(g, &s, &err), -EINVAL);
    s = defaults(), s.cache_threshold = DRIFT_CACHE_THRESHOLD_MAX + 0.01;
    assert_int_equal(drift_generator_update(g, &s, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cache_threshold"));
    drift_generator_free(g);
}

static void probe_reads_the_model_without_running_it(void **state)
{
    struct drift_model_info info;
    struct drift_error err = { 0 };
    assert_int_equal(drift_model_probe(MODEL ".safetensors", &info, &err), 0);
    assert_int_equal(info.kind, DRIFT_MODEL_VIDEO);
    assert_int_equal(info.width, 32);
    assert_int_equal(info.window, 2);
    assert_int_equal(info.vocab_size, 12);
    assert_string_equal(info.vocab[11], "w11");
    assert_true(info.flops_per_eval > 1e6);
    drift_model_info_free(&info);
    assert_int_equal(drift_model_probe(FIXTURES_DIR "/ops/softmax", &info, &err), -ENOENT);
    assert_non_null(strstr(err.message, "softmax.json"));
}

static void audio_generator_writes_bounded_reproducible_chunks(void **state)
{
    struct drift_generator_settings s = defaults();
    struct drift_generator *g = NULL, *h = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_generator_new(FIXTURES_DIR "/dit/tiny-audio", &s, &g, &err), 0);
    assert_int_equal(drift_generator_new(FIXTURES_DIR "/dit/tiny-audio", &s, &h, &err), 0);
    const struct drift_model_info *info = drift_generator_info(g);
    assert_int_equal(info->kind, DRIFT_MODEL_AUDIO);
    assert_int_equal(info->chunk_samples, 256);
    assert_int_equal(info->sample_rate, 24000);
    float a[4 * 256], b[4 * 256];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(drift_generator_next_audio(g, a + 256 * i, 256, &err), 0);
        assert_int_equal(drift_generator_next_audio(h, b + 256 * i, 256, &err), 0);
    }
    assert_memory_equal(a, b, sizeof(a));
    double energy = 0;
    for (int i = 0; i < 4 * 256; i++) {
        assert_true(a[i] >= -1.0f && a[i] <= 1.0f);
        energy += (double)a[i] * a[i];
    }
    assert_true(energy > 0); /* not silence */
    uint8_t rgb[16];
    assert_int_equal(drift_generator_next_frame(g, rgb, sizeof(rgb), &err), -EINVAL);
    assert_non_null(strstr(err.message, "audio model"));
    assert_int_equal(drift_generator_next_audio(g, a, 100, &err), -EINVAL);
    drift_generator_free(g);
    drift_generator_free(h);
}

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_gives_same_frames_and_another_seed_differs),
        cmocka_unit_test(rolling_kv_cache_equals_recomputing_the_window),
        cmocka_unit_test(every_sampler_runs_with_its_evaluation_count),
        cmocka_unit_test(last_step_commit_saves_an_evaluation_per_frame),
        cmocka_unit_test(noise_carry_keeps_the_start_of_the_frame_before),
        cmocka_unit_test(step_caches_skip_evaluations_but_never_the_first_or_last),
        cmocka_unit_test(unknown_words_are_named_and_change_nothing),
        cmocka_unit_test(prompt_change_blends_over_frames),
        cmocka_unit_test(out_of_range_settings_are_rejected_by_name),
        cmocka_unit_test(automatic_thread_count_follows_the_model_size),
        cmocka_unit_test(thread_count_does_not_change_the_frames),
        cmocka_unit_test(a_thread_cap_between_frames_keeps_the_frames),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(two_generators_run_side_by_side),
        cmocka_unit_test(similarity_filter_repeats_still_frames_up_to_its_cap),
        cmocka_unit_test(cache_policy_names_round_trip),
        cmocka_unit_test(the_public_ranges_are_the_ones_checked),
        cmocka_unit_test(probe_reads_the_model_without_running_it),
        cmocka_unit_test(audio_generator_writes_bounded_reproducible_chunks),
    };
    return cmocka_run_group_tests_name("generator", tests, NULL, NULL);
}
