"""Run one command; write its wall time, CPU time, exit code and own peak RSS to a JSON file.

    python benchmarks/spawn.py RESULT.json PROGRAM [ARG ...]

Why a separate, small process: on Linux a child's ru_maxrss starts from the peak RSS of the
process that forked it (exec keeps the old address space's high-water mark), so children
forked straight from bench.py, which holds boto3 and 10,000 rendered buckets, would all
report bench.py's size. Forked from this launcher, they start from its ~10 MB instead.
The wall time is taken here too, so the launcher's own start-up is not counted. The CPU
time is the child's user + system time from os.wait4, which on Linux includes the children
it waited for (git, for --changed-since).
"""

import json
import os
import sys
import time


def main() -> int:
    result, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w", encoding="utf-8") as handle:
        cpu = usage.ru_utime + usage.ru_stime
        json.dump(
            {"seconds": seconds, "cpu_seconds": cpu, "maxrss_kb": usage.ru_maxrss, "exit": code}, handle
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
