/* How the daemon's parts (streams, jobs, the context) say that something changed without knowing
 * who listens: in driftd the bus publishes it on every connection (bus.c: PropertiesChanged,
 * InterfacesAdded/Removed, JobFinished); the unit tests record the calls; with no emitter set
 * (every callback NULL) nothing is said. Called on the main thread only. */
#ifndef DRIFT_DAEMON_EMITTER_H
#define DRIFT_DAEMON_EMITTER_H

struct drift_emitter {
    /* Properties names (NULL-terminated) of iface at path changed. */
    void (*changed)(void *userdata, const char *path, const char *iface, const char *const *names);
    /* An object appeared or went away. */
    void (*added)(void *userdata, const char *path);
    void (*removed)(void *userdata, const char *path);
    /* The job at path ended in state ("done", "failed", "cancelled"). */
    void (*job_finished)(void *userdata, const char *path, const char *state);
    void *userdata;
};

static inline void drift_emit_changed(const struct drift_emitter *e, const char *path,
                                      const char *iface, const char *const *names)
{
    if (e && e->changed)
        e->changed(e->userdata, path, iface, names);
}
#define drift_emit_changed_va(e, path, iface, ...) \
    drift_emit_changed((e), (path), (iface), (const char *const[]){ __VA_ARGS__, NULL })

static inline void drift_emit_added(const struct drift_emitter *e, const char *path)
{
    if (e && e->added)
        e->added(e->userdata, path);
}

static inline void drift_emit_removed(const struct drift_emitter *e, const char *path)
{
    if (e && e->removed)
        e->removed(e->userdata, path);
}

static inline void drift_emit_job_finished(const struct drift_emitter *e, const char *path,
                                           const char *state)
{
    if (e && e->job_finished)
        e->job_finished(e->userdata, path, state);
}

#endif
