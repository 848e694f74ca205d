/* drift engine: the whole public API. */
#ifndef DRIFT_DRIFT_H
#define DRIFT_DRIFT_H

#include <drift/arena.h>
#include <drift/context.h>
#include <drift/error.h>
#include <drift/model_file.h>
#include <drift/ops.h>
#include <drift/tensor.h>

#endif
