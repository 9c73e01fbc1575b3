/*
 * clock.c - wall and monotonic milliseconds, with a fake wall clock for tests.
 */
#include "core/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t fake_now;

int64_t clock_now_ms(void)
{
    struct timespec ts;
    int64_t fake = atomic_load(&fake_now);

    if (fake != 0)
        return fake;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_fake(int64_t ms)
{
    atomic_store(&fake_now, ms);
}
