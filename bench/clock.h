/*
 * bench/clock.h: the benchmarks' clock. The benchmark programs do not link
 * the module they measure, so they keep this one helper of their own.
 */
#ifndef NSSGUARD_BENCH_CLOCK_H
#define NSSGUARD_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
