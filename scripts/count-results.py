#!/usr/bin/env python3
"""Counts test results from Meson's testlog.json files: a TAP test counts each of its
subtests (so every rig scenario and cmocka case is one result), any other test counts one.
Prints a last line 'N passed, N failed' and exits non-zero if anything failed."""
import itertools
import json
import re
import sys

TAP_LINE = re.compile(r"^(ok|not ok)\b(.*)$")


def count(path):
    passed = failed = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = (t.get("stdout") or "").splitlines()
            tap = [(i, m) for i, m in ((i, TAP_LINE.match(l)) for i, l in enumerate(out)) if m]
            if tap:
                for i, m in tap:
                    if m.group(1) == "ok":
                        passed += 1
                    else:
                        failed += 1
                        print(f"FAILED: {t['name']}: {m.group(0)}")
                        # Its reason: the TAP comment lines right after it (the rig's detail).
                        for why in itertools.takewhile(lambda l: l.startswith("# "),
                                                       out[i + 1:i + 4]):
                            print(f"    {why[2:][:300]}")
                if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and not any(
                        m.group(1) == "not ok" for _, m in tap):
                    failed += 1  # crashed or timed out after its last TAP line
                    print(f"FAILED: {t['name']}: {t['result']}")
            elif t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif t["result"] != "SKIP":
                failed += 1
                print(f"FAILED: {t['name']}: {t['result']}")
    return passed, failed


def main():
    passed = failed = 0
    for path in sys.argv[1:]:
        try:
            p, f = count(path)
        except OSError as e:
            print(f"missing test log {path}: {e}")
            p, f = 0, 1
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
