/* Writes a stream output to an MP4 (H.264 + AAC, moov in front for progressive playback) or
 * Matroska (H.264 + Opus) file through GStreamer's muxers.
 *
 * The file is written under a temporary name in the same directory (".NAME.XXXXXX.part") and
 * renamed to its final name only when the muxer finished it (fsync'd, then renamed, then the
 * directory fsync'd): a crash or cancel never leaves a half-written file under the final name,
 * and the temporary file is removed on failure or cancel.
 *
 * Typical job:
 *   drift_stream_output_init(&out, {.live = false, .audio_codec = DRIFT_AUDIO_AAC, ...});
 *   drift_file_writer_init(&fw, out, "/var/lib/drift/renders/x.mp4", DRIFT_FILE_AUTO, &err);
 *   ... push frames and audio ...
 *   drift_stream_output_finish(out);          // encodes the rest, sends end-of-stream
 *   drift_file_writer_finish(fw, 30000, &err); // waits for the muxer, renames into place
 *   drift_file_writer_free(fw); drift_stream_output_free(out);
 */
#ifndef DRIFT_MEDIA_FILE_WRITER_H
#define DRIFT_MEDIA_FILE_WRITER_H

#include "drift/media/media.h"
#include "drift/media/stream_output.h"

#ifdef __cplusplus
extern "C" {
#endif

enum drift_file_format {
    DRIFT_FILE_AUTO = 0, /* from the extension: .mp4/.m4v/.mov -> MP4, .mkv/.mka/.webm -> MKV */
    DRIFT_FILE_MP4,      /* needs AAC audio (or none) */
    DRIFT_FILE_MKV,      /* needs Opus audio (or none) */
};

struct drift_file_writer;

/**
 * drift_file_writer_init() - create the temporary file and start the muxing pipeline.
 * @out: the output to record (transfer none; must outlive the writer). Best attached before the
 *       first frame; attached later, the file starts at the next keyframe (requested at once).
 * @path: final file name (copied); its directory must exist and be writable.
 * Returns 0, -EINVAL (unknown extension, codec does not fit the format; the message says which),
 * -EACCES/-ENOENT/... (cannot create the temporary file; the message names the directory),
 * -ENOENT (muxer plugin missing), -ENOMEM.
 */
int drift_file_writer_init(struct drift_file_writer **ret_writer, struct drift_stream_output *out,
                           const char *path, enum drift_file_format format,
                           struct drift_error *err);

/**
 * drift_file_writer_finish() - wait for the end of stream (sent by drift_stream_output_finish())
 * to pass the muxer, then fsync and rename the file into place.
 * @timeout_ms: how long to wait for the muxer; -1 = forever.
 * Returns 0, -ETIMEDOUT, -EIO (muxer or disk error; message says which; the temporary file is
 * removed). Call it once.
 */
int drift_file_writer_finish(struct drift_file_writer *writer, int timeout_ms,
                             struct drift_error *err);

/**
 * drift_file_writer_free() - detach from the output, stop the pipeline and free. A writer that
 * was not finished successfully is a cancel: its temporary file is removed and nothing appears
 * under the final name. NULL is ignored.
 */
void drift_file_writer_free(struct drift_file_writer *writer);

/** The temporary file name while writing (transfer none), for diagnostics. */
const char *drift_file_writer_temp_path(const struct drift_file_writer *writer);

#ifdef __cplusplus
}
#endif
#endif
