/* drift engine: model files — safetensors weights and their JSON config.
 *
 * A model is `NAME.safetensors` with `NAME.json` beside it (DESIGN.md, Models). Everything is
 * validated before use: header length, JSON, dtypes, shapes × dtype size = byte length, offsets
 * inside the data and not overlapping, unique names; config keys with their types and ranges;
 * the tensors an architecture needs, with their shapes. Errors name the file, the tensor or key,
 * and the fault. */
#ifndef DRIFT_MODEL_FILE_H
#define DRIFT_MODEL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drift/error.h>
#include <drift/tensor.h>

/* ---- safetensors --------------------------------------------------------------------------- */

struct drift_safetensors;

struct drift_st_entry {
    const char *name;          /* owned by the file */
    enum drift_dtype dtype;
    int ndim;                  /* 0..4 (0 = scalar) */
    int64_t shape[DRIFT_MAX_DIMS];
    const void *data;          /* inside the mapping: zero-copy, valid until the file is closed */
    size_t nbytes;
};

/* Maps and validates the file at path. Returns 0 and sets *ret, or a negative errno with err
 * naming the file and the fault: -ENOENT/-EACCES (open), -EINVAL (malformed), -ENOTSUP (dtype
 * other than F32/BF16, more than 4 dimensions). The caller owns *ret: drift_safetensors_close(). */
int drift_safetensors_open(const char *path, struct drift_safetensors **ret,
                           struct drift_error *err);
/* Same, over a caller-owned buffer that must outlive the result (used by the fuzzer); `label`
 * names it in errors. */
int drift_safetensors_open_buffer(const void *data, size_t size, const char *label,
                                  struct drift_safetensors **ret, struct drift_error *err);
void drift_safetensors_close(struct drift_safetensors *st);

size_t drift_safetensors_count(const struct drift_safetensors *st);
/* Entries in file order; NULL when index is out of range. */
const struct drift_st_entry *drift_safetensors_at(const struct drift_safetensors *st, size_t index);
/* NULL when absent. */
const struct drift_st_entry *drift_safetensors_find(const struct drift_safetensors *st,
                                                    const char *name);
/* A read-only view of entry `name` (zero-copy): t->data points into the mapping, t->owns_data is
 * false. Returns -ENOENT when absent. */
int drift_safetensors_view(const struct drift_safetensors *st, const char *name,
                           struct drift_tensor *t, struct drift_error *err);

/* What an architecture needs: a tensor name and its shape (ndim dimensions). */
struct drift_tensor_spec {
    char name[96];
    int ndim;
    int64_t shape[DRIFT_MAX_DIMS];
};

/* Checks that every spec is present with exactly that shape (-ENOENT: missing, -EINVAL: wrong
 * shape; the message names the tensor, the expected and the found shape). */
int drift_safetensors_check(const struct drift_safetensors *st,
                            const struct drift_tensor_spec *specs, size_t count,
                            struct drift_error *err);

/* ---- JSON config --------------------------------------------------------------------------- */

struct drift_config;

/* Parses the JSON object at path. -EINVAL with line and column for invalid JSON or a non-object.
 * The caller owns *ret: drift_config_free(). */
int drift_config_open(const char *path, struct drift_config **ret, struct drift_error *err);
int drift_config_parse(const char *text, size_t length, const char *label,
                       struct drift_config **ret, struct drift_error *err);
void drift_config_free(struct drift_config *config);

/* Getters take a dotted key ("arch.hidden"). A missing key is -ENOENT, a wrong type or a value out
 * of [min, max] is -EINVAL; the message names the file, the key, the expected type or range and
 * what was found. *ret is untouched on failure. */
int drift_config_get_int(const struct drift_config *config, const char *key, int64_t min,
                         int64_t max, int64_t *ret, struct drift_error *err);
int drift_config_get_double(const struct drift_config *config, const char *key, double min,
                            double max, double *ret, struct drift_error *err);
/* A JSON true or false. */
int drift_config_get_bool(const struct drift_config *config, const char *key, bool *ret,
                          struct drift_error *err);
/* The string is owned by the config. */
int drift_config_get_string(const struct drift_config *config, const char *key, const char **ret,
                            struct drift_error *err);
/* An array of strings: *ret_count entries; the strings are owned by the config, the array
 * (*ret) by the caller (free()). */
int drift_config_get_string_array(const struct drift_config *config, const char *key,
                                  const char ***ret, size_t *ret_count, struct drift_error *err);
/* An array of at most `max` numbers into out; *ret_count gets the length. A longer array, or a
 * non-number element, is -EINVAL naming the key. */
int drift_config_get_double_array(const struct drift_config *config, const char *key, double *out,
                                  size_t max, size_t *ret_count, struct drift_error *err);
/* 1 if the key exists, 0 if not. */
int drift_config_has(const struct drift_config *config, const char *key);
const char *drift_config_label(const struct drift_config *config);

#endif
