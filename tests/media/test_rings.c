/* The queue rings: fixed memory, oldest-first, buffer swap on pop, audio wrap-around. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "audio_ring.h"
#include "frame_ring.h"

static void frame_ring_keeps_order_and_never_grows(void **state)
{
    struct drift_frame_ring ring;
    assert_int_equal(drift_frame_ring_init(&ring, 3, 12), 0);
    uint8_t f[12];
    for (int i = 0; i < 3; i++) {
        memset(f, i, sizeof(f));
        drift_frame_ring_push(&ring, f, 100 + i);
    }
    assert_true(drift_frame_ring_full(&ring));
    drift_frame_ring_drop_oldest(&ring); /* the policy of a live output with a full queue */
    memset(f, 9, sizeof(f));
    drift_frame_ring_push(&ring, f, 103);
    int64_t want[] = { 101, 102, 103 };
    uint8_t byte[] = { 1, 2, 9 };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(drift_frame_ring_pop(&ring), want[i]);
        assert_int_equal(ring.current[0], byte[i]);
        assert_int_equal(ring.current[11], byte[i]);
    }
    assert_int_equal(ring.count, 0);
    drift_frame_ring_free(&ring);
}

static void frame_ring_pop_swaps_buffers(void **state)
{
    struct drift_frame_ring ring;
    assert_int_equal(drift_frame_ring_init(&ring, 2, 4), 0);
    uint8_t *before = ring.current;
    uint8_t f[4] = { 1, 2, 3, 4 };
    drift_frame_ring_push(&ring, f, 0);
    uint8_t *slot = ring.slots[0];
    drift_frame_ring_pop(&ring);
    assert_ptr_equal(ring.current, slot); /* no copy: the consumer takes the slot */
    assert_ptr_equal(ring.slots[0], before);
    drift_frame_ring_free(&ring);
}

static void frame_ring_rejects_zero_sizes(void **state)
{
    struct drift_frame_ring ring;
    assert_int_equal(drift_frame_ring_init(&ring, 0, 4), -EINVAL);
    assert_int_equal(drift_frame_ring_init(&ring, 2, 0), -EINVAL);
}

static void audio_ring_wraps_around(void **state)
{
    struct drift_audio_ring ring;
    assert_int_equal(drift_audio_ring_init(&ring, 5, 2), 0);
    float in[8] = { 1, 1, 2, 2, 3, 3, 4, 4 }, out[8];
    drift_audio_ring_write(&ring, in, 4);
    assert_int_equal(drift_audio_ring_read(&ring, out, 3), 3);
    assert_int_equal(ring.read_index, 3);
    drift_audio_ring_write(&ring, in, 4); /* crosses the end of the buffer */
    assert_int_equal(ring.count, 5);
    assert_int_equal(drift_audio_ring_space(&ring), 0);
    assert_int_equal(drift_audio_ring_read(&ring, out, 4), 4);
    float want[8] = { 4, 4, 1, 1, 2, 2, 3, 3 };
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(drift_audio_ring_write_index(&ring), 8);
    drift_audio_ring_free(&ring);
}

static void audio_ring_write_is_bounded_and_silence_is_zero(void **state)
{
    struct drift_audio_ring ring;
    assert_int_equal(drift_audio_ring_init(&ring, 4, 1), 0);
    float in[6] = { 1, 2, 3, 4, 5, 6 }, out[4];
    drift_audio_ring_write(&ring, in, 6);
    assert_int_equal(ring.count, 4); /* never more than its capacity */
    drift_audio_ring_read(&ring, NULL, 2);
    drift_audio_ring_write(&ring, NULL, 2);
    assert_int_equal(drift_audio_ring_read(&ring, out, 4), 4);
    float want[4] = { 3, 4, 0, 0 };
    assert_memory_equal(out, want, sizeof(want));
    drift_audio_ring_reset(&ring, 1000);
    assert_int_equal(drift_audio_ring_write_index(&ring), 1000);
    drift_audio_ring_free(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_ring_keeps_order_and_never_grows),
        cmocka_unit_test(frame_ring_pop_swaps_buffers),
        cmocka_unit_test(frame_ring_rejects_zero_sizes),
        cmocka_unit_test(audio_ring_wraps_around),
        cmocka_unit_test(audio_ring_write_is_bounded_and_silence_is_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
