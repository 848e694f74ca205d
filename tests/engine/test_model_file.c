/* The model-file loader: a valid file loads zero-copy; every malformed file is rejected with its
 * own error naming the file, tensor or key — and nothing leaks or crashes (run under ASan). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <drift/drift.h>

static char tmpdir[] = "/tmp/drift-test-model-XXXXXX";

/* Writes an 8-byte length (given, or the header's own when length == UINT64_MAX), the header
 * and `data_bytes` bytes of data to a file, and returns its path (static buffer). */
static const char *write_file(const char *name, uint64_t length, const char *header,
                              size_t data_bytes)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s.safetensors", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t n = length == UINT64_MAX ? strlen(header) : length;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(n >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
    return path;
}

static void expect_rejected(const char *name, uint64_t length, const char *header,
                            size_t data_bytes, int code, const char *needle)
{
    const char *path = write_file(name, length, header, data_bytes);
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    int r = drift_safetensors_open(path, &st, &err);
    if (r != code || !strstr(err.message, needle) || !strstr(err.message, name))
        fail_msg("%s: got %d '%s', want %d with '%s'", name, r, err.message, code, needle);
    assert_null(st);
}

#define T1(name, dtype, shape, begin, end)                                                       \
    "{\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #begin       \
    "," #end "]}}"

static void valid_file_loads_zero_copy(void **state)
{
    const char *header = "{\"__metadata__\":{\"format\":\"pt\"},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[16,22]}}";
    const char *path = write_file("valid", UINT64_MAX, header, 22);
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_safetensors_open(path, &st, &err), 0);
    assert_int_equal(drift_safetensors_count(st), 2);
    const struct drift_st_entry *a = drift_safetensors_find(st, "a");
    assert_non_null(a);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->nbytes, 16);
    assert_int_equal(((const unsigned char *)a->data)[1], 1); /* bytes straight from the file */
    struct drift_tensor t;
    assert_int_equal(drift_safetensors_view(st, "b", &t, &err), 0);
    assert_ptr_equal(t.data, drift_safetensors_find(st, "b")->data);
    assert_false(t.owns_data);
    assert_int_equal(t.dtype, DRIFT_BF16);
    assert_int_equal(drift_safetensors_view(st, "c", &t, &err), -ENOENT);
    struct drift_tensor_spec ok[] = { { "a", 2, { 2, 2 } }, { "b", 1, { 3 } } };
    assert_int_equal(drift_safetensors_check(st, ok, 2, &err), 0);
    drift_safetensors_close(st);
}

static void missing_and_wrong_shape_tensors_are_named(void **state)
{
    const char *path = write_file("arch", UINT64_MAX, T1("blocks.0.w", "F32", "[4,8]", 0, 128), 128);
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_safetensors_open(path, &st, &err), 0);
    struct drift_tensor_spec missing[] = { { "blocks.0.w", 2, { 4, 8 } }, { "blocks.1.w", 2, { 4, 8 } } };
    assert_int_equal(drift_safetensors_check(st, missing, 2, &err), -ENOENT);
    assert_non_null(strstr(err.message, "'blocks.1.w' is missing"));
    struct drift_tensor_spec wrong[] = { { "blocks.0.w", 2, { 8, 4 } } };
    assert_int_equal(drift_safetensors_check(st, wrong, 1, &err), -EINVAL);
    assert_non_null(strstr(err.message, "has shape (4,8), the architecture needs (8,4)"));
    drift_safetensors_close(st);
}

static void malformed_files_are_rejected_with_their_fault(void **state)
{
    expect_rejected("empty", UINT64_MAX, "", 0, -EINVAL, "header length 0 outside");
    expect_rejected("past_end", 1000, "{}", 0, -EINVAL, "runs past the end of the file");
    expect_rejected("near_2_64", 0xfffffffffffffff0ull, "{}", 0, -EINVAL, "runs past the end");
    expect_rejected("invalid_json", UINT64_MAX, "{\"a\": [1, 2", 0, -EINVAL, "header JSON, line 1");
    expect_rejected("not_object", UINT64_MAX, "[1,2,3]", 0, -EINVAL, "must be an object");
    expect_rejected("unknown_dtype", UINT64_MAX, T1("w", "Q7", "[1]", 0, 4), 4, -EINVAL,
                    "tensor 'w': unknown dtype 'Q7'");
    expect_rejected("unsupported_dtype", UINT64_MAX, T1("w", "F16", "[2]", 0, 4), 4, -ENOTSUP,
                    "dtype F16 is not supported");
    expect_rejected("outside_file", UINT64_MAX, T1("w", "F32", "[4]", 0, 16), 8, -EINVAL,
                    "run past the data section");
    expect_rejected("overlap", UINT64_MAX,
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                    24, -EINVAL, "overlap");
    expect_rejected("reversed", UINT64_MAX, T1("w", "F32", "[0]", 8, 4), 8, -EINVAL,
                    "data_offsets are reversed");
    expect_rejected("shape_overflow", UINT64_MAX,
                    T1("w", "F32", "[4294967296,4294967296,16]", 0, 4), 4, -EINVAL,
                    "shape product overflows");
    expect_rejected("size_mismatch", UINT64_MAX, T1("w", "F32", "[3]", 0, 16), 16, -EINVAL,
                    "shape needs 12 bytes of f32 but data_offsets hold 16");
    expect_rejected("duplicate", UINT64_MAX,
                    "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                    8, -EINVAL, "duplicate");
    expect_rejected("entry_not_object", UINT64_MAX, "{\"w\":[1,2]}", 0, -EINVAL,
                    "tensor 'w': entry must be an object");
    expect_rejected("shape_not_array", UINT64_MAX, T1("w", "F32", "4", 0, 16), 16, -EINVAL,
                    "shape must be an array");
    expect_rejected("negative_dim", UINT64_MAX, T1("w", "F32", "[-1]", 0, 4), 4, -EINVAL,
                    "shape[0] must be a non-negative integer");
    expect_rejected("five_dims", UINT64_MAX, T1("w", "F32", "[1,1,1,1,1]", 0, 4), 4, -ENOTSUP,
                    "5 dimensions, at most 4");
    expect_rejected("offsets_arity", UINT64_MAX,
                    "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, -EINVAL,
                    "data_offsets must be two");
    expect_rejected("dtype_not_string", UINT64_MAX,
                    "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, -EINVAL,
                    "dtype must be a string");
    expect_rejected("bad_metadata", UINT64_MAX, "{\"__metadata__\":{\"n\":3}}", 0, -EINVAL,
                    "__metadata__ 'n' must be a string");
    expect_rejected("unknown_field", UINT64_MAX,
                    "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
                    -EINVAL, "unknown field 'x'");
    expect_rejected("empty_name", UINT64_MAX, T1("", "F32", "[1]", 0, 4), 4, -EINVAL,
                    "is empty or longer");
    expect_rejected("header_too_short", 1, "{}", 0, -EINVAL, "header length 1 outside");
}

static void truncated_and_missing_files_are_rejected(void **state)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/short.safetensors", tmpdir);
    FILE *f = fopen(path, "wb");
    fwrite("\x05\x00\x00", 1, 3, f);
    fclose(f);
    struct drift_safetensors *st = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_safetensors_open(path, &st, &err), -EINVAL);
    assert_non_null(strstr(err.message, "truncated: 3 bytes"));
    assert_int_equal(drift_safetensors_open("/nonexistent/model.safetensors", &st, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/model.safetensors"));
    assert_int_equal(drift_safetensors_open(tmpdir, &st, &err), -EINVAL);
    assert_non_null(strstr(err.message, "not a regular file"));
    assert_null(st);
}

static void config_getters_check_type_and_range(void **state)
{
    const char *json = "{\"arch\":{\"hidden\":256,\"name\":\"causal-dit\",\"eps\":1e-6,"
                       "\"vocab\":[\"fire\",\"rain\"],\"bad\":[\"ok\",3]},\"fps\":\"24\"}";
    struct drift_config *c = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_config_parse(json, strlen(json), "m.json", &c, &err), 0);
    int64_t i = -1;
    double d = 0;
    const char *s = NULL;
    const char **list = NULL;
    size_t n = 0;
    assert_int_equal(drift_config_get_int(c, "arch.hidden", 1, 4096, &i, &err), 0);
    assert_int_equal(i, 256);
    assert_int_equal(drift_config_get_int(c, "arch.hidden", 1, 128, &i, &err), -EINVAL);
    assert_string_equal(err.message, "m.json: key 'arch.hidden' must be in [1, 128], got 256");
    assert_int_equal(i, 256); /* untouched on failure */
    assert_int_equal(drift_config_get_int(c, "fps", 1, 240, &i, &err), -EINVAL);
    assert_non_null(strstr(err.message, "key 'fps' must be an integer in [1, 240], got a string"));
    assert_int_equal(drift_config_get_int(c, "arch.depth", 1, 64, &i, &err), -ENOENT);
    assert_non_null(strstr(err.message, "key 'arch.depth' is missing"));
    assert_int_equal(drift_config_get_double(c, "arch.eps", 0, 1, &d, &err), 0);
    assert_true(d > 0.9e-6 && d < 1.1e-6);
    assert_int_equal(drift_config_get_string(c, "arch.name", &s, &err), 0);
    assert_string_equal(s, "causal-dit");
    assert_int_equal(drift_config_get_string(c, "arch.hidden", &s, &err), -EINVAL);
    assert_int_equal(drift_config_get_string_array(c, "arch.vocab", &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[1], "rain");
    free(list);
    assert_int_equal(drift_config_get_string_array(c, "arch.bad", &list, &n, &err), -EINVAL);
    assert_non_null(strstr(err.message, "'arch.bad'[1] must be a string, got an integer"));
    assert_true(drift_config_has(c, "arch.vocab"));
    assert_false(drift_config_has(c, "arch.vocab.x"));
    drift_config_free(c);
}

static void malformed_configs_are_rejected(void **state)
{
    struct drift_config *c = NULL;
    struct drift_error err = { 0 };
    const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
    assert_int_equal(drift_config_parse(bad, strlen(bad), "bad.json", &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "bad.json: line 3"));
    assert_int_equal(drift_config_parse("[1]", 3, "arr.json", &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must be a JSON object"));
    assert_int_equal(drift_config_parse("{\"a\":1,\"a\":2}", 13, "dup.json", &c, &err), -EINVAL);
    assert_int_equal(drift_config_open("/nonexistent/m.json", &c, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/m.json"));
    assert_null(c);
}

static int make_tmpdir(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_file_loads_zero_copy),
        cmocka_unit_test(missing_and_wrong_shape_tensors_are_named),
        cmocka_unit_test(malformed_files_are_rejected_with_their_fault),
        cmocka_unit_test(truncated_and_missing_files_are_rejected),
        cmocka_unit_test(config_getters_check_type_and_range),
        cmocka_unit_test(malformed_configs_are_rejected),
    };
    return cmocka_run_group_tests_name("model_file", tests, make_tmpdir, remove_tmpdir);
}
