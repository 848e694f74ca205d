/* libFuzzer target: the model config reader and its typed getters over arbitrary text, and the
 * latent video decoder's reading of its "latent" section (engine/src/video_decoder.c) and the
 * refiner's of "arch.refiner" (engine/src/refiner.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <drift/model_file.h>

#include "refiner.h"
#include "video_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct drift_config *c = NULL;
    struct drift_error err = { 0 };
    if (drift_config_parse((const char *)data, size, "fuzz", &c, &err) < 0) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    static const char *keys[] = { "arch.hidden", "arch.depth", "version", "vocab", "sampler.steps",
                                  "audio.representation", "audio.n_fft", "audio.floor",
                                  "audio.channels", "audio.stereo_width",
                                  "latent.factor", "latent.clip", "latent.decoder.layers",
                                  "latent.decoder.shuffle", "arch.refiner.channels",
                                  "arch.refiner.layers", "sampler.commit", "a.b.c", "" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int64_t n;
        double d;
        const char *s;
        const char **list = NULL;
        size_t count;
        drift_config_get_int(c, keys[i], 0, 1 << 20, &n, &err);
        drift_config_get_double(c, keys[i], -1e9, 1e9, &d, &err);
        drift_config_get_string(c, keys[i], &s, &err);
        if (drift_config_get_string_array(c, keys[i], &list, &count, &err) == 0)
            free(list);
    }
    /* A section it accepts must describe a decoder that ends on the frame: abort otherwise. */
    struct drift_video_decoder_config dc;
    if (drift_video_decoder_read_config(c, 256, 192, &dc, &err) == 0) {
        if (dc.grid_w * dc.factor != 256 || dc.grid_h * dc.factor != 192 ||
            (dc.layer_count && ((1 << dc.ups) * dc.shuffle != dc.factor || dc.convs < 1 ||
                                dc.convs + dc.ups != dc.layer_count || !(dc.clip > 0))))
            abort();
    } else if (err.message[0] == '\0') {
        abort();
    }
    /* An accepted refiner tiles 16 tokens of 16 values (the corpus's tiny model): abort if not. */
    struct drift_refiner_config rc;
    err.message[0] = '\0';
    if (drift_refiner_read_config(c, 16, 16, &rc, &err) == 0) {
        if (rc.layers && ((int64_t)rc.grid_h * rc.grid_w * rc.cell_channels != 16 * 16 ||
                          rc.layers < 2 || rc.layers > DRIFT_REFINER_MAX_LAYERS ||
                          rc.channels < 1 || rc.grid_h % rc.patch || rc.grid_w % rc.patch))
            abort();
    } else if (err.message[0] == '\0') {
        abort();
    }
    drift_config_free(c);
    return 0;
}
