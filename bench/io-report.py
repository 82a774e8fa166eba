#!/usr/bin/env python3
"""Turns the BENCH-IO lines of an io-bench rig log into markdown tables.

    bench/io-report.py build/bench-io/rig-phyllome-io-bench.log [host-info.txt [hostcpu.txt]]

With hostcpu.txt (bench/hostcpu.py's samples of the outer QEMU's CPU time, and the arrival of
each test's BENCH-IO-MARK lines), each test also gets host_cpu_s: the CPU time that all of L1
(the VM, its VMM, L1's kernel, emulated by TCG) took on the host between the test's marks. The
work done per host CPU second is then a throughput that the host's load barely moves.

Lines (L1 console, each prefixed by the rig's "[host seconds]" stamp), from bench/l1/io-bench.sh:
  BENCH-IO-INFO key=value...            the set-up
  BENCH-IO-GUEST cfg=C ...              what the guest saw (disk, NIC, fio and iperf3 versions)
  BENCH-IO-IDLE cfg=C secs=S ...        counters over S seconds with that VM alone and idle
  BENCH-IO-TRACE cfg=C phase=P [round=R] kind=K key=count...   L1's kvm tracepoints (the traced
                                        round, trace=1 on its BENCH-IO lines, is not in the medians)
  BENCH-IO cfg=C round=R phase=P value=V unit=U secs=S [clat_mean_us= lat_mean_us=]
           girq_NAME=N...   the guest's interrupts per virtio vector during the phase
           kvm_STAT=N...    the VM's KVM counters (L1 debugfs) during the phase
           vmm_cpu=CS thr_NAME=CS...   the VMM's CPU time (centiseconds; vCPU threads include
                            the time the guest ran) and per thread name
           l1_user=.. l1_sys=.. l1_idle=.. l1_softirq=.. ...   L1's CPU time split (centiseconds)
Python 3 standard library only.
"""

import os
import re
import statistics
import sys

import hostcpu  # bench/hostcpu.py: the samples file
from collections import defaultdict

LINE_RE = re.compile(r"^\[\s*[\d.]+\] (.*)$")
PHASES = [
    ("seqread", "sequential read, 1 MiB O_DIRECT (dd)", "MiB/s"),
    ("seqwrite", "sequential write, 1 MiB O_DIRECT + flush (dd)", "MiB/s"),
    ("randread", "random read, 4 KiB, QD 32 (fio libaio)", "IOPS"),
    ("net-tx", "TCP guest -> L1 (iperf3)", "Mbit/s"),
    ("net-rx", "TCP L1 -> guest (iperf3 -R)", "Mbit/s"),
    # shared folders (bench/run-fs-bench.sh): N 4 KiB files, then one big file
    ("smallcreate", "small files: create + write + close (tar -x)", "files/s"),
    ("smallread", "small files: open + read + close, cold (cat)", "files/s"),
    ("smallstat", "small files: list + stat, cold (ls -l)", "files/s"),
    ("smalldelete", "small files: delete (rm -r)", "files/s"),
    ("bigwrite", "big file: sequential write + fsync (dd 1 MiB)", "MiB/s"),
    ("bigread", "big file: sequential read, cold (dd 1 MiB)", "MiB/s"),
]
NAMES = {
    "phyllome": "phyllome-vmm",
    "phyllome-direct": "phyllome-vmm direct=on",
    "qemu-uring": "QEMU aio=io_uring",
    "qemu-threads": "QEMU aio=threads",
    "qemu-uring-wb": "QEMU io_uring cache=writeback",
    "phyllome-nvme": "phyllome-vmm NVMe direct=on",
    "qemu-nvme": "QEMU NVMe io_uring cache=none",
    "phyllome-e1000e": "phyllome-vmm e1000e",
    "qemu-e1000e": "QEMU e1000e",
    "phyllome-qcow2": "phyllome-vmm qcow2 overlay",
    "qemu-qcow2": "QEMU qcow2 overlay cache=writeback",
    "phyllome-qcow2-ext4": "phyllome-vmm qcow2 overlay direct=on (ext4)",
    "qemu-qcow2-ext4": "QEMU qcow2 overlay cache=none,aio=io_uring (ext4)",
    "phyllome-raw-ext4": "phyllome-vmm raw file direct=on (ext4)",
    "qemu-raw-ext4": "QEMU raw file cache=none,aio=io_uring (ext4)",
    "phyllome-fs": "phyllome-vmm virtio-fs",
    "phyllome-fs-nocache": "phyllome-vmm virtio-fs cache=none",
    "qemu-9p": "QEMU 9p (virtio-9p-pci)",
}


def parse(path):
    runs, info, guest, idle, traces = [], {}, [], [], []
    for raw in open(path, errors="replace"):
        m = LINE_RE.match(raw.rstrip("\n"))
        text = m.group(1) if m else raw.rstrip("\n")
        if text.startswith("BENCH-IO "):
            kv = dict(f.split("=", 1) for f in text[9:].split() if "=" in f)
            for k, v in list(kv.items()):
                if k in ("cfg", "phase", "unit"):
                    continue
                try:
                    kv[k] = float(v)
                except ValueError:
                    pass
            runs.append(kv)
        elif text.startswith("BENCH-IO-INFO "):
            info.update(f.split("=", 1) for f in text[14:].split() if "=" in f)
        elif text.startswith("BENCH-IO-GUEST "):
            guest.append(text[15:])
        elif text.startswith("BENCH-IO-IDLE "):
            kv = dict(f.split("=", 1) for f in text[14:].split() if "=" in f)
            idle.append({k: (v if k == "cfg" else float(v)) for k, v in kv.items()})
        elif text.startswith("BENCH-IO-TRACE "):
            f = text[15:].split()
            kv = dict(x.split("=", 1) for x in f if "=" in x)
            head = {k: kv[k] for k in ("cfg", "phase", "kind") if k in kv}
            counts = [(x.split("=", 1)[0], int(x.split("=", 1)[1])) for x in f
                      if "=" in x and x.split("=", 1)[0] not in ("cfg", "phase", "kind", "round", "secs")
                      and x.split("=", 1)[1].isdigit()]
            traces.append((head, counts, kv))
    return runs, info, guest, idle, traces


def add_host_cpu(runs, path):
    """Sets host_cpu_s on each run from hostcpu.txt; returns how many got it."""
    cpu_between, marks = hostcpu.read_samples(path)
    by_test = {}
    for name, t, kv in marks:
        by_test.setdefault((kv.get("cfg"), kv.get("round"), kv.get("phase")), {})[name] = t
    n = 0
    for r in runs:
        m = by_test.get((r.get("cfg"), str(int(r.get("round", -1))), r.get("phase")), {})
        if "begin" in m and "end" in m:
            d = cpu_between(m["begin"], m["end"])
            if d is not None and d > 0:
                r["host_cpu_s"] = d / 1e9
                n += 1
    return n


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "IOPS" or abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, info, guest, idle, traces = parse(sys.argv[1])
    n_host = add_host_cpu(runs, sys.argv[3]) if len(sys.argv) > 3 and os.path.exists(sys.argv[3]) else 0
    traced = [r for r in runs if r.get("trace") == 1.0]
    runs = [r for r in runs if r.get("trace") != 1.0]
    global PHASES  # the phases this bench ran (io or fs)
    PHASES = [p for p in PHASES if any(r["phase"] == p[0] for r in runs)] or PHASES
    cfgs = [c for c in info.get("configs", "").split(",") if c] or sorted({r["cfg"] for r in runs})
    by = defaultdict(list)  # (cfg, phase) -> runs
    for r in runs:
        if r.get("value") is not None:
            by[(r["cfg"], r["phase"])].append(r)
    qemus = [c for c in cfgs if c.startswith("qemu")]
    rounds = sorted({int(r["round"]) for r in runs})

    print("## Results (medians; min–max in brackets)\n")
    print(f"{len(rounds)} rounds; each round ran every configuration once, in rotating order,"
          " in one L1 boot.\n")
    head = ["test", "unit"] + [NAMES.get(c, c) for c in cfgs]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    meds = {}
    for phase, label, unit in PHASES:
        row = [label, unit]
        for c in cfgs:
            vals = [r["value"] for r in by[(c, phase)]]
            meds[(c, phase)] = med(vals)
            row.append(f"{fmt(meds[(c, phase)], unit)} ({fmt(min(vals), unit)}–{fmt(max(vals), unit)})"
                       if vals else "–")
        print("| " + " | ".join(row) + " |")

    phys = [c for c in cfgs if c.startswith("phyllome")]
    pairs = [(p, q) for p in phys for q in qemus]

    def ratio(p, q, phase):
        a, b = meds.get((p, phase)), meds.get((q, phase))
        return a / b if a and b else None

    def pooled(p, phase):
        """net: phyllome against every QEMU run (the QEMU network path is the same in all)."""
        a = meds.get((p, phase))
        b = med([r["value"] for q in qemus for r in by[(q, phase)]])
        return a / b if a and b else None

    if pairs:
        print("\n## phyllome / QEMU: ratios of the medians (higher is better for phyllome)\n")
        head = ["test"] + [f"{NAMES.get(p, p)} / {NAMES.get(q, q)}" for p, q in pairs]
        head += [f"{NAMES.get(p, p)} / all QEMU runs (net)" for p in phys]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for phase, label, unit in PHASES:
            row = [label]
            for p, q in pairs:
                x = ratio(p, q, phase)
                row.append(f"**{x:.2f}x**" if x else "–")
            for p in phys:
                x = pooled(p, phase) if phase.startswith("net") else None
                row.append(f"**{x:.2f}x**" if x else "")
            print("| " + " | ".join(row) + " |")

        def per_round(p, q, phase):
            """phyllome / QEMU in each round both finished (the same minutes of the run)."""
            rs = []
            for rd in rounds:
                a = [r["value"] for r in by[(p, phase)] if int(r["round"]) == rd]
                b = [r["value"] for r in by[(q, phase)] if int(r["round"]) == rd]
                if a and b and b[0]:
                    rs.append(a[0] / b[0])
            return rs

        # Per-round ratios: the spread of phyllome / QEMU within a round (same minutes of the run).
        def per_round_table(title, among):
            print(f"\n## {title}\n")
            print("| test | " + " | ".join(f"{NAMES.get(p, p)} / {NAMES.get(q, q)}" for p, q in among) + " |")
            print("|---|" + "---|" * len(among))
            for phase, label, unit in PHASES:
                row = [label]
                for p, q in among:
                    rs = per_round(p, q, phase)
                    row.append(f"{min(rs):.2f} – {statistics.median(rs):.2f} – {max(rs):.2f}" if rs else "–")
                print("| " + " | ".join(row) + " |")

        per_round_table("phyllome / QEMU per round (min – median – max over the rounds)", pairs)

        # Each VMM's qcow2 overlay against a raw file on the same kind of file system (*-ext4).
        over = [(f"{v}-qcow2-ext4", f"{v}-raw-ext4") for v in ("phyllome", "qemu")
                if f"{v}-qcow2-ext4" in cfgs and f"{v}-raw-ext4" in cfgs]
        if over:
            per_round_table("qcow2 overlay / raw file, each VMM (per round: min – median – max; 1.00 is"
                            " no overhead)", over)

        # The shared-folder bench's target (issue 20): >= 2x QEMU's 9p on each test, judged by
        # the median of the per-round ratios; the range is the lowest and highest round's.
        if "qemu-9p" in qemus:
            print("\n## Target: >= 2x QEMU 9p on each test (median of the per-round ratios,"
                  " min–max in brackets)\n")
            print("| test | unit | " + " | ".join(f"{NAMES.get(p, p)} | QEMU 9p | ratio | met?" for p in phys) + " |")
            print("|---|---|" + "---|---|---|---|" * len(phys))
            for phase, label, unit in PHASES:
                row = [label, unit]
                for p in phys:
                    rs = per_round(p, "qemu-9p", phase)
                    x = statistics.median(rs) if rs else None
                    row += [fmt(meds.get((p, phase)), unit) if meds.get((p, phase)) else "–",
                            fmt(meds.get(("qemu-9p", phase)), unit) if meds.get(("qemu-9p", phase)) else "–",
                            f"**{x:.2f}x** ({min(rs):.2f}–{max(rs):.2f}, {len(rs)} rounds)" if rs else "–",
                            ("**yes**" if x >= 2 else "no") if rs else "–"]
                print("| " + " | ".join(row) + " |")

        # The target: >= 1.2x QEMU's virtio-blk-pci with aio=io_uring and with
        # aio=threads (cache=none) on each disk test, and >= 1.2x its virtio-net-pci on TCP.
        ref = [q for q in ("qemu-uring", "qemu-threads") if q in qemus]
        if ref:
            print("\n## Target: >= 1.2x QEMU on each test (the lower of the ratios against"
                  f" {' and '.join(NAMES[q] for q in ref)}; TCP: against all QEMU runs)\n")
            print("| test | " + " | ".join(f"{NAMES.get(p, p)}: ratio | met?" for p in phys) + " |")
            print("|---|" + "---|---|" * len(phys))
            for phase, label, unit in PHASES:
                row = [label]
                for p in phys:
                    if phase.startswith("net"):
                        x = pooled(p, phase)
                    else:
                        xs = [ratio(p, q, phase) for q in ref]
                        x = min(xs) if all(xs) else None
                    row += [f"{x:.2f}x" if x else "–", ("**yes**" if x >= 1.2 else "no") if x else "–"]
                print("| " + " | ".join(row) + " |")

    # Where the time goes: counters per unit of work, medians over the rounds.
    seq_mib = float(info.get("seq_mib", 256))
    net_secs = float(info.get("net_secs", 5))

    def work(r):
        """(amount, unit) of the phase's work."""
        ph = r["phase"]
        if ph.startswith("seq"):
            return seq_mib, "MiB"
        if ph == "randread":
            return r["value"] * float(info.get("fio_secs", 10)) / 1000, "1k IOs"
        # iperf3's rate is over net_secs; the omitted first second moves about as much
        return r["value"] * (net_secs + 1) / 8 * 1e6 / 2**20, "MiB"

    if n_host:
        print("\n## Work per second of L1's host CPU (the outer QEMU's CPU time between each"
              " test's marks; medians, min–max in brackets)\n")
        print("What L1 as a whole (the VM, its VMM and L1's kernel, all emulated by TCG) got done"
              " per second of host CPU: a throughput that waiting for a host core does not"
              " stretch. Higher is better.\n")

        def hc(r):
            w, u = work(r)
            w *= 1000 if u == "1k IOs" else 1  # IOs per host CPU second
            return w / r["host_cpu_s"] if r.get("host_cpu_s") and w else None
        head = ["test", "per host CPU s"] + [NAMES.get(c, c) for c in cfgs]
        head += [f"{NAMES.get(p, p)} / {NAMES.get(q, q)} (per-round median)" for p, q in pairs]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        hmed = {}
        for phase, label, unit in PHASES:
            rs0 = by[(cfgs[0], phase)] or [r for c in cfgs for r in by[(c, phase)]]
            row = [label, work(rs0[0])[1].replace("1k IOs", "IOs") if rs0 else ""]
            for c in cfgs:
                xs = [x for x in (hc(r) for r in by[(c, phase)]) if x]
                hmed[(c, phase)] = med(xs)
                row.append(f"{fmt(hmed[(c, phase)])} ({fmt(min(xs))}–{fmt(max(xs))})" if xs else "–")
            for p, q in pairs:
                a, b = hmed.get((p, phase)), hmed.get((q, phase))
                rs = []
                for rd in rounds:
                    x = [hc(r) for r in by[(p, phase)] if int(r["round"]) == rd]
                    y = [hc(r) for r in by[(q, phase)] if int(r["round"]) == rd]
                    if x and y and x[0] and y[0]:
                        rs.append(x[0] / y[0])
                row.append((f"**{a / b:.2f}x**" if a and b else "–") +
                           (f" ({statistics.median(rs):.2f}x)" if rs else ""))
            print("| " + " | ".join(row) + " |")

    print("\n## Per unit of work (medians): VM exits, interrupts, CPU\n")
    print("Counted over each phase (between the guest's IOB-SYNC lines): KVM's counters for the"
          " VM (L1 debugfs), the guest's /proc/interrupts for its virtio vectors, the VMM's CPU"
          " time (vCPU threads include the guest's own run time), L1's busy share.\n")
    cols = ["exits", "mmio_exits (user)", "io_exits (user)", "halt_exits", "irq_injections",
            "guest virtio IRQs", "VMM CPU ms", "L1 busy %", "VMM threads, CPU ms per unit"]
    print("| test | VMM | per | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 3))
    for phase, label, unit in PHASES:
        for c in cfgs:
            rs = by[(c, phase)]
            if not rs:
                continue
            per = work(rs[0])[1]

            def m(f):
                return med([f(r) / work(r)[0] if work(r)[0] else None for r in rs])

            def kv(name):
                return lambda r: r.get("kvm_" + name, 0)

            def girq(r):
                return sum(v for k, v in r.items() if k.startswith("girq_") and
                           isinstance(v, float) and "config" not in k)

            def busy(r):
                tot = sum(r.get(k, 0) for k in ("l1_user", "l1_nice", "l1_sys", "l1_idle",
                                                  "l1_iowait", "l1_irq", "l1_softirq"))
                idle = r.get("l1_idle", 0) + r.get("l1_iowait", 0)
                return 100 * (1 - idle / tot) if tot else None

            thr = defaultdict(list)
            for r in rs:
                w = work(r)[0]
                for k, v in r.items():
                    if k.startswith("thr_") and w:
                        thr[k[4:]].append(v * 10 / w)
            thr_s = ", ".join(f"{k} {statistics.median(v):.1f}"
                              for k, v in sorted(thr.items(), key=lambda kv_: -statistics.median(kv_[1]))
                              if statistics.median(v) > 0)
            row = [label if c == cfgs[0] else "", NAMES.get(c, c), per,
                   fmt(m(kv("exits"))), fmt(m(kv("mmio_exits"))), fmt(m(kv("io_exits"))),
                   fmt(m(kv("halt_exits"))), fmt(m(kv("irq_injections"))), fmt(m(girq)),
                   fmt(m(lambda r: r.get("vmm_cpu", 0) * 10)),
                   fmt(med([busy(r) for r in rs])), thr_s]
            print("| " + " | ".join(row) + " |")

    rr = [r for r in runs if r["phase"] == "randread" and r.get("clat_mean_us") is not None]
    if rr:
        print("\n## fio random read: mean latency (us, medians)\n")
        print("| VMM | completion latency | total latency |")
        print("|---|---|---|")
        for c in cfgs:
            xs = [r for r in rr if r["cfg"] == c]
            if xs:
                print(f"| {NAMES.get(c, c)} | {fmt(med([r['clat_mean_us'] for r in xs]))} |"
                      f" {fmt(med([r.get('lat_mean_us') for r in xs]))} |")

    nr = [r for r in runs if r["phase"].startswith("net")]
    if nr:
        print("\n## TCP: retransmissions and tap drops (medians per run)\n")
        print("retrans: iperf3's sender-side count (guest -> L1: the guest's; L1 -> guest: L1's);"
              " L1 TCP: L1's RetransSegs; tap drops: L1's tap counters (rx: from the VMM, tx: to"
              " it).\n")
        print("| test | VMM | retrans | L1 TCP retrans | tap rx packets | tap tx packets |"
              " tap rx dropped | tap tx dropped |")
        print("|---|---|---|---|---|---|---|---|")
        for phase, label, unit in PHASES:
            if not phase.startswith("net"):
                continue
            for c in cfgs:
                xs = [r for r in nr if r["cfg"] == c and r["phase"] == phase]
                if not xs:
                    continue
                g = lambda k: fmt(med([r.get(k) for r in xs if r.get(k, -1) >= 0]))
                print(f"| {label if c == cfgs[0] else ''} | {NAMES.get(c, c)} | {g('retrans')} |"
                      f" {g('l1_tcp_retrans')} | {g('tap_rx_packets')} | {g('tap_tx_packets')} |"
                      f" {g('tap_rx_dropped')} | {g('tap_tx_dropped')} |")

    if idle:
        print("\n## Cost of an idle VM (each alone, the others stopped)\n")
        print("| VMM | VMM CPU, % of L1's CPU | L1 busy % | KVM exits/s | of which to the VMM"
              " (io/mmio)/s | interrupts injected/s |")
        print("|---|---|---|---|---|---|")
        for r in idle:
            secs = r.get("secs", 10) or 10
            tot = sum(r.get(k, 0) for k in ("l1_user", "l1_nice", "l1_sys", "l1_idle", "l1_iowait",
                                             "l1_irq", "l1_softirq"))
            busy = 100 * (1 - (r.get("l1_idle", 0) + r.get("l1_iowait", 0)) / tot) if tot else None
            print(f"| {NAMES.get(r['cfg'], r['cfg'])} | {r.get('vmm_cpu', 0) / secs:.1f} |"
                  f" {fmt(busy)} | {fmt(r.get('kvm_exits', 0) / secs)} |"
                  f" {fmt((r.get('kvm_io_exits', 0) + r.get('kvm_mmio_exits', 0)) / secs)} |"
                  f" {fmt(r.get('kvm_irq_injections', 0) / secs)} |")

    tcfgs = cfgs + [c for c in info.get("trace_configs", "").split(",") if c and c not in cfgs]
    if traced:
        print("\n## The traced round (one short run per VM, kvm tracepoints on: slower, not in the"
              " medians)\n")
        print("| test | " + " | ".join(NAMES.get(c, c) for c in tcfgs) + " |")
        print("|---|" + "---|" * len(tcfgs))
        for phase, label, unit in PHASES:
            row = [f"{label} ({unit})"]
            for c in tcfgs:
                v = [r["value"] for r in traced if r["cfg"] == c and r["phase"] == phase]
                row.append(fmt(v[0], unit) if v else "–")
            print("| " + " | ".join(row) + " |")
    if traces:
        print("\n## What the VM exits were (L1 kvm tracepoints; counts per phase, most frequent first)\n")
        print("exit: SVM exit reason; uexit: exits to the VMM; pio/mmio/msr: r|w and port, guest"
              " physical address, MSR index. idle: 5 s with the VM alone and idle.\n")
        print("| phase | VMM | kind | counts |")
        print("|---|---|---|---|")
        order = {p: i for i, p in enumerate(["idle"] + [p[0] for p in PHASES])}
        for head, counts, kv in sorted(traces, key=lambda t: (order.get(t[0].get("phase"), 99),
                                                               tcfgs.index(t[0]["cfg"]) if t[0].get("cfg") in tcfgs else 9,
                                                               t[0].get("kind", ""))):
            if head.get("kind") == "buffer":
                if kv.get("in_written") and len(set(kv["in_written"].split("/"))) > 1:
                    print(f"| {head.get('phase')} | {NAMES.get(head.get('cfg'), head.get('cfg'))} | buffer |"
                          f" entries in buffer/written {kv['in_written']}: some lost |")
                continue
            tot = sum(n for _, n in counts)
            print(f"| {head.get('phase')} | {NAMES.get(head.get('cfg'), head.get('cfg'))} |"
                  f" {head.get('kind')} | {tot} total: " + ", ".join(f"{k} {n}" for k, n in counts[:10]) + " |")

    print("\n## Set-up\n")
    for k, v in info.items():
        print(f"- {k}: {v.replace('_', ' ') if k in ('qemu', 'iperf3') else v}")
    if guest:
        print(f"- guest, as it saw itself: {' '.join(guest[0].split()[1:])}")
    if len(sys.argv) > 2:
        for line in open(sys.argv[2]):
            print(f"- {line.rstrip()}")
    failed = sorted({(r['cfg'], int(r['round'])) for r in runs if r.get("value") is None})
    if failed:
        print(f"- runs without a value: {failed}")


if __name__ == "__main__":
    main()
