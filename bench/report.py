#!/usr/bin/env python3
"""Turns the BENCH lines of a boot-bench rig log into markdown tables.

    bench/report.py build/bench/rig-phyllome-boot-bench.log [host-info.txt [hostcpu.txt]]

Lines (L1 console, each prefixed by the rig's "[host seconds]" stamp):
  BENCH name=N status=S marker_us=.. ready_us=.. end_us=.. maxrss_kb=.. hwm_kb=.. rss_kb=..
        anon_kb=.. file_kb=.. shmem_kb=.. guest_kb=.. smaps_rss_kb=.. threads=.. kind=boot|tiny
        round=R guest_used_kb=..
  BENCH-INFO key=value...;  BENCH-VV ...
Round 0 is the warm-up and is left out. With hostcpu.txt (bench/hostcpu.py), each run also gets
host_cpu_us: the CPU time the outer QEMU (all of L1) used from the VMM's start to the marker.
Python 3 standard library only.
"""

import bisect
import re
import statistics
import sys

LINE_RE = re.compile(r"^\[\s*[\d.]+\] (.*)$")


def parse(path):
    runs, info, vv, trace = [], {}, [], []
    for raw in open(path, errors="replace"):
        m = LINE_RE.match(raw.rstrip("\n"))
        text = m.group(1) if m else raw.rstrip("\n")
        if text.startswith("BENCH "):
            kv = dict(f.split("=", 1) for f in text[6:].split() if "=" in f)
            for k, v in kv.items():
                if k not in ("name", "status", "kind"):
                    kv[k] = int(v)
            runs.append(kv)
        elif text.startswith("BENCH-INFO "):
            info.update(f.split("=", 1) for f in text[11:].split() if "=" in f)
        elif text.startswith("BENCH-VV "):
            vv.append(text[9:])
        elif text.startswith("BENCH-TRACE "):
            trace.append(text[12:])
    return runs, info, vv, trace


def add_host_cpu(runs, path):
    """Adds host_cpu_us to each run, from the samples of bench/hostcpu.py. False if it can't."""
    ts, cpu, offs = [], [], []
    for line in open(path):
        f = line.split()
        if len(f) == 3 and f[0] == "S":
            ts.append(int(f[1]) / 1000)
            cpu.append(int(f[2]) / 1000)
        elif len(f) == 3 and f[0] == "C":
            offs.append(int(f[1]) / 1000 - int(f[2]))
    if len(ts) < 2 or not offs:
        return False
    off = min(offs)  # the line that arrived fastest

    def at(t):
        i = bisect.bisect_left(ts, t)
        if i <= 0 or i >= len(ts):
            return None
        return cpu[i - 1] + (cpu[i] - cpu[i - 1]) * (t - ts[i - 1]) / (ts[i] - ts[i - 1])
    for r in runs:
        if r.get("start_mono_us", -1) < 0 or r["marker_us"] < 0:
            continue
        a = at(r["start_mono_us"] + off)
        b = at(r["start_mono_us"] + r["marker_us"] + off)
        if a is not None and b is not None:
            r["host_cpu_us"] = int(b - a)
    return True


def ratio_table(p, ok, kind, pairs):
    """Ratios A / B of the time to the marker, four ways: of the medians and the median of the
    per-round ratios (A and B ran next to each other), for wall time and for L1's host CPU."""
    rounds = {}
    for r in ok:
        if r["kind"] == kind:
            rounds.setdefault(r["round"], {})[r["name"]] = r

    def ratios(a, b, key):
        xa = med([v[a][key] for v in rounds.values() if a in v and v[a].get(key, -1) >= 0])
        xb = med([v[b][key] for v in rounds.values() if b in v and v[b].get(key, -1) >= 0])
        per = [v[a][key] / v[b][key] for v in rounds.values()
               if a in v and b in v and v[a].get(key, -1) >= 0 and v[b].get(key, -1) > 0]
        return (xa / xb if xa is not None and xb else None), med(per)
    p("| ratio | wall: of the medians | wall: median of per-round ratios | "
      "host CPU: of the medians | host CPU: median of per-round ratios |")
    p("| --- | ---: | ---: | ---: | ---: |")
    for a, b in pairs:
        w1, w2 = ratios(a, b, "marker_us")
        c1, c2 = ratios(a, b, "host_cpu_us")
        p(f"| {a} / {b} | {fmt(w1, 1, 3)} | {fmt(w2, 1, 3)} | {fmt(c1, 1, 3)} | {fmt(c2, 1, 3)} |")
    p("")


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, unit_div=1.0, digits=2):
    return "n/a" if x is None else f"{x / unit_div:.{digits}f}"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, info, vv, trace = parse(sys.argv[1])
    host = open(sys.argv[2]).read().strip().splitlines() if len(sys.argv) > 2 else []
    have_cpu = len(sys.argv) > 3 and add_host_cpu(runs, sys.argv[3])
    measured = [r for r in runs if r.get("round", 0) > 0]
    ok = [r for r in measured if r["marker_us"] >= 0]
    names = []
    for r in measured:
        if r["name"] not in names:
            names.append(r["name"])

    def sel(name, key, only_ok=True, min_value=0):
        return [r[key] for r in (ok if only_ok else measured)
                if r["name"] == name and r.get(key, -1) >= min_value]

    out = []
    p = out.append
    p("Rig run: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    for h in host:
        p(f"- {h}")
    failed = [r for r in measured if r["marker_us"] < 0]
    if failed:
        p(f"- runs without the marker (left out): "
          + ", ".join(f"{r['name']} round {r['round']} ({r['status']})" for r in failed))
    p("")

    boot = [n for n in names if any(r["name"] == n and r["kind"] == "boot" for r in measured)]
    tiny = [n for n in names if any(r["name"] == n and r["kind"] == "tiny" for r in measured)]
    if boot:
        t = {n: med(sel(n, "marker_us")) for n in boot}
        p("### Boot: VMM start to the guest's PHYLLOME-USERSPACE (rig time)")
        p("")
        hc = {n: med(sel(n, "host_cpu_us")) for n in boot}
        p("| VMM | runs | median (s) | min (s) | max (s) | "
          "L1's host CPU to the marker, median (s) |")
        p("| --- | ---: | ---: | ---: | ---: | ---: |")
        for n in boot:
            xs = sel(n, "marker_us")
            p(f"| {n} | {len(xs)} | {fmt(t[n], 1e6)} | {fmt(min(xs) if xs else None, 1e6)} | "
              f"{fmt(max(xs) if xs else None, 1e6)} | {fmt(hc[n], 1e6)} |")
        p("")
        ratio_table(p, ok, "boot", [(a, b) for a in boot if a.startswith("phyllome")
                                    for b in boot if b != a and not (a == "phyllome" and
                                                                     b.startswith("phyllome"))])
        p("Per run (s, in order): " + "; ".join(
            f"{n} " + " ".join(fmt(x, 1e6) for x in sel(n, "marker_us")) for n in boot))
        p("")
        if have_cpu:
            p("Host CPU per run (s, in order): " + "; ".join(
                f"{n} " + " ".join(fmt(x, 1e6) for x in sel(n, "host_cpu_us")) for n in boot))
            p("")
        p("### Memory with the Linux guest (MiB, medians; sampled when init prints PHYLLOME-SHELL)")
        p("")
        p("| VMM | peak RSS (VmHWM) | guest RAM resident | **overhead** = VmHWM - guest RAM | "
          "non-guest RSS (smaps) | peak RSS (ru_maxrss, at exit) | RssAnon | RssFile | RssShmem | "
          "RssAnon in THPs | guest's MemTotal-MemFree | threads |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in boot:
            rs = [r for r in ok if r["name"] == n and r["hwm_kb"] >= 0 and r["guest_kb"] >= 0]
            over = med([r["hwm_kb"] - r["guest_kb"] for r in rs])
            nong = med([r["smaps_rss_kb"] - r["guest_kb"] for r in rs])

            def m(key):
                return med([r[key] for r in rs if r.get(key, -1) >= 0])
            p(f"| {n} | {fmt(m('hwm_kb'), 1024, 1)} | {fmt(m('guest_kb'), 1024, 1)} | "
              f"**{fmt(over, 1024, 2)}** | {fmt(nong, 1024, 2)} | {fmt(m('maxrss_kb'), 1024, 1)} | "
              f"{fmt(m('anon_kb'), 1024, 1)} | {fmt(m('file_kb'), 1024, 1)} | "
              f"{fmt(m('shmem_kb'), 1024, 1)} | {fmt(m('anon_huge_kb'), 1024, 1)} | "
              f"{fmt(m('guest_used_kb'), 1024, 1)} | "
              f"{fmt(m('threads'), 1, 0)} |")
        p("")
        p("Overhead per run (MiB, VmHWM - guest RAM, in order): " + "; ".join(
            f"{n} " + " ".join(fmt(r["hwm_kb"] - r["guest_kb"], 1024, 2) for r in ok
                               if r["name"] == n and r["hwm_kb"] >= 0 and r["guest_kb"] >= 0)
            for n in boot))
        p("")
        p("### Where the rig's time goes: KVM exits up to the marker, and the VMM's CPU time"
          " (medians)")
        p("")
        p("Counted by L1's KVM (debugfs, all vCPUs) when the marker arrived. Each exit to the VMM"
          " costs L1 much more than on hardware, so rig times weigh exits heavily.")
        p("")
        p("| VMM | exits | io_exits (port I/O) | mmio_exits (to the VMM) | irq_exits | "
          "irq_window_exits | pf_taken | NPT 4K pages | NPT 2M pages | VMM user CPU (s) | "
          "VMM system CPU (s) |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in boot:
            def mk(key):
                return fmt(med(sel(n, "kvm_" + key)), 1, 0)
            cpu = " | ".join(fmt(med(sel(n, k)), 1000, 2) for k in ("utime_ms", "stime_ms"))
            p(f"| {n} | {mk('exits')} | {mk('io_exits')} | {mk('mmio_exits')} | "
              f"{mk('irq_exits')} | {mk('irq_window_exits')} | {mk('pf_taken')} | "
              f"{mk('pages_4k')} | {mk('pages_2m')} | {cpu} |")
        p("")
    if tiny:
        t = {n: med(sel(n, "marker_us")) for n in tiny}
        p("### Start-up with the tiny guest: launch to PHYLLOME-TINY-READY (rig time)")
        p("")
        p("| VMM | runs | median (ms) | min (ms) | max (ms) | "
          "L1's host CPU to the marker (ms) | peak RSS, ru_maxrss (MiB) | KVM exits to the marker |"
          " how it ended |")
        p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for n in tiny:
            xs = sel(n, "marker_us")
            ends = sorted({r["status"] for r in ok if r["name"] == n})
            p(f"| {n} | {len(xs)} | {fmt(t[n], 1e3)} | {fmt(min(xs) if xs else None, 1e3)} | "
              f"{fmt(max(xs) if xs else None, 1e3)} | "
              f"{fmt(med(sel(n, 'host_cpu_us')), 1e3, 1)} | "
              f"{fmt(med(sel(n, 'maxrss_kb')), 1024, 2)} | "
              f"{fmt(med(sel(n, 'kvm_exits')), 1, 0)} | "
              f"{', '.join(ends)} |")
        p("")
        ratio_table(p, ok, "tiny", [(tiny[0], b) for b in tiny[1:]])
        p("Per run (ms, in order): " + "; ".join(
            f"{n} " + " ".join(fmt(x, 1e3, 1) for x in sel(n, "marker_us")) for n in tiny))
        p("")
    if vv:
        p("### phyllome-vmm -vv (one more boot): log lines other than port 0x80, and port-0x80"
          " writes per 100 ms of VMM time")
        p("")
        p("```")
        out.extend(vv)
        p("```")
    if trace:
        p("### L1's KVM tracepoint histograms, one boot each to the marker (--trace)")
        p("")
        p("```")
        out.extend(trace)
        p("```")
    print("\n".join(out))


if __name__ == "__main__":
    main()
