/* The RTSP server's gate: a GstRTSPAuth whose checks ask the caller (struct drift_rtsp_auth).
 *
 * GstRTSPAuth's own Basic matching looks the base64 "user:password" text up in a table of
 * plaintext credentials; ours are password hashes, so the check vfunc is replaced: the URL
 * check (made for every request) decodes the Authorization header and asks auth->check, and
 * the media factory checks that follow pass for a request it let through. */
#include <errno.h>
#include <string.h>

#include <gst/rtsp-server/rtsp-server.h>

#include "rtsp_server_impl.h"

#define REALM "drift"

typedef struct {
    GstRTSPAuth parent;
    struct drift_rtsp_auth cb;
    GstRTSPToken *token; /* what a request that was let through carries (borrowed by ctx) */
} DriftRtspAuth;

typedef struct {
    GstRTSPAuthClass parent_class;
} DriftRtspAuthClass;

G_DEFINE_TYPE(DriftRtspAuth, drift_rtsp_auth, GST_TYPE_RTSP_AUTH)

/* The user and password of a Basic Authorization header (transfer full), or NULLs. */
static void basic_credentials(GstRTSPContext *ctx, char **ret_user, char **ret_password)
{
    gchar *value = NULL;
    *ret_user = *ret_password = NULL;
    if (gst_rtsp_message_get_header(ctx->request, GST_RTSP_HDR_AUTHORIZATION, &value, 0) !=
            GST_RTSP_OK ||
        g_ascii_strncasecmp(value, "basic ", 6) != 0)
        return;
    g_autofree char *b64 = g_strstrip(g_strdup(value + 6));
    gsize len = 0;
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    if (!raw)
        return;
    g_autofree char *text = g_strndup((const char *)raw, len);
    memset(raw, 0, len);
    char *colon = strchr(text, ':');
    if (colon) {
        *ret_user = g_strndup(text, colon - text);
        *ret_password = g_strdup(colon + 1);
    }
    memset(text, 0, strlen(text));
}

static void respond(GstRTSPContext *ctx, GstRTSPStatusCode code)
{
    gst_rtsp_message_init_response(ctx->response, code, gst_rtsp_status_as_text(code),
                                   ctx->request);
    if (code == GST_RTSP_STS_UNAUTHORIZED)
        gst_rtsp_message_add_header(ctx->response, GST_RTSP_HDR_WWW_AUTHENTICATE,
                                    "Basic realm=\"" REALM "\"");
    gst_rtsp_client_send_message(ctx->client, ctx->session, ctx->response);
}

/* Lets the request through (ctx->token set) or answers it (401, 503) and returns FALSE. */
static gboolean check_request(DriftRtspAuth *a, GstRTSPContext *ctx)
{
    char *user, *password;
    if (!a->cb.check) { /* TLS only */
        ctx->token = a->token;
        return TRUE;
    }
    basic_credentials(ctx, &user, &password);
    const char *peer = ctx->conn ? gst_rtsp_connection_get_ip(ctx->conn) : NULL;
    int r = a->cb.check(a->cb.userdata, user, password, peer ? peer : "?");
    if (password)
        memset(password, 0, strlen(password));
    g_free(user);
    g_free(password);
    if (r == 0) {
        ctx->token = a->token;
        return TRUE;
    }
    respond(ctx, r == -EAGAIN ? GST_RTSP_STS_SERVICE_UNAVAILABLE : GST_RTSP_STS_UNAUTHORIZED);
    return FALSE;
}

static gboolean auth_check(GstRTSPAuth *auth, GstRTSPContext *ctx, const gchar *check)
{
    DriftRtspAuth *a = (DriftRtspAuth *)auth;
    if (!strcmp(check, GST_RTSP_AUTH_CHECK_URL))
        return check_request(a, ctx);
    /* The factory checks come after the URL check of the same request. */
    if (g_str_has_prefix(check, "auth.check.media.factory."))
        return ctx->token == a->token || check_request(a, ctx);
    /* Clients choosing multicast destinations: never (as without a GstRTSPAuth). */
    if (!strcmp(check, GST_RTSP_AUTH_CHECK_TRANSPORT_CLIENT_SETTINGS))
        return FALSE;
    /* GST_RTSP_AUTH_CHECK_CONNECT and anything newer: GstRTSPAuth's own. */
    return GST_RTSP_AUTH_CLASS(drift_rtsp_auth_parent_class)->check(auth, ctx, check);
}

static void drift_rtsp_auth_finalize(GObject *obj)
{
    DriftRtspAuth *a = (DriftRtspAuth *)obj;
    gst_rtsp_token_unref(a->token);
    G_OBJECT_CLASS(drift_rtsp_auth_parent_class)->finalize(obj);
}

static void drift_rtsp_auth_class_init(DriftRtspAuthClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = drift_rtsp_auth_finalize;
    GST_RTSP_AUTH_CLASS(klass)->check = auth_check;
}

static void drift_rtsp_auth_init(DriftRtspAuth *a)
{
    a->token = gst_rtsp_token_new_empty();
}

GstRTSPAuth *drift_rtsp_auth_new(const struct drift_rtsp_auth *auth)
{
    DriftRtspAuth *a = g_object_new(drift_rtsp_auth_get_type(), NULL);
    if (auth)
        a->cb = *auth;
    return (GstRTSPAuth *)a;
}
