#!/usr/bin/env bash
# Chain-tip verification against a rogue relay, with real daemons (issue 13,
# part 1). MDI's events reach N55 first from SHEFMC, a roster member turned
# relay that keeps every header and chain link but puts garbage in place of
# the signatures of every event of a batch but its last (the run's tip,
# whose signature authenticates the headers, not the other signatures). N55
# stores them (headers authentic) but must not relay them to the hub or
# export them; its background check finds the garbage, names SHEFMC, and
# does not quarantine MDI; once MDI comes up, N55 gets valid copies from the
# hub and replaces them. At the end every node holds only valid signatures.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
INJ=${NS_BIN}/tests/ns-inject
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }
sig() { jq -r ".signatures.$2 // 0" "$WORK/$1/nomsyncd.status.json" 2>/dev/null || echo 0; }
seq_of() { $NS --dir "$WORK/$1" vector | jq -r "[.[] | select(.site == \"$2\")][0].seq // 0"; }
quarantined() { $NS --dir "$WORK/$1" vector | jq -r '[.[] | select(.quarantined)] | length'; }
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 0.3; done
  return 1
}

mknode MDI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE; config MDI HUBNE; config N55 HUBNE
$GEN --outdir "$WORK/gen" --offenders 60 --seed 13 --court SHEFMC --prisons MDI --probation N55 >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
nMDI=$(seq_of MDI MDI)
$NS --dir "$WORK/MDI" export >"$WORK/mdi.bundle" 2>/dev/null
for c in HUBNE N55; do start $c; done   # MDI stays down for now

# 1. The rogue relay delivers MDI's chain to N55 with substituted signatures.
$INJ --dir "$WORK/SHEFMC" --roster "$WORK/roster" --to "tcp://127.0.0.1:${PORT[N55]}" --server N55 \
  --substitute "$WORK/mdi.bundle" --wait 1000 >"$WORK/inject.out"
nbad=$(sed -n 's/^substituted \([0-9]*\) of.*/\1/p' "$WORK/inject.out")
echo "  $(head -1 "$WORK/inject.out"); MDI holds $nMDI events"
[ "${nbad:-0}" -gt 0 ] && ok "the relay substituted $nbad signatures" || bad "nothing substituted"
checked() { [ "$(sig N55 pending)" = 0 ] && [ "$(sig N55 bad)" -gt 0 ]; }
wait_for 120 checked && ok "N55's background checks ran" || bad "N55's background checks: pending $(sig N55 pending), bad $(sig N55 bad)"
expect_eq "$(seq_of N55 MDI)" "$nMDI" "N55 stores MDI's chain (headers authentic by each run's tip)"
expect_eq "$(sig N55 bad)" "$nbad" "every substituted signature is found bad"
expect_eq "$(counter N55 sig.bad.SHEFMC)" "$nbad" "and counted against the relay that supplied it"
expect_grep "the copy SHEFMC sent has a bad signature" "$WORK/N55.log" "the log names the relay"
expect_eq "$(quarantined N55)" "0" "MDI is not quarantined at N55"
expect_eq "$(counter N55 equivocations)" "0" "no equivocation recorded"
sleep 2   # time for N55 to relay whatever it would
expect_eq "$(seq_of HUBNE MDI)" "0" "N55 relays none of MDI's events to the hub (seq 1 is bad)"
$NS --dir "$WORK/N55" export >"$WORK/n55.bundle" 2>"$WORK/export.err"
expect_grep "exported 0 events" "$WORK/export.err" "N55 exports none of them"

# 2. MDI comes up: the hub gets the genuine chain, N55 pulls valid copies and replaces the bad ones.
start MDI
replaced() { [ "$(sig N55 bad)" = 0 ] && [ "$(sig N55 replaced)" = "$nbad" ]; }
wait_for 180 replaced && ok "N55 replaced all $nbad bad copies with valid ones from the hub" ||
  bad "replacement: bad $(sig N55 bad), replaced $(sig N55 replaced)"
wait_converged 180 HUBNE MDI N55 && ok "the three nodes converge" || bad "the three nodes converge"
for c in HUBNE MDI N55; do
  $NS --dir "$WORK/$c" verify >"$WORK/verify.$c" 2>&1 && ok "$c verifies every signature" || bad "$c verify: $(cat "$WORK/verify.$c")"
  grep -q "await the background check" "$WORK/verify.$c" && bad "$c still has unchecked signatures" || ok "$c has no unchecked signature"
  expect_eq "$(quarantined $c)" "0" "no origin quarantined at $c"
  expect_eq "$(counter $c sig.bad)" "$([ $c = N55 ] && echo "$nbad" || echo 0)" "$c found bad signatures only where the relay sent them"
done
expect_eq "$(counter N55 sig.replaced)" "$nbad" "N55 counts the replacements"
finish
