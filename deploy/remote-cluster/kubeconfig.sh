#!/usr/bin/env bash
# Prints a kubeconfig for the rollouts-dashboard ServiceAccount of a remote cluster on which
# `kubectl apply -k deploy/remote-cluster` ran: its token (the Secret rollouts-dashboard-token),
# the cluster's CA (from that Secret, else embedded from your kubeconfig) and API server URL,
# one context, current. The dashboard names the cluster after that context (--name).
#
#   deploy/remote-cluster/kubeconfig.sh [--context CTX] [--name NAME] [--server URL] > NAME.kubeconfig
#
#   --context  the remote cluster's context in your kubeconfig (default: the current one)
#   --name     the cluster's name in the dashboard (default: the context's name)
#   --server   the API server URL as the dashboard's pod reaches it (default: your kubeconfig's)
#
# The output holds a credential: write it to a file only you can read, put it into the
# dashboard's Secret, and delete it.
set -euo pipefail
context="" name="" server=""
while [ $# -gt 0 ]; do
  case $1 in
    --context) context=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    -h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "kubeconfig.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done
context=${context:-$(kubectl config current-context)}
name=${name:-$context}
k() { kubectl --context "$context" -n rollouts-dashboard "$@"; }

# The token controller fills the Secret shortly after it is created.
token=""
for _ in $(seq 1 40); do
  token=$(k get secret rollouts-dashboard-token -o 'jsonpath={.data.token}' 2>/dev/null || true)
  [ -n "$token" ] && break
  sleep 0.5
done
if [ -z "$token" ]; then
  echo "kubeconfig.sh: no token in secret rollouts-dashboard/rollouts-dashboard-token on context $context" \
       "(kubectl apply -k deploy/remote-cluster there first)" >&2
  exit 1
fi
ca=$(k get secret rollouts-dashboard-token -o 'jsonpath={.data.ca\.crt}')
if [ -z "$ca" ]; then
  ca=$(kubectl config view --raw --flatten --minify --context "$context" \
         -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')
fi
server=${server:-$(kubectl config view --minify --context "$context" -o 'jsonpath={.clusters[0].cluster.server}')}
[ -n "$server" ] || { echo "kubeconfig.sh: no server URL for context $context (--server)" >&2; exit 1; }

cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: $name
    cluster:
      server: $server
$([ -n "$ca" ] && printf '      certificate-authority-data: %s\n' "$ca")
users:
  - name: rollouts-dashboard
    user:
      token: $(printf %s "$token" | base64 -d)
contexts:
  - name: $name
    context: {cluster: $name, user: rollouts-dashboard}
current-context: $name
KUBECONFIG
