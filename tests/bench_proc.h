/* Reading a process's or a thread's CPU times from /proc, for the
 * benchmark programs that report the server's CPU beside their own. */
#ifndef CDC_TESTS_BENCH_PROC_H
#define CDC_TESTS_BENCH_PROC_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* User and system clock ticks from a /proc/.../stat file: the fields
 * after "(comm)" start with the state (field 3); utime is field 14 and
 * stime 15. The name may hold spaces and ')', so the last ')' ends it.
 * 0, or -1 when the file cannot be read or parsed. */
static inline int bench_proc_ticks(const char *path, unsigned long *ut, unsigned long *st)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ut, st) != 2) return -1;
    return 0;
}

static inline double bench_ticks_seconds(unsigned long ticks) { return (double)ticks / (double)sysconf(_SC_CLK_TCK); }

#endif
