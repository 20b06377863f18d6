#!/usr/bin/env python3
"""Fails if the Helm chart and the kustomize manifests disagree.

Renders each pair below, the kustomize side with `kubectl kustomize DIR` and the Helm side with
`helm template rollouts-dashboard deploy/helm/rollouts-dashboard -n rollouts-dashboard -f VALUES`
(release name = chart name, so the chart's object names are the kustomize ones), turns both into
JSON with `kubectl create --dry-run=client -o json -f -`, and compares:

  Deployment   replicas; the pod securityContext, enableServiceLinks,
               terminationGracePeriodSeconds, volumes; the containers by name: securityContext,
               command, args, env (by name), ports, readiness/liveness/startup probes,
               resources, volumeMounts
  ClusterRole  rules, for every role the chart renders (same name in the kustomize output)
  bindings     which ClusterRoles the ServiceAccount is bound to (so impersonate only in
               proxy mode, actions only for a writable --auth none)
  Service      ports (targetPort: the dashboard or the oauth2-proxy sidecar)
  Ingress      annotations and spec, when both sides have one

Pairs: deploy/base = the chart's defaults; deploy/overlays/port-forward =
examples/port-forward.yaml; deploy/overlays/ingress-oauth2-proxy =
examples/ingress-oauth2-proxy.yaml; deploy/overlays/ingress-token = examples/ingress-token.yaml;
deploy/overlays/fleet (the base with components/remote-clusters) = examples/fleet.yaml
(and for each overlay with one, the PodDisruptionBudget's minAvailable/maxUnavailable; and the rules and subjects of the Roles the chart
renders: the revocations ConfigMap's).

Usage: tests/helm/compare.py   (needs kubectl with a reachable API server, and HELM or helm on PATH)
Standard library only.
"""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(REPO, "deploy/helm/rollouts-dashboard")
RELEASE = "rollouts-dashboard"
NAMESPACE = "rollouts-dashboard"
PAIRS = [
    ("deploy/base", None),
    ("deploy/overlays/port-forward", "deploy/helm/examples/port-forward.yaml"),
    ("deploy/overlays/ingress-oauth2-proxy", "deploy/helm/examples/ingress-oauth2-proxy.yaml"),
    ("deploy/overlays/ingress-token", "deploy/helm/examples/ingress-token.yaml"),
    ("deploy/overlays/fleet", "deploy/helm/examples/fleet.yaml"),
]
CONTAINER_FIELDS = ["securityContext", "command", "args", "env", "ports",
                    "readinessProbe", "livenessProbe", "startupProbe", "resources", "volumeMounts"]
POD_FIELDS = ["securityContext", "enableServiceLinks", "terminationGracePeriodSeconds", "volumes"]


def run(cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, cwd=REPO)
    if p.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed:\n{p.stderr}")
    return p.stdout


def to_objects(yaml_text):
    """Multi-document YAML -> list of objects, through kubectl (no YAML parser in the stdlib)."""
    out = run(["kubectl", "create", "--dry-run=client", "-o", "json", "-f", "-"], yaml_text)
    objs, dec, i = [], json.JSONDecoder(), 0
    while True:
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            break
        obj, i = dec.raw_decode(out, i)
        objs.extend(obj.get("items", []) if obj.get("kind") == "List" else [obj])
    return objs


def index(objs):
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def deployment_view(d):
    spec = d["spec"]["template"]["spec"]
    view = {"replicas": d["spec"].get("replicas")}
    for f in POD_FIELDS:
        view[f"pod.{f}"] = spec.get(f)
    for c in spec.get("containers", []):
        for f in CONTAINER_FIELDS:
            v = c.get(f)
            if f == "env" and v is not None:
                v = sorted(v, key=lambda e: e["name"])  # order carries no meaning here
            view[f"containers[{c['name']}].{f}"] = v
    return view


def bindings_view(objs):
    """ClusterRoleBinding name -> ClusterRole it grants to the ServiceAccount."""
    return {o["metadata"]["name"]: o["roleRef"]["name"] for o in objs
            if o["kind"] == "ClusterRoleBinding"
            and any(s.get("kind") == "ServiceAccount" and s.get("name") == RELEASE
                    for s in o.get("subjects", []))}


def diff(prefix, want, got, problems):
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            diff(f"{prefix}.{k}", want.get(k), got.get(k), problems)
    elif want != got:
        problems.append(f"{prefix}:\n      kustomize: {json.dumps(want)}\n      helm:      {json.dumps(got)}")


def compare(kdir, values):
    k = index(to_objects(run(["kubectl", "kustomize", kdir])))
    helm = os.environ.get("HELM", "helm")
    cmd = [helm, "template", RELEASE, CHART, "-n", NAMESPACE]
    if values:
        cmd += ["-f", os.path.join(REPO, values)]
    h = index(to_objects(run(cmd)))
    problems = []

    key = ("Deployment", RELEASE)
    if key not in k or key not in h:
        return [f"Deployment/{RELEASE} missing (kustomize: {key in k}, helm: {key in h})"]
    diff("Deployment", deployment_view(k[key]), deployment_view(h[key]), problems)

    for (kind, name), o in sorted(h.items()):
        if kind != "ClusterRole":
            continue
        if (kind, name) not in k:
            problems.append(f"ClusterRole/{name}: rendered by the chart, absent from {kdir}")
        else:
            diff(f"ClusterRole/{name}.rules", k[(kind, name)].get("rules"), o.get("rules"), problems)
    diff("ServiceAccount bindings", bindings_view(k.values()), bindings_view(h.values()), problems)

    for (kind, name), o in sorted(h.items()):
        if kind not in ("Role", "RoleBinding"):
            continue
        if (kind, name) not in k:
            problems.append(f"{kind}/{name}: rendered by the chart, absent from {kdir}")
        else:
            for field in ("rules", "roleRef", "subjects"):
                diff(f"{kind}/{name}.{field}", k[(kind, name)].get(field), o.get(field), problems)
    pdb = ("PodDisruptionBudget", RELEASE)
    if pdb in k:
        if pdb not in h:
            problems.append("PodDisruptionBudget only in kustomize")
        else:
            # The selectors differ by design (the chart's also names the release).
            budget = lambda o: {f: v for f, v in o["spec"].items() if f != "selector"}  # noqa: E731
            diff("PodDisruptionBudget.spec", budget(k[pdb]), budget(h[pdb]), problems)

    svc = ("Service", RELEASE)
    diff("Service.ports", k[svc]["spec"].get("ports"), h[svc]["spec"].get("ports"), problems)

    ing = ("Ingress", RELEASE)
    if ing in k and ing in h:
        diff("Ingress.annotations", k[ing]["metadata"].get("annotations"),
             h[ing]["metadata"].get("annotations"), problems)
        diff("Ingress.spec", k[ing]["spec"], h[ing]["spec"], problems)
    elif ing in k or ing in h:
        problems.append(f"Ingress only in {'kustomize' if ing in k else 'helm'}")
    return problems


def main():
    failed = False
    for kdir, values in PAIRS:
        label = f"{kdir} vs chart {'defaults' if values is None else values}"
        problems = compare(kdir, values)
        if problems:
            failed = True
            print(f"FAIL {label}: {len(problems)} difference(s)")
            for p in problems:
                print(f"   {p}")
        else:
            print(f"ok   {label}: Deployment (security contexts, args, env, ports, probes, "
                  f"resources, volumes), ClusterRoles, Roles and bindings, "
                  f"PodDisruptionBudget, Service, Ingress agree")
    if failed:
        print("compare.py: the Helm chart and the kustomize manifests disagree (fix one side)")
        sys.exit(1)


if __name__ == "__main__":
    main()
