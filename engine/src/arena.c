#include <stdlib.h>

#include <drift/arena.h>

struct drift_arena {
    unsigned char *base;
    size_t capacity;
    size_t used;
    size_t high_water;
    uint64_t failures;
};

struct drift_arena *drift_arena_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    struct drift_arena *arena = calloc(1, sizeof(*arena));
    if (!arena)
        return NULL;
    arena->capacity = (capacity + 63) & ~(size_t)63;
    arena->base = aligned_alloc(64, arena->capacity);
    if (!arena->base) {
        free(arena);
        return NULL;
    }
    return arena;
}

void drift_arena_free(struct drift_arena *arena)
{
    if (!arena)
        return;
    free(arena->base);
    free(arena);
}

void *drift_arena_alloc(struct drift_arena *arena, size_t size)
{
    if (!arena || size == 0)
        return NULL;
    size_t rounded = (size + 63) & ~(size_t)63;
    if (rounded < size || rounded > arena->capacity - arena->used) {
        arena->failures++;
        return NULL;
    }
    void *p = arena->base + arena->used;
    arena->used += rounded;
    if (arena->used > arena->high_water)
        arena->high_water = arena->used;
    return p;
}

void drift_arena_reset(struct drift_arena *arena)
{
    if (arena)
        arena->used = 0;
}

size_t drift_arena_used(const struct drift_arena *arena) { return arena->used; }
size_t drift_arena_capacity(const struct drift_arena *arena) { return arena->capacity; }
size_t drift_arena_high_water(const struct drift_arena *arena) { return arena->high_water; }
uint64_t drift_arena_failures(const struct drift_arena *arena) { return arena->failures; }
