#!/usr/bin/env bash
# Issue #13 item 7, before and after side by side: runs `scale pipeline` of two builds one after
# the other, per client count, ROUNDS times, and prints one table row per run with the load
# average (`uptime`) read just before it. The machine is shared: rerun a row whose load was high.
#
#   cargo bench --bench scale --no-run        # in each tree; copy each printed executable aside
#   bash tests/bench/pipeline-ab.sh /tmp/scale-before /tmp/scale-after 100 1000
#
# Env: DIR (fleet, default /tmp/fleet-1000: python3 tests/bench/gen-fleet.py /tmp/fleet-1000
# --rollouts 1000 --namespaces 50), RATE (1000), SECONDS_BUSY (20), ROUNDS (2), OUT (a
# directory for each run's JSON, default a temporary one), PAUSE (15 s between runs). The last
# column is the CPU the rest of the machine used during the run (cores; /proc/stat less this
# process's user + system time): the load average before a run includes the previous run.
set -euo pipefail
before=${1:?usage: pipeline-ab.sh BEFORE_EXE AFTER_EXE CLIENTS...}
after=${2:?usage: pipeline-ab.sh BEFORE_EXE AFTER_EXE CLIENTS...}
shift 2
[ $# -gt 0 ] || set -- 100 1000
clients=("$@")
dir=${DIR:-/tmp/fleet-1000}
rate=${RATE:-1000}
seconds=${SECONDS_BUSY:-20}
rounds=${ROUNDS:-2}
out=${OUT:-$(mktemp -d)}
[ -d "$dir" ] || { echo "no fleet at $dir (tests/bench/gen-fleet.py)" >&2; exit 1; }
# CPU time of the whole machine (USER_HZ ticks, idle and iowait excluded).
busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
echo "| build | rollouts | clients | changes | latency p50 / p99 / max | frames seen / expected | server CPU | client CPU | RSS end | load before (1/5/15 min) | others' CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for c in "${clients[@]}"; do
    for build in before after; do
      exe=$before
      [ "$build" = after ] && exe=$after
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      t0=$(date +%s.%N)
      b0=$(busy_ticks)
      row=$(/usr/bin/time -f '%U %S' -o "$out/$build-$c-$round.time" "$exe" pipeline --dir "$dir" \
        --clients "$c" --rate "$rate" --seconds "$seconds" 2>"$out/$build-$c-$round.json" | grep '^|')
      b1=$(busy_ticks)
      t1=$(date +%s.%N)
      # Others' CPU: what the machine spent during the run besides this process, in cores.
      others=$(awk -v b="$((b1 - b0))" -v t0="$t0" -v t1="$t1" \
        '{ printf "%.2f", (b / 100 - $1 - $2) / (t1 - t0) }' "$out/$build-$c-$round.time")
      # The bench's row: | N | C | changes | latency | seen of expected | server | client | RSS | load after |
      echo "$row" | awk -F' [|] ' -v b="$build" -v l="$load" -v o="$others" \
        '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b, substr($1, 3), $2, $3, $4, $5, $6, $7, $8, l, o }'
      sleep "${PAUSE:-15}"  # lets the machine settle: the next row's load average is less this one's
    done
  done
done
echo "(per-run JSON in $out)" >&2
