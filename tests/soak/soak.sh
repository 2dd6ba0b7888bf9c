#!/usr/bin/env bash
# Soak: 8 nomsyncd nodes on loopback for SOAK_SECONDS (default 600) with
# continuous appends at every emitting site, random restarts (SIGTERM and
# kill -9) and link drops (a node stopped for a few seconds), then the load
# stops and the test checks convergence with zero lost events: every event
# id acknowledged by `nomsync append` is present at every node, every store
# verifies, every digest agrees. Memory (VmRSS) and descriptor counts of each
# daemon are sampled every 10 s into soak-samples.csv and must not grow.
#
#   bash tests/soak/soak.sh [BUILD_DIR]      (not part of CI: about 11 minutes)
set -euo pipefail
NS_BIN=${1:-${NS_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}}
export NS_BIN NS_TMP_PREFIX=${NS_TMP_PREFIX:-/tmp/nomsync-soak}
source "$(dirname "$0")/../e2e/lib.bash"
source "$(dirname "$0")/../e2e/net.bash"
DURATION=${SOAK_SECONDS:-600}
OUT=${SOAK_OUT:-$NS_BIN/soak}
mkdir -p "$OUT"

sites="HUBNE:hub MDI:prison LEI:prison WDI:prison HMI:prison N55:probation N07:probation SHEFMC:court"
for s in $sites; do mknode "${s%%:*}" "${s##*:}"; done
write_roster
config HUBNE
config MDI HUBNE N55; config LEI HUBNE; config WDI HUBNE; config HMI HUBNE LEI
config N55 HUBNE; config N07 HUBNE; config SHEFMC HUBNE
nodes="HUBNE MDI LEI WDI HMI N55 N07 SHEFMC"
for c in $nodes; do start $c; done

# Events: one generated file per emitting site, consumed in chunks.
$GEN --outdir "$WORK/gen" --offenders 6000 --seed 77 --court SHEFMC --prisons MDI,LEI,WDI,HMI --probation N55 >/dev/null
$GEN --outdir "$WORK/gen07" --offenders 2000 --seed 78 --prisons MDI --probation N07 >/dev/null
cp "$WORK/gen07/N07.jsonl" "$WORK/gen/N07.jsonl"
emitters="MDI LEI WDI HMI N55 N07 SHEFMC"
declare -A offset
for e in $emitters; do offset[$e]=0; done
: >"$WORK/acked"
echo "time_s,node,rss_kb,fds" >"$OUT/soak-samples.csv"

sample() {
  local t=$1 c pid
  for c in $nodes; do
    pid=${PID[$c]:-}
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
    echo "$t,$c,$(awk '/VmRSS/{print $2}' /proc/$pid/status),$(ls /proc/$pid/fd | wc -l)" >>"$OUT/soak-samples.csv"
  done
}

start_s=$SECONDS kills=0 restarts=0 drops=0 appends=0 next_sample=0 next_fault=$((SECONDS + 15))
declare -A down_until
while [ $((SECONDS - start_s)) -lt "$DURATION" ]; do
  e=$(printf '%s\n' $emitters | shuf -n1)
  n=$((20 + RANDOM % 60))
  sed -n "$((offset[$e] + 1)),$((offset[$e] + n))p" "$WORK/gen/$e.jsonl" >"$WORK/chunk"
  if [ -s "$WORK/chunk" ]; then
    $NS --dir "$WORK/$e" append "$WORK/chunk" >>"$WORK/acked" 2>>"$WORK/append.err" || true
    offset[$e]=$((offset[$e] + n))
    appends=$((appends + 1))
  fi
  now=$SECONDS
  for c in "${!down_until[@]}"; do
    if [ "${down_until[$c]}" -le "$now" ]; then start $c; unset "down_until[$c]"; fi
  done
  if [ "$now" -ge "$next_fault" ]; then
    victim=$(printf '%s\n' $nodes | shuf -n1)
    if [ -n "${PID[$victim]:-}" ]; then
      case $((RANDOM % 3)) in
        0) kill9 "$victim"; kills=$((kills + 1)); start "$victim" ;;
        1) stop "$victim" || true; restarts=$((restarts + 1)); start "$victim" ;;
        2) stop "$victim" || true; drops=$((drops + 1)); down_until[$victim]=$((now + 3 + RANDOM % 8)) ;;
      esac
    fi
    next_fault=$((now + 10 + RANDOM % 15))
  fi
  if [ $((now - start_s)) -ge "$next_sample" ]; then sample $((now - start_s)); next_sample=$((next_sample + 10)); fi
  sleep 0.$((RANDOM % 5))
done
for c in "${!down_until[@]}"; do start $c; done
acked=$(wc -l <"$WORK/acked")
echo "load stopped after $DURATION s: $appends appends, $acked events acknowledged, $kills kill -9, $restarts restarts, $drops link drops"

if wait_converged 300 $nodes; then ok "all 8 nodes converged"; else bad "8 nodes converged"; fi
sort -u "$WORK/acked" >"$WORK/acked.sorted"
for c in $nodes; do
  $NS --dir "$WORK/$c" log --json | jq -r .id | sort -u >"$WORK/have.$c"
  missing=$(comm -23 "$WORK/acked.sorted" "$WORK/have.$c" | wc -l)
  expect_eq "$missing" 0 "$c holds every acknowledged event ($acked)"
  $NS --dir "$WORK/$c" verify >/dev/null && ok "$c verifies" || bad "$c verify"
done
sample $((SECONDS - start_s))

# Growth check: the median of each node's last three samples against its
# first three after warm-up; more than +50 % RSS or +16 descriptors fails.
awk -F, 'NR > 1 && $1 >= 20 { rss[$2] = rss[$2] " " $3; fd[$2] = fd[$2] " " $4 }
  END { for (n in rss) print n, rss[n], "|", fd[n] }' "$OUT/soak-samples.csv" >"$WORK/series"
while read -r node rest; do
  r=${rest%%|*}; f=${rest##*|}
  set -- $r; first_r=$1; eval last_r=\${$#}
  set -- $f; first_f=$1; eval last_f=\${$#}
  echo "  $node: RSS ${first_r} -> ${last_r} KiB, fds ${first_f} -> ${last_f}"
  [ "$last_r" -le $((first_r * 3 / 2 + 8192)) ] && ok "$node memory bounded" || bad "$node RSS grew ${first_r} -> ${last_r}"
  [ "$last_f" -le $((first_f + 16)) ] && ok "$node descriptors bounded" || bad "$node fds grew ${first_f} -> ${last_f}"
done <"$WORK/series"
for c in $nodes; do stop $c || true; done
echo "samples: $OUT/soak-samples.csv"
finish
