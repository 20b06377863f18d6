#!/usr/bin/env python3
"""Tiny metric endpoint for Argo Rollouts `web` metric providers in tests.

    metric-server.py --dir DIR [--port 0] [--port-file FILE] [--bind 127.0.0.1]

GET  /metric/<name>   -> 200 {"value": N}   (N is the JSON value stored for <name>)
                         404 {"error": ...} if <name> has no value
POST /metric/<name>   body: a JSON value (e.g. `0.99`) or {"value": N}; stores it -> 200 {"value": N}
PUT  is the same as POST.  DELETE /metric/<name> removes it.
GET  /metrics         -> all values as one JSON object; GET /healthz -> "ok".

Values are stored as files DIR/<name> (a JSON value per file), so a test may also just write the
file. Every GET re-reads the file and counts the request in DIR/<name>.hits (handy to assert that
the Argo controller really queried). Binds 127.0.0.1 and port 0 (a free port) by default, and
writes the chosen port to --port-file once listening.
"""
import argparse
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "rollouts-dashboard-metric-server/1"
    store = "."

    def log_message(self, fmt, *args):  # one line per request on stderr
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def _send(self, code, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _name(self):
        path = self.path.split("?", 1)[0]
        if not path.startswith("/metric/"):
            return None
        name = path[len("/metric/"):]
        return name if NAME_RE.match(name) and not name.endswith(".hits") else None

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/metrics":
            out = {}
            for n in sorted(os.listdir(self.store)):
                if NAME_RE.match(n) and not n.endswith(".hits"):
                    try:
                        with open(os.path.join(self.store, n)) as f:
                            out[n] = json.loads(f.read())
                    except (OSError, ValueError):
                        pass
            return self._send(200, out)
        name = self._name()
        if name is None:
            return self._send(404, {"error": "use /metric/<name>"})
        fn = os.path.join(self.store, name)
        with LOCK:
            try:
                with open(fn) as f:
                    value = json.loads(f.read())
            except FileNotFoundError:
                return self._send(404, {"error": "no value for %s" % name})
            except ValueError as e:
                return self._send(500, {"error": "bad value in %s: %s" % (fn, e)})
            hits = fn + ".hits"
            try:
                with open(hits) as f:
                    n = int(f.read() or 0)
            except (OSError, ValueError):
                n = 0
            with open(hits, "w") as f:
                f.write(str(n + 1))
        return self._send(200, {"value": value})

    def do_POST(self):
        name = self._name()
        if name is None:
            return self._send(404, {"error": "use /metric/<name>"})
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        try:
            value = json.loads(raw)
        except ValueError:
            return self._send(400, {"error": "body must be JSON"})
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        fn = os.path.join(self.store, name)
        with LOCK:
            tmp = fn + ".tmp"
            with open(tmp, "w") as f:
                f.write(json.dumps(value))
            os.replace(tmp, fn)
        return self._send(200, {"value": value})

    do_PUT = do_POST

    def do_DELETE(self):
        name = self._name()
        if name is None:
            return self._send(404, {"error": "use /metric/<name>"})
        with LOCK:
            for fn in (os.path.join(self.store, name), os.path.join(self.store, name + ".hits")):
                try:
                    os.remove(fn)
                except FileNotFoundError:
                    pass
        return self._send(200, {"deleted": name})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="directory holding one file per metric")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--port-file", help="write the listening port here")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    Handler.store = a.dir
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    sys.stderr.write("metric-server listening on http://%s:%d (dir %s)\n" % (a.bind, port, a.dir))
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
