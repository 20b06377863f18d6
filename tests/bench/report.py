#!/usr/bin/env python3
"""Turns the raw JSON of one tests/bench/run.sh run into latest.json and latest.md.

usage: report.py RUN_DIR OUT_DIR
"""
import glob
import json
import os
import re
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def num(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, (int, float)):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"
    return str(v)


def size(b):
    if b is None:
        return "–"
    if b >= 1024 * 1024:
        return f"{b / 1024 / 1024:.1f} MiB"
    if b >= 1024:
        return f"{b / 1024:.1f} KiB"
    return f"{b:.0f} B"


def ratio(up, ours, fmt="{:.1f}×"):
    if up is None or ours is None:
        return "–"
    if ours == 0:
        return f"∞ (ours 0, upstream {up:g})" if up else "–"
    r = up / ours
    if r < 0.1:
        return f"{r:.2f}×"
    return fmt.format(r)


def achieved(t, c):
    """The patch rate actually reached, when it fell short of the asked one (loaded API server)."""
    p = t.get("patches", {})
    if not p.get("wallSeconds"):
        return ""
    rate = (p["sent"] - p.get("errors", 0)) / p["wallSeconds"]
    if rate < 0.9 * c["rate"]:
        return f" (reached {rate:.0f}/s; PATCH p50 {num(get(p, 'requestMs', 'p50'), 0)} ms)"
    return ""


def get(d, *path):
    for p in path:
        if d is None:
            return None
        d = d.get(p) if isinstance(d, dict) else None
    return d


def main():
    run_dir, out_dir = sys.argv[1], sys.argv[2]
    facts = load(os.path.join(run_dir, "facts.json"))
    setups = {}
    for p in glob.glob(os.path.join(run_dir, "setup-*.json")):
        s = load(p)
        setups[s["total"]] = s
    servers = {}
    for p in glob.glob(os.path.join(run_dir, "servers-*.json")):
        s = load(p)
        servers[s["n"]] = s
    pageload = None
    if os.path.exists(os.path.join(run_dir, "pageload.json")):
        pageload = load(os.path.join(run_dir, "pageload.json"))
    cells = []
    for p in glob.glob(os.path.join(run_dir, "cell-*.json")):
        cells.append(load(p))

    def key(c):
        m = re.match(r"n(\d+)-k(\d+)-r([\d.]+)", c["label"])
        return tuple(float(x) for x in m.groups()) if m else (0, 0, 0)

    cells.sort(key=key)
    combined = {
        "facts": facts,
        "setup": [setups[k] for k in sorted(setups)],
        "servers": [servers[k] for k in sorted(servers)],
        "pageLoad": pageload,
        "cells": cells,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump(combined, f, indent=2)

    md = []
    md.append("# rollouts-dashboard benchmark: latest results\n")
    md.append(
        "Produced by `bash tests/bench/run.sh` (see [../README.md](../README.md) for the method). "
        "Ours = rollouts-dashboard over its WebSocket (`api/v1/stream`, list subscription filtered "
        "to the namespace); upstream = `kubectl-argo-rollouts dashboard` over SSE "
        "(`/rollouts/api/v1/rollouts/{ns}/info/watch`). Both stream the same namespace "
        "(`rdb-bench-0`), the same label patches, one after the other (ours first), on the same machine.\n"
    )
    md.append("## Machine\n")
    md.append("| | |\n|---|---|")
    for k, label in [
        ("date", "date (UTC)"),
        ("commit", "commit"),
        ("cpu", "CPU"),
        ("nproc", "nproc"),
        ("memGiB", "memory (GiB)"),
        ("kernel", "kernel"),
        ("kube", "Kubernetes"),
        ("argo", "Argo Rollouts"),
        ("nodes", "kwok nodes"),
        ("replicas", "pods per rollout"),
        ("rate", "changes/s (busy phase)"),
        ("busySeconds", "busy phase (s)"),
        ("idleSeconds", "idle phase (s)"),
        ("namespaces", "namespaces the rollouts are spread over"),
        ("clusterUpSeconds", "cluster up (s)"),
        ("smoke", "smoke run"),
    ]:
        md.append(f"| {label} | {facts.get(k)} |")
    md.append("")

    md.append("## Setup (real Argo controller + kwok)\n")
    md.append(
        f"| rollouts (total) | created now | create requests (s) | until all Healthy, "
        f"{facts.get('replicas', 1)}/{facts.get('replicas', 1)} pods (s) "
        "| ours: start → /readyz (s) | ours RSS after sync | upstream start (s) | upstream RSS idle |"
    )
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(set(setups) | set(servers)):
        s, v = setups.get(n, {}), servers.get(n, {})
        md.append(
            f"| {n} | {s.get('created', '–')} | {num(s.get('createSeconds'))} | "
            f"{num(s.get('healthySeconds'))} ({s.get('healthy', '–')} Healthy) | "
            f"{num(get(v, 'ours', 'readySeconds'), 2)} | {num(get(v, 'ours', 'rssMiBReady'))} MiB | "
            f"{num(get(v, 'upstream', 'readySeconds'), 2)} | {num(get(v, 'upstream', 'rssMiBReady'))} MiB |"
        )
    md.append("")

    md.append("## Streams, side by side\n")
    md.append(
        "Latency: from the return of the label PATCH to the frame carrying that label value at each "
        "client (every client × every patch). Snapshot: from TCP connect to the complete first list "
        "(ours: to `snapshotEnd`, pages included (protocol 4; before it the `snapshot` frame); upstream: one event for every rollout of the namespace), with K "
        "clients connecting at once. Bytes: TCP payload received by the clients (headers, framing, "
        "chunking included). RSS peak over the whole cell; CPU = utime+stime of the server process.\n"
    )
    header = (
        "| N (ns) | K | rate | server | snapshot p50 / p99 ms (K at once) | fresh snapshot ms | "
        "latency p50 / p99 / max ms | missed | detail latency p50 / p99 ms | bytes/client/min busy | idle | detail busy | detail idle | "
        "CPU busy (cores) | CPU idle (s) | RSS peak MiB | API watches (+by clients) | TCP conns to apiserver | load avg 1m |"
    )
    md.append(header)
    md.append("|" + "---:|" * 4 + "---|" * 15)
    ratios = []
    for c in cells:
        by = {t["target"]: t for t in c["targets"]}
        for name in ("ours", "upstream"):
            t = by.get(name)
            if not t:
                continue
            lat = t["latencyFromPatchReturnMs"]
            snap = t["connect"]["snapshotMs"]
            md.append(
                f"| {num(c.get('rolloutsTotal'), 0)} ({c['rolloutsInNamespace']}) | {c['clients']} | "
                f"{num(c['rate'])}/s{achieved(t, c)} | {name} | {num(snap['p50'])} / {num(snap['p99'])} "
                f"({t['connect']['listSnapshots']}/{c['clients']}) | {num(t['freshSnapshotMs']['p50'])} | "
                f"{num(lat['p50'])} / {num(lat['p99'])} / {num(lat['max'])} | {t['deliveries']['missed']} | "
                f"{num(get(t, 'detailLatencyFromPatchReturnMs', 'p50'))} / {num(get(t, 'detailLatencyFromPatchReturnMs', 'p99'))} | "
                f"{size(t['busy']['bytesPerClientPerMinute'])} | {size(t['idle']['bytesPerClientPerMinute'])} | "
                f"{size(get(t, 'busy', 'detailBytesPerClientPerMinute'))} | "
                f"{size(t['idle']['detailBytesPerClientPerMinute'])} | {num(t['busy']['cores'], 3)} | "
                f"{num(t['idle']['cpuSeconds'], 2)} | {num(t['rssMiB']['peak'])} | "
                f"{num(t['apiWatches']['metricWithClients'], 0)} (+{num(t['apiWatches']['addedByClients'], 0)}) | "
                f"{num(t['apiWatches']['tcpConnsWithClients'], 0)} | "
                f"{num(get(t, 'loadavg1m', 'start'))} → {num(get(t, 'loadavg1m', 'end'))} |"
            )
        o, u = by.get("ours"), by.get("upstream")
        if o and u:
            ratios.append((c, o, u))
    md.append("")

    if ratios:
        md.append("## Ratios (upstream ÷ ours; > 1 means ours is better)\n")
        md.append(
            "| N | K | busy bytes/client | idle bytes/client | detail busy bytes | detail idle bytes | latency p50 | latency p99 "
            "| snapshot p50 (K at once) | CPU busy | RSS peak | watches added by clients |"
        )
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c, o, u in ratios:
            md.append(
                f"| {num(c.get('rolloutsTotal'), 0)} | {c['clients']} | "
                f"{ratio(u['busy']['bytesPerClientPerMinute'], o['busy']['bytesPerClientPerMinute'])} | "
                f"{ratio(u['idle']['bytesPerClientPerMinute'], o['idle']['bytesPerClientPerMinute'])} | "
                f"{ratio(get(u, 'busy', 'detailBytesPerClientPerMinute'), get(o, 'busy', 'detailBytesPerClientPerMinute'))} | "
                f"{ratio(u['idle']['detailBytesPerClientPerMinute'], o['idle']['detailBytesPerClientPerMinute'])} | "
                f"{ratio(u['latencyFromPatchReturnMs']['p50'], o['latencyFromPatchReturnMs']['p50'])} | "
                f"{ratio(u['latencyFromPatchReturnMs']['p99'], o['latencyFromPatchReturnMs']['p99'])} | "
                f"{ratio(u['connect']['snapshotMs']['p50'], o['connect']['snapshotMs']['p50'])} | "
                f"{ratio(u['busy']['cores'], o['busy']['cores'])} | "
                f"{ratio(u['rssMiB']['peak'], o['rssMiB']['peak'])} | "
                f"{ratio(u['apiWatches']['addedByClients'], o['apiWatches']['addedByClients'], '{:.0f}×')} |"
            )
        md.append("")

    md.append("## Ours only: the whole list (all namespaces)\n")
    md.append("| N | fresh all-namespaces snapshot ms (p50 / max) | its size |")
    md.append("|---:|---:|---:|")
    seen = set()
    for c in cells:
        o = next((t for t in c["targets"] if t["target"] == "ours"), None)
        n = c.get("rolloutsTotal")
        if not o or n in seen or not o["freshAllNamespacesSnapshotMs"]["n"]:
            continue
        seen.add(n)
        md.append(
            f"| {num(n, 0)} | {num(o['freshAllNamespacesSnapshotMs']['p50'])} / "
            f"{num(o['freshAllNamespacesSnapshotMs']['max'])} | {size(o['freshAllNamespacesSnapshotBytes'])} |"
        )
    md.append("")

    if pageload:
        md.append("## First page load (shell + JS + CSS)\n")
        md.append("| server | files | raw | gzip |")
        md.append("|---|---:|---:|---:|")
        for p in pageload:
            note = " (empty: this build embeds no UI)" if not p.get("rawBytes") else ""
            md.append(f"| {p['name']}{note} | {p.get('files', '–')} | {size(p.get('rawBytes'))} | {size(p.get('gzipBytes'))} |")
        md.append("")

    problems = [(c["label"], p) for c in cells for p in c.get("harnessProblems", [])]
    if problems:
        md.append("## Harness problems\n")
        for label, p in problems:
            md.append(f"* {label}: {p[:240]}{'…' if len(p) > 240 else ''}")
        md.append("")

    text = "\n".join(md)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
