#!/usr/bin/env python3
"""A small HTTP server for the image tests: serves DIR on 127.0.0.1 with Range requests
("bytes=N-" and "bytes=N-M"), writes its port to PORTFILE, logs each request (path and Range)
to LOG, and, for every name given with --drop, answers the first full GET of that file with
its whole Content-Length but only half the body, then closes the connection (an interrupted
download). --rate BYTES: bodies are sent at about that many bytes a second (a download slow
enough to watch its progress)."""
import argparse
import http.server
import os
import re
import socketserver
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("portfile")
    ap.add_argument("log")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--rate", type=int, default=0)
    a = ap.parse_args()
    dropped = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            name = self.path.split("?")[0].lstrip("/")
            rng = self.headers.get("Range")
            with open(a.log, "a") as f:
                f.write("GET /%s %s\n" % (name, rng or "-"))
            path = os.path.join(a.dir, name)
            if "/" in name or name.startswith(".") or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with open(path, "rb") as f:
                data = f.read()
            start, end = 0, len(data) - 1
            if rng:
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
                if not m or int(m.group(1)) >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(m.group(1))
                if m.group(2):
                    end = min(int(m.group(2)), end)
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
            else:
                self.send_response(200)
            body = data[start:end + 1]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if name in a.drop and name not in dropped and not rng:
                dropped.add(name)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if not a.rate:
                self.wfile.write(body)
                return
            step = max(1, a.rate // 10)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.1)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    with open(a.portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.portfile + ".tmp", a.portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
