#!/usr/bin/env python3
"""deploy/ingress/oauth2-proxy.cfg (what tests/ingress runs) and the oauth2-proxy flags of
deploy/overlays/ingress-oauth2-proxy (what people deploy) must say the same thing: every setting
of the cfg is either a flag of the overlay's sidecar with the same value, or oauth2-proxy's
default (then the overlay may leave it out, but must not say otherwise). Exit 1 on drift."""
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / "deploy/ingress/oauth2-proxy.cfg"
PATCH = REPO / "deploy/overlays/ingress-oauth2-proxy/deployment-patch.yaml"

# cfg keys whose flag is not the key with '_' -> '-'
FLAG_OF = {"email_domains": "email-domain", "skip_auth_routes": "skip-auth-route", "upstreams": "upstream"}
# oauth2-proxy v7.15 defaults (pkg/apis/options): the overlay may omit these
DEFAULTS = {"set_xauthrequest": "false", "proxy_websockets": "true", "cookie_httponly": "true"}


def cfg_settings():
    out = {}
    for line in CFG.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = (p.strip() for p in line.partition("="))
        value = json.loads(value) if value.startswith(("[", '"')) else value
        out[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def overlay_flags():
    text = PATCH.read_text()
    block = text[text.index("- name: oauth2-proxy"):]
    args = block[block.index("args:"):block.index("env:")]
    flags = {}
    for m in re.finditer(r"^\s*-\s+--([a-z0-9-]+)=(.*)$", args, re.M):
        flags.setdefault(m.group(1), []).append(m.group(2).strip().strip("\"'"))
    return flags


def main():
    settings, flags = cfg_settings(), overlay_flags()
    problems = []
    for key, values in settings.items():
        flag = FLAG_OF.get(key, key.replace("_", "-"))
        if flag in flags:
            if flags[flag] != values:
                problems.append(f"{key}: cfg {values} but the overlay has --{flag}={flags[flag]}")
        elif DEFAULTS.get(key) != values[0]:
            problems.append(f"{key} = {values} is in the cfg but not in the overlay (--{flag})")
    for p in problems:
        print(f"oauth2-proxy settings drift: {p}", file=sys.stderr)
    if problems:
        print(f"fix {CFG.relative_to(REPO)} or {PATCH.relative_to(REPO)}", file=sys.stderr)
        return 1
    print(f"oauth2-proxy.cfg matches the overlay's flags ({len(settings)} settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
