/* See stream_audio.h. Locking: a->lock guards the request, the flags, the counters and the
 * status; the thread holds it only between chunks, never while generating or pushing. The
 * output has its own lock (taken for its clock and by pushes), never while a->lock is held. */
#include "stream_audio.h"

#include <errno.h>

#include <glib.h>

#include <drift/media/stream_output.h>

#include "generation.h"

#define WAIT_MIN_USEC 2000    /* shortest sleep while ahead of the clock */
#define WAIT_MAX_USEC 100000  /* longest: the clock stands still until the first frame */

struct drift_stream_audio {
    struct drift_generator *gen;      /* the thread's alone */
    struct drift_stream_output *out;
    int rate, chunk;
    size_t channels;                  /* interleaved in pcm */
    int64_t lead;                     /* samples */
    float *pcm;                       /* one chunk; the thread's */
    int64_t next;                     /* sample index of the next chunk; the thread's */
    GThread *thread;

    GMutex lock;
    GCond cond;                       /* the thread waits on it, and so does an update */
    bool stop, exited;
    bool paused, resync;              /* paused: generate nothing; resync: start at the clock */
    const struct drift_settings *request; /* borrowed from the waiting updater */
    int request_result;
    struct drift_error request_err;
    struct drift_stream_audio_counters counters;
    int status;
    struct drift_error error;
};

/* The output's clock in samples: where the audio it sends next starts. */
static int64_t clock_samples(struct drift_stream_output *out)
{
    struct drift_stream_stats st;
    drift_stream_output_get_stats(out, &st);
    return (int64_t)st.audio_samples_out;
}

/* Generates one chunk and pushes it at its place on the clock. A chunk whose place has gone
 * by starts at the clock instead (the generator's sound goes on where the output is) and is
 * counted late, as is one whose start went out while it was generated. */
static int one_chunk(struct drift_stream_audio *a, struct drift_error *err)
{
    int64_t clock = clock_samples(a->out);
    bool late = a->next < clock;
    if (late)
        a->next = clock;
    int r = drift_generator_next_audio(a->gen, a->pcm, (size_t)a->chunk * a->channels, err);
    if (r < 0) {
        drift_error_prefix(err, "audio");
        return r;
    }
    late |= a->next < clock_samples(a->out);
    /* A push into a live output waits for room at most two frame periods (there is room: the
     * lead is below the output's audio queue) and fails only once the output stopped on an
     * error, which the stream sees on the video side. */
    (void)drift_stream_output_push_audio(a->out, a->pcm, (size_t)a->chunk, a->next);
    a->next += a->chunk;
    g_mutex_lock(&a->lock);
    a->counters.chunks++;
    a->counters.late += late;
    g_mutex_unlock(&a->lock);
    return 0;
}

/* With a->lock held: takes a waiting request. */
static void take_request(struct drift_stream_audio *a)
{
    const struct drift_settings *s = a->request;
    g_mutex_unlock(&a->lock);
    struct drift_error e = { 0 };
    int r = drift_generation_update_audio(a->gen, s, &e);
    g_mutex_lock(&a->lock);
    a->request_result = r;
    a->request_err = e;
    a->request = NULL;
    g_cond_broadcast(&a->cond);
}

static gpointer audio_thread(gpointer data)
{
    struct drift_stream_audio *a = data;
    g_mutex_lock(&a->lock);
    while (!a->stop) {
        if (a->request) {
            take_request(a);
            continue;
        }
        if (a->paused) {
            g_cond_wait(&a->cond, &a->lock);
            continue;
        }
        bool resync = a->resync;
        a->resync = false;
        g_mutex_unlock(&a->lock);
        if (resync) /* after a pause: what the clock passed meanwhile was nobody's */
            a->next = MAX(a->next, clock_samples(a->out));
        /* Samples the clock must still move before the next chunk fits within the lead. */
        int64_t ahead = a->next + a->chunk - a->lead - clock_samples(a->out);
        struct drift_error e = { 0 };
        int r = ahead > 0 ? 0 : one_chunk(a, &e);
        g_mutex_lock(&a->lock);
        if (r < 0) {
            a->status = r;
            a->error = e;
            break;
        }
        if (ahead > 0 && !a->stop && !a->request) {
            int64_t usec = CLAMP(ahead * G_USEC_PER_SEC / a->rate, WAIT_MIN_USEC, WAIT_MAX_USEC);
            g_cond_wait_until(&a->cond, &a->lock, g_get_monotonic_time() + usec);
        }
    }
    a->exited = true;
    g_cond_broadcast(&a->cond);
    g_mutex_unlock(&a->lock);
    return NULL;
}

int drift_stream_audio_start(struct drift_stream_audio **ret, struct drift_generator *gen,
                             struct drift_stream_output *out, const char *name,
                             int64_t lead_usec, struct drift_error *err)
{
    const struct drift_model_info *info = gen ? drift_generator_info(gen) : NULL;
    if (!info || info->kind != DRIFT_MODEL_AUDIO || !out || lead_usec <= 0)
        return drift_error_set(err, -EINVAL, "%s",
                               !info || info->kind != DRIFT_MODEL_AUDIO
                                   ? "audio: not an audio generator"
                                   : !out ? "audio: no output" : "audio: the lead must be positive");
    struct drift_stream_audio *a = g_new0(struct drift_stream_audio, 1);
    a->gen = gen;
    a->out = out;
    a->rate = info->sample_rate;
    a->chunk = info->chunk_samples;
    a->channels = (size_t)info->channels;
    a->lead = MAX(lead_usec * a->rate / G_USEC_PER_SEC, 2 * (int64_t)a->chunk);
    a->pcm = g_new(float, (size_t)a->chunk * a->channels);
    g_mutex_init(&a->lock);
    g_cond_init(&a->cond);
    g_autofree char *thread_name = g_strdup_printf("audio-%s", name);
    a->thread = g_thread_try_new(thread_name, audio_thread, a, NULL);
    if (!a->thread) {
        a->exited = true;
        drift_stream_audio_stop(a, NULL);
        return drift_error_set(err, -EAGAIN, "audio: cannot start the audio thread");
    }
    *ret = a;
    return 0;
}

int drift_stream_audio_update(struct drift_stream_audio *a, const struct drift_settings *s,
                              struct drift_error *err)
{
    g_mutex_lock(&a->lock);
    while (a->request && !a->exited) /* one at a time */
        g_cond_wait(&a->cond, &a->lock);
    bool taken = false;
    if (!a->exited) {
        a->request = s;
        g_cond_broadcast(&a->cond);
        while (a->request && !a->exited)
            g_cond_wait(&a->cond, &a->lock);
        taken = !a->request;
        a->request = NULL;
    }
    int r = taken ? a->request_result : -ECANCELED;
    if (taken && r < 0 && err)
        *err = a->request_err;
    else if (!taken)
        drift_error_set(err, r, "%s",
                        a->error.message[0] ? a->error.message : "audio: the audio thread stopped");
    g_mutex_unlock(&a->lock);
    return r;
}

void drift_stream_audio_pause(struct drift_stream_audio *a, bool paused)
{
    g_mutex_lock(&a->lock);
    a->resync |= a->paused && !paused;
    a->paused = paused;
    g_cond_broadcast(&a->cond);
    g_mutex_unlock(&a->lock);
}

void drift_stream_audio_get_counters(struct drift_stream_audio *a,
                                     struct drift_stream_audio_counters *ret)
{
    g_mutex_lock(&a->lock);
    *ret = a->counters;
    g_mutex_unlock(&a->lock);
}

int drift_stream_audio_status(struct drift_stream_audio *a, struct drift_error *err)
{
    g_mutex_lock(&a->lock);
    int r = a->status;
    if (r < 0 && err)
        *err = a->error;
    g_mutex_unlock(&a->lock);
    return r;
}

void drift_stream_audio_stop(struct drift_stream_audio *a,
                             struct drift_stream_audio_counters *ret_final)
{
    if (!a)
        return;
    if (a->thread) {
        g_mutex_lock(&a->lock);
        a->stop = true;
        g_cond_broadcast(&a->cond);
        g_mutex_unlock(&a->lock);
        g_thread_join(a->thread);
    }
    if (ret_final)
        *ret_final = a->counters;
    g_cond_clear(&a->cond);
    g_mutex_clear(&a->lock);
    g_free(a->pcm);
    g_free(a);
}
