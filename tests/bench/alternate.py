#!/usr/bin/env python3
"""Alternating CPU-time comparison of whole commands. A benchmark helper,
not a test.

usage: alternate.py ROUNDS "CMD A" "CMD B" ...

Runs every command once per round, in forward order in even rounds and
reversed in odd ones (so that no command always follows the same one),
stdout to /dev/null, and prints each command's median CPU time (user +
system of the child, from getrusage: microseconds, not the 10 ms tick)
and its ratio to the first command's. On a shared VM whose speed drifts
within minutes, commands compared in one alternated run are the figures
to trust; e.g. (docs/performance.md, session 10):

  F=~/.cache/libcdc/perf-bench-150mb.binlog
  tests/bench/alternate.py 21 "mariadb-binlog -v $F" \\
      "/tmp/old/examples/cdc/cdc dump $F" "build-rel/examples/cdc/cdc dump $F"

Each line also gives the medians of user and system time apart (the
kernel's share, e.g. a socket's receive), and the median of the
per-round ratios to the first command: the rounds pair the commands in
time, so that ratio moves less with the VM's speed than the ratio of
medians. A command's standard error is discarded.
"""
import resource
import shlex
import statistics
import subprocess
import sys


def cpu_of(cmd):
    """(user s, system s) of one run of cmd."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    rounds, cmds = int(sys.argv[1]), [shlex.split(c) for c in sys.argv[2:]]
    times, user, system = [[] for _ in cmds], [[] for _ in cmds], [[] for _ in cmds]
    for r in range(rounds):
        order = range(len(cmds)) if r % 2 == 0 else reversed(range(len(cmds)))
        for j in order:
            u, k = cpu_of(cmds[j])
            user[j].append(u)
            system[j].append(k)
            times[j].append(u + k)
    first = statistics.median(times[0])
    for j, c in enumerate(sys.argv[2:]):
        m = statistics.median(times[j])
        paired = statistics.median(t / f if f else float("nan") for t, f in zip(times[j], times[0]))
        print("%8.1f ms CPU  x%.3f  paired x%.3f  (user %.1f, system %.1f, min %.1f, max %.1f)  %s" %
              (m * 1000, m / first, paired, statistics.median(user[j]) * 1000,
               statistics.median(system[j]) * 1000, min(times[j]) * 1000, max(times[j]) * 1000, c))


if __name__ == "__main__":
    main()
