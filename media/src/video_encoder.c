/* H.264 through libavcodec's libx264 wrapper, with libswscale doing RGB -> YUV 4:2:0 + scaling. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "drift/media/video_encoder.h"

struct drift_video_encoder {
    AVCodecContext *ctx;
    struct SwsContext *sws;
    AVFrame *frame; /* YUV 4:2:0 at the output size, reused for every frame */
    AVPacket *packet;
    int in_width, in_height;
    int64_t last_pts;
    bool flushed;
    bool baseline;
};

static int check_config(const struct drift_video_encoder_config *c, struct drift_error *err)
{
    if (c->in_width < 2 || c->in_width > 16384)
        return drift_error_set(err, -EINVAL, "in_width: %d is outside 2..16384", c->in_width);
    if (c->in_height < 2 || c->in_height > 16384)
        return drift_error_set(err, -EINVAL, "in_height: %d is outside 2..16384",
                                     c->in_height);
    int w = c->out_width ? c->out_width : c->in_width;
    int h = c->out_height ? c->out_height : c->in_height;
    if (w < 16 || w > 8192 || (w & 1))
        return drift_error_set(err, -EINVAL,
                                     "out_width: %d must be even and within 16..8192%s", w,
                                     c->out_width ? "" : " (it defaults to in_width)");
    if (h < 16 || h > 8192 || (h & 1))
        return drift_error_set(err, -EINVAL,
                                     "out_height: %d must be even and within 16..8192%s", h,
                                     c->out_height ? "" : " (it defaults to in_height)");
    int den = c->fps_den ? c->fps_den : 1;
    if (c->fps_num <= 0 || den < 0 || (double)c->fps_num / den > 240.0 ||
        (double)c->fps_num / den < 1.0)
        return drift_error_set(err, -EINVAL, "fps: %d/%d is outside 1..240", c->fps_num,
                                     den);
    if (c->bitrate_kbps < 0 || c->bitrate_kbps > 200000)
        return drift_error_set(err, -EINVAL, "bitrate_kbps: %d is outside 0..200000",
                                     c->bitrate_kbps);
    if (c->gop < 0)
        return drift_error_set(err, -EINVAL, "gop: %d is negative", c->gop);
    if (c->threads < 0 || c->threads > 64)
        return drift_error_set(err, -EINVAL, "threads: %d is outside 0..64", c->threads);
    return 0;
}

/* Roughly 0.1 bit per pixel per frame: sharp enough for generated video, small enough to stream. */
static int64_t default_bitrate(int w, int h, AVRational fps)
{
    int64_t bps = (int64_t)((double)w * h * av_q2d(fps) * 0.1);
    return bps < 200000 ? 200000 : bps;
}

static int open_codec(struct drift_video_encoder *enc, const struct drift_video_encoder_config *c,
                      int w, int h, struct drift_error *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec)
        return drift_error_set(err, -ENOENT, "libavcodec has no libx264 encoder");
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return -ENOMEM;
    enc->ctx = ctx;
    AVRational fps = { c->fps_num, c->fps_den ? c->fps_den : 1 };
    int one_second = (int)((fps.num + fps.den - 1) / fps.den);
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = av_inv_q(fps);
    ctx->framerate = fps;
    ctx->gop_size = (c->gop > 0 && c->gop < one_second) ? c->gop : one_second;
    ctx->keyint_min = 1;
    ctx->max_b_frames = 0;
    ctx->thread_count = c->threads ? c->threads : 1;
    ctx->bit_rate = c->bitrate_kbps ? (int64_t)c->bitrate_kbps * 1000 : default_bitrate(w, h, fps);
    /* A VBV of one second keeps the rate steady enough for live networks. */
    ctx->rc_max_rate = ctx->bit_rate;
    ctx->rc_buffer_size = (int)ctx->bit_rate;
    ctx->color_range = AVCOL_RANGE_MPEG;
    ctx->colorspace = AVCOL_SPC_BT709;
    av_opt_set(ctx->priv_data, "preset", c->preset ? c->preset : "veryfast", 0);
    av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
    if (c->baseline)
        av_opt_set(ctx->priv_data, "profile", "baseline", 0);
    /* forced-idr: a requested keyframe must be an IDR so a joining decoder can start on it. */
    av_opt_set(ctx->priv_data, "forced-idr", "1", 0);
    av_opt_set(ctx->priv_data, "x264-params", "repeat-headers=1:annexb=1:scenecut=0", 0);
    int r = avcodec_open2(ctx, codec, NULL);
    if (r < 0)
        return drift_error_set(err, -EINVAL, "libx264 refused the settings (%s)",
                                     av_err2str(r));
    return 0;
}

static int alloc_buffers(struct drift_video_encoder *enc, int w, int h)
{
    enc->frame = av_frame_alloc();
    enc->packet = av_packet_alloc();
    if (!enc->frame || !enc->packet)
        return -ENOMEM;
    enc->frame->format = AV_PIX_FMT_YUV420P;
    enc->frame->width = w;
    enc->frame->height = h;
    if (av_frame_get_buffer(enc->frame, 0) < 0)
        return -ENOMEM;
    /* Bicubic: the model's frames are often upscaled for viewing. */
    enc->sws = sws_getContext(enc->in_width, enc->in_height, AV_PIX_FMT_RGB24, w, h,
                              AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (!enc->sws)
        return -ENOMEM;
    const int *coefs = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(enc->sws, coefs, 1, coefs, 0, 0, 1 << 16, 1 << 16);
    return 0;
}

int drift_video_encoder_init(struct drift_video_encoder **ret_enc,
                             const struct drift_video_encoder_config *config,
                             struct drift_error *err)
{
    if (!ret_enc || !config)
        return drift_error_set(err, -EINVAL, "%s: NULL", ret_enc ? "config" : "ret_enc");
    int r = check_config(config, err);
    if (r == 0)
        r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_video_encoder *enc = calloc(1, sizeof(*enc));
    if (!enc)
        return drift_error_set(err, -ENOMEM, "out of memory");
    enc->in_width = config->in_width;
    enc->in_height = config->in_height;
    enc->last_pts = INT64_MIN;
    enc->baseline = config->baseline;
    int w = config->out_width ? config->out_width : config->in_width;
    int h = config->out_height ? config->out_height : config->in_height;
    r = open_codec(enc, config, w, h, err);
    if (r == 0)
        r = alloc_buffers(enc, w, h);
    if (r < 0) {
        if (r == -ENOMEM)
            drift_error_set(err, r, "out of memory");
        drift_video_encoder_free(enc);
        return r;
    }
    *ret_enc = enc;
    return 0;
}

void drift_video_encoder_free(struct drift_video_encoder *enc)
{
    if (!enc)
        return;
    avcodec_free_context(&enc->ctx);
    sws_freeContext(enc->sws);
    av_frame_free(&enc->frame);
    av_packet_free(&enc->packet);
    free(enc);
}

int drift_video_encoder_send(struct drift_video_encoder *enc, const uint8_t *rgb, int stride,
                             int64_t pts, bool keyframe, struct drift_error *err)
{
    if (!enc || !rgb)
        return drift_error_set(err, -EINVAL, "%s: NULL", enc ? "rgb" : "enc");
    if (stride == 0)
        stride = enc->in_width * 3;
    if (stride < enc->in_width * 3)
        return drift_error_set(err, -EINVAL, "stride: %d is less than width * 3 = %d",
                                     stride, enc->in_width * 3);
    if (pts <= enc->last_pts)
        return drift_error_set(err, -EINVAL, "pts: %lld does not follow %lld",
                                     (long long)pts, (long long)enc->last_pts);
    if (enc->flushed)
        return drift_error_set(err, -EINVAL, "enc: already flushed");
    /* The encoder may still hold a reference to the previous picture (threads, lookahead). */
    if (av_frame_make_writable(enc->frame) < 0)
        return drift_error_set(err, -ENOMEM, "out of memory");
    const uint8_t *src[1] = { rgb };
    const int src_stride[1] = { stride };
    sws_scale(enc->sws, src, src_stride, 0, enc->in_height, enc->frame->data,
              enc->frame->linesize);
    enc->frame->pts = pts;
    enc->frame->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    int r = avcodec_send_frame(enc->ctx, enc->frame);
    if (r < 0)
        return drift_error_set(err, -EIO, "libx264: %s", av_err2str(r));
    enc->last_pts = pts;
    return 0;
}

int drift_video_encoder_flush(struct drift_video_encoder *enc)
{
    if (!enc)
        return -EINVAL;
    if (enc->flushed)
        return 0;
    enc->flushed = true;
    return avcodec_send_frame(enc->ctx, NULL) < 0 ? -EIO : 0;
}

int drift_video_encoder_receive(struct drift_video_encoder *enc, AVPacket **ret_packet)
{
    if (!enc || !ret_packet)
        return -EINVAL;
    int r = avcodec_receive_packet(enc->ctx, enc->packet);
    if (r == AVERROR(EAGAIN))
        return -EAGAIN;
    if (r == AVERROR_EOF)
        return -ENODATA;
    if (r < 0)
        return -EIO;
    AVPacket *out = av_packet_alloc();
    if (!out) {
        av_packet_unref(enc->packet);
        return -ENOMEM;
    }
    av_packet_move_ref(out, enc->packet);
    if (out->duration == 0)
        out->duration = 1;
    *ret_packet = out;
    return 0;
}

AVRational drift_video_encoder_frame_rate(const struct drift_video_encoder *enc)
{
    return enc->ctx->framerate;
}

void drift_video_encoder_size(const struct drift_video_encoder *enc, int *ret_width,
                              int *ret_height)
{
    if (ret_width)
        *ret_width = enc->ctx->width;
    if (ret_height)
        *ret_height = enc->ctx->height;
}

bool drift_video_encoder_baseline(const struct drift_video_encoder *enc)
{
    return enc->baseline;
}

int drift_video_encoder_gop(const struct drift_video_encoder *enc)
{
    return enc->ctx->gop_size;
}
