#!/usr/bin/env python3
"""A stand-in for phyllome-vmm in the manager's host tests (cli-test.sh): no KVM needed.

Serial port on stdin/stdout: prints FAKE-BOOT (with "uuid=UUID" when given --uuid, the UUID a
real guest would read from SMBIOS) and FAKE-READY, then answers each line with
"ECHO: line"; the line "exit N" ends it with status N. The API on --api-socket, in
phyllome-vmm's shapes (docs/api.md): vmm.ping, vm.info, vm.pause/resume (409 when already so),
vm.power-button (prints FAKE-POWER-BUTTON and exits 0, unless the command line holds
fake.ignore_button; fake.off_delay=SECS: a guest that takes SECS to power off; fake.off_hold=PATH:
powers off once the file PATH exists), vm.shutdown (exits 0). fake.flood=N on the command line prints N MiB after
FAKE-READY, then FAKE-FLOOD-DONE (a guest printing without end). A command line holding fake.fail makes it exit 1
at once with one line on stderr, like a VMM that cannot start.
With --display vnc=...[,password=FILE] and $PHYLLOME_FAKEVM (tests/fakevm), the display is fakevm's (its VNC
and WebSocket on that address; the scancodes it receives, "KBD 1e", go to the serial port) and
vm.screenshot answers a small PNG whose colour changes every second (a screen that changes).
"""
import json
import os
import struct
import subprocess
import zlib
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

args = sys.argv[1:]
opts = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
cmdline = opts.get("--cmdline", "")
sock = opts["--api-socket"]
if "fake.fail" in cmdline:
    print("phyllome-vmm: error: fake failure", file=sys.stderr)
    sys.exit(1)
state = {"paused": False}
lock = threading.Lock()


def out(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def quit_soon(code):
    def go():
        time.sleep(0.2)
        try:
            os.unlink(sock)
        except OSError:
            pass
        os._exit(code)
    threading.Thread(target=go, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:  # the client may close as soon as it has a complete 204
            self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/api/v1/vm.screenshot") and display:
            data = png(int(time.time()) % 256)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path.startswith("/api/v1/vm.screenshot"):
            self.reply(409, {"error": "the VM has no display"})
        elif self.path == "/api/v1/vmm.ping":
            self.reply(200, {"version": "fake", "pid": os.getpid()})
        elif self.path == "/api/v1/vm.info":
            self.reply(200, {"state": "Paused" if state["paused"] else "Running"})
        else:
            self.reply(404, {"error": "no such endpoint"})

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        p = self.path.rsplit("/", 1)[-1]
        if p in ("vm.pause", "vm.resume"):
            want = p == "vm.pause"
            if state["paused"] == want:
                return self.reply(409, {"error": "already " + ("paused" if want else "running")})
            state["paused"] = want
            return self.reply(204)
        if p == "vm.power-button":
            if "fake.ignore_button" not in cmdline:
                out("FAKE-POWER-BUTTON")
                threading.Thread(target=power_off, daemon=True).start()
            return self.reply(204)
        if p == "vm.shutdown":
            quit_soon(0)
            return self.reply(204)
        self.reply(404, {"error": "no such endpoint"})


def power_off():
    """The guest's shutdown after the power button: fake.off_delay / fake.off_hold."""
    for w in cmdline.split():
        if w.startswith("fake.off_delay="):
            time.sleep(float(w[len("fake.off_delay="):]))
        if w.startswith("fake.off_hold="):
            while not os.path.exists(w[len("fake.off_hold="):]):
                time.sleep(0.05)
    quit_soon(0)


def png(shade):
    """A 64x40 RGB PNG of one colour that depends on shade."""
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))
    row = b"\0" + bytes([shade, 255 - shade, 128]) * 64
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 40, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * 40)) + chunk(b"IEND", b""))


display_opts = opts.get("--display", "none").split(",")
display = display_opts[0][4:] if display_opts[0].startswith("vnc=") else ""
if display and os.environ.get("PHYLLOME_FAKEVM"):
    env = dict(os.environ)
    for o in display_opts[1:]:
        if o.startswith("password="):
            env["FAKEVM_PASSWORD_FILE"] = o[len("password="):]
    fake = subprocess.Popen([os.environ["PHYLLOME_FAKEVM"], display], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)

    def keys():
        for kline in fake.stdout:
            if kline.startswith("KBD "):
                out(kline.rstrip("\n"))
    threading.Thread(target=keys, daemon=True).start()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


try:
    os.unlink(sock)
except OSError:
    pass
srv = Server(sock, Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
out("FAKE-BOOT" + (" uuid=" + opts["--uuid"] if "--uuid" in opts else ""))
out("FAKE-READY")
flood = [w[len("fake.flood="):] for w in cmdline.split() if w.startswith("fake.flood=")]
if flood:  # a guest printing without end: N MiB of output, then a marker
    chunk = (b"x" * 1023 + b"\n") * 1024
    with lock:
        for _ in range(int(flood[0])):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    out("FAKE-FLOOD-DONE")
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("exit "):
        os.unlink(sock)
        os._exit(int(line[5:]))
    out("ECHO: " + line)
while True:  # stdin closed: keep running until told to stop
    time.sleep(1)
