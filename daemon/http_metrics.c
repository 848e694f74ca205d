/* /metrics: what driftd measures, in the Prometheus text format (metrics.h), names prefixed
 * drift_. Only figures the daemon counts itself, the ones its D-Bus properties show: per stream
 * the generation thread's counters, the live output's repeats and drops and the RTSP server's
 * clients; per job state a count; the process's resident memory and CPU time. The media layer
 * does not time its encoder, so there is no encoder time here. */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <drift/context.h>

#include "http.h"
#include "context.h"
#include "metrics.h"
#include "version.h"
#include "webrtc_viewers.h"

/* One family of one value per stream. */
struct stream_metric {
    const char *name;
    enum drift_metric_type type;
    const char *help;
    double (*value)(struct drift_stream *s, const struct drift_stream_live *live);
};

static double frames_generated(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->frames;
}

static double frames_repeated(struct drift_stream *s, const struct drift_stream_live *l)
{
    uint64_t repeated, dropped;
    drift_stream_media_counters(s, &repeated, &dropped);
    return (double)repeated;
}

static double frames_dropped(struct drift_stream *s, const struct drift_stream_live *l)
{
    uint64_t repeated, dropped;
    drift_stream_media_counters(s, &repeated, &dropped);
    return (double)dropped;
}

static double evals_run(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->evals_run;
}

static double evals_skipped(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->evals_skipped;
}

static double audio_chunks(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->audio_chunks;
}

static double audio_chunks_late(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->audio_chunks_late;
}

static double steps_lowered(struct drift_stream *s, const struct drift_stream_live *l)
{
    return (double)l->steps_lowered;
}

static double realtime_factor(struct drift_stream *s, const struct drift_stream_live *l)
{
    return l->realtime_factor;
}

static double effective_steps(struct drift_stream *s, const struct drift_stream_live *l)
{
    return l->steps;
}

static double fps(struct drift_stream *s, const struct drift_stream_live *l)
{
    return s->settings.fps;
}

static double running(struct drift_stream *s, const struct drift_stream_live *l)
{
    return s->state == DRIFT_STREAM_RUNNING;
}

static double idle(struct drift_stream *s, const struct drift_stream_live *l)
{
    return drift_stream_idle(s);
}

static double degraded(struct drift_stream *s, const struct drift_stream_live *l)
{
    return s->state == DRIFT_STREAM_RUNNING && l->degraded;
}

#define COUNTER DRIFT_METRIC_COUNTER
#define GAUGE DRIFT_METRIC_GAUGE

/* Counters start again from 0 when a stream (re)starts, as its D-Bus properties do; Prometheus's
 * rate() takes such resets in its stride. */
static const struct stream_metric stream_metrics[] = {
    { "drift_stream_frames_generated_total", COUNTER,
      "Video frames generated since the stream started (FramesGenerated).", frames_generated },
    { "drift_stream_frames_repeated_total", COUNTER,
      "Output frames that repeated the last one because generation was late (FramesRepeated).",
      frames_repeated },
    { "drift_stream_frames_dropped_total", COUNTER,
      "Generated frames the live output dropped because its queue was full (FramesDropped).",
      frames_dropped },
    { "drift_stream_evaluations_run_total", COUNTER,
      "Video model evaluations computed (EvaluationsRun).", evals_run },
    { "drift_stream_evaluations_skipped_total", COUNTER,
      "Video model evaluations a step-level cache served instead (EvaluationsSkipped).",
      evals_skipped },
    { "drift_stream_audio_chunks_generated_total", COUNTER,
      "Audio chunks generated (AudioChunksGenerated).", audio_chunks },
    { "drift_stream_audio_chunks_late_total", COUNTER,
      "Audio chunks that came after the stream's clock had passed them (AudioChunksLate).",
      audio_chunks_late },
    { "drift_stream_steps_lowered_total", COUNTER,
      "Times generation lowered its denoising steps to keep real time (StepsLowered).",
      steps_lowered },
    { "drift_stream_realtime_factor", GAUGE,
      "Generated seconds per second of generation work over the last window (RealtimeFactor).",
      realtime_factor },
    { "drift_stream_effective_steps", GAUGE,
      "Denoising steps per frame in use now (EffectiveSteps).", effective_steps },
    { "drift_stream_fps", GAUGE, "Frames per second asked (Fps).", fps },
    { "drift_stream_running", GAUGE, "1 while the stream runs (Running).", running },
    { "drift_stream_idle", GAUGE,
      "1 while an on-demand stream pauses for want of a viewer (Idle).", idle },
    { "drift_stream_degraded", GAUGE,
      "1 while the stream runs with fewer steps than asked (Degraded).", degraded },
};

/* Resident memory in bytes (/proc/self/statm) and CPU seconds (user + system) of the process. */
static int process_figures(double *ret_rss, double *ret_cpu, struct drift_error *err)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long long size, resident;
    int n = f ? fscanf(f, "%llu %llu", &size, &resident) : 0;
    if (f)
        fclose(f);
    if (n != 2)
        return drift_error_set(err, -EIO, "/proc/self/statm: cannot read the resident memory");
    *ret_rss = (double)resident * (double)sysconf(_SC_PAGESIZE);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return drift_error_set(err, -errno, "getrusage: %s", g_strerror(errno));
    *ret_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return 0;
}

static int add_streams(struct drift_metrics *m, struct context *ctx, struct drift_error *err)
{
    GPtrArray *streams = ctx->streams;
    g_autofree struct drift_stream_live *live = g_new0(struct drift_stream_live, streams->len + 1);
    for (guint i = 0; i < streams->len; i++)
        drift_stream_get_live(streams->pdata[i], &live[i]);
    for (size_t k = 0; k < G_N_ELEMENTS(stream_metrics); k++) {
        const struct stream_metric *sm = &stream_metrics[k];
        int r = drift_metrics_family(m, sm->name, sm->type, sm->help, err);
        for (guint i = 0; r >= 0 && i < streams->len; i++) {
            struct drift_stream *s = streams->pdata[i];
            r = drift_metrics_sample(m, (const char *const[]){ "stream", s->name, NULL },
                                     sm->value(s, &live[i]), err);
        }
        if (r < 0)
            return r;
    }
    /* Clients is the sum: RTSP clients and WebRTC viewers (webrtc_viewers.h). */
    int r = drift_metrics_family(m, "drift_stream_clients", GAUGE,
                                 "Viewers playing the stream now, by protocol (Clients).", err);
    for (guint i = 0; r >= 0 && i < streams->len; i++) {
        struct drift_stream *s = streams->pdata[i];
        unsigned webrtc = drift_viewers_count(ctx->viewers, s->name);
        unsigned all = drift_stream_clients(s);
        r = drift_metrics_sample(m, (const char *const[]){ "stream", s->name, "protocol", "rtsp",
                                                           NULL },
                                 all > webrtc ? all - webrtc : 0, err);
        if (r >= 0)
            r = drift_metrics_sample(m, (const char *const[]){ "stream", s->name, "protocol",
                                                               "webrtc", NULL },
                                     webrtc, err);
    }
    return r;
}

static int add_jobs(struct drift_metrics *m, struct context *ctx, struct drift_error *err)
{
    unsigned counts[DRIFT_JOB_CANCELLED + 1] = { 0 };
    GPtrArray *list = ctx->jobs->list;
    for (guint i = 0; i < list->len; i++)
        counts[((struct drift_job *)list->pdata[i])->state]++;
    int r = drift_metrics_family(m, "drift_jobs", GAUGE,
                                 "Render jobs kept, by state (Manager.Jobs, Job.State).", err);
    for (int st = DRIFT_JOB_SCHEDULED; r >= 0 && st <= DRIFT_JOB_CANCELLED; st++)
        r = drift_metrics_sample(m, (const char *const[]){ "state", drift_job_state_name(st), NULL },
                                 counts[st], err);
    return r;
}

/* Failed logins, RTSP and HTTP together (docs/ACCESS.md). */
static int add_access(struct drift_metrics *m, struct context *ctx, struct drift_error *err)
{
    uint64_t failures, blocks;
    drift_guard_counts(ctx->guard, &failures, &blocks);
    int r = drift_metrics_family(m, "drift_access_failed_logins_total", COUNTER,
                                 "Failed logins (wrong name, password or token) over RTSP and "
                                 "HTTP.", err);
    if (r >= 0)
        r = drift_metrics_sample(m, NULL, (double)failures, err);
    if (r >= 0)
        r = drift_metrics_family(m, "drift_access_blocks_total", COUNTER,
                                 "Times an address was refused for a while after failed logins.",
                                 err);
    if (r >= 0)
        r = drift_metrics_sample(m, NULL, (double)blocks, err);
    return r;
}

static int add_process(struct drift_metrics *m, struct context *ctx, struct drift_error *err)
{
    double rss = 0, cpu = 0;
    int r = process_figures(&rss, &cpu, err);
    if (r >= 0)
        r = drift_metrics_family(m, "drift_process_resident_memory_bytes", GAUGE,
                                 "Resident memory of driftd in bytes.", err);
    if (r >= 0)
        r = drift_metrics_sample(m, NULL, rss, err);
    if (r >= 0)
        r = drift_metrics_family(m, "drift_process_cpu_seconds_total", COUNTER,
                                 "CPU time of driftd (user and system, every thread) in seconds.",
                                 err);
    if (r >= 0)
        r = drift_metrics_sample(m, NULL, cpu, err);
    if (r >= 0)
        r = drift_metrics_family(m, "drift_info", GAUGE,
                                 "Always 1: driftd's version and the kernels' ISA as labels.", err);
    if (r >= 0)
        r = drift_metrics_sample(m, (const char *const[]){ "version", DRIFT_VERSION, "isa",
                                                           drift_cpu_isa(), NULL },
                                 1, err);
    return r;
}

char *drift_http_metrics(struct context *ctx, size_t *ret_size, struct drift_error *err)
{
    struct drift_metrics *m = drift_metrics_new();
    int r = add_streams(m, ctx, err);
    if (r >= 0)
        r = add_jobs(m, ctx, err);
    if (r >= 0)
        r = add_access(m, ctx, err);
    if (r >= 0)
        r = add_process(m, ctx, err);
    char *text = r < 0 ? NULL : g_strdup(drift_metrics_text(m, ret_size));
    drift_metrics_free(m);
    return text;
}
