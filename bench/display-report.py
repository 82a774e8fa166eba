#!/usr/bin/env python3
"""Summarises bench/run-display-bench.sh's BENCH-DISPLAY lines (from its output or the rig log):
per VMM and round, the busy phase's guest frames, vCPU and display-side CPU per frame (L1's
ticks), the outer QEMU's host CPU per frame (with hostcpu.txt from bench/hostcpu.py: all of L1's
work, guest, VMM, client and L1's kernel, which the host's load barely moves), VM exits and
dirty-log write faults per frame; then, per VMM, the median and range over rounds of the ratio
to QEMU in the same round (frames: higher is better; CPU per frame: lower is better). Per-frame
figures divide the busy phase's CPU (secs, 18 s) by the frames the guest drew in its 20 s.
"vCPU host ms/frame" estimates the host CPU of the guest's own work: the outer QEMU's CPU over
the phase times the vCPU thread's share of L1's one CPU (cpu_vcpu / (secs x 100 ticks); L1 is
busy all the phase), per frame. It takes out both the host's contention (which inflates L1's
wall-clock ticks) and the display side's fixed rate of work per L1 second.

    bench/display-report.py build/bench/rig-phyllome-display-bench.log [hostcpu.txt]
"""
import re
import statistics
import sys

import hostcpu  # bench/hostcpu.py: the samples file


def parse(lines):
    runs = {}  # (vmm, round) -> dict
    for line in lines:
        m = re.search(r"BENCH-DISPLAY (.*)", line)
        if not m:
            continue
        kv = dict(w.split("=", 1) for w in m.group(1).split() if "=" in w)
        key = (kv.get("vmm"), int(kv.get("round", 0)))
        r = runs.setdefault(key, {})
        if "frames" in kv:
            r["frames"] = int(kv["frames"])
        elif kv.get("phase") == "busy":
            r.update({k: v for k, v in kv.items() if k not in ("vmm", "round", "phase")})
        elif kv.get("phase") in ("idle", "idle-noclient"):
            r[kv["phase"] + "_rest"] = int(kv["cpu_rest"]) / int(kv["secs"])  # ticks/s = % CPU
    return runs


def add_host_cpu(runs, path):
    """Sets host_ms on each run's busy phase from hostcpu.txt's samples and marks."""
    cpu_between, marks = hostcpu.read_samples(path)
    by_run = {}
    for name, t, kv in marks:
        by_run.setdefault((kv.get("cfg"), int(kv.get("round", 0))), {})[name] = t
    for key, m in by_run.items():
        if key in runs and "begin" in m and "end" in m:
            d = cpu_between(m["begin"], m["end"])
            if d is not None:
                runs[key]["host_ms"] = d / 1e6


def vcpu_host(r):
    if "host_ms" not in r or not r.get("frames"):
        return float("nan")
    return r["host_ms"] * int(r["cpu_vcpu"]) / (int(r["secs"]) * 100) / r["frames"]


def per_frame(r, key):
    return int(r[key]) / r["frames"] if r.get("frames") and key in r else float("nan")


def span(xs):
    if not xs:
        return "(n/a)"
    return f"{statistics.median(xs):.2f}x ({min(xs):.2f} to {max(xs):.2f})"


def main():
    lines = []
    for p in sys.argv[1:2] or ["-"]:
        lines += (sys.stdin if p == "-" else open(p, errors="replace")).read().splitlines()
    runs = parse(lines)
    if len(sys.argv) > 2:
        add_host_cpu(runs, sys.argv[2])
    vmms = []
    for v, _ in runs:
        if v not in vmms:
            vmms.append(v)
    print("| VMM | round | guest frames | host CPU ms/frame | vCPU host ms/frame | vCPU ms/frame "
          "| non-vCPU ms/frame | exits/frame | write faults/frame | screens to client "
          "| idle % (client / none) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (v, rnd), r in sorted(runs.items(), key=lambda x: (x[0][1], vmms.index(x[0][0]))):
        if "cpu_vcpu" not in r or not r.get("frames"):
            print(f"| {v} | {rnd} | (incomplete) | | | | | | | | |")
            continue
        hf = r["host_ms"] / r["frames"] if "host_ms" in r else float("nan")
        print(f"| {v} | {rnd} | {r['frames']} | {hf:.0f} | {vcpu_host(r):.0f} "
              f"| {per_frame(r, 'cpu_vcpu') * 10:.0f} "
              f"| {per_frame(r, 'cpu_rest') * 10:.0f} | {per_frame(r, 'exits'):.0f} "
              f"| {per_frame(r, 'pf_fast'):.0f} | {float(r.get('screens', 'nan')):.1f} "
              f"| {r.get('idle_rest', float('nan')):.1f} / {r.get('idle-noclient_rest', float('nan')):.1f} |")
    print()
    print("| VMM | rounds | frames / QEMU's: median (range) | host CPU per frame / QEMU's "
          "| vCPU host CPU per frame / QEMU's | vCPU ticks per frame / QEMU's |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for v in vmms:
        if v == "qemu":
            continue
        fr, vc, hc, vh = [], [], [], []
        for (vv, rnd), r in runs.items():
            q = runs.get(("qemu", rnd))
            if vv != v or not q or not r.get("frames") or not q.get("frames") or "cpu_vcpu" not in r:
                continue
            fr.append(r["frames"] / q["frames"])
            vc.append(per_frame(r, "cpu_vcpu") / per_frame(q, "cpu_vcpu"))
            if "host_ms" in r and "host_ms" in q:
                hc.append((r["host_ms"] / r["frames"]) / (q["host_ms"] / q["frames"]))
                vh.append(vcpu_host(r) / vcpu_host(q))
        if fr:
            print(f"| {v} | {len(fr)} | {span(fr)} | {span(hc)} | {span(vh)} | {span(vc)} |")


if __name__ == "__main__":
    main()
