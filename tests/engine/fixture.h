/* Test helpers: golden tensors from tests/fixtures (safetensors written by the PyTorch reference
 * scripts in tools/), and error measures. */
#ifndef DRIFT_TEST_FIXTURE_H
#define DRIFT_TEST_FIXTURE_H

#include <drift/drift.h>

/* Opens FIXTURES_DIR/ops/<name>.safetensors; fails the test when missing. */
struct drift_safetensors *fixture_open(const char *name);
/* A view of tensor `name` (f32) in the fixture; fails the test when missing. */
struct drift_tensor fixture_tensor(struct drift_safetensors *st, const char *name);
/* FIXTURES_DIR/<dir>/<file>: exactly `count` raw little-endian floats, malloc()ed (the caller frees);
 * fails the test when the file is missing or holds another count. */
float *fixture_read_f32(const char *dir, const char *file, size_t count);
/* A freshly allocated zeroed f32 tensor shaped like `like`. */
struct drift_tensor tensor_like(const struct drift_tensor *like);
/* A dense owned copy of an f32 tensor. */
struct drift_tensor tensor_copy(const struct drift_tensor *src);

/* max |got - want| / max |want|: the error relative to the output's scale. */
double relative_error(const struct drift_tensor *got, const struct drift_tensor *want);

/* The tolerance the tests state for each precision (of the output scale): f32 1e-4, bf16 2e-2,
 * int8 5e-2. */
double tolerance_for(const struct drift_context *ctx);

/* Creates a context of the given precision, or returns NULL when the CPU cannot run it (the test
 * is then skipped). */
struct drift_context *context_for(enum drift_precision precision);

/* Removes a model variant a test wrote into a mkdtemp() directory (its m.json and m.safetensors)
 * and the directory itself. */
void fixture_remove_model_dir(const char *dir);

#endif
