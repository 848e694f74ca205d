/* AVPacket -> GstBuffer: no copy, the packet lives exactly as long as the buffer's memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gst_packet.h"

static int freed;

static void count_free(void *opaque, uint8_t *data)
{
    freed++;
    av_free(data);
}

static AVPacket *make_packet(int key)
{
    AVPacket *p = av_packet_alloc();
    uint8_t *data = av_malloc(100 + AV_INPUT_BUFFER_PADDING_SIZE);
    p->buf = av_buffer_create(data, 100, count_free, NULL, 0);
    p->data = data;
    p->size = 100;
    p->pts = p->dts = 48;
    p->duration = 2;
    p->flags = key ? AV_PKT_FLAG_KEY : 0;
    return p;
}

static void wraps_without_copying_and_frees_with_the_last_buffer(void **state)
{
    gst_init(NULL, NULL);
    freed = 0;
    AVPacket *p = make_packet(1);
    uint8_t *data = p->data;
    GstBuffer *buf = drift_gst_buffer_from_packet(p, (AVRational){ 1, 24 });
    assert_non_null(buf);
    GstMapInfo map;
    assert_true(gst_buffer_map(buf, &map, GST_MAP_READ));
    assert_ptr_equal(map.data, data);
    assert_int_equal(map.size, 100);
    gst_buffer_unmap(buf, &map);
    assert_int_equal(GST_BUFFER_PTS(buf), 2 * GST_SECOND);
    assert_int_equal(GST_BUFFER_DTS(buf), 2 * GST_SECOND);
    assert_int_equal(GST_BUFFER_DURATION(buf), GST_SECOND / 12);
    assert_false(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT));
    /* What each destination does: a metadata copy sharing the memory. */
    GstBuffer *copy = gst_buffer_copy(buf);
    gst_buffer_unref(buf);
    assert_int_equal(freed, 0);
    gst_buffer_unref(copy);
    assert_int_equal(freed, 1);
}

static void marks_non_key_packets_as_delta_units(void **state)
{
    GstBuffer *buf = drift_gst_buffer_from_packet(make_packet(0), (AVRational){ 1, 48000 });
    assert_true(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT));
    assert_int_equal(GST_BUFFER_PTS(buf), gst_util_uint64_scale(48, GST_SECOND, 48000));
    gst_buffer_unref(buf);
}

static void refuses_packets_without_a_reference(void **state)
{
    AVPacket *p = av_packet_alloc();
    static uint8_t data[4];
    p->data = data;
    p->size = 4;
    assert_null(drift_gst_buffer_from_packet(p, (AVRational){ 1, 1 }));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wraps_without_copying_and_frees_with_the_last_buffer),
        cmocka_unit_test(marks_non_key_packets_as_delta_units),
        cmocka_unit_test(refuses_packets_without_a_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
