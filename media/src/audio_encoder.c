/* Opus/AAC through libavcodec; libswresample converts to 48 kHz and the codec's sample format,
 * an AVAudioFifo cuts the stream into the codec's fixed frame size. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "drift/media/audio_encoder.h"

struct drift_audio_encoder {
    enum drift_audio_codec codec;
    AVCodecContext *ctx;
    SwrContext *swr;
    AVAudioFifo *fifo; /* converted samples waiting for a full codec frame */
    AVFrame *frame;
    AVPacket *packet;
    AVFifo *ready; /* AVPacket *: encoded packets not yet received by the caller */
    bool drained;  /* the codec returned EOF after the flush */
    int in_rate, in_channels;
    int64_t next_pts; /* samples at 48 kHz handed to the codec so far */
    int64_t in_total; /* input frames sent or skipped: the input clock */
    float *silence;   /* zeros for gap filling, one chunk */
    size_t silence_frames;
    bool flushed;
};

static int check_config(const struct drift_audio_encoder_config *c, struct drift_error *err)
{
    if (c->codec != DRIFT_AUDIO_OPUS && c->codec != DRIFT_AUDIO_AAC)
        return drift_error_set(err, -EINVAL, "codec: %d is neither opus nor aac", c->codec);
    if (c->in_rate < 8000 || c->in_rate > 192000)
        return drift_error_set(err, -EINVAL, "in_rate: %d is outside 8000..192000",
                                     c->in_rate);
    if (c->in_channels < 1 || c->in_channels > 8)
        return drift_error_set(err, -EINVAL, "in_channels: %d is outside 1..8",
                                     c->in_channels);
    if (c->out_channels < 0 || c->out_channels > 2)
        return drift_error_set(err, -EINVAL, "out_channels: %d is outside 0..2",
                                     c->out_channels);
    if (c->bitrate_kbps < 0 || c->bitrate_kbps > 512)
        return drift_error_set(err, -EINVAL, "bitrate_kbps: %d is outside 0..512",
                                     c->bitrate_kbps);
    return 0;
}

static int open_codec(struct drift_audio_encoder *enc, const struct drift_audio_encoder_config *c,
                      int channels, struct drift_error *err)
{
    const char *name = c->codec == DRIFT_AUDIO_OPUS ? "libopus" : "aac";
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (!codec)
        return drift_error_set(err, -ENOENT, "libavcodec has no %s encoder", name);
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    if (!ctx)
        return -ENOMEM;
    enc->ctx = ctx;
    ctx->sample_rate = DRIFT_AUDIO_OUT_RATE;
    ctx->sample_fmt = c->codec == DRIFT_AUDIO_OPUS ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&ctx->ch_layout, channels);
    ctx->time_base = (AVRational){ 1, DRIFT_AUDIO_OUT_RATE };
    int per_channel = c->codec == DRIFT_AUDIO_OPUS ? 64 : 96;
    ctx->bit_rate = (int64_t)(c->bitrate_kbps ? c->bitrate_kbps : per_channel * channels) * 1000;
    /* Out-of-band config: MP4 wants AudioSpecificConfig as codec_data, not ADTS headers. */
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (c->codec == DRIFT_AUDIO_OPUS)
        av_opt_set(ctx->priv_data, "application", "audio", 0);
    int r = avcodec_open2(ctx, codec, NULL);
    if (r < 0)
        return drift_error_set(err, -EINVAL, "%s refused the settings (%s)", name,
                                     av_err2str(r));
    return 0;
}

static int open_resampler(struct drift_audio_encoder *enc)
{
    AVChannelLayout in_layout;
    av_channel_layout_default(&in_layout, enc->in_channels);
    int r = swr_alloc_set_opts2(&enc->swr, &enc->ctx->ch_layout, enc->ctx->sample_fmt,
                                DRIFT_AUDIO_OUT_RATE, &in_layout, AV_SAMPLE_FMT_FLT, enc->in_rate,
                                0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (r < 0 || swr_init(enc->swr) < 0)
        return -ENOMEM;
    enc->fifo = av_audio_fifo_alloc(enc->ctx->sample_fmt, enc->ctx->ch_layout.nb_channels,
                                    enc->ctx->frame_size * 4);
    enc->frame = av_frame_alloc();
    enc->packet = av_packet_alloc();
    enc->ready = av_fifo_alloc2(8, sizeof(AVPacket *), AV_FIFO_FLAG_AUTO_GROW);
    enc->silence_frames = 1024;
    enc->silence = calloc(enc->silence_frames * (size_t)enc->in_channels, sizeof(float));
    if (!enc->fifo || !enc->frame || !enc->packet || !enc->silence || !enc->ready)
        return -ENOMEM;
    return 0;
}

int drift_audio_encoder_init(struct drift_audio_encoder **ret_enc,
                             const struct drift_audio_encoder_config *config,
                             struct drift_error *err)
{
    if (!ret_enc || !config)
        return drift_error_set(err, -EINVAL, "%s: NULL", ret_enc ? "config" : "ret_enc");
    int r = check_config(config, err);
    if (r == 0)
        r = drift_media_init(err);
    if (r < 0)
        return r;
    struct drift_audio_encoder *enc = calloc(1, sizeof(*enc));
    if (!enc)
        return drift_error_set(err, -ENOMEM, "out of memory");
    enc->codec = config->codec;
    enc->in_rate = config->in_rate;
    enc->in_channels = config->in_channels;
    int channels = config->out_channels ? config->out_channels
                                        : (config->in_channels >= 2 ? 2 : 1);
    r = open_codec(enc, config, channels, err);
    if (r == 0)
        r = open_resampler(enc);
    if (r < 0) {
        if (r == -ENOMEM)
            drift_error_set(err, r, "out of memory");
        drift_audio_encoder_free(enc);
        return r;
    }
    *ret_enc = enc;
    return 0;
}

void drift_audio_encoder_free(struct drift_audio_encoder *enc)
{
    if (!enc)
        return;
    avcodec_free_context(&enc->ctx);
    swr_free(&enc->swr);
    if (enc->fifo)
        av_audio_fifo_free(enc->fifo);
    av_frame_free(&enc->frame);
    av_packet_free(&enc->packet);
    AVPacket *pkt;
    while (enc->ready && av_fifo_read(enc->ready, &pkt, 1) >= 0)
        av_packet_free(&pkt);
    av_fifo_freep2(&enc->ready);
    free(enc->silence);
    free(enc);
}

/* Moves every packet the codec has ready into enc->ready: the codec refuses new frames while
 * its output is not read. Times are shifted so the stream starts at 0 (see the header). */
static int collect(struct drift_audio_encoder *enc)
{
    for (;;) {
        int r = avcodec_receive_packet(enc->ctx, enc->packet);
        if (r == AVERROR(EAGAIN))
            return 0;
        if (r == AVERROR_EOF) {
            enc->drained = true;
            return 0;
        }
        if (r < 0)
            return -EIO;
        AVPacket *out = av_packet_alloc();
        if (!out) {
            av_packet_unref(enc->packet);
            return -ENOMEM;
        }
        av_packet_move_ref(out, enc->packet);
        out->pts = FFMAX(out->pts + enc->ctx->initial_padding, 0);
        out->dts = FFMAX(out->dts + enc->ctx->initial_padding, 0);
        if (out->duration <= 0)
            out->duration = enc->ctx->frame_size;
        if (av_fifo_write(enc->ready, &out, 1) < 0) {
            av_packet_free(&out);
            return -ENOMEM;
        }
    }
}

/* Hands the codec one frame of frame_size samples from the fifo (padded with silence when the
 * fifo holds fewer, which only happens at the flush). */
static int encode_one(struct drift_audio_encoder *enc)
{
    AVFrame *f = enc->frame;
    av_frame_unref(f);
    f->nb_samples = enc->ctx->frame_size;
    f->format = enc->ctx->sample_fmt;
    f->sample_rate = DRIFT_AUDIO_OUT_RATE;
    if (av_channel_layout_copy(&f->ch_layout, &enc->ctx->ch_layout) < 0 ||
        av_frame_get_buffer(f, 0) < 0)
        return -ENOMEM;
    int have = av_audio_fifo_size(enc->fifo);
    int take = have < f->nb_samples ? have : f->nb_samples;
    if (take < f->nb_samples)
        av_samples_set_silence(f->extended_data, take, f->nb_samples - take,
                               f->ch_layout.nb_channels, f->format);
    if (av_audio_fifo_read(enc->fifo, (void **)f->extended_data, take) < take)
        return -EIO;
    f->pts = enc->next_pts;
    enc->next_pts += f->nb_samples;
    if (avcodec_send_frame(enc->ctx, f) < 0)
        return -EIO;
    return collect(enc);
}

static int convert(struct drift_audio_encoder *enc, const float *pcm, size_t n)
{
    int out_max = swr_get_out_samples(enc->swr, (int)n);
    if (out_max < 0)
        return -EIO;
    uint8_t *out[8] = { 0 };
    /* Convert straight into a temporary, then append; swr buffers any resampling delay. */
    if (av_samples_alloc(out, NULL, enc->ctx->ch_layout.nb_channels, out_max > 0 ? out_max : 1,
                         enc->ctx->sample_fmt, 0) < 0)
        return -ENOMEM;
    const uint8_t *in[1] = { (const uint8_t *)pcm };
    int got = swr_convert(enc->swr, out, out_max, pcm ? in : NULL, (int)n);
    int r = got < 0 ? -EIO : 0;
    if (got > 0 && av_audio_fifo_write(enc->fifo, (void **)out, got) < got)
        r = -ENOMEM;
    av_freep(&out[0]);
    return r;
}

int drift_audio_encoder_send(struct drift_audio_encoder *enc, const float *pcm, size_t n_frames)
{
    if (!enc || enc->flushed)
        return -EINVAL;
    enc->in_total += (int64_t)n_frames;
    while (n_frames > 0) {
        size_t n = n_frames;
        const float *src = pcm;
        if (!pcm)
            src = enc->silence, n = n < enc->silence_frames ? n : enc->silence_frames;
        else if (n > 65536)
            n = 65536;
        int r = convert(enc, src, n);
        if (r < 0)
            return r;
        while (av_audio_fifo_size(enc->fifo) >= enc->ctx->frame_size) {
            r = encode_one(enc);
            if (r < 0)
                return r;
        }
        if (pcm)
            pcm += n * (size_t)enc->in_channels;
        n_frames -= n;
    }
    return 0;
}

int drift_audio_encoder_skip(struct drift_audio_encoder *enc, size_t n_frames)
{
    if (!enc || enc->flushed)
        return -EINVAL;
    /* Whatever waits for a full codec frame or sits in the resampler belongs to the skipped
     * stretch; the next frame starts exactly where the input clock says. */
    enc->in_total += (int64_t)n_frames;
    av_audio_fifo_reset(enc->fifo);
    swr_close(enc->swr);
    if (swr_init(enc->swr) < 0)
        return -EIO;
    enc->next_pts = av_rescale(enc->in_total, DRIFT_AUDIO_OUT_RATE, enc->in_rate);
    return 0;
}

int drift_audio_encoder_flush(struct drift_audio_encoder *enc)
{
    if (!enc)
        return -EINVAL;
    if (enc->flushed)
        return 0;
    /* Drain the resampler's delay line into the fifo, then pad the last frame. */
    int r = convert(enc, NULL, 0);
    while (r == 0 && av_audio_fifo_size(enc->fifo) > 0)
        r = encode_one(enc);
    enc->flushed = true;
    if (r < 0)
        return r;
    if (avcodec_send_frame(enc->ctx, NULL) < 0)
        return -EIO;
    return collect(enc);
}

int drift_audio_encoder_receive(struct drift_audio_encoder *enc, AVPacket **ret_packet)
{
    if (!enc || !ret_packet)
        return -EINVAL;
    if (av_fifo_read(enc->ready, ret_packet, 1) >= 0)
        return 0;
    return enc->drained ? -ENODATA : -EAGAIN;
}

const uint8_t *drift_audio_encoder_extradata(const struct drift_audio_encoder *enc,
                                             size_t *ret_size)
{
    *ret_size = (size_t)enc->ctx->extradata_size;
    return enc->ctx->extradata;
}

int drift_audio_encoder_channels(const struct drift_audio_encoder *enc)
{
    return enc->ctx->ch_layout.nb_channels;
}

enum drift_audio_codec drift_audio_encoder_codec(const struct drift_audio_encoder *enc)
{
    return enc->codec;
}

int drift_audio_encoder_priming(const struct drift_audio_encoder *enc)
{
    return enc->ctx->initial_padding;
}
