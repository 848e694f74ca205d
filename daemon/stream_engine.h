/* driftd's stream backend: the engine's generators (generation.h) and the media layer's live
 * output. */
#ifndef DRIFT_DAEMON_STREAM_ENGINE_H
#define DRIFT_DAEMON_STREAM_ENGINE_H

#include "stream.h"

extern const struct drift_stream_backend drift_stream_engine_backend;

#endif
