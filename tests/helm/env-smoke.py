#!/usr/bin/env python3
"""Starts the real server with the environment the chart gives the dashboard container.

For the chart's defaults and every file in deploy/helm/examples/: render with helm, take the
dashboard container's env (kubectl create --dry-run=client -o json), replace what only a cluster
has (secretKeyRef values -> a dummy secret, the TLS files -> a throw-away self-signed pair made
with openssl, the session key file -> a file holding the dummy secret, the remote clusters'
directory (--kubeconfig-dir) -> a directory holding two copies of $KUBECONFIG, `east` and
`west.yaml`, the port -> a free one), run `$ROLLOUTS_DASHBOARD_BIN --kubeconfig $KUBECONFIG` (the test cluster: --auth token
needs one) with exactly that env, and check that it starts, answers its readiness probe path, and reports the auth mode and
read-only setting the values asked for (/api/v1/whoami, with proxy headers where the mode needs
them); with a kubeconfig directory, that /readyz lists both files as clusters, synced, named
after the files (their one context is shared), and no other. A flag the server would refuse, or a value it parses differently, fails here.

Usage: ROLLOUTS_DASHBOARD_BIN=target/debug/rollouts-dashboard tests/helm/env-smoke.py
Needs KUBECONFIG (e.g. the test cluster's), kubectl, HELM or helm, openssl. Standard library only.
"""
import glob
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the tree from the import below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import CHART, REPO, run, to_objects  # noqa: E402

DUMMY_SECRET = "env-smoke-0123456789abcdef0123456789abcdef"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dashboard_env(values):
    cmd = [os.environ.get("HELM", "helm"), "template", "rd", CHART, "-n", "rollouts-dashboard"]
    if values:
        cmd += ["-f", values]
    dep = next(o for o in to_objects(run(cmd)) if o["kind"] == "Deployment")
    c = next(c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "dashboard")
    env = {}
    for e in c.get("env", []):
        env[e["name"]] = e["value"] if "value" in e else DUMMY_SECRET
    return env, c.get("args", [])


def get(url, headers, ctx):
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def smoke(label, values, tmp):
    env, args = dashboard_env(values)
    port = free_port()
    env["ROLLOUTS_DASHBOARD_PORT"] = str(port)
    tls = "ROLLOUTS_DASHBOARD_TLS_CERT" in env
    ctx = None
    if tls:
        cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        if not os.path.exists(cert):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
        env["ROLLOUTS_DASHBOARD_TLS_CERT"], env["ROLLOUTS_DASHBOARD_TLS_KEY"] = cert, key
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if "ROLLOUTS_DASHBOARD_SESSION_KEY_FILE" in env:
        # The chart mounts its Secret there; the revocations ConfigMap need not exist (the
        # watch lists nothing, and /readyz waits for that list).
        key = os.path.join(tmp, "session-key")
        with open(key, "w") as f:
            f.write(DUMMY_SECRET)
        env["ROLLOUTS_DASHBOARD_SESSION_KEY_FILE"] = key
    clusters_dir = env.get("ROLLOUTS_DASHBOARD_KUBECONFIG_DIR")
    if clusters_dir:
        # The chart mounts the remote clusters' Secrets there. Not in a pod, so no
        # `in-cluster`: the two files are the clusters.
        clusters_dir = os.path.join(tmp, "clusters")
        os.makedirs(clusters_dir, exist_ok=True)
        for name in ("east", "west.yaml"):
            with open(os.environ["KUBECONFIG"]) as src, open(os.path.join(clusters_dir, name), "w") as dst:
                dst.write(src.read())
        env["ROLLOUTS_DASHBOARD_KUBECONFIG_DIR"] = clusters_dir
    env["PATH"] = "/usr/bin:/bin"
    base = env.get("ROLLOUTS_DASHBOARD_BASE_PATH", "")
    scheme = "https" if tls else "http"
    root = f"{scheme}://127.0.0.1:{port}{base}"
    mode = env["ROLLOUTS_DASHBOARD_AUTH"]
    want_ro = env.get("ROLLOUTS_DASHBOARD_READ_ONLY") == "true"
    host = env.get("ROLLOUTS_DASHBOARD_ALLOWED_HOST", "127.0.0.1").split(",")[0]
    headers = {"Host": host}
    if mode == "proxy":
        user_h = env.get("ROLLOUTS_DASHBOARD_AUTH_PROXY_USER_HEADER", "X-Forwarded-User")
        headers[user_h] = "jane@example.com"
        if "ROLLOUTS_DASHBOARD_AUTH_PROXY_SECRET" in env:
            sh = env.get("ROLLOUTS_DASHBOARD_AUTH_PROXY_SECRET_HEADER", "X-Rollouts-Dashboard-Proxy-Secret")
            headers[sh] = DUMMY_SECRET

    log = open(os.path.join(tmp, "server.log"), "w+")
    env["ROLLOUTS_DASHBOARD_KUBECONFIG"] = os.environ["KUBECONFIG"]
    summary = (f"--auth {mode}{' --read-only' if want_ro else ''}{' TLS' if tls else ''}"
               f"{' base path ' + base if base else ''} ({len(env) - 2} env vars"
               f"{', args ' + ' '.join(args) if args else ''})")
    proc = subprocess.Popen([os.environ["ROLLOUTS_DASHBOARD_BIN"], *args],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    problems = []
    try:
        deadline = time.time() + 30
        status = None
        while time.time() < deadline and proc.poll() is None:
            try:
                status, _ = get(f"{root}/readyz", {}, ctx)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        if status != 200:
            log.seek(0)
            return summary, [f"did not become ready on {root}/readyz (exit {proc.poll()}):\n{log.read()[-2000:]}"]
        if clusters_dir:
            _, ready = get(f"{root}/readyz", {}, ctx)
            clusters = sorted(line for line in ready.splitlines() if line.startswith("cluster "))
            if clusters != ["cluster east: synced", "cluster west: synced"]:
                problems.append(f"--kubeconfig-dir: /readyz lists {clusters}, want east and west synced")
            summary += ", clusters east and west from the kubeconfig dir"
        code, body = get(f"{root}/api/v1/whoami", headers, ctx)
        if mode == "token":
            if code != 401:
                problems.append(f"whoami without a session: {code} {body[:200]} (want 401)")
        elif code != 200:
            problems.append(f"whoami: {code} {body[:300]}")
        else:
            who = json.loads(body)
            if who.get("authMode") != mode or who.get("readOnly") != want_ro:
                problems.append(f"whoami says authMode={who.get('authMode')} readOnly={who.get('readOnly')}, "
                                f"the values asked for {mode}, read-only {want_ro}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return summary, problems


def main():
    if not os.environ.get("ROLLOUTS_DASHBOARD_BIN") or not os.environ.get("KUBECONFIG"):
        sys.exit("env-smoke.py: set ROLLOUTS_DASHBOARD_BIN (the server binary) and KUBECONFIG (a cluster)")
    failed = False
    cases = [("chart defaults", None)] + [
        (os.path.relpath(p, REPO), p) for p in sorted(glob.glob(os.path.join(REPO, "deploy/helm/examples/*.yaml")))]
    with tempfile.TemporaryDirectory() as tmp:
        for label, values in cases:
            summary, problems = smoke(label, values, tmp)
            print(f"{'ok  ' if not problems else 'FAIL'} {label}: {summary}")
            for p in problems:
                failed = True
                print(f"   {p}")
    if failed:
        sys.exit("env-smoke.py: the server does not run as the chart configures it")


if __name__ == "__main__":
    main()
