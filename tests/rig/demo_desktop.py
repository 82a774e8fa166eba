"""The README's demo in the rig (run-rig.sh --demo --demo-guest desktop; scripts/demo.sh where the
host has no hardware KVM): boots L1, whose l1/demo.sh runs scripts/demo-vm.sh (the Debian system
with a screen as a VM of the manager, and `phyllome ui --listen 0.0.0.0:7380`), shows its progress
lines, prints the app's one-time link rewritten to the host port QEMU forwards to L1's 7380, opens
it in the desktop's browser when there is one, and runs until Ctrl-C (or SIGTERM, SIGHUP), which
stops the VM, the app and L1 in order. --demo-check: exits once the demo is ready, after signing in
through the forwarded port with the link (the VM is running in the app's list; its screenshot is a
PNG). Python 3.11 standard library only.
"""

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

URL_RE = re.compile(r"DEMO-URL http://[^/\s]+(/login\?token=[0-9a-f]+)")
L1_TIME_RE = re.compile(r"\s*\[\d+s\]$")  # demo-vm.sh's seconds, on L1's clock
VM = "phyllome-demo"


def say(text):
    print(text, flush=True)


def get(port, path, cookie=None):
    """GET http://127.0.0.1:PORT/PATH: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        r = c.getresponse()
        return r.status, r, r.read()
    finally:
        c.close()


def check_app(port, link):
    """Signs in with the one-time LINK through the forwarded PORT: the VM must be running in the
    app's list and its screenshot a PNG. Returns (ok, detail)."""
    st, r, _ = get(port, link)
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    if st not in (302, 303) or not cookie.startswith("phyllome_ui="):
        return False, f"the sign-in link answered {st} without the cookie"
    st, _, body = get(port, "/api/vms", cookie)
    if st != 200:
        return False, f"/api/vms answered {st}"
    vms = {v.get("Name"): v for v in json.loads(body)}
    state = vms.get(VM, {}).get("State")
    if state != "running":
        return False, f"the app lists {VM} as {state!r} (VMs: {', '.join(vms) or 'none'})"
    st, _, png = get(port, f"/api/vms/{VM}/screenshot", cookie)
    if st != 200 or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return False, f"the screenshot answered {st} ({png[:60]!r})"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return True, f"signed in; {VM} running in the app's list ({vms[VM].get('Status')}); its screenshot a {w}x{h} PNG"


def open_browser(url):
    """Chromium as an app window, else the desktop's browser; False where there is no desktop."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    cmd = [chrome, f"--app={url}"] if chrome else ["xdg-open", url]
    if not shutil.which(cmd[0]):
        return False
    subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    return True


def run(args, cmd, port, log_path, kvm_note):
    t0 = float(os.environ.get("DEMO_T0") or 0) or time.time()
    mono0 = time.monotonic() - (time.time() - t0)  # the demo's start on the monotonic clock

    def el():
        return f"{time.monotonic() - mono0:.0f}s"

    say(f"demo: {kvm_note}: Phyllome runs nested here: QEMU emulates (TCG) an AMD CPU with SVM,"
        " Debian's kernel runs kvm-amd on it (L1), and phyllome-vmm runs the guest on that KVM.")
    say(f"demo: L1 booting (its console: {log_path}) [{el()}]")
    log = open(log_path, "w", errors="replace")
    log.write("# " + " ".join(cmd) + "\n# [host seconds since QEMU started] L1 console\n")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    q0 = time.monotonic()
    lines = queue.Queue()

    def reader():
        for raw in proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            log.write(f"[{time.monotonic() - q0:8.3f}] {text}\n")
            log.flush()
            lines.put(text)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    stops = []

    def on_signal(signum, _frame):
        stops.append(signum)
        if len(stops) > 1:  # a second Ctrl-C: no waiting
            os.killpg(proc.pid, signal.SIGKILL)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    def stop_l1():
        try:
            proc.stdin.write(b"RIG-DEMO-STOP\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    deadline = time.monotonic() + args.timeout
    url, ready, stopping, result = None, False, None, None
    while True:
        if stops and stopping is None:
            say(f"demo: stopping [{el()}]")
            stopping = time.monotonic()
            stop_l1()
        if stopping is not None and time.monotonic() - stopping > 150:
            say("demo: L1 did not finish in 150 s; killing it")
            os.killpg(proc.pid, signal.SIGKILL)
            stopping = float("inf")
        if args.demo_check and stopping is None and time.monotonic() > deadline:
            say(f"demo: not ready after {args.timeout} s")
            result = 1
            stops.append(0)
        try:
            text = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if text is None:
            break
        if "rig: L1 is" in text:
            say(f"demo: {text[text.index('rig: ') + 5:]} [{el()}]")
        elif (m := URL_RE.search(text)):
            url = f"http://127.0.0.1:{port}{m.group(1)}"
            try:  # through the forward, without using the link
                st = f"HTTP {get(port, '/api/vms')[0]}"
            except (OSError, http.client.HTTPException) as e:
                st = f"{type(e).__name__}: {e}"
            say(f"demo: phyllome ui through the host's 127.0.0.1:{port}: {st} without the cookie"
                f" (401 is right) [{el()}]")
            if not args.demo_check:
                say(f"demo: open {url}")
                say("demo: (the link signs the browser in once; the page shows the VM booting)")
                if open_browser(url):
                    say("demo: opened in the desktop's browser")
        elif "DEMO-READY" in text:
            ready = True
            what = L1_TIME_RE.sub("", text[text.index("DEMO-READY") + 11:])
            say(f"demo: ready: {what} [{el()}]")
            if args.demo_check:
                try:
                    ok, detail = check_app(port, url[url.index("/login"):])
                except (OSError, ValueError, TypeError, http.client.HTTPException) as e:
                    ok, detail = False, f"{type(e).__name__}: {e}"
                say(f"demo-check: {'ok' if ok else 'FAILED'}: {detail}")
                result = 0 if ok else 1
                stops.append(0)
            else:
                say(f"demo: the app: {url}  (Ctrl-C ends the demo)")
        elif "RIG-DEMO-END" in text:
            if stopping is None:
                say("demo: the demo ended in L1")
                stopping = time.monotonic()
            if text.split()[-1] != "0" and result is None:
                result = 1
        elif "demo: " in text:  # on the host's clock, from the demo's start
            say(L1_TIME_RE.sub("", text[text.index("demo: "):]) + f" [{el()}]")
        elif "Kernel panic" in text:
            say(f"demo: L1: {text}")
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()
    if result is None:
        result = 0 if ready and stops else 1
    say(f"demo: L1 is gone [{el()}]" + ("" if result == 0 else f"; its console: {log_path}"))
    return result
