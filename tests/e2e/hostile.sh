#!/usr/bin/env bash
# A roster member turned hostile, with real daemons (issue 10, items 5 and
# 11): it floods a node with Events far beyond the credit and batch size it
# was granted (memory must stay bounded, the flood be refused and counted,
# one log line per refused batch, honest peers keep replicating); it sends
# Hellos with fresh session ids to make a node resend its log again and
# again (resends are rate-limited and refused Hellos counted); and it claims
# to hold more of a restored site's own events than exist, to keep the
# site's appends on hold (an unbacked claim is ignored after a timeout).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
INJ=${NS_BIN}/tests/ns-inject

mknode MDI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE; config MDI HUBNE; config N55 HUBNE
for c in HUBNE MDI N55; do start $c; done
$GEN --outdir "$WORK/gen" --offenders 200 --seed 5 --court SHEFMC --prisons MDI --probation N55 >/dev/null
for c in MDI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
wait_converged 60 HUBNE MDI N55 && ok "three nodes converged" || bad "three nodes converged"
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# 1. Flood: 100 Events messages of 4,000 badly signed events each, sent at once.
before=$(hwm_kb "${PID[HUBNE]}")
lines_before=$(wc -l <"$WORK/HUBNE.log")
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[HUBNE]}" --server HUBNE \
  --flood 100 4000 --wait 8000 >"$WORK/flood.out" &
inj=$!
sleep 1
echo '{"type":"alert.raised","offender":"A0002AC","occurred_at":"2026-02-01T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-01"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
mdi_seq=$($NS --dir "$WORK/MDI" vector | jq '[.[] | select(.site == "MDI")][0].seq')
deadline=$((SECONDS + 20)); got=0
while [ $SECONDS -lt $deadline ]; do
  got=$($NS --dir "$WORK/N55" vector | jq '[.[] | select(.site == "MDI")][0].seq')
  [ "$got" = "$mdi_seq" ] && break
  sleep 0.3
done
wait $inj
sleep 2
peak=$(hwm_kb "${PID[HUBNE]}")
lines=$(( $(wc -l <"$WORK/HUBNE.log") - lines_before ))
echo "  hub VmHWM ${before} kB -> ${peak} kB, VmRSS now $(rss_kb "${PID[HUBNE]}") kB; $lines log lines; $(head -1 "$WORK/flood.out")"
echo "  counters: $($NS --dir "$WORK/HUBNE" status --json | jq -c '.counters')"
expect_eq "$got" "$mdi_seq" "N55 receives MDI's new event through the hub during the flood"
kill -0 "${PID[HUBNE]}" && ok "hub still running" || bad "hub died"
# ASan's shadow memory and quarantine multiply what a process holds (the
# bounded hub peaked at 394 MB under ASan); the bound is the normal build's.
limit_mb=150
grep -qs '^NS_SANITIZE:BOOL=ON' "$NS_BIN/CMakeCache.txt" && limit_mb=600
[ "$peak" -lt $((limit_mb * 1024)) ] && ok "hub's peak RSS stays under $limit_mb MB (${peak} kB)" ||
  bad "hub's peak RSS ${peak} kB (limit $limit_mb MB)"
[ "$lines" -lt 500 ] && ok "at most a few hundred log lines ($lines)" || bad "$lines log lines for the flood"

# 2. Within the batch size but beyond the credit: 200 batches of 256, never waiting for an Ack.
lines_before=$(wc -l <"$WORK/N55.log")
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 \
  --flood 200 256 --wait 3000 >"$WORK/credit.out"
sleep 1
lines=$(( $(wc -l <"$WORK/N55.log") - lines_before ))
echo "  N55: $lines log lines; $(counter N55 rejected.signature) events refused; VmHWM $(hwm_kb "${PID[N55]}") kB"
expect_eq "$(counter N55 rejected.credit)" "1" "N55 counts the peer that exceeds its credit"
expect_grep "beyond its credit" "$WORK/N55.log" "the credit breach is logged"
[ "$(counter N55 rejected.signature)" -le $((2 * 32 * 256)) ] && ok "at most two windows of its batches are taken" ||
  bad "$(counter N55 rejected.signature) events taken from the flood"
[ "$lines" -le 80 ] && ok "one log line per refused batch ($lines)" || bad "$lines log lines for 64 batches"

# 3. Hellos with fresh session ids, each asking for everything again.
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[MDI]}" --server MDI \
  --hello-flood 50 --wait 3000 >"$WORK/hellos.out"
echo "  $(tr '\n' ' ' <"$WORK/hellos.out")"
got=$(grep '^events' "$WORK/hellos.out" | cut -d' ' -f2)
[ "$got" -le 2048 ] && ok "one resend for 50 new sessions ($got events sent back)" || bad "$got events resent for 50 Hellos"
sleep 1.5
expect_eq "$(counter MDI rejected.hello)" "49" "the 49 refused Hellos are counted"

# 4. A restored MDI on hold; a roster member claims MDI's own origin is 1000 events ahead.
stop MDI
$NS --dir "$WORK/MDI" hold >/dev/null
echo "claim_timeout = 3" >"$WORK/extra"
sed -i "/^\[peers\]/e cat $WORK/extra" "$WORK/MDI.conf"
start MDI
seq=$($NS --dir "$WORK/MDI" vector | jq '[.[] | select(.site == "MDI")][0].seq')
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[MDI]}" --server MDI \
  --claim $((seq + 1000)) --wait 12000 >"$WORK/claim.out" &
inj=$!
deadline=$((SECONDS + 10)); held=true
while [ $SECONDS -lt $deadline ]; do
  held=$(jq -r .appends_held "$WORK/MDI/nomsyncd.status.json" 2>/dev/null || echo true)
  [ "$held" = false ] && break
  sleep 0.5
done
kill -0 $inj 2>/dev/null && ok "the claimant is still connected" || bad "the claimant left early"
expect_eq "$held" "false" "MDI releases its hold despite the unbacked claim"
expect_eq "$(counter MDI rejected.claim)" "1" "the unbacked claim is counted"
expect_grep "claim ignored" "$WORK/MDI.log" "and logged"
wait $inj

finish
