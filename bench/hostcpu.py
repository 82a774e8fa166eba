#!/usr/bin/env python3
"""Host side of the boot bench: samples the CPU time of the rig's outer QEMU (L1).

    bench/hostcpu.py --parent PID --log RIG_LOG --out SAMPLES

Rig times are wall-clock times of an emulated L1 on a shared host: when other jobs take the host's
cores, L1 simply runs slower. The CPU time the outer QEMU process gets is a second measure that
such contention barely moves (its emulation work, not its waiting). This samples it, every 10 ms,
summed over the process's threads (/proc/PID/task/*/schedstat, ns on CPU), until PID (run-rig.sh)
exits; the outer QEMU is found as PID's child named qemu-system-*.

To map L1's clock onto the host's, it also follows the rig's log and stamps each
"BENCH-CLOCK l1_mono_us=N" line (printed by bench/benchrun -c in L1 before each run) with the host's
CLOCK_MONOTONIC on arrival; bench/report.py takes the smallest difference as the offset (TCG's L1
clock runs at the host's rate).

The I/O bench (bench/l1/io-bench.sh) prints "BENCH-IO-MARK begin|end cfg=C round=R phase=P"
around each test instead: those are stamped on arrival too ("M" lines); bench/io-report.py takes
the outer QEMU's CPU time between a test's two marks.

SAMPLES lines: "S host_mono_ns cpu_ns", "C host_mono_ns l1_mono_us" and "M host_mono_ns
begin|end cfg=C round=R phase=P". Standard library only.
"""

import argparse
import bisect
import os
import re
import time

CLOCK_RE = re.compile(r"BENCH-CLOCK l1_mono_us=(\d+)")
MARK_RE = re.compile(r"BENCH-IO-MARK (begin|end) (\S.*)$")


def read_samples(path):
    """Reads a SAMPLES file: returns (cpu_between, marks). marks: (name, host_ns, {key: value})
    for each "M" line; cpu_between(a, b): the outer QEMU's CPU ns between host times a and b,
    interpolated between samples (None where the samples don't reach)."""
    ts, cpu, marks = [], [], []
    for line in open(path):
        f = line.split()
        if len(f) == 3 and f[0] == "S":
            ts.append(int(f[1]))
            cpu.append(int(f[2]))
        elif len(f) >= 3 and f[0] == "M":
            marks.append((f[2], int(f[1]), dict(x.split("=", 1) for x in f[3:] if "=" in x)))

    def at(t):
        i = bisect.bisect_left(ts, t)
        if i <= 0 or i >= len(ts):
            return None
        return cpu[i - 1] + (cpu[i] - cpu[i - 1]) * (t - ts[i - 1]) / (ts[i] - ts[i - 1])

    def cpu_between(a, b):
        ca, cb = at(a), at(b)
        return None if ca is None or cb is None else cb - ca

    return cpu_between, marks


def find_qemu(parent):
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == parent and comm.startswith("qemu-system"):
            return int(d)
    return None


def cpu_ns(pid):
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for t in tids:
        try:
            total += int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of someone else still "exists": check its state too.
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parent", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.01)
    args = ap.parse_args()

    qemu = None
    log = None
    pending = ""
    with open(args.out, "w") as out:
        while alive(args.parent):
            now = time.monotonic_ns()
            if qemu is None:
                qemu = find_qemu(args.parent)
            if qemu is not None:
                c = cpu_ns(qemu)
                if c is not None:
                    out.write(f"S {now} {c}\n")
            if log is None and os.path.exists(args.log):
                log = open(args.log, errors="replace")
            if log is not None:
                pending += log.read()
                *lines, pending = pending.split("\n")
                for line in lines:
                    m = CLOCK_RE.search(line)
                    if m:
                        out.write(f"C {now} {m.group(1)}\n")
                    m = MARK_RE.search(line)
                    if m:
                        out.write(f"M {now} {m.group(1)} {m.group(2).strip()}\n")
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
