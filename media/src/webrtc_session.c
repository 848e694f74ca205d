/* appsrc pair -> parsers -> RTP payloaders -> webrtcbin, answering one WHEP offer. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define GST_USE_UNSTABLE_API /* GstWebRTC's headers ask for it; its API is stable since 1.16 */
#include <gst/pbutils/pbutils.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include "appsrc_sink.h"
#include "drift/media/webrtc_session.h"
#include "stream_internal.h"

#define DEFAULT_TIMEOUT_MS 5000
/* A viewer that has not connected this long after its offer never will: ICE gives up well
 * before (its checks time out in seconds), and an offer without candidates never starts. */
#define CONNECT_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* Receivers send RTCP reports every few seconds (browsers about every second, GStreamer every
 * 2.5-7.5 s). A peer that vanished without a DELETE stays "connected" to webrtcbin, which has no
 * ICE consent checks in GStreamer 1.22: the reports' silence is what tells. */
#define SILENCE_TIMEOUT_US (20 * G_USEC_PER_SEC)

struct drift_webrtc_session {
    struct drift_appsrc_sink sink;
    struct drift_stream_output *out;
    GstElement *pipeline, *webrtc, *rtpbin;
    bool attached;
    gulong keyframe_probe; /* on the video appsrc's pad: viewers' keyframe requests */
    GMutex lock; /* guards what webrtcbin's threads report below */
    GCond changed;
    bool gathered;
    GstWebRTCPeerConnectionState state;
    gint64 last_keyframe_request; /* monotonic µs; 0: none yet */
    gint64 started;               /* monotonic µs: the offer came */
    gint64 last_heard;            /* monotonic µs: connected, or its last RTCP; 0: never */
    bool gone;                    /* ended for good: a later check says so too */
};

/* ---- the offer ---------------------------------------------------------------------------- */

/* The H.264 profile of an offered format. GstSDP gives profile=… in place of profile-level-id
 * when level-asymmetry-allowed=1, and profile-level-id (hex: profile_idc, constraint flags,
 * level_idc) as it came otherwise; pbutils names the profile from its first two bytes.
 * Transfer none; NULL when it says none. */
static const char *h264_profile(const GstStructure *st)
{
    const char *profile = gst_structure_get_string(st, "profile");
    const char *plid = gst_structure_get_string(st, "profile-level-id");
    if (profile || !plid || strlen(plid) != 6)
        return profile;
    guint8 bytes[2];
    for (int i = 0; i < 2; i++) {
        int hi = g_ascii_xdigit_value(plid[2 * i]), lo = g_ascii_xdigit_value(plid[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        bytes[i] = (guint8)(hi << 4 | lo);
    }
    return gst_codec_utils_h264_get_profile(bytes, sizeof(bytes));
}

/* What we send (constrained baseline) first, then baseline, whose decoders decode it too. */
static int baseline_rank(const char *profile)
{
    if (!profile)
        return 0;
    return !strcmp(profile, "constrained-baseline") ? 2 : !strcmp(profile, "baseline");
}

/* Appends "NAME/PT (profile-level-id …)" to list, for the message of an offer we cannot take. */
static void describe(GString *list, const GstStructure *st, const char *pt)
{
    const char *name = gst_structure_get_string(st, "encoding-name");
    const char *profile = h264_profile(st);
    const char *mode = gst_structure_get_string(st, "packetization-mode");
    if (list->len >= 200)
        return;
    g_string_append_printf(list, "%s%.16s/%.8s", list->len ? ", " : "", name ? name : "?", pt);
    if (name && !g_ascii_strcasecmp(name, "H264"))
        g_string_append_printf(list, " (profile %.24s, packetization-mode %.4s)",
                               profile ? profile : "-", mode ? mode : "0");
}

/* The best payload type of media for kind (video: H.264, audio: Opus), or -1; what it offers
 * instead goes to list. */
static int pick_format(const GstSDPMedia *media, bool video, GString *list)
{
    int best = -1, best_rank = 0;
    for (guint i = 0; i < gst_sdp_media_formats_len(media); i++) {
        const char *fmt = gst_sdp_media_get_format(media, i);
        char *end;
        guint64 pt = g_ascii_strtoull(fmt, &end, 10);
        if (end == fmt || *end || pt > 127)
            continue;
        GstCaps *caps = gst_sdp_media_get_caps_from_media(media, (gint)pt);
        if (!caps)
            continue;
        const GstStructure *st = gst_caps_get_structure(caps, 0);
        const char *name = gst_structure_get_string(st, "encoding-name");
        int rank = 0;
        if (video && name && !g_ascii_strcasecmp(name, "H264")) {
            const char *mode = gst_structure_get_string(st, "packetization-mode");
            if (mode && !strcmp(mode, "1"))
                rank = baseline_rank(h264_profile(st));
        } else if (!video && name && !g_ascii_strcasecmp(name, "OPUS")) {
            gint rate = 0;
            rank = gst_structure_get_int(st, "clock-rate", &rate) && rate == 48000;
        }
        if (rank > best_rank) {
            best = (int)pt;
            best_rank = rank;
        }
        if (!rank)
            describe(list, st, fmt);
        gst_caps_unref(caps);
    }
    return best;
}

/* Port 0 rejects an m-line, unless it is bundle-only (RFC 8843): then it rides on the first. */
static bool receives(const GstSDPMedia *media)
{
    return !gst_sdp_media_get_attribute_val(media, "sendonly") &&
           !gst_sdp_media_get_attribute_val(media, "inactive") &&
           (gst_sdp_media_get_port(media) ||
            gst_sdp_media_get_attribute_val(media, "bundle-only"));
}

/* Reads msg into ret (untouched on failure); the index of the chosen m-lines too. */
static int read_offer(const GstSDPMessage *msg, struct drift_webrtc_offer *ret, guint *ret_video,
                      guint *ret_audio, struct drift_error *err)
{
    struct drift_webrtc_offer o = { .video_pt = -1, .audio_pt = -1 };
    guint video = G_MAXUINT, audio = G_MAXUINT;
    g_autoptr(GString) offered = g_string_new(NULL);
    bool refused_video = false;
    if (gst_sdp_message_medias_len(msg) == 0 || gst_sdp_message_medias_len(msg) > 16)
        return drift_error_set(err, -EINVAL, "offer: %u m-lines; a WHEP offer has a video one "
                               "and may have an audio one", gst_sdp_message_medias_len(msg));
    for (guint i = 0; i < gst_sdp_message_medias_len(msg); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(msg, i);
        const char *kind = gst_sdp_media_get_media(m);
        if (!kind)
            continue;
        if (!strcmp(kind, "video") && video == G_MAXUINT) {
            refused_video = !receives(m);
            o.video_pt = refused_video ? -1 : pick_format(m, true, offered);
            video = i;
        } else if (!strcmp(kind, "audio") && audio == G_MAXUINT && receives(m)) {
            o.audio_pt = pick_format(m, false, offered);
            audio = i;
        }
    }
    if (video == G_MAXUINT)
        return drift_error_set(err, -EINVAL, "offer: no video m-line (recvonly video, H.264)");
    if (refused_video)
        return drift_error_set(err, -EINVAL, "offer: its video does not receive (sendonly or "
                               "inactive); a WHEP offer is recvonly");
    if (o.video_pt < 0)
        return drift_error_set(err, -EINVAL, "offer: no H.264 with packetization-mode=1 and a "
                               "baseline profile-level-id (42e01f); it offers %s",
                               offered->len ? offered->str : "nothing");
    *ret = o;
    if (ret_video)
        *ret_video = video;
    if (ret_audio)
        *ret_audio = o.audio_pt >= 0 ? audio : G_MAXUINT;
    return 0;
}

/* GstSDP parses anything into something: text it cannot read at all is told apart here. */
static int parse_message(const char *sdp, size_t len, GstSDPMessage **ret, struct drift_error *err)
{
    if (!sdp || len == 0)
        return drift_error_set(err, -EINVAL, "offer: empty; send SDP (application/sdp)");
    if (memchr(sdp, '\0', len) || !g_utf8_validate(sdp, (gssize)len, NULL))
        return drift_error_set(err, -EINVAL, "offer: not SDP text (NUL bytes or not UTF-8)");
    if (len < 2 || strncmp(sdp, "v=", 2))
        return drift_error_set(err, -EINVAL, "offer: not SDP (it must begin with \"v=0\")");
    GstSDPMessage *msg = NULL; /* set on success; gcc -O3 cannot see it */
    gst_sdp_message_new(&msg);
    if (gst_sdp_message_parse_buffer((const guint8 *)sdp, (guint)len, msg) != GST_SDP_OK) {
        gst_sdp_message_free(msg);
        return drift_error_set(err, -EINVAL, "offer: GstSDP cannot parse it");
    }
    *ret = msg;
    return 0;
}

int drift_webrtc_offer_parse(const char *sdp, size_t len, struct drift_webrtc_offer *ret_offer,
                             struct drift_error *err)
{
    if (!ret_offer)
        return drift_error_set(err, -EINVAL, "ret_offer: NULL");
    GstSDPMessage *msg = NULL; /* set on success; gcc -O3 cannot see it */
    int r = parse_message(sdp, len, &msg, err);
    if (r < 0)
        return r;
    r = read_offer(msg, ret_offer, NULL, NULL, err);
    gst_sdp_message_free(msg);
    return r;
}

/* ---- webrtcbin ------------------------------------------------------------------------------ */

static void on_gathering(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    struct drift_webrtc_session *s = data;
    GstWebRTCICEGatheringState state;
    g_object_get(webrtc, "ice-gathering-state", &state, NULL);
    g_mutex_lock(&s->lock);
    s->gathered = state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
    g_cond_broadcast(&s->changed);
    g_mutex_unlock(&s->lock);
}

static void on_connection(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    struct drift_webrtc_session *s = data;
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, NULL);
    g_mutex_lock(&s->lock);
    s->state = state;
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        s->last_heard = g_get_monotonic_time();
    g_mutex_unlock(&s->lock);
    /* What was sent before DTLS was up is lost: start the viewer on a keyframe now rather than
     * at the next one (up to a second). */
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        drift_stream_output_request_keyframe(s->out);
}

/* rtpbin: an SSRC sent RTCP. Ours only sends, so this is the viewer's receiver report. */
static void on_report(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    struct drift_webrtc_session *s = data;
    g_mutex_lock(&s->lock);
    s->last_heard = g_get_monotonic_time();
    g_mutex_unlock(&s->lock);
}

/* A viewer's PLI or FIR (it lost a picture) reaches the video appsrc as an upstream
 * force-key-unit event: the encoder makes an IDR, which every destination gets. One a second
 * per viewer at most, so that one viewer cannot make the stream all keyframes for everybody. */
static GstPadProbeReturn on_upstream(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    struct drift_webrtc_session *s = data;
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CUSTOM_UPSTREAM ||
        !gst_event_has_name(ev, "GstForceKeyUnit"))
        return GST_PAD_PROBE_OK;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&s->lock);
    bool due = now - s->last_keyframe_request >= G_USEC_PER_SEC;
    if (due)
        s->last_keyframe_request = now;
    g_mutex_unlock(&s->lock);
    if (due)
        drift_stream_output_request_keyframe(s->out);
    return GST_PAD_PROBE_OK;
}

/* Emits signal with arg and waits for webrtcbin's reply (transfer full; NULL with err set). */
static GstStructure *call(GstElement *webrtc, const char *signal, gpointer arg, const char *what,
                          struct drift_error *err)
{
    GstPromise *promise = gst_promise_new();
    g_signal_emit_by_name(webrtc, signal, arg, promise);
    GstPromiseResult result = gst_promise_wait(promise);
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *gerr = NULL;
    if (result != GST_PROMISE_RESULT_REPLIED) {
        drift_error_set(err, -EIO, "%s: webrtcbin did not answer", what);
    } else if (reply && gst_structure_has_field(reply, "error")) {
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        drift_error_set(err, -EINVAL, "%s: %s", what, gerr ? gerr->message : "refused");
        g_clear_error(&gerr);
    } else {
        GstStructure *copy = reply ? gst_structure_copy(reply) : gst_structure_new_empty("ok");
        gst_promise_unref(promise);
        return copy;
    }
    gst_promise_unref(promise);
    return NULL;
}

static int set_description(GstElement *webrtc, const char *signal, GstWebRTCSDPType type,
                           GstSDPMessage *msg, struct drift_error *err)
{
    GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(type, msg);
    GstStructure *reply = call(webrtc, signal, desc, signal, err);
    gst_webrtc_session_description_free(desc); /* frees msg too */
    if (!reply)
        return -EINVAL;
    gst_structure_free(reply);
    return 0;
}

/* The transceiver behind webrtcbin's sink pad fed by payloader pay: sends only, with exactly
 * the codec the offer listed at its payload type, so the answer names it. */
static void prefer(GstElement *pay, const GstSDPMedia *media, int pt)
{
    GstPad *src = gst_element_get_static_pad(pay, "src");
    GstPad *sink = gst_pad_get_peer(src);
    GstWebRTCRTPTransceiver *trans = NULL;
    g_object_get(sink, "transceiver", &trans, NULL);
    GstCaps *caps = gst_sdp_media_get_caps_from_media(media, pt);
    GstStructure *st = gst_caps_get_structure(caps, 0);
    gst_structure_set_name(st, "application/x-rtp");
    gst_structure_set(st, "media", G_TYPE_STRING, gst_sdp_media_get_media(media), NULL);
    /* GstSDP reads profile-level-id as profile=…; rtph264pay names the stream's own
     * profile-level-id (from its SPS: 42c0 and x264's level), which must not clash with it.
     * The answer names the profile for the browser (name_h264). */
    gst_structure_remove_field(st, "profile");
    gst_structure_remove_field(st, "profile-level-id");
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                 "codec-preferences", caps, NULL);
    gst_caps_unref(caps);
    gst_object_unref(trans);
    gst_object_unref(sink);
    gst_object_unref(src);
}

/* The answer's fmtp for H.264 at pt, as browsers offer it: constrained baseline, level 3.1,
 * the level being each receiver's own (level-asymmetry-allowed). GStreamer writes no
 * profile-level-id from its caps (it turns it into profile=), and a browser that reads none
 * might assume plain baseline. */
static void name_h264(GstSDPMessage *answer, guint video, int pt)
{
    GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(answer, video);
    g_autofree char *prefix = g_strdup_printf("%d ", pt);
    g_autofree char *fmtp = g_strdup_printf("%d packetization-mode=1;profile-level-id=42e01f;"
                                            "level-asymmetry-allowed=1", pt);
    GstSDPAttribute attr;
    gst_sdp_attribute_set(&attr, "fmtp", fmtp);
    for (guint i = 0; m && i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        if (!strcmp(a->key, "fmtp") && a->value && g_str_has_prefix(a->value, prefix)) {
            gst_sdp_media_replace_attribute(m, i, &attr); /* takes attr's contents */
            return;
        }
    }
    if (m)
        gst_sdp_media_add_attribute(m, "fmtp", fmtp);
    gst_sdp_attribute_clear(&attr);
}

static int build(struct drift_webrtc_session *s, bool audio, struct drift_error *err)
{
    /* rtph264pay: SPS/PPS before every IDR (a viewer joins at any keyframe), one NAL unit per
     * packet or STAP-A, nothing held back for aggregation (latency). */
    char *desc = g_strdup_printf(
        "webrtcbin name=w bundle-policy=max-bundle "
        "appsrc name=video ! h264parse ! rtph264pay name=vpay config-interval=-1 "
        "aggregate-mode=zero-latency ! w. %s",
        audio ? "appsrc name=audio ! opusparse ! rtpopuspay name=apay ! w." : "");
    GError *gerr = NULL;
    s->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!s->pipeline || gerr) {
        drift_error_set(err, -ENOENT, "cannot build the WebRTC pipeline: %s",
                        gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        return -ENOENT;
    }
    s->webrtc = gst_bin_get_by_name(GST_BIN(s->pipeline), "w");
    g_signal_connect(s->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering), s);
    g_signal_connect(s->webrtc, "notify::connection-state", G_CALLBACK(on_connection), s);
    s->rtpbin = gst_bin_get_by_name(GST_BIN(s->webrtc), "rtpbin");
    if (!s->rtpbin) {
        drift_error_set(err, -ENOENT, "webrtcbin has no rtpbin to hear the viewer's reports");
        return -ENOENT;
    }
    g_signal_connect(s->rtpbin, "on-ssrc-active", G_CALLBACK(on_report), s);
    GstElement *v = gst_bin_get_by_name(GST_BIN(s->pipeline), "video");
    GstElement *a = audio ? gst_bin_get_by_name(GST_BIN(s->pipeline), "audio") : NULL;
    drift_appsrc_sink_init(&s->sink, s->out, v, a, true);
    GstPad *pad = gst_element_get_static_pad(v, "src");
    s->keyframe_probe = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream, s,
                                          NULL);
    gst_object_unref(pad);
    gst_object_unref(v);
    if (a)
        gst_object_unref(a);
    return 0;
}

static void set_payload(GstElement *pipeline, const char *name, const GstSDPMedia *media, int pt)
{
    GstElement *pay = gst_bin_get_by_name(GST_BIN(pipeline), name);
    g_object_set(pay, "pt", (guint)pt, NULL);
    prefer(pay, media, pt);
    gst_object_unref(pay);
}

/* Offer in, answer out; msg is taken. */
static int negotiate(struct drift_webrtc_session *s, GstSDPMessage *msg,
                     const struct drift_webrtc_offer *o, guint video, guint audio,
                     int timeout_ms, char **ret_answer, struct drift_error *err)
{
    set_payload(s->pipeline, "vpay", gst_sdp_message_get_media(msg, video), o->video_pt);
    if (audio != G_MAXUINT)
        set_payload(s->pipeline, "apay", gst_sdp_message_get_media(msg, audio), o->audio_pt);
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        gst_sdp_message_free(msg);
        return drift_error_set(err, -EIO, "the WebRTC pipeline does not start");
    }
    int r = set_description(s->webrtc, "set-remote-description", GST_WEBRTC_SDP_TYPE_OFFER, msg,
                            err);
    if (r < 0)
        return r;
    GstStructure *reply = call(s->webrtc, "create-answer", NULL, "create-answer", err);
    if (!reply)
        return -EINVAL;
    GstWebRTCSessionDescription *answer = NULL;
    gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
    gst_structure_free(reply);
    if (!answer)
        return drift_error_set(err, -EINVAL, "create-answer: webrtcbin made no answer");
    GstSDPMessage *local;
    gst_sdp_message_copy(answer->sdp, &local);
    gst_webrtc_session_description_free(answer);
    name_h264(local, video, o->video_pt);
    r = set_description(s->webrtc, "set-local-description", GST_WEBRTC_SDP_TYPE_ANSWER, local,
                        err);
    if (r < 0)
        return r;
    /* Not trickle: the answer goes out with every candidate in it. */
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_mutex_lock(&s->lock);
    while (!s->gathered)
        if (!g_cond_wait_until(&s->changed, &s->lock, deadline))
            break;
    bool gathered = s->gathered;
    g_mutex_unlock(&s->lock);
    if (!gathered)
        return drift_error_set(err, -ETIMEDOUT, "ICE gathering took more than %d ms",
                               timeout_ms);
    GstWebRTCSessionDescription *done = NULL;
    g_object_get(s->webrtc, "local-description", &done, NULL);
    if (!done)
        return drift_error_set(err, -EIO, "webrtcbin has no local description");
    *ret_answer = gst_sdp_message_as_text(done->sdp);
    gst_webrtc_session_description_free(done);
    return 0;
}

int drift_webrtc_session_init(struct drift_webrtc_session **ret_session, char **ret_answer,
                              struct drift_stream_output *out, const char *sdp, size_t len,
                              int timeout_ms, struct drift_error *err)
{
    if (!ret_session || !ret_answer || !out)
        return drift_error_set(err, -EINVAL, "%s: NULL",
                               !ret_session ? "ret_session" : !ret_answer ? "ret_answer" : "out");
    if (!drift_stream_output_is_live(out))
        return drift_error_set(err, -EINVAL, "out: only live outputs can be watched");
    const struct drift_audio_encoder *aenc = drift_stream_output_audio_encoder(out);
    if (aenc && drift_audio_encoder_codec(aenc) != DRIFT_AUDIO_OPUS)
        return drift_error_set(err, -EINVAL, "out: WebRTC carries Opus audio, not AAC");
    int r = drift_media_init(err);
    if (r < 0)
        return r;
    GstSDPMessage *msg = NULL; /* set on success; gcc -O3 cannot see it */
    r = parse_message(sdp, len, &msg, err);
    if (r < 0)
        return r;
    struct drift_webrtc_offer offer;
    guint video, audio;
    r = read_offer(msg, &offer, &video, &audio, err);
    if (r < 0) {
        gst_sdp_message_free(msg);
        return r;
    }
    if (!aenc)
        audio = G_MAXUINT;
    struct drift_webrtc_session *s = g_new0(struct drift_webrtc_session, 1);
    s->out = out;
    g_mutex_init(&s->lock);
    g_cond_init(&s->changed);
    s->state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    s->started = g_get_monotonic_time();
    char *answer = NULL;
    r = build(s, audio != G_MAXUINT, err);
    if (r == 0)
        r = negotiate(s, g_steal_pointer(&msg), &offer, video, audio,
                      timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS, &answer, err);
    if (msg)
        gst_sdp_message_free(msg);
    if (r < 0) {
        drift_webrtc_session_free(s);
        return r;
    }
    drift_stream_output_attach(out, &s->sink.base);
    s->attached = true;
    *ret_session = s;
    *ret_answer = answer;
    return 0;
}

/* Marks the session failed for good (a later check says so too) and sets err. */
G_GNUC_PRINTF(4, 5)
static int session_gone(struct drift_webrtc_session *s, struct drift_error *err, int code,
                        const char *fmt, ...)
{
    g_mutex_lock(&s->lock);
    s->gone = true;
    g_mutex_unlock(&s->lock);
    va_list ap;
    va_start(ap, fmt);
    int r = drift_error_setv(err, code, fmt, ap);
    va_end(ap);
    return r;
}

int drift_webrtc_session_check(struct drift_webrtc_session *s, struct drift_error *err)
{
    if (!s)
        return drift_error_set(err, -EINVAL, "session: NULL");
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&s->lock);
    GstWebRTCPeerConnectionState state = s->state;
    gint64 heard = s->last_heard;
    bool gone = s->gone;
    g_mutex_unlock(&s->lock);
    if (gone || state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
        state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
        return drift_error_set(err, -EPIPE, "the viewer's connection %s",
                               state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED ? "closed"
                                                                                : "failed");
    if (!heard && now - s->started > CONNECT_TIMEOUT_US)
        return session_gone(s, err, -ETIMEDOUT, "the viewer did not connect within %d s",
                            (int)(CONNECT_TIMEOUT_US / G_USEC_PER_SEC));
    if (heard && now - heard > SILENCE_TIMEOUT_US)
        return session_gone(s, err, -EPIPE, "no report from the viewer for %d s (it went "
                            "without saying so)", (int)((now - heard) / G_USEC_PER_SEC));
    GstBus *bus = gst_element_get_bus(s->pipeline);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (!m)
        return 0;
    GError *gerr = NULL;
    gst_message_parse_error(m, &gerr, NULL);
    int r = session_gone(s, err, -EIO, "WebRTC pipeline: %s", gerr ? gerr->message : "error");
    g_clear_error(&gerr);
    gst_message_unref(m);
    return r;
}

void drift_webrtc_session_free(struct drift_webrtc_session *s)
{
    if (!s)
        return;
    if (s->attached)
        drift_stream_output_detach(s->out, &s->sink.base);
    if (s->pipeline)
        gst_element_set_state(s->pipeline, GST_STATE_NULL);
    if (s->keyframe_probe) {
        GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(s->sink.video), "src");
        gst_pad_remove_probe(pad, s->keyframe_probe);
        gst_object_unref(pad);
    }
    if (s->rtpbin) {
        g_signal_handlers_disconnect_by_data(s->rtpbin, s);
        gst_object_unref(s->rtpbin);
    }
    if (s->webrtc) {
        g_signal_handlers_disconnect_by_data(s->webrtc, s);
        gst_object_unref(s->webrtc);
    }
    if (s->pipeline)
        gst_object_unref(s->pipeline);
    drift_appsrc_sink_clear(&s->sink);
    g_cond_clear(&s->changed);
    g_mutex_clear(&s->lock);
    g_free(s);
}
