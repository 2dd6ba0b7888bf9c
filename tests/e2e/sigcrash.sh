#!/usr/bin/env bash
# kill -9 during background signature checks (issue 13, part 1): N55 catches
# up MDI's chain, one signature checked per run, the others left to small
# background steps (sigcheck_step = 1, so that the checks take a while). N55
# is killed mid-way; the unchecked set is durable, so after the restart the
# checks resume where they stopped and finish, nothing is lost, and N55
# then verifies every signature and relays MDI's events on.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }
sig() { jq -r ".signatures.$2 // 0" "$WORK/$1/nomsyncd.status.json" 2>/dev/null || echo 0; }
seq_of() { $NS --dir "$WORK/$1" vector | jq -r "[.[] | select(.site == \"$2\")][0].seq // 0"; }
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 0.2; done
  return 1
}

mknode MDI prison; mknode N55 probation; mknode HUBNE hub
write_roster
config MDI; config N55 MDI; config HUBNE N55
echo "sigcheck_step = 1" >"$WORK/extra"
sed -i "/^\[peers\]/e cat $WORK/extra" "$WORK/N55.conf"
$GEN --outdir "$WORK/gen" --offenders 400 --seed 21 --prisons MDI --probation N55 >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
nMDI=$(seq_of MDI MDI)
start MDI; start N55

caught_up() { [ "$(seq_of N55 MDI)" = "$nMDI" ] && [ "$(sig N55 pending)" -gt 0 ]; }
wait_for 60 caught_up && ok "N55 holds MDI's $nMDI events, $(sig N55 pending) signatures awaiting their check" ||
  bad "catch-up: N55 holds $(seq_of N55 MDI) of $nMDI, pending $(sig N55 pending)"
kill9 N55
covered=$(counter N55 sig.covered)
$NS --dir "$WORK/N55" verify >"$WORK/verify1" 2>&1 && ok "N55's store verifies after kill -9" || bad "verify after kill -9: $(cat "$WORK/verify1")"
left=$(sed -n 's/^note: \([0-9]*\) events await the background check.*/\1/p' "$WORK/verify1")
echo "  killed with ${left:-0} of $covered covered signatures unchecked ($(counter N55 sig.background) checked)"
[ "${left:-0}" -gt 0 ] && [ "${left:-0}" -lt "$covered" ] && ok "killed during the background checks" ||
  bad "not killed mid-way: ${left:-0} of $covered unchecked"
expect_eq "$(seq_of N55 MDI)" "$nMDI" "nothing lost"

start N55; start HUBNE
done_checks() { [ "$(sig N55 pending)" = 0 ] && [ "$(counter N55 sig.background)" = "$covered" ]; }
wait_for 120 done_checks && ok "the checks resume after the restart and finish" ||
  bad "checks after restart: pending $(sig N55 pending), background $(counter N55 sig.background) of $covered"
expect_grep "signatures await their background check" "$WORK/N55.log" "the restart logs the checks left"
expect_eq "$(counter N55 sig.bad)" "0" "no bad signature found"
$NS --dir "$WORK/N55" verify >"$WORK/verify2" 2>&1 && ok "N55 verifies every signature" || bad "verify: $(cat "$WORK/verify2")"
grep -q "await the background check" "$WORK/verify2" && bad "unchecked signatures remain" || ok "none left unchecked"
wait_converged 60 MDI N55 HUBNE && ok "N55 relays MDI's events on to the hub" || bad "MDI N55 HUBNE converge"
finish
