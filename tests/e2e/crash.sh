#!/usr/bin/env bash
# Crash consistency: kill -9 at random moments under heavy append and ingest.
#
# Three daemons: prison MDI and probation N55 dial hub HUBNE. Two load loops
# run all the time: at MDI, `nomsync append` of 50-event batches (each event
# tagged with its batch in the alert comment; the ids the CLI prints, which
# it prints only once the commit is durable, are the acknowledged set); at
# N55, the same, so N55's events replicate into HUBNE and MDI (ingest load).
# Each round sleeps 50-500 ms, then kill -9s one of: the MDI daemon, the HUBNE
# daemon, or the running MDI append CLI (mid-batch). Then:
#   - `nomsync verify` passes on the killed node's store (signatures, chains,
#     indexes, vector and views all consistent: LMDB write transactions are
#     atomic and durable);
#   - every id acknowledged so far is in MDI's log;
#   - a killed CLI batch is all or nothing in the store;
# and the daemon is restarted. At the end the load stops, the three nodes
# converge (same vector and digest), verify passes everywhere, and every
# acknowledged id of MDI and N55 is held by all three.
#
# CRASH_ROUNDS (default 30), CRASH_SEED (bash RANDOM seed), NS_KEEP=1 keeps $WORK.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
ROUNDS=${CRASH_ROUNDS:-30}
[ -z "${CRASH_SEED:-}" ] || RANDOM=$CRASH_SEED
BATCH=50
t0=$SECONDS

mknode MDI prison; mknode N55 probation; mknode HUBNE hub
write_roster
config HUBNE; config MDI HUBNE; config N55 HUBNE
for c in HUBNE MDI N55; do start $c; done
mkdir -p "$WORK/ack" "$WORK/batches"
# On any exit: stop the load loops before net.bash's cleanup waits for children.
trap 'rc=$?; set +e; touch "$WORK/stop" 2>/dev/null; kill ${LOAD_MDI:-} ${LOAD_N55:-} 2>/dev/null; stop_all; [ -n "${NS_KEEP:-}" ] || rm -rf "$WORK"; exit $rc' EXIT

# batch TAG N: N alert.raised lines for 300 prisoners, comment TAG-i.
batch() {
  local i
  for ((i = 0; i < BATCH; i++)); do
    printf '{"type":"alert.raised","offender":"A%04dCR","occurred_at":"2026-01-%02dT10:%02d:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-01-%02d","comment":"%s-%d"}\n' \
      $((RANDOM % 300)) $((RANDOM % 28 + 1)) $((RANDOM % 60)) $((RANDOM % 28 + 1)) "$1" "$i"
  done
}

# load CODE PAUSE: append batches at CODE, PAUSE seconds apart, until $WORK/stop exists. Each CLI's pid is
# in $WORK/CODE.cli.pid while it runs; its exit status goes to ack/CODE.N.rc.
load() {
  local code=$1 n=0 rc pid
  while [ ! -e "$WORK/stop" ]; do
    n=$((n + 1))
    batch "$code.$n" >"$WORK/batches/$code.$n"
    $NS --dir "$WORK/$code" append "$WORK/batches/$code.$n" >"$WORK/ack/$code.$n" 2>"$WORK/ack/$code.$n.err" &
    pid=$!
    echo "$pid $n" >"$WORK/$code.cli.pid"
    rc=0
    wait $pid || rc=$?
    rm -f "$WORK/$code.cli.pid"
    echo $rc >"$WORK/ack/$code.$n.rc"
    sleep "$2"
  done
}
# (bash's "Killed" job notices go to load.err, not the test output)
load MDI 0.05 2>>"$WORK/load.err" &
LOAD_MDI=$!
load N55 0.1 2>>"$WORK/load.err" &
LOAD_N55=$!

# acked CODE: ids printed by completed appends at CODE (whole 64-hex lines only).
acked() { { cat "$WORK"/ack/"$1".* 2>/dev/null || true; } | { grep -E '^[0-9a-f]{64}$' || true; } | sort -u; }

# check_acked CODE AT: every id acknowledged at CODE is in AT's log; prints the number missing.
check_acked() {
  acked "$1" >"$WORK/acked.$1"                       # read the acks first, then the log
  $NS --dir "$WORK/$2" log --json | jq -r '[.id, (.payload.comment // "")] | @tsv' >"$WORK/log.$2"
  cut -f1 "$WORK/log.$2" | sort -u >"$WORK/present.$2"
  comm -23 "$WORK/acked.$1" "$WORK/present.$2" | wc -l
}

# A killed CLI batch: how many of its events are stored (0 or BATCH; else partial).
batch_stored() { grep -c -F $'\t'"$1.$2-" "$WORK/log.MDI" || true; }

kills_mdi=0 kills_hub=0 kills_cli=0 cli_done=0 cli_none=0 cli_all=0 cli_partial=0 verify_ok=0 verify_bad=0 missing_total=0
for ((round = 1; round <= ROUNDS; round++)); do
  sleep "$(printf '0.%03d' $((RANDOM % 451 + 50)))"
  victim=$((RANDOM % 3))
  case $victim in
  0) kill9 MDI; node=MDI what="MDI daemon"; kills_mdi=$((kills_mdi + 1)) ;;
  1) kill9 HUBNE; node=HUBNE what="HUBNE daemon"; kills_hub=$((kills_hub + 1)) ;;
  2)
    node=MDI what="MDI append CLI"
    for ((w = 0; w < 500; w++)); do [ -s "$WORK/MDI.cli.pid" ] && break; sleep 0.002; done
    read -r pid n <"$WORK/MDI.cli.pid" || pid=
    if [ -n "$pid" ] && grep -q nomsync "/proc/$pid/cmdline" 2>/dev/null; then
      sleep "0.00$((RANDOM % 10))"   # 0-9 ms in: start-up, parsing, signing or commit
      kill -KILL "$pid" 2>/dev/null || true
      killed_batch=$n
      kills_cli=$((kills_cli + 1))
    else
      killed_batch=
      what="MDI append CLI (none running)"
    fi
    ;;
  esac
  if $NS --dir "$WORK/$node" verify >"$WORK/verify.out" 2>&1; then
    verify_ok=$((verify_ok + 1))
  else
    verify_bad=$((verify_bad + 1))
    bad "round $round: verify of $node after killing the $what: $(cat "$WORK/verify.out")"
  fi
  missing=$(check_acked MDI MDI)
  missing_total=$((missing_total + missing))
  [ "$missing" -eq 0 ] || bad "round $round: $missing acknowledged MDI events missing after killing the $what"
  if [ $victim = 2 ] && [ -n "$killed_batch" ]; then
    for ((w = 0; w < 200; w++)); do [ -s "$WORK/ack/MDI.$killed_batch.rc" ] && break; sleep 0.01; done
    check_acked MDI MDI >/dev/null
    k=$(batch_stored MDI "$killed_batch")
    if [ "$(cat "$WORK/ack/MDI.$killed_batch.rc" 2>/dev/null)" != 137 ]; then
      kills_cli=$((kills_cli - 1)) cli_done=$((cli_done + 1)) what="MDI append CLI (it finished first)"
      [ "$k" -eq $BATCH ] || bad "round $round: completed batch MDI.$killed_batch has $k of $BATCH events"
    elif [ "$k" -eq 0 ]; then cli_none=$((cli_none + 1))
    elif [ "$k" -eq $BATCH ]; then cli_all=$((cli_all + 1))
    else cli_partial=$((cli_partial + 1)); bad "round $round: killed batch MDI.$killed_batch is partial: $k of $BATCH events stored"; fi
  fi
  echo "round $round: killed the $what; verify $([ -s "$WORK/verify.out" ] && head -c 60 "$WORK/verify.out"); $(wc -l <"$WORK/acked.MDI") acked ids present"
  [ $victim = 2 ] || start "$node"
done

# Stop the load, let everything converge.
touch "$WORK/stop"
wait $LOAD_MDI $LOAD_N55 2>/dev/null || true
for c in HUBNE MDI N55; do kill -0 "${PID[$c]}" 2>/dev/null || bad "$c daemon died on its own (see $c.log)"; done
tc=$SECONDS
if wait_converged 120 MDI N55 HUBNE; then ok "MDI, N55 and HUBNE converged after the load ($((SECONDS - tc)) s)"; else bad "MDI, N55 and HUBNE converged"; fi
for c in MDI N55 HUBNE; do
  $NS --dir "$WORK/$c" verify >"$WORK/verify.out" 2>&1 && ok "$c verifies at the end: $(cat "$WORK/verify.out")" ||
    bad "$c verify at the end: $(cat "$WORK/verify.out")"
done
for c in MDI N55 HUBNE; do
  expect_eq "$(check_acked MDI "$c")" 0 "every acknowledged MDI event ($(wc -l <"$WORK/acked.MDI")) is at $c"
  expect_eq "$(check_acked N55 "$c")" 0 "every acknowledged N55 event ($(wc -l <"$WORK/acked.N55")) is at $c"
done
d1=$($NS --dir "$WORK/MDI" digest); d2=$($NS --dir "$WORK/N55" digest); d3=$($NS --dir "$WORK/HUBNE" digest)
[ "$d1" = "$d2" ] && [ "$d2" = "$d3" ] && ok "digests equal: $d1" || bad "digests differ: $d1 $d2 $d3"

# CLI failures other than our kills are errors (a killed CLI exits 137).
other=$({ grep -L -x -e 0 -e 137 "$WORK"/ack/*.rc 2>/dev/null || true; } | wc -l)
expect_eq "$other" 0 "no append failed except the ones killed"
[ "$other" -eq 0 ] || for f in $(grep -L -x -e 0 -e 137 "$WORK"/ack/*.rc || true); do echo "  $(basename "$f" .rc): $(cat "${f%.rc}.err")"; done
expect_eq "$cli_partial" 0 "no killed batch is partially stored"
for c in MDI N55 HUBNE; do stop "$c" || bad "$c exit status on SIGTERM after the test"; done
# With a sanitizer build (NS_BIN=build-asan), any report from a daemon or a CLI is a failure.
if grep -l -E "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK"/*.log "$WORK"/ack/*.err >"$WORK/san" 2>/dev/null; then
  bad "sanitizer reports in: $(tr '\n' ' ' <"$WORK/san")"
  grep -h -m3 -E "AddressSanitizer|LeakSanitizer|runtime error:" $(cat "$WORK/san") | head -6
else
  ok "no sanitizer reports in daemon logs or CLI errors"
fi

events=$($NS --dir "$WORK/HUBNE" status --json | jq .events)
echo "crash: $ROUNDS rounds in $((SECONDS - t0)) s; kills: MDI daemon $kills_mdi, HUBNE daemon $kills_hub," \
  "append CLI $kills_cli (batch stored whole $cli_all, not at all $cli_none, partially $cli_partial; $cli_done finished before the signal);" \
  "verify passed $verify_ok/$ROUNDS; acknowledged ids missing $missing_total; $events events converged"
finish
