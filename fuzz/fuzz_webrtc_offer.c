/* libFuzzer target: WHEP offers (POST /stream/NAME/whep bodies) as the media layer reads them
 * with GstSDP before webrtcbin sees them (drift_webrtc_offer_parse). Any input is either an
 * offer with payload types in range or refused with a message; nothing else. */
#include <stdint.h>
#include <stdlib.h>

#include <gst/gst.h>

#include "drift/media/webrtc_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialised;
    if (!initialised) { /* GstSDP makes GstCaps, whose types gst_init registers */
        gst_init(NULL, NULL);
        initialised = true;
    }
    struct drift_webrtc_offer o = { .video_pt = -2, .audio_pt = -2 };
    struct drift_error err = { 0 };
    int r = drift_webrtc_offer_parse((const char *)data, size, &o, &err);
    if (r < 0) {
        if (!err.message[0] || o.video_pt != -2)
            abort(); /* refused without saying why, or touched the result */
        return 0;
    }
    if (r != 0 || o.video_pt < 0 || o.video_pt > 127 || o.audio_pt < -1 || o.audio_pt > 127)
        abort();
    return 0;
}
