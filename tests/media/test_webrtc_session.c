/* WebRTC sessions: which offers are answered and why the others are not (GstSDP), and a real
 * webrtcbin answer to a real offer (made by webrtcbin as a WHEP player makes it). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <gst/gst.h>

#include "drift/media/webrtc_session.h"
#include "small_output.h"

/* What webrtcbin offers for recvonly H.264 constrained baseline and Opus, bundled (the audio
 * m-line bundle-only with port 0), candidates left out. */
static const char offer[] =
    "v=0\r\n"
    "o=- 7898471390297475740 0 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=ice-options:trickle\r\n"
    "a=group:BUNDLE video0 audio1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:BiL4mYWHqqN8XNgADuJhL2agzpr2qALU\r\n"
    "a=ice-pwd:PUpvVljykV8VywbHmpaTAY/lDmDfpeq4\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1\r\n"
    "a=mid:video0\r\n"
    "a=fingerprint:sha-256 3E:D0:B6:52:3D:1D:D1:7B:42:8B:1C:C7:86:D0:A4:30:CC:D7:CB:13:6F:42:A1:3F:C7:85:F0:C5:CD:9F:24:D8\r\n"
    "a=rtcp-mux-only\r\n"
    "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\n"
    "a=ice-ufrag:BiL4mYWHqqN8XNgADuJhL2agzpr2qALU\r\n"
    "a=ice-pwd:PUpvVljykV8VywbHmpaTAY/lDmDfpeq4\r\n"
    "a=bundle-only\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=recvonly\r\n"
    "a=rtpmap:111 OPUS/48000\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=mid:audio1\r\n"
    "a=fingerprint:sha-256 3E:D0:B6:52:3D:1D:D1:7B:42:8B:1C:C7:86:D0:A4:30:CC:D7:CB:13:6F:42:A1:3F:C7:85:F0:C5:CD:9F:24:D8\r\n"
    "a=rtcp-mux-only\r\n";

static char *with(const char *from, const char *to)
{
    GString *s = g_string_new(offer);
    g_assert(strstr(offer, from));
    g_string_replace(s, from, to, 1);
    return g_string_free(s, FALSE);
}

static int parse(const char *sdp, struct drift_webrtc_offer *o, struct drift_error *err)
{
    return drift_webrtc_offer_parse(sdp, strlen(sdp), o, err);
}

static void a_browser_offer_gives_its_payload_types(void **state)
{
    struct drift_webrtc_offer o = { 0 };
    assert_int_equal(parse(offer, &o, NULL), 0);
    assert_int_equal(o.video_pt, 102);
    assert_int_equal(o.audio_pt, 111);
}

static void constrained_baseline_wins_over_other_h264(void **state)
{
    /* Chrome lists several H.264 profiles; plain baseline and high come first here. */
    g_autofree char *sdp = with("m=video 9 UDP/TLS/RTP/SAVPF 102\r\n",
                                "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 96\r\n"
                                "a=rtpmap:100 H264/90000\r\n"
                                "a=fmtp:100 packetization-mode=1;profile-level-id=640032\r\n"
                                "a=rtpmap:101 H264/90000\r\n"
                                "a=fmtp:101 packetization-mode=1;profile-level-id=42001f\r\n"
                                "a=rtpmap:96 VP8/90000\r\n");
    struct drift_webrtc_offer o = { 0 };
    assert_int_equal(parse(sdp, &o, NULL), 0);
    assert_int_equal(o.video_pt, 102);
    /* Without level-asymmetry-allowed GstSDP keeps profile-level-id as it came. */
    g_autofree char *plain = with("profile-level-id=42e01f;level-asymmetry-allowed=1",
                                  "profile-level-id=42E01F");
    assert_int_equal(parse(plain, &o, NULL), 0);
    assert_int_equal(o.video_pt, 102);
}

static void no_audio_line_means_video_only(void **state)
{
    g_autofree char *sdp = g_strndup(offer, strstr(offer, "m=audio") - offer);
    struct drift_webrtc_offer o = { 0 };
    assert_int_equal(parse(sdp, &o, NULL), 0);
    assert_int_equal(o.video_pt, 102);
    assert_int_equal(o.audio_pt, -1);
}

static void offers_it_cannot_answer_are_refused_saying_why(void **state)
{
    struct {
        char *sdp;
        const char *needle;
    } cases[] = {
        { g_strdup("hello"), "not SDP" },
        { g_strdup(""), "empty" },
        { g_strdup("v=0\r\n"), "m-lines" },
        { with("m=video", "m=text"), "no video m-line" },
        { with("a=recvonly", "a=sendonly"), "does not receive" },
        { with("packetization-mode=1", "packetization-mode=0"), "packetization-mode 0" },
        { with("H264/90000", "VP8/90000"), "VP8/102" },
        { with("profile-level-id=42e01f", "profile-level-id=640032"), "profile high" },
        { with("profile-level-id=42e01f;level-asymmetry-allowed=1", "profile-level-id=4d001f"),
          "profile main" },
        { with("profile-level-id=42e01f;level-asymmetry-allowed=1", "profile-level-id=zz001f"),
          "profile -" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct drift_webrtc_offer o = { .video_pt = 7 };
        struct drift_error err = { 0 };
        assert_int_equal(parse(cases[i].sdp, &o, &err), -EINVAL);
        if (!strstr(err.message, cases[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].needle);
        assert_int_equal(o.video_pt, 7); /* untouched */
        g_free(cases[i].sdp);
    }
    struct drift_webrtc_offer o;
    struct drift_error err = { 0 };
    assert_int_equal(drift_webrtc_offer_parse("v=0\0m=video", 11, &o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "NUL"));
}

static void webrtcbin_answers_with_the_offered_codecs_and_candidates(void **state)
{
    struct drift_stream_output *out = small_output(true, DRIFT_AUDIO_OPUS, 25);
    struct drift_webrtc_session *s = NULL;
    char *answer = NULL;
    struct drift_error err = { 0 };
    int r = drift_webrtc_session_init(&s, &answer, out, offer, strlen(offer), 0, &err);
    if (r < 0)
        fail_msg("%s", err.message);
    assert_non_null(strstr(answer, "a=sendonly"));
    assert_non_null(strstr(answer, "a=rtpmap:102 H264/90000"));
    if (!strstr(answer, "profile-level-id=42e01f"))
        fail_msg("%s", answer);
    assert_non_null(g_strstr_len(answer, -1, "a=rtpmap:111 OPUS/48000"));
    assert_non_null(strstr(answer, "a=candidate:"));
    assert_int_equal(drift_webrtc_session_check(s, NULL), 0);
    drift_webrtc_session_free(s);
    g_free(answer);
    drift_stream_output_free(out);
}

static void outputs_it_cannot_send_are_refused(void **state)
{
    struct drift_stream_output *offline = small_output(false, DRIFT_AUDIO_OPUS, 25);
    struct drift_stream_output *aac = small_output(true, DRIFT_AUDIO_AAC, 25);
    struct drift_webrtc_session *s = NULL;
    char *answer = NULL;
    struct drift_error err = { 0 };
    assert_int_equal(drift_webrtc_session_init(&s, &answer, offline, offer, strlen(offer), 0,
                                               &err), -EINVAL);
    assert_non_null(strstr(err.message, "live"));
    assert_int_equal(drift_webrtc_session_init(&s, &answer, aac, offer, strlen(offer), 0, &err),
                     -EINVAL);
    assert_non_null(strstr(err.message, "AAC"));
    assert_null(s);
    assert_null(answer);
    drift_stream_output_free(offline);
    drift_stream_output_free(aac);
}

int main(void)
{
    gst_init(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_browser_offer_gives_its_payload_types),
        cmocka_unit_test(constrained_baseline_wins_over_other_h264),
        cmocka_unit_test(no_audio_line_means_video_only),
        cmocka_unit_test(offers_it_cannot_answer_are_refused_saying_why),
        cmocka_unit_test(webrtcbin_answers_with_the_offered_codecs_and_candidates),
        cmocka_unit_test(outputs_it_cannot_send_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
