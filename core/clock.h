/*
 * clock.h - the one injectable clock.
 *
 * Wall-clock time (stored, displayed, compared with alert timestamps) is int64
 * milliseconds since the Unix epoch. Timeouts and backoff use the monotonic
 * clock. Nothing in router/ calls these: it receives `now` as an argument.
 * Tests can pin the wall clock with clock_set_fake().
 */
#ifndef AMR_CLOCK_H
#define AMR_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (or the fake time when one is set). */
int64_t clock_now_ms(void);

/* Monotonic milliseconds, for timeouts. */
int64_t clock_mono_ms(void);

/* Pins clock_now_ms() to ms; ms == 0 returns to the real clock. For tests only. */
void clock_set_fake(int64_t ms);

#endif
