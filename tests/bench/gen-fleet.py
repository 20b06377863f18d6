#!/usr/bin/env python3
"""Writes a `--from-files` directory with N aborted canary rollouts in M namespaces.

Usage:  python3 tests/bench/gen-fleet.py OUT_DIR [--rollouts N] [--namespaces M]
        e.g. python3 tests/bench/gen-fleet.py /tmp/fleet-10000 --rollouts 10000 --namespaces 50

Each rollout gets what the scale figures of issue #13 were measured with: the Rollout, two
ReplicaSets (stable and canary), one pod of the stable ReplicaSet and one AnalysisRun owned by
the rollout. They are derived at run time from the upstream fixtures, read in place from
../shared/fixtures (never copied into the repository):

  argo-rollouts-info/canary/canary-rollout.yaml      the Rollout (made aborted by a failed
                                                      step analysis, see below)
  argo-rollouts-info/canary/stable-rs.yaml           stable ReplicaSet
  argo-rollouts-info/canary/canary-rs.yaml           canary ReplicaSet
  argo-rollouts-info/canary/stable-pod1.yaml         a pod of the stable ReplicaSet
  argo-rollouts-info/experiment-step/canary-exp-analysis.yaml
                                                      an AnalysisRun, re-parented to the rollout

The objects are rewritten as text (python3 has no YAML parser in its standard library): the
name `canary-demo` becomes `r-00042`, the namespace `jesse-test` becomes `fleet-07`, and every
uid is replaced by one unique to the rollout, in the objects and in their ownerReferences, so
the dashboard links them as it links the fixture. One multi-document YAML file per namespace
is written (`OUT_DIR/fleet-07.yaml`). Only the standard library is used.
"""

import argparse
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "argo-rollouts-info")
)

FILES = [
    "canary/canary-rollout.yaml",
    "canary/stable-rs.yaml",
    "canary/canary-rs.yaml",
    "canary/stable-pod1.yaml",
    "experiment-step/canary-exp-analysis.yaml",
]

# uids of the fixture objects; each gets a fresh one per rollout (same slot = same object).
UIDS = {
    "b350ba76-f6ed-11e9-a15b-42010aa80033": 1,  # the rollout
    "58286b27-f7cd-11e9-a15b-42010aa80033": 2,  # stable ReplicaSet
    "bd2a2b70-f93e-11e9-a15b-42010aa80033": 3,  # canary ReplicaSet
    "5846f8de-f7cd-11e9-a15b-42010aa80033": 4,  # stable pod
    "4e2d824d-01af-11ea-b38c-42010aa80083": 5,  # AnalysisRun
    "4bef10a5-01af-11ea-b38c-42010aa80083": 1,  # the run's Experiment owner -> the rollout
}

FAILED = 'metric "stress" assessed Failed due to failed (1) > failureLimit (0)'
AR_NAME = "canary-demo-645d5dbc4c-2-0-stress-test"


def replace_once(text, old, new, what):
    if old not in text:
        sys.exit(f"gen-fleet: the fixture changed: {what}: {old!r} not found")
    return text.replace(old, new, 1)


def templates():
    """The five fixture texts, with the edits every copy shares already made."""
    out = []
    for rel in FILES:
        path = os.path.join(FIXTURES, rel)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            sys.exit(f"gen-fleet: cannot read fixture {path}: {err} (../shared must be present)")
        if not text.endswith("\n"):
            text += "\n"
        if rel.endswith("canary-rollout.yaml"):
            # Aborted by a failed step analysis: the run below is the rollout's current one.
            text = replace_once(
                text,
                "status:\n",
                f"status:\n  abort: true\n  abortedAt: \"2019-10-28T04:53:00Z\"\n",
                "rollout status",
            )
            text = replace_once(
                text,
                "  canary: {}\n",
                "  canary:\n    currentStepAnalysisRunStatus:\n"
                f"      name: {AR_NAME}\n      status: Failed\n"
                f"      message: '{FAILED}'\n",
                "rollout status.canary",
            )
        if rel.endswith("canary-exp-analysis.yaml"):
            # Owned by the rollout instead of an experiment; failed, as the abort says.
            text = replace_once(
                text,
                "    kind: Experiment\n    name: canary-demo-645d5dbc4c-2-0\n",
                "    kind: Rollout\n    name: canary-demo\n",
                "analysis run owner",
            )
            text = text.replace("phase: Running", "phase: Failed")
            text = replace_once(
                text, "\n  phase: Failed\n", f"\n  phase: Failed\n  message: '{FAILED}'\n",
                "analysis run phase",
            )
        out.append(text)
    return out


def one_rollout(texts, index, namespace):
    name = f"r-{index:05d}"
    docs = []
    for text in texts:
        for old, slot in UIDS.items():
            text = text.replace(old, str(uuid.UUID(int=(index << 16) | slot)))
        text = text.replace("canary-demo", name).replace("jesse-test", namespace)
        docs.append(text)
    return "---\n".join(docs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="directory to write (created; e.g. /tmp/fleet-10000)")
    ap.add_argument("--rollouts", "-n", type=int, default=10000)
    ap.add_argument("--namespaces", "-m", type=int, default=50)
    args = ap.parse_args()
    repo = os.path.normpath(os.path.join(HERE, "..", ".."))
    out = os.path.abspath(args.out)
    if out == repo or out.startswith(repo + os.sep):
        sys.exit("gen-fleet: write the dataset outside the repository (e.g. /tmp/fleet-N)")
    if args.rollouts < 1 or args.namespaces < 1:
        sys.exit("gen-fleet: --rollouts and --namespaces must be positive")
    os.makedirs(out, exist_ok=True)
    for entry in os.listdir(out):
        if entry.startswith("fleet-") and entry.endswith(".yaml"):
            os.remove(os.path.join(out, entry))
    texts = templates()
    width = max(2, len(str(args.namespaces - 1)))
    files = {}
    try:
        for i in range(args.rollouts):
            ns = f"fleet-{i % args.namespaces:0{width}d}"
            f = files.get(ns)
            if f is None:
                f = files[ns] = open(os.path.join(out, ns + ".yaml"), "w", encoding="utf-8")
            else:
                f.write("---\n")
            f.write(one_rollout(texts, i, ns))
    finally:
        for f in files.values():
            f.close()
    size = sum(os.path.getsize(os.path.join(out, n + ".yaml")) for n in files)
    print(
        f"gen-fleet: {args.rollouts} rollouts ({args.rollouts * 5} objects) in {len(files)} "
        f"namespaces, {size / 1e6:.1f} MB in {out}"
    )


if __name__ == "__main__":
    main()
