#!/usr/bin/env bash
# A network partition between two directly peered sites, MDI (prison) and N55
# (probation; MDI dials N55), while both ends keep appending their own events.
# Each cut is checked to be a real cut (nothing crosses it, the peer is
# marked down in the status file), and after the link is restored both stores
# converge on the same vector and digest. Two cuts per variant: a long one
# (longer than the peer and ZeroMQ heartbeat timeouts, so the connection is
# given up and re-established) and one made in the middle of a big transfer.
#
# Variant "netns" (needs root and working network namespaces): each daemon
# runs in its own network namespace (`ip netns exec`), joined by a veth pair
# (10.200.0.1 <-> 10.200.0.2); the cut is `ip link set DEV down` on MDI's end
# and the restore `ip link set DEV up`. If `ip netns add` fails the variant is
# skipped with the reason printed.
# Variant "stop" (always runs, on loopback): the cut is a SIGTERM of N55's
# daemon while N55 keeps appending through the CLI; the restore restarts it.
# NS_PARTITION=stop skips the namespace variant.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

mknode MDI prison; mknode N55 probation
write_roster

NSA=nsync-a-$$ NSB=nsync-b-$$ VA=nsa$$ VB=nsb$$
IPA=10.200.0.1 IPB=10.200.0.2
netns_made=()
netns_cleanup() {
  local n
  for n in "${netns_made[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  netns_made=()
}
trap 'rc=$?; set +e; stop_all; netns_cleanup; rm -rf "$WORK"; exit $rc' EXIT

# Data: one generation split into 8 parts per site (files are grouped by
# offender, so parts are independent), plus two big batches for the
# mid-transfer cuts (their NOMS numbers overlap the parts': more events for the
# same people, which the fold handles).
$GEN --outdir "$WORK/gen" --offenders 320 --seed 41 --court SHEFMC --prisons MDI --probation N55 >/dev/null
for s in MDI N55; do (cd "$WORK/gen" && split -n l/8 -d "$s.jsonl" "$s.part"); done
for seed in 42 43; do
  $GEN --outdir "$WORK/big$seed" --offenders 1200 --seed $seed --court SHEFMC --prisons MDI --probation N55 >/dev/null
done

declare -A APPENDED=([MDI]=0 [N55]=0)
# add CODE FILE: append FILE's events at CODE through the CLI.
add() {
  $NS --dir "$WORK/$1" append "$2" >/dev/null
  APPENDED[$1]=$((APPENDED[$1] + $(wc -l <"$2")))
}
# seq_at CODE SITE: CODE's seq for origin SITE (0 if unknown).
seq_at() { $NS --dir "$WORK/$1" vector | jq --arg s "$2" '[.[] | select(.site == $s) | .seq] | add // 0'; }
# peer_state CODE SITE: state of SITE in CODE's daemon status file.
peer_state() {
  jq -r --arg s "$2" '[.peers[] | select(.site == $s) | .state] | first // "none"' \
    "$WORK/$1/nomsyncd.status.json" 2>/dev/null || echo none
}
# wait_state SECONDS CODE SITE STATE
wait_state() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(peer_state "$2" "$3")" = "$4" ] && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------- variants
netns_setup() {
  local why
  if [ "${NS_PARTITION:-}" = stop ]; then
    echo "# netns variant skipped: NS_PARTITION=stop"; return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "# netns variant skipped: not root"; return 1
  fi
  if ! why=$(ip netns add "$NSA" 2>&1); then
    echo "# netns variant skipped: ip netns add failed: $why"; return 1
  fi
  netns_made+=("$NSA")
  if ! why=$( { ip netns add "$NSB" && echo "$NSB" >"$WORK/nsb.made" &&
      ip link add "$VA" netns "$NSA" type veth peer name "$VB" netns "$NSB" &&
      ip -n "$NSA" addr add $IPA/24 dev "$VA" && ip -n "$NSB" addr add $IPB/24 dev "$VB" &&
      ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up &&
      ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up; } 2>&1); then
    [ -f "$WORK/nsb.made" ] && netns_made+=("$NSB")
    echo "# netns variant skipped: cannot build the veth pair: $why"
    netns_cleanup
    return 1
  fi
  netns_made+=("$NSB")
  return 0
}

# nsconfig CODE IP [PEER PEER_IP]: like net.bash's config, on a namespace address.
nsconfig() {
  local code=$1 ip=$2 peer=${3:-} pip=${4:-}
  {
    echo "[node]"
    echo "dir = $WORK/$code"
    echo "listen = tcp://$ip:${PORT[$code]}"
    echo "roster = $WORK/roster"
    echo "log_level = ${LOG_LEVEL:-info}"
    echo "anti_entropy = 1"
    echo "heartbeat = 0.5"
    echo "peer_timeout = 3"
    echo "[peers]"
    [ -z "$peer" ] || echo "$peer = tcp://$pip:${PORT[$peer]}"
  } >"$WORK/$code.conf"
}
start_in() {
  local ns=$1 code=$2
  ip netns exec "$ns" "$NSD" --config "$WORK/$code.conf" >>"$WORK/$code.log" 2>&1 &
  PID[$code]=$!
}

VARIANT=
cut() {
  if [ "$VARIANT" = netns ]; then ip -n "$NSA" link set "$VA" down
  else stop N55 || bad "N55 exit status on SIGTERM at the cut"; fi
}
restore() {
  if [ "$VARIANT" = netns ]; then ip -n "$NSA" link set "$VA" up
  else start N55; fi
}
start_pair() {
  if [ "$VARIANT" = netns ]; then
    nsconfig N55 $IPB; nsconfig MDI $IPA N55 $IPB
    start_in "$NSB" N55; start_in "$NSA" MDI
  else
    config N55; config MDI N55
    start N55; start MDI
  fi
}

# scenario VARIANT FIRST_PART BIG_SEED (no variable named p: net.bash's config() loops over a global p)
scenario() {
  VARIANT=$1
  local fp=$2 big=$3 t0 m n
  echo "# variant $VARIANT"
  start_pair
  add MDI "$WORK/gen/MDI.part0$fp"; add N55 "$WORK/gen/N55.part0$fp"
  if wait_converged 30 MDI N55; then ok "$VARIANT: linked MDI and N55 converge"; else bad "$VARIANT: initial convergence"; fi
  wait_state 10 MDI N55 live && ok "$VARIANT: MDI sees N55 live" || bad "$VARIANT: MDI sees N55 live (state $(peer_state MDI N55))"

  # Long cut: both ends keep appending.
  t0=$SECONDS
  cut
  m=${APPENDED[MDI]} n=${APPENDED[N55]}
  add MDI "$WORK/gen/MDI.part0$((fp + 1))"; add N55 "$WORK/gen/N55.part0$((fp + 1))"
  sleep 1
  add MDI "$WORK/gen/MDI.part0$((fp + 2))"; add N55 "$WORK/gen/N55.part0$((fp + 2))"
  if wait_state 10 MDI N55 down; then ok "$VARIANT: MDI marks N55 down during the cut"; else bad "$VARIANT: MDI marks N55 down (state $(peer_state MDI N55))"; fi
  if [ "$VARIANT" = netns ]; then
    wait_state 10 N55 MDI down && ok "$VARIANT: N55 marks MDI down during the cut" || bad "$VARIANT: N55 marks MDI down (state $(peer_state N55 MDI))"
  fi
  while [ $((SECONDS - t0)) -lt 7 ]; do sleep 0.2; done
  expect_eq "$(seq_at MDI N55)" "$n" "$VARIANT: nothing of N55's crossed the cut to MDI"
  expect_eq "$(seq_at N55 MDI)" "$m" "$VARIANT: nothing of MDI's crossed the cut to N55"
  local cutlen=$((SECONDS - t0))
  restore
  t0=$SECONDS
  if wait_converged 60 MDI N55; then ok "$VARIANT: converged $((SECONDS - t0)) s after a $cutlen s cut"; else bad "$VARIANT: convergence after the long cut"; fi
  expect_eq "$(seq_at MDI N55) $(seq_at MDI MDI)" "${APPENDED[N55]} ${APPENDED[MDI]}" \
    "$VARIANT: MDI holds every event of both ends (N55 ${APPENDED[N55]}, MDI ${APPENDED[MDI]})"
  wait_state 10 MDI N55 live && ok "$VARIANT: MDI sees N55 live again" || bad "$VARIANT: MDI sees N55 live again (state $(peer_state MDI N55))"

  # Cut in the middle of a big transfer, short outage, appends on both sides.
  add MDI "$WORK/big$big/MDI.jsonl"; add N55 "$WORK/big$big/N55.jsonl"
  sleep 0.1
  cut
  echo "  cut mid-transfer: N55 held $(seq_at N55 MDI)/${APPENDED[MDI]} of MDI's, MDI held $(seq_at MDI N55)/${APPENDED[N55]} of N55's"
  add MDI "$WORK/gen/MDI.part0$((fp + 3))"; add N55 "$WORK/gen/N55.part0$((fp + 3))"
  sleep 2
  restore
  t0=$SECONDS
  if wait_converged 90 MDI N55; then ok "$VARIANT: converged $((SECONDS - t0)) s after a cut mid-transfer"; else bad "$VARIANT: convergence after the mid-transfer cut"; fi
  expect_eq "$(seq_at N55 MDI) $(seq_at N55 N55)" "${APPENDED[MDI]} ${APPENDED[N55]}" \
    "$VARIANT: N55 holds every event of both ends (MDI ${APPENDED[MDI]}, N55 ${APPENDED[N55]})"
  expect_eq "$($NS --dir "$WORK/MDI" digest)" "$($NS --dir "$WORK/N55" digest)" "$VARIANT: digests equal"
  for c in MDI N55; do
    $NS --dir "$WORK/$c" verify >/dev/null && ok "$VARIANT: $c verifies" || bad "$VARIANT: $c verify"
  done
  for c in MDI N55; do
    if stop $c; then ok "$VARIANT: $c exits 0 on SIGTERM"; else bad "$VARIANT: $c exit status on SIGTERM"; fi
  done
}

if netns_setup; then
  scenario netns 0 42
  netns_cleanup
  first=4
else
  first=0
fi
scenario stop $first 43

if grep -HE " ERROR |Sanitizer|runtime error" "$WORK"/*.log >"$WORK/errors"; then bad "daemon logs have errors: $(head -c 600 "$WORK/errors")"; else ok "no ERROR or sanitizer lines in the daemon logs"; fi
[ "$fail" -eq 0 ] || tail -n 30 "$WORK"/*.log
finish
