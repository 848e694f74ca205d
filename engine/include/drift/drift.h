/* drift engine: the whole public API. Each header states who owns what; every function that can
 * fail returns 0 (or a pointer) or a negative errno (or NULL) and names the fault in a
 * struct drift_error (error.h, libdrift-common: the error type every layer shares).
 * tests/engine/public_headers_test.sh checks that this list is complete. */
#ifndef DRIFT_DRIFT_H
#define DRIFT_DRIFT_H

#include <drift/error.h>      /* errors: code + message naming the fault */
#include <drift/tensor.h>     /* tensors: views with strides; bf16 <-> f32 */
#include <drift/arena.h>      /* one allocation sliced into tensors */
#include <drift/context.h>    /* the compute context: precision, threads, counters, ISA */
#include <drift/ops.h>        /* the ops: linear, matmul, attention, norms, ... */
#include <drift/model_file.h> /* safetensors and model configs, validated */
#include <drift/model.h>      /* the model alone: single evaluations of the transformer */
#include <drift/generator.h>  /* generators: video frames and audio chunks, one at a time */

#endif
