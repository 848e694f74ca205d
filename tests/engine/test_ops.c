/* Every op, in f32, bf16 and int8 (int8 linear layers, the rest as bf16), against golden tensors
 * from tools/reference/make_op_fixtures.py; attention in f32 once more on the two-matmul path.
 * Tolerances (relative to the output's largest magnitude): f32 1e-4, bf16 2e-2, int8 5e-2. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define CTX ((struct drift_context *)*state)
#define OK(call)                                                                                 \
    do {                                                                                         \
        struct drift_error err_ = { 0 };                                                         \
        int r_ = (call);                                                                         \
        if (r_ < 0)                                                                              \
            fail_msg("%s failed (%d): %s", #call, r_, err_.message);                             \
    } while (0)
#define E (&err_)

static void expect_close(void **state, const struct drift_tensor *got,
                         const struct drift_tensor *want, const char *what)
{
    double e = relative_error(got, want), tol = tolerance_for(CTX);
    if (getenv("DRIFT_TEST_VERBOSE"))
        print_message("%-28s %-5s %.2e\n", what, drift_precision_name(drift_context_precision(CTX)), e);
    if (!(e <= tol))
        fail_msg("%s (%s): relative error %.3g exceeds %.3g", what,
                 drift_precision_name(drift_context_precision(CTX)), e, tol);
}

static void check_linear(void **state, const char *name, enum drift_activation act)
{
    struct drift_safetensors *st = fixture_open(name);
    struct drift_tensor x = fixture_tensor(st, "x"), w = fixture_tensor(st, "w"),
                        b = fixture_tensor(st, "b"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    struct drift_linear *lin = NULL;
    OK(drift_linear_new(CTX, &w, &b, act, &lin, E));
    OK(drift_linear_forward(CTX, lin, &x, &y, false, E));
    expect_close(state, &y, &want, name);
    /* The second call reuses the plan: no primitive is created. */
    uint64_t built = drift_context_counters(CTX)->primitives_created;
    OK(drift_linear_forward(CTX, lin, &x, &y, false, E));
    assert_int_equal(drift_context_counters(CTX)->primitives_created, built);
    expect_close(state, &y, &want, name);
    drift_linear_free(lin);
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void linear_without_activation_matches_reference(void **state)
{
    check_linear(state, "linear_none", DRIFT_ACT_NONE);
}
static void linear_with_fused_gelu_matches_reference(void **state)
{
    check_linear(state, "linear_gelu", DRIFT_ACT_GELU_TANH);
}
static void linear_with_fused_silu_matches_reference(void **state)
{
    check_linear(state, "linear_silu", DRIFT_ACT_SILU);
}

static void linear_accumulates_into_output(void **state)
{
    struct drift_safetensors *st = fixture_open("linear_accumulate");
    struct drift_tensor x = fixture_tensor(st, "x"), w = fixture_tensor(st, "w"),
                        b = fixture_tensor(st, "b"), y0 = fixture_tensor(st, "y0"),
                        want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_copy(&y0);
    struct drift_linear *lin = NULL;
    OK(drift_linear_new(CTX, &w, &b, DRIFT_ACT_NONE, &lin, E));
    OK(drift_linear_forward(CTX, lin, &x, &y, true, E));
    expect_close(state, &y, &want, "linear_accumulate");
    drift_linear_free(lin);
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void linear_rejects_mismatched_input(void **state)
{
    float wdata[6] = { 0 }, xdata[8] = { 0 }, ydata[8] = { 0 };
    struct drift_tensor w, x, y;
    drift_tensor_view(&w, DRIFT_F32, wdata, 2, (int64_t[]){ 2, 3 });
    drift_tensor_view(&x, DRIFT_F32, xdata, 2, (int64_t[]){ 2, 4 });
    drift_tensor_view(&y, DRIFT_F32, ydata, 2, (int64_t[]){ 2, 2 });
    struct drift_linear *lin = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_linear_new(CTX, &w, NULL, DRIFT_ACT_NONE, &lin, &err), 0);
    assert_int_equal(drift_linear_forward(CTX, lin, &x, &y, false, &err), -EINVAL);
    assert_non_null(strstr(err.message, "x must be"));
    drift_linear_free(lin);
}

static void batched_matmul_with_transposed_operand_matches_reference(void **state)
{
    struct drift_safetensors *st = fixture_open("matmul_bt");
    struct drift_tensor a = fixture_tensor(st, "a"), bt = fixture_tensor(st, "bt"),
                        want = fixture_tensor(st, "y");
    /* b = bt^T as a strided view: (B,K,N) with strides of (B,N,K). */
    struct drift_tensor b = bt;
    b.shape[1] = bt.shape[2];
    b.shape[2] = bt.shape[1];
    b.stride[1] = 1;
    b.stride[2] = bt.shape[2];
    struct drift_tensor c = tensor_like(&want);
    OK(drift_matmul(CTX, &a, &b, &c, 0.5f, E));
    expect_close(state, &c, &want, "matmul_bt");
    drift_tensor_free(&c);
    drift_safetensors_close(st);
}

static void softmax_matches_reference(void **state)
{
    struct drift_safetensors *st = fixture_open("softmax");
    struct drift_tensor x = fixture_tensor(st, "x"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_copy(&x);
    OK(drift_softmax(CTX, &y, &y, E)); /* in place */
    expect_close(state, &y, &want, "softmax");
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void layer_norm_with_and_without_affine_matches_reference(void **state)
{
    struct drift_safetensors *st = fixture_open("layer_norm_affine");
    struct drift_tensor x = fixture_tensor(st, "x"), g = fixture_tensor(st, "gamma"),
                        b = fixture_tensor(st, "beta"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    OK(drift_layer_norm(CTX, &x, &g, &b, 1e-6f, &y, E));
    expect_close(state, &y, &want, "layer_norm_affine");
    drift_safetensors_close(st);
    st = fixture_open("layer_norm_plain");
    x = fixture_tensor(st, "x");
    want = fixture_tensor(st, "y");
    OK(drift_layer_norm(CTX, &x, NULL, NULL, 1e-6f, &y, E));
    expect_close(state, &y, &want, "layer_norm_plain");
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void binary_ops_broadcast_like_pytorch(void **state)
{
    const char *names[] = { "binary_add", "binary_mul" };
    for (int i = 0; i < 2; i++) {
        struct drift_safetensors *st = fixture_open(names[i]);
        struct drift_tensor a = fixture_tensor(st, "a"), b = fixture_tensor(st, "b"),
                            want = fixture_tensor(st, "y");
        struct drift_tensor y = tensor_like(&want);
        OK(drift_binary(CTX, i ? DRIFT_BINARY_MUL : DRIFT_BINARY_ADD, &a, &b, &y, E));
        expect_close(state, &y, &want, names[i]);
        drift_tensor_free(&y);
        drift_safetensors_close(st);
    }
}

static void adaln_modulation_and_gated_residual_match_reference(void **state)
{
    struct drift_safetensors *st = fixture_open("modulate");
    struct drift_tensor x = fixture_tensor(st, "x"), sh = fixture_tensor(st, "shift"),
                        sc = fixture_tensor(st, "scale"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    OK(drift_modulate(CTX, &x, &sh, &sc, &y, E));
    expect_close(state, &y, &want, "modulate");
    drift_safetensors_close(st);

    st = fixture_open("layer_norm_modulate");
    x = fixture_tensor(st, "x");
    sh = fixture_tensor(st, "shift");
    sc = fixture_tensor(st, "scale");
    want = fixture_tensor(st, "y");
    OK(drift_layer_norm_modulate(CTX, &x, &sh, &sc, 1e-6f, &y, E));
    expect_close(state, &y, &want, "layer_norm_modulate");
    struct drift_tensor in_place = tensor_copy(&x); /* y may be x */
    OK(drift_layer_norm_modulate(CTX, &in_place, &sh, &sc, 1e-6f, &in_place, E));
    expect_close(state, &in_place, &want, "layer_norm_modulate in place");
    drift_tensor_free(&in_place);
    struct drift_error err = { 0 };
    assert_int_equal(drift_layer_norm_modulate(CTX, &x, &sh, &sc, 0.0f, &y, &err), -EINVAL);
    assert_non_null(strstr(err.message, "eps"));
    assert_int_equal(drift_layer_norm_modulate(CTX, &x, &sh, NULL, 1e-6f, &y, &err), -EINVAL);
    assert_non_null(strstr(err.message, "scale"));
    drift_safetensors_close(st);

    st = fixture_open("gated_add");
    struct drift_tensor gate = fixture_tensor(st, "gate"), r = fixture_tensor(st, "r");
    x = fixture_tensor(st, "x");
    want = fixture_tensor(st, "y");
    drift_tensor_free(&y);
    y = tensor_copy(&x);
    OK(drift_gated_add(CTX, &y, &gate, &r, E));
    expect_close(state, &y, &want, "gated_add");
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void check_conv(void **state, const char *name, int stride, int padding)
{
    struct drift_safetensors *st = fixture_open(name);
    struct drift_tensor x = fixture_tensor(st, "x"), w = fixture_tensor(st, "w"),
                        b = fixture_tensor(st, "b"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    struct drift_conv *conv = NULL;
    OK(drift_conv_new(CTX, &w, &b, stride, padding, DRIFT_ACT_NONE, &conv, E));
    OK(drift_conv_forward(CTX, conv, &x, &y, E));
    expect_close(state, &y, &want, name);
    drift_conv_free(conv);
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void conv1d_matches_reference(void **state) { check_conv(state, "conv1d", 1, 1); }
static void conv2d_patch_embedding_matches_reference(void **state)
{
    check_conv(state, "conv2d_patch", 4, 0);
}

static void bilinear_resize_matches_reference(void **state)
{
    struct drift_safetensors *st = fixture_open("resize");
    struct drift_tensor x = fixture_tensor(st, "x"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    OK(drift_resize_bilinear(CTX, &x, &y, E));
    expect_close(state, &y, &want, "resize");
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void check_attention(void **state, const char *name, enum drift_mask mask, bool alibi)
{
    struct drift_safetensors *st = fixture_open(name);
    struct drift_tensor q = fixture_tensor(st, "q"), k = fixture_tensor(st, "k"),
                        v = fixture_tensor(st, "v"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    struct drift_tensor slopes = alibi ? fixture_tensor(st, "slopes") : (struct drift_tensor){ 0 };
    struct drift_attention_args args = { .heads = 4, .q = &q, .k = &k, .v = &v, .mask = mask,
                                         .mask_block = 16, .out = &y,
                                         .age_slope = alibi ? slopes.data : NULL };
    OK(drift_attention(CTX, &args, E));
    expect_close(state, &y, &want, name);
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void attention_without_mask_matches_reference(void **state)
{
    check_attention(state, "attention_full", DRIFT_MASK_NONE, false);
}
static void attention_with_causal_mask_matches_reference(void **state)
{
    check_attention(state, "attention_causal", DRIFT_MASK_CAUSAL, false);
}
static void attention_block_causal_with_age_bias_matches_reference(void **state)
{
    check_attention(state, "attention_block_causal", DRIFT_MASK_BLOCK_CAUSAL, true);
}

/* Rows [first, first+count) of a (B,L,C) tensor as a strided view. */
static struct drift_tensor rows_view(const struct drift_tensor *t, int64_t first, int64_t count)
{
    struct drift_tensor v = *t;
    v.data = (float *)t->data + first * t->stride[1];
    v.shape[1] = count;
    return v;
}

/* Streams the fixture's 7 blocks through a window of 3 in a cache made for its batch of 2, using
 * the first `entries` batch entries of q, k and v, and checks them against the fixture's output. */
static void stream_kv_fixture(void **state, int entries)
{
    const int T = 16, heads = 4, D = 32, window = 3, blocks = 7;
    struct drift_safetensors *st = fixture_open("attention_kv_cache");
    struct drift_tensor q = fixture_tensor(st, "q"), k = fixture_tensor(st, "k"),
                        v = fixture_tensor(st, "v"), want = fixture_tensor(st, "y"),
                        slopes = fixture_tensor(st, "slopes");
    struct drift_tensor y = tensor_like(&want);
    q.shape[0] = k.shape[0] = v.shape[0] = y.shape[0] = want.shape[0] = entries;
    struct drift_kv_cache *cache = NULL;
    OK(drift_kv_cache_new(CTX, 2, heads, D, T, window, &cache, E));
    size_t bytes = drift_kv_cache_bytes(cache);
    uint64_t allocations_when_full = 0;
    for (int n = 0; n < blocks; n++) {
        struct drift_tensor qn = rows_view(&q, n * T, T), kn = rows_view(&k, n * T, T),
                            vn = rows_view(&v, n * T, T), yn = rows_view(&y, n * T, T);
        OK(drift_kv_cache_write(CTX, cache, &kn, &vn, E));
        struct drift_attention_args args = { .heads = heads, .q = &qn, .cache = cache,
                                             .position = n, .age_slope = slopes.data, .out = &yn };
        OK(drift_attention(CTX, &args, E));
        drift_kv_cache_commit(cache, n);
        assert_int_equal(drift_kv_cache_length(cache), n + 1 < window ? n + 1 : window);
        if (n == window)
            allocations_when_full = drift_context_counters(CTX)->allocations;
    }
    /* Once the window is full, a block costs no allocation and the cache does not grow. */
    assert_int_equal(drift_context_counters(CTX)->allocations, allocations_when_full);
    assert_int_equal(drift_kv_cache_bytes(cache), bytes);
    expect_close(state, &y, &want, entries == 2 ? "attention_kv_cache" : "attention_kv_cache, first entry");
    if (entries == 1) { /* more entries than the cache holds are refused by name */
        struct drift_tensor k3 = k, q3 = q;
        k3.shape[0] = q3.shape[0] = 3;
        struct drift_error err = { 0 };
        assert_int_equal(drift_kv_cache_write(CTX, cache, &k3, &k3, &err), -EINVAL);
        assert_non_null(strstr(err.message, "kv_cache"));
        struct drift_attention_args args = { .heads = heads, .q = &q3, .cache = cache, .out = &y };
        assert_int_equal(drift_attention(CTX, &args, &err), -EINVAL);
    }
    drift_kv_cache_clear(cache);
    assert_int_equal(drift_kv_cache_length(cache), 0);
    drift_kv_cache_free(cache);
    y.shape[0] = 2;
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static void kv_cache_streams_blocks_through_a_rolling_window(void **state)
{
    stream_kv_fixture(state, 2);
}

/* The first batch entry alone (a sampler step that evaluates the conditional branch only), written
 * to and read from a cache made for a batch of 2, gives what the whole batch gives for it. */
static void kv_cache_serves_the_first_entries_of_its_batch_alone(void **state)
{
    stream_kv_fixture(state, 1);
}

static void attention_rejects_cache_that_does_not_fit(void **state)
{
    struct drift_kv_cache *cache = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_kv_cache_new(CTX, 1, 2, 8, 4, 2, &cache, &err), 0);
    float qd[1 * 5 * 16] = { 0 }, od[1 * 5 * 16];
    struct drift_tensor q, o;
    drift_tensor_view(&q, DRIFT_F32, qd, 3, (int64_t[]){ 1, 5, 16 });
    drift_tensor_view(&o, DRIFT_F32, od, 3, (int64_t[]){ 1, 5, 16 });
    struct drift_attention_args args = { .heads = 2, .q = &q, .cache = cache, .out = &o };
    assert_int_equal(drift_attention(CTX, &args, &err), -EINVAL);
    assert_non_null(strstr(err.message, "cache"));
    assert_int_equal(drift_kv_cache_new(CTX, 0, 2, 8, 4, 2, &cache, &err) < 0, 1);
    drift_kv_cache_free(args.cache);
}

static void op_time_counts_once_under_the_outermost_op(void **state)
{
    struct drift_safetensors *st = fixture_open("attention_full");
    struct drift_tensor q = fixture_tensor(st, "q"), k = fixture_tensor(st, "k"),
                        v = fixture_tensor(st, "v"), want = fixture_tensor(st, "y");
    struct drift_tensor y = tensor_like(&want);
    struct drift_counters before = *drift_context_counters(CTX);
    struct drift_attention_args args = { .heads = 4, .q = &q, .k = &k, .v = &v, .out = &y };
    OK(drift_attention(CTX, &args, E));
    const struct drift_counters *after = drift_context_counters(CTX);
    assert_true(after->seconds[DRIFT_OP_ATTENTION] > before.seconds[DRIFT_OP_ATTENTION]);
    /* its two matmuls and softmax ran inside it: counted as attention only */
    assert_true(after->seconds[DRIFT_OP_MATMUL] == before.seconds[DRIFT_OP_MATMUL]);
    assert_true(after->seconds[DRIFT_OP_NORM] == before.seconds[DRIFT_OP_NORM]);
    assert_true(after->flops > before.flops);
    assert_string_equal(drift_op_kind_name(DRIFT_OP_KV_CACHE), "kv-cache");
    drift_tensor_free(&y);
    drift_safetensors_close(st);
}

static int setup_f32(void **state)
{
    *state = context_for(DRIFT_PRECISION_F32);
    return *state ? 0 : -1;
}

/* f32 with each attention kernel, by name: the f32 default is the two-matmul path and the fused
 * kernel is chosen by DRIFT_ATTENTION=fused; both keep their golden checks. */
static int setup_f32_with(void **state, enum drift_attention_kernel kernel)
{
    struct drift_context_options opt = { .precision = DRIFT_PRECISION_F32, .attention = kernel };
    struct drift_error err = { 0 };
    struct drift_context *ctx = NULL;
    if (drift_context_new(&opt, &ctx, &err) < 0)
        print_message("context: %s\n", err.message);
    *state = ctx;
    return ctx ? 0 : -1;
}

static int setup_f32_matmul(void **state)
{
    return setup_f32_with(state, DRIFT_ATTENTION_MATMUL);
}

static int setup_f32_fused(void **state)
{
    return setup_f32_with(state, DRIFT_ATTENTION_FUSED);
}

static int setup_bf16(void **state)
{
    *state = context_for(DRIFT_PRECISION_BF16);
    if (!*state) {
        print_message("bf16 unavailable on this CPU (%s): bf16 group skipped\n", drift_cpu_isa());
        return 0;
    }
    return 0;
}

static int setup_int8(void **state)
{
    *state = context_for(DRIFT_PRECISION_INT8);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    drift_context_free(*state);
    return 0;
}

#define OP_TESTS                                                                                 \
    cmocka_unit_test(linear_without_activation_matches_reference),                               \
    cmocka_unit_test(linear_with_fused_gelu_matches_reference),                                  \
    cmocka_unit_test(linear_with_fused_silu_matches_reference),                                  \
    cmocka_unit_test(linear_accumulates_into_output),                                            \
    cmocka_unit_test(linear_rejects_mismatched_input),                                           \
    cmocka_unit_test(batched_matmul_with_transposed_operand_matches_reference),                  \
    cmocka_unit_test(softmax_matches_reference),                                                 \
    cmocka_unit_test(layer_norm_with_and_without_affine_matches_reference),                      \
    cmocka_unit_test(binary_ops_broadcast_like_pytorch),                                         \
    cmocka_unit_test(adaln_modulation_and_gated_residual_match_reference),                       \
    cmocka_unit_test(conv1d_matches_reference),                                                  \
    cmocka_unit_test(conv2d_patch_embedding_matches_reference),                                  \
    cmocka_unit_test(bilinear_resize_matches_reference),                                         \
    cmocka_unit_test(attention_without_mask_matches_reference),                                  \
    cmocka_unit_test(attention_with_causal_mask_matches_reference),                              \
    cmocka_unit_test(attention_block_causal_with_age_bias_matches_reference),                    \
    cmocka_unit_test(kv_cache_streams_blocks_through_a_rolling_window),                          \
    cmocka_unit_test(kv_cache_serves_the_first_entries_of_its_batch_alone),                      \
    cmocka_unit_test(attention_rejects_cache_that_does_not_fit),                                 \
    cmocka_unit_test(op_time_counts_once_under_the_outermost_op)

#define ATTENTION_TESTS                                                                          \
    cmocka_unit_test(attention_without_mask_matches_reference),                                  \
    cmocka_unit_test(attention_with_causal_mask_matches_reference),                              \
    cmocka_unit_test(attention_block_causal_with_age_bias_matches_reference),                    \
    cmocka_unit_test(kv_cache_streams_blocks_through_a_rolling_window),                          \
    cmocka_unit_test(kv_cache_serves_the_first_entries_of_its_batch_alone),                      \
    cmocka_unit_test(op_time_counts_once_under_the_outermost_op)

int main(void)
{
    unsetenv("DRIFT_PRECISION");
    unsetenv("DRIFT_ATTENTION");
    const struct CMUnitTest tests[] = { OP_TESTS };
    const struct CMUnitTest attention[] = { ATTENTION_TESTS };
    int failed = cmocka_run_group_tests_name("ops_f32", tests, setup_f32, teardown);
    failed += cmocka_run_group_tests_name("attention_f32_matmul", attention, setup_f32_matmul,
                                          teardown);
    failed += cmocka_run_group_tests_name("attention_f32_fused", attention, setup_f32_fused,
                                          teardown);
    struct drift_context *probe = context_for(DRIFT_PRECISION_BF16);
    if (probe) {
        drift_context_free(probe);
        failed += cmocka_run_group_tests_name("ops_bf16", tests, setup_bf16, teardown);
        failed += cmocka_run_group_tests_name("ops_int8", tests, setup_int8, teardown);
    } else {
        print_message("bf16 unavailable on this CPU (%s): ops_bf16 not run\n", drift_cpu_isa());
    }
    return failed;
}
