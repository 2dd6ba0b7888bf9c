#!/usr/bin/env bash
# Trust hardening (issue 10), attacked with real daemons by a roster member
# (the court SHEFMC's key, through tests/tools/ns-inject):
#  1. it relays a prison's events without their payloads before the genuine
#     copies reach a node: the node holds them as incomplete (not as empty),
#     pulls the payloads by id once a peer has them, and converges;
#  4. it parks tens of thousands of events at seqs that never fill: refused
#     beyond the held window, capped in bytes within it, counted, and the
#     store stays small.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
INJ=${NS_BIN}/tests/ns-inject

mknode MDI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE MDI N55; config MDI HUBNE; config N55 HUBNE
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }
dstatus() { jq -r ".$2" "$WORK/$1/nomsyncd.status.json"; }

# 1. Stripped payloads. MDI records a reception while the hub is down; the
# court relays it to N55 without payloads first.
$GEN --outdir "$WORK/gen" --offenders 3 --seed 7 --court SHEFMC --prisons MDI --probation N55 >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
$NS --dir "$WORK/MDI" export >"$WORK/mdi.bundle" 2>/dev/null
nmdi=$($NS --dir "$WORK/MDI" vector | jq '[.[] | select(.site == "MDI")][0].seq')
start N55
sleep 1
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 \
  --strip "$WORK/mdi.bundle" >"$WORK/inj.strip"
expect_grep "sent $nmdi events without their payloads" "$WORK/inj.strip" "the court relays MDI's $nmdi events stripped"
sleep 2
expect_eq "$($NS --dir "$WORK/N55" vector | jq '[.[] | select(.site == "MDI")][0].seq')" "$nmdi" \
  "N55 takes the stripped events into MDI's chain (later seqs are not held)"
expect_eq "$(dstatus N55 events_incomplete)" "$nmdi" "N55 counts them incomplete (status)"
ref=$(head -1 "$WORK/gen/MDI.jsonl" | jq -r .offender)
view=$($NS --dir "$WORK/N55" show --json "$ref")
expect_eq "$(jq '.incomplete | length' <<<"$view")" "$(grep -c "\"$ref\"" "$WORK/gen/MDI.jsonl")" \
  "N55's view of $ref lists its incomplete events instead of folding them as empty"
$NS --dir "$WORK/N55" verify >/dev/null && ok "verify accepts incomplete events" || bad "verify accepts incomplete events"
start HUBNE; start MDI
if wait_converged 40 HUBNE MDI N55; then ok "the genuine copies complete N55's events: all converge"; else bad "convergence after stripping"; fi
sleep 1.5
expect_eq "$(dstatus N55 events_incomplete)" "0" "nothing incomplete left at N55"
expect_eq "$(counter N55 completed)" "$nmdi" "N55 completed $nmdi events"
expect_grep "came without their payload; pulling it" "$WORK/N55.log" "N55 pulls the payloads"

# 4. Parked events. Beyond the window (100000 past the contiguous seq): all refused.
before=$(du -k "$WORK/N55/data.mdb" | cut -f1)
park='{"offender":"A0001AB","occurred_at":"2026-03-01T09:00:00Z","court":"SHEFMC","remand_date":"2026-02-01"}'
t0=$(date +%s.%N)
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 \
  --park 40000 1000000 court.remanded "$park" --wait 3000 >"$WORK/inj.park"
t1=$(date +%s.%N)
expect_grep "parked 40000 events" "$WORK/inj.park" "the court parks 40000 events at far seqs ($(echo "$t1 - $t0" | bc) s)"
sleep 1
expect_eq "$(counter N55 rejected.held_window)" "40000" "N55 refuses all 40000 beyond the held window"
after=$(du -k "$WORK/N55/data.mdb" | cut -f1)
expect_eq "$([ "$after" -le $((before + 1024)) ] && echo bounded)" "bounded" "N55's store stays bounded (${before} KiB -> ${after} KiB)"
expect_eq "$(dstatus N55 events_held)" "0" "nothing held"

# Within the window: capped by held_bytes (here 256K) and counted.
stop N55
sed -i "/^\[peers\]/i held_bytes = 256K" "$WORK/N55.conf"
start N55
sleep 1
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 \
  --park 5000 10 court.remanded "$park" --wait 3000 >"$WORK/inj.park2"
sleep 1.5
held=$(dstatus N55 events_held); hbytes=$(dstatus N55 held_bytes); full=$(counter N55 rejected.held_full)
expect_eq "$([ "$hbytes" -le 262144 ] && [ "$held" -gt 0 ] && echo capped)" "capped" \
  "N55 holds $held events ($hbytes bytes) within held_bytes = 256K"
expect_eq "$((held + full))" "5000" "the other $full are refused and counted (rejected.held_full)"
expect_eq "$($NS --dir "$WORK/N55" digest)" "$($NS --dir "$WORK/HUBNE" digest)" "N55's views are untouched by the parked events"
finish
