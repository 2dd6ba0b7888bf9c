#!/usr/bin/env bash
# Four real daemons on loopback: two prisons, a probation area and a regional
# hub. LEI talks only to the hub, MDI and N55 also talk directly. Events
# appended at every site reach every node (LEI receives N55's and MDI's events
# through the hub), all print the same digest, and a clean SIGTERM exits 0.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

mknode MDI prison; mknode LEI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE
config MDI HUBNE N55
config LEI HUBNE
config N55 HUBNE
config SHEFMC HUBNE
for c in HUBNE MDI LEI N55 SHEFMC; do start $c; done

$GEN --outdir "$WORK/gen" --offenders 40 --seed 11 --court SHEFMC --prisons MDI,LEI --probation N55 >/dev/null
for c in SHEFMC MDI LEI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
total=$(cat "$WORK"/gen/*.jsonl | wc -l)
if wait_converged 60 HUBNE MDI LEI N55 SHEFMC; then ok "five nodes converged on one digest"; else bad "five nodes converged"; fi
expect_eq "$(events_of LEI)" "$total" "LEI holds all $total events, relayed by the hub"
grep -q "N55" <($NS --dir "$WORK/LEI" vector | jq -r '.[].site') && ok "LEI has N55's origin without talking to N55" || bad "LEI has N55's origin"

# Live: one more event at MDI arrives everywhere.
echo '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-01T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-01"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
if wait_converged 20 HUBNE MDI LEI N55 SHEFMC; then ok "live event converged"; else bad "live event converged"; fi
expect_eq "$($NS --dir "$WORK/LEI" show A0003AD --json | jq -r '[.alerts[].alert_code] | index("XSA") != null')" "true" \
  "LEI's view shows MDI's new alert"
expect_eq "$($NS --dir "$WORK/N55" show A0003AD --json)" "$($NS --dir "$WORK/LEI" show A0003AD --json)" \
  "probation and prison views are byte-identical"

# Status from the daemon's status file.
st=$WORK/HUBNE/nomsyncd.status.json
sleep 1.2
expect_eq "$(jq '[.peers[] | select(.state == "live")] | length' "$st")" "4" "hub sees four live peers"
expect_eq "$(jq '[.peers[].behind_events] | add' "$st")" "0" "no peer is behind"
$NS --dir "$WORK/HUBNE" status >"$WORK/status.txt"
expect_grep "peers" "$WORK/status.txt" "nomsync status shows the daemon's peers"

for c in HUBNE MDI LEI N55 SHEFMC; do
  if stop $c; then ok "$c exits 0 on SIGTERM"; else bad "$c exit status on SIGTERM"; fi
done
expect_grep "signal 15" "$WORK/MDI.log" "log line for the signal"
expect_grep "^20[0-9-]*T[0-9:.]*Z INFO" "$WORK/MDI.log" "log lines carry timestamp and level"
$NS --dir "$WORK/LEI" verify >/dev/null && ok "LEI verifies after replication" || bad "LEI verify"
finish
