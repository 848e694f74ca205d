/* driftd's configuration: /etc/drift/driftd.conf (or --config PATH), then the .conf files of
 * PATH.d in lexical order, later values winning. GKeyFile syntax. Unknown sections and keys and values out
 * of range are errors that name the file and the line. */
#ifndef DRIFT_DAEMON_CONFIG_H
#define DRIFT_DAEMON_CONFIG_H

#include <stdbool.h>

#include <glib.h>

#include <drift/error.h>

#include "settings.h"

#define DRIFT_MAX_STREAMS_LIMIT 64

struct drift_stream_config {
    char *name;
    struct drift_settings settings; /* every stream key, defaults filled in */
};

struct driftd_config {
    char *state_dir;          /* [daemon] state_dir; NULL = not set (see drift_state_dir) */
    unsigned max_streams;     /* [daemon] max_streams */
    bool private_socket;      /* [daemon] private_socket */
    bool admission_strict;    /* [daemon] admission: strict (true) or allow */
    char *rtsp_address;       /* [rtsp] address */
    unsigned rtsp_port;       /* [rtsp] port; 0 = any free port */
    char *http_address;       /* [http] address: an IP address, loopback unless access_users */
    unsigned http_port;       /* [http] port; 0 = no web server */
    unsigned http_webrtc_sessions; /* [http] webrtc_sessions: WHEP viewers at once, all streams;
                                      0 = no WHEP */
    unsigned jobs_concurrency; /* [jobs] concurrency */
    unsigned jobs_keep_days;   /* [jobs] keep_days: finished job records; 0 = forever */
    unsigned jobs_output_keep_days; /* [jobs] output_keep_days: outputs of done jobs; 0 = forever */
    unsigned jobs_nice;        /* [jobs] nice: niceness of render threads */
    unsigned jobs_output_max_mb;    /* [jobs] output_max_mb: all outputs together; 0 = no limit */
    char *access_users;       /* [access] users: the users file (absolute); NULL = none */
    char *tls_certificate;    /* [access] tls_certificate: PEM file (absolute); NULL = none */
    char *tls_key;            /* [access] tls_key: its private key (absolute); NULL = none */
    GPtrArray *streams;       /* struct drift_stream_config *, in order of first appearance */
    char *default_model, *default_audio_model;
};

/* Defaults only (no file read). default_model and default_audio_model are the model paths a
 * stream gets when its section names none. */
struct driftd_config *driftd_config_new(const char *default_model, const char *default_audio_model);
void driftd_config_free(struct driftd_config *cfg);

/* Applies one file's text (file_name is used in messages and to resolve relative model paths).
 * Returns 0, or -EINVAL/-ENOENT with "FILE:LINE: message" in err; cfg may be half-applied on
 * error (callers throw it away). */
int driftd_config_apply_data(struct driftd_config *cfg, const char *file_name, const char *data,
                            size_t size, struct drift_error *err);

/* Reads path (missing: -ENOENT, unless optional) and then path.d/ *.conf in lexical order. */
int driftd_config_load(struct driftd_config *cfg, const char *path, bool optional,
                      struct drift_error *err);

/* The daemon's rules that no single key can check, for the configuration as a whole (after
 * every file was read; driftd --render, which serves nothing, does not need them): -EINVAL when
 * no users are configured ([access] users) and the RTSP server or the web server would listen
 * on an address that is not loopback (without access control every surface stays on this
 * machine); -EINVAL when only one of [access] tls_certificate and tls_key is set. err names the
 * key. The users file and the certificate are read by the caller (access.h, context.c). */
int driftd_config_check(const struct driftd_config *cfg, struct drift_error *err);

const struct drift_stream_config *driftd_config_stream(const struct driftd_config *cfg,
                                                      const char *name);

#endif
