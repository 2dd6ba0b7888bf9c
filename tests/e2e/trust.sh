#!/usr/bin/env bash
# Trust and transport security with real daemons: a node whose key is not in
# the roster cannot connect; an event of a type its origin's role may not
# emit is refused at every node; forged signatures are refused; garbage and
# oversized frames are dropped and the nodes keep replicating; an origin that
# equivocates (a store restored from a copy signing a different event with
# the same sequence number) is quarantined at every node.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
INJ=${NS_BIN}/tests/ns-inject

mknode MDI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE; config MDI HUBNE; config N55 HUBNE
for c in HUBNE MDI N55; do start $c; done
$GEN --outdir "$WORK/gen" --offenders 10 --seed 5 --court SHEFMC --prisons MDI --probation N55 >/dev/null
for c in MDI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
wait_converged 30 HUBNE MDI N55 && ok "three nodes converged" || bad "three nodes converged"
ref=$($NS --dir "$WORK/HUBNE" digest)
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }

# 1. A prison whose key is not in the roster.
mknode WDI prison
roster_line="WDI prison - $($NS --dir "$WORK/WDI" id | cut -d' ' -f3)"
{ cat "$WORK/roster"; echo "$roster_line"; } >"$WORK/rogue-roster"
ROSTER="$WORK/rogue-roster" config WDI HUBNE
echo '{"type":"prisoner.received","offender":"A9999ZZ","occurred_at":"2026-01-05T09:00:00Z","prison":"WDI","reason":"NEW_ADMISSION"}' |
  $NS --dir "$WORK/WDI" append >/dev/null
start WDI
sleep 3
expect_grep "refused connection" "$WORK/HUBNE.log" "hub refuses the unlisted key (ZAP)"
expect_eq "$($NS --dir "$WORK/HUBNE" vector | jq '[.[] | select(.site == "WDI")] | length')" "0" "no WDI event reached the hub"
expect_eq "$(jq '.connections_refused > 0' "$WORK/HUBNE/nomsyncd.status.json")" "true" "refusals are counted in status"
expect_eq "$(jq -r '.peers[0].state' "$WORK/WDI/nomsyncd.status.json")" "down" "the rogue never sees the hub up"
stop WDI

# 2. A court signing a prison reception: refused at every node.
for c in HUBNE MDI N55; do
  $INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[$c]}" --server $c \
    --forbidden prisoner.received '{"offender":"A0001AB","occurred_at":"2026-03-01T09:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}' >"$WORK/inj.$c"
done
sleep 1
for c in HUBNE MDI N55; do
  expect_eq "$(counter $c rejected.role)" "1" "$c refuses the forbidden event type"
  expect_eq "$($NS --dir "$WORK/$c" vector | jq '[.[] | select(.site == "SHEFMC")] | length')" "0" "$c holds nothing from the court"
done
expect_grep "acks 1" "$WORK/inj.HUBNE" "the batch is acknowledged (connection survives)"

# 3. Forged signatures on real events.
$NS --dir "$WORK/MDI" export >"$WORK/mdi.bundle" 2>/dev/null
n=$($INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 --bundle "$WORK/mdi.bundle" --forge | head -1 | cut -d' ' -f2)
sleep 1
expect_eq "$(counter N55 rejected.signature)" "$n" "N55 refuses all $n forged events"
expect_grep "signature does not verify" "$WORK/N55.log" "forgery logged with its reason"
expect_eq "$($NS --dir "$WORK/N55" digest)" "$ref" "N55's views unchanged by forgeries"

# 4. Garbage and an oversized frame: dropped, nodes keep working.
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[HUBNE]}" --server HUBNE --garbage >/dev/null
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[HUBNE]}" --server HUBNE --oversize --wait 500 >/dev/null
sleep 1
expect_grep "malformed" "$WORK/HUBNE.log" "malformed frames logged"
kill -0 "${PID[HUBNE]}" && ok "hub still running" || bad "hub died"
echo '{"type":"alert.raised","offender":"A0002AC","occurred_at":"2026-02-01T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-01"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
wait_converged 20 HUBNE MDI N55 && ok "replication continues after bad frames" || bad "replication after bad frames"

# 5. Equivocation: a copy of MDI's store signs a different event with the same seq.
mkdir "$WORK/MDICOPY"
mdb_copy "$WORK/MDI" "$WORK/MDICOPY"
cp "$WORK/MDI/site.key" "$WORK/MDICOPY/"
echo '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-02T10:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-02-02"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
echo '{"type":"alert.raised","offender":"A0004AE","occurred_at":"2026-02-02T10:00:00Z","alert_type":"R","alert_code":"RSP","from_date":"2026-02-02"}' |
  $NS --dir "$WORK/MDICOPY" append >/dev/null
wait_converged 20 HUBNE MDI N55 || true
$NS --dir "$WORK/MDICOPY" export >"$WORK/copy.bundle" 2>/dev/null
$NS --dir "$WORK/N55" import "$WORK/copy.bundle" --config "$WORK/N55.conf" >"$WORK/imp.txt"
expect_grep "1 rejected" "$WORK/imp.txt" "N55 refuses the equivocating event"
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ]; do
  all=1
  for c in HUBNE MDI N55; do
    q=$($NS --dir "$WORK/$c" vector | jq -r '[.[] | select(.site == "MDI")][0].quarantined')
    [ "$q" = true ] || all=0
  done
  [ $all = 1 ] && break
  sleep 0.3
done
for c in HUBNE MDI N55; do
  expect_eq "$($NS --dir "$WORK/$c" vector | jq -r '[.[] | select(.site == "MDI")][0].quarantined')" "true" "MDI quarantined at $c"
  expect_eq "$(counter $c equivocations)" "1" "$c holds the equivocation proof"
done
echo '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-03T10:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-02-03"}' >"$WORK/after.json"
expect_fail 1 "the quarantined site can no longer append" $NS --dir "$WORK/MDI" append "$WORK/after.json"
expect_grep "quarantined" "$WORK/err" "the refusal says why"

for c in HUBNE MDI N55; do stop $c || bad "$c exit status"; done
finish
