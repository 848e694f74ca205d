/* Where driftd's files are: the models it ships and the state directory (jobs/, renders/).
 * One answer for the daemon (context.c) and driftd --render (render.c). */
#ifndef DRIFT_DAEMON_PATHS_H
#define DRIFT_DAEMON_PATHS_H

#define DRIFT_VIDEO_MODEL_FILE "drift-video.safetensors"
#define DRIFT_AUDIO_MODEL_FILE "drift-audio.safetensors"

/* The shipped model `file` (DRIFT_VIDEO_MODEL_FILE, DRIFT_AUDIO_MODEL_FILE) under
 * $DRIFT_MODELS_DIR when set (the repo's run script, tests), else where models are installed.
 * Transfer full (g_free). */
char *drift_model_path(const char *file);

/* The web server's shipped files (the page template, /static/ files) under $DRIFT_WEB_DIR when
 * set (the repo's run script and tests: daemon/web), else where they are installed
 * (DATADIR/drift/web). Transfer full (g_free). */
char *drift_web_dir(void);

/* The state directory, first of: option (--state-dir), configured ([daemon] state_dir; NULL =
 * not set), $STATE_DIRECTORY when absolute (systemd's StateDirectory=), /var/lib/drift as
 * root, $XDG_STATE_HOME/drift (~/.local/state/drift) otherwise. Transfer full (g_free). */
char *drift_state_dir(const char *option, const char *configured);

#endif
