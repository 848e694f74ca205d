/* drift engine: workspace arena.
 *
 * One block allocated up front; allocations bump a pointer and are released all at once with
 * drift_arena_reset(). Generators reset it once per frame, so steady state allocates nothing from
 * the system. An allocation that does not fit fails (NULL) and is counted; it never grows. */
#ifndef DRIFT_ARENA_H
#define DRIFT_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct drift_arena;

/* Creates an arena of `capacity` bytes. Returns NULL on out-of-memory or capacity 0.
 * The caller owns the result: free it with drift_arena_free(). */
struct drift_arena *drift_arena_new(size_t capacity);
void drift_arena_free(struct drift_arena *arena);

/* Returns `size` bytes aligned to 64, owned by the arena (valid until the next reset), or NULL
 * when the arena is full (counted in drift_arena_failures()). size 0 returns NULL. */
void *drift_arena_alloc(struct drift_arena *arena, size_t size);
/* Releases every allocation at once. */
void drift_arena_reset(struct drift_arena *arena);

size_t drift_arena_used(const struct drift_arena *arena);
size_t drift_arena_capacity(const struct drift_arena *arena);
/* Largest `used` seen since creation. */
size_t drift_arena_high_water(const struct drift_arena *arena);
uint64_t drift_arena_failures(const struct drift_arena *arena);

#endif
