#!/usr/bin/env python3
"""Turns the BENCH-MANY lines of a many-vms rig log (bench/l1/many-vms.sh) into markdown tables.

  bench/many-report.py RIG-LOG [HOST-INFO]

Lines read (L1's console, each maybe stamped "[  12.345] " by the rig):
  BENCH-MANY-INFO key=value...
  BENCH-MANY vmm=phyllome|qemu round=R n=N launch_cs= up= all_up_cs= ready= all_ready_cs=
             rss_kb= pss_kb= sup_rss_kb= sup_pss_kb= memavail_before_kb= memavail_drop_kb=
             ps_up= stop_cs= clean=
  BENCH-MANY-VM vmm= round= vm= up_cs= ready_cs= rss_kb= pss_kb= sup_rss_kb= sup_pss_kb=
  BENCH-MANY-UNCLEAN vmm= round= vm= WHY...
Medians over rounds; the ratio is the median of the per-round ratios (phyllome / QEMU).
"""

import re
import statistics
import sys

LINE_RE = re.compile(r"^\[\s*[\d.]+\] (.*)$")


def fields(text):
    return dict(f.split("=", 1) for f in text.split() if "=" in f)


def parse(path):
    sets, vms, info, unclean, waits = [], [], {}, [], []
    for raw in open(path, errors="replace"):
        m = LINE_RE.match(raw.rstrip("\n"))
        text = m.group(1) if m else raw.rstrip("\n")
        if text.startswith("BENCH-MANY "):
            sets.append(fields(text[11:]))
        elif text.startswith("BENCH-MANY-VM "):
            vms.append(fields(text[14:]))
        elif text.startswith("BENCH-MANY-INFO "):
            info.update(fields(text[16:]))
            if "budget:" in text:
                info["budget_note"] = text[16:]
        elif text.startswith("BENCH-MANY-UNCLEAN "):
            unclean.append(text[19:])
        elif text.startswith("BENCH-MANY-WAIT "):
            waits.append(text[16:])
    return sets, vms, info, unclean, waits


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def metrics(s):
    """The per-set numbers of one BENCH-MANY line (None where not measurable)."""
    n = int(s["n"])
    up, ready = int(s["up"]), int(s["ready"])
    out = {
        "up": up,
        "ready": ready,
        "clean": int(s["clean"]),
        "n": n,
        "launch": int(s["launch_cs"]) / 100,
        "all_up": int(s["all_up_cs"]) / 100 if up == n else None,
        "all_ready": int(s["all_ready_cs"]) / 100 if ready == n else None,
        "pss": int(s["pss_kb"]) / n / 1024,
        "rss": int(s["rss_kb"]) / n / 1024,
        "sup_pss": int(s["sup_pss_kb"]) / n / 1024,
        "drop": int(s["memavail_drop_kb"]) / n / 1024,
        "stop": int(s["stop_cs"]) / 100,
    }
    out["pss_all"] = out["pss"] + out["sup_pss"]
    return out


ROWS = (
    ("all_up", "first launch to every guest's PHYLLOME-USERSPACE", "s", ".1f"),
    ("all_ready", "first launch to every guest's PHYLLOME-SHELL (/init done)", "s", ".1f"),
    ("launch", "launching all (the last `run -d` returned / the last QEMU forked)", "s", ".1f"),
    ("pss", "memory per VM: the VMM's Pss (smaps_rollup)", "MiB", ".1f"),
    ("pss_all", "memory per VM: Pss of the VMM + its `phyllome` supervisor", "MiB", ".1f"),
    ("rss", "memory per VM: the VMM's Rss", "MiB", ".1f"),
    ("drop", "memory per VM: L1's MemAvailable drop / N", "MiB", ".1f"),
    ("stop", "power button to every VMM ended (all stopped at once)", "s", ".1f"),
)


def main():
    sets, vms, info, unclean, waits = parse(sys.argv[1])
    if len(sys.argv) > 2:
        print("```")
        print(open(sys.argv[2]).read().rstrip())
        print("```\n")
    if info:
        print("L1: " + ", ".join(f"{k}={v}" for k, v in info.items() if k != "budget_note") + "\n")
    if not sets:
        print("**no set finished** (see the rig log)")
        for w in waits[-6:]:
            print(f"- {w}")
        return
    by = {}
    for s in sets:
        by.setdefault(s["vmm"], {})[int(s["round"])] = metrics(s)
    ph, qe = by.get("phyllome", {}), by.get("qemu", {})
    rounds = sorted(set(ph) | set(qe))
    n = int(sets[0]["n"])
    machine = info.get("qemu_machine", "q35")
    print(f"{n} VMs at once, {info.get('mem_mib', '?')} MiB and 1 vCPU each; "
          f"{len(rounds)} round(s); medians over rounds; ratio: median of per-round ratios\n")
    print(f"| metric | Phyllome (`phyllome run -d`) | QEMU {machine} (started directly) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for key, what, unit, spec in ROWS:
        a = med([ph[r][key] for r in ph])
        b = med([qe[r][key] for r in qe])
        ratios = [ph[r][key] / qe[r][key] for r in rounds if r in ph and r in qe
                  and ph[r][key] is not None and qe[r][key] and key != "pss_all"]
        if key == "pss_all":
            b = med([qe[r]["pss"] for r in qe])
            ratios = [ph[r][key] / qe[r]["pss"] for r in rounds if r in ph and r in qe
                      and qe[r]["pss"]]
        ratio = med(ratios)
        print(f"| {what} | {fmt(a, spec)} {unit} | {fmt(b, spec)} {unit} | "
              f"{fmt(ratio, '.2f')} |")
    print()
    print("| round | VMM | reached userspace | ready | stopped cleanly | all up (s) | "
          "Pss/VM (MiB) | MemAvailable drop/VM (MiB) | stop (s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rounds:
        for name, d in (("phyllome", ph), ("qemu", qe)):
            if r not in d:
                continue
            m = d[r]
            print(f"| {r} | {name} | {m['up']}/{m['n']} | {m['ready']}/{m['n']} | "
                  f"{m['clean']}/{m['n']} | {fmt(m['all_up'], '.1f')} | {m['pss']:.1f} | "
                  f"{m['drop']:.1f} | {m['stop']:.1f} |")
    # The spread of single guests' times to userspace, per set.
    print()
    print("| round | VMM | first guest up (s) | median guest up (s) | last guest up (s) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in rounds:
        for name in ("phyllome", "qemu"):
            t = sorted(int(v["up_cs"]) / 100 for v in vms
                       if v["vmm"] == name and int(v["round"]) == r and int(v["up_cs"]) >= 0)
            if t:
                print(f"| {r} | {name} | {t[0]:.1f} | {statistics.median(t):.1f} | {t[-1]:.1f} |")
    if unclean:
        print("\nNot clean:")
        for u in unclean:
            print(f"- {u}")
    if "budget_note" in info:
        print(f"\n{info['budget_note']}")


if __name__ == "__main__":
    main()
