#!/usr/bin/env bash
# Golden digest: the fold's output pinned. nomsync-gen with a fixed seed,
# signed with keys derived from the site codes and recorded_at =
# occurred_at (tests/tools/ns-golden.c), ingested into four stores in
# different orders (in order, reversed one by one so every chain is held
# and drained, one deferred batch, a bundle): all four digests must agree
# and equal the digest recorded below.
#
# The digest was recorded from the code as it stood before the issue-9
# refactor (commit 602d043). If a change moves it, some view changed: that
# is a behaviour change, to be made on purpose, with the new digest and the
# reason in the commit that records it.
#
# Re-recorded for issue 11 (release dates): consecutive chains, HDCED, PED,
# LED, the working-day hints, the prison's calculation and each sentence's
# consecutive_to are new view keys and dates, and nomsync-gen's life courses
# now start in 2020 so that no generated event is ahead of the clock.
#
# Re-recorded for issue 11 (community sentences): the view gains
# `community`, a community sentence makes the legal status SENTENCED, and
# nomsync-gen gives one offender in five a community order or SSO with
# requirements, appointments, warnings and breaches (2157 events).
# Re-recorded for issue 11 (risk and tier, merged with the above): every
# view has `risk` {rosh, mappa, tier, tier_calculation}, and nomsync-gen
# writes tier calculations, RoSH and MAPPA registrations (2344 events).
# Re-recorded for issue 11 (sentence plan, merged with the above): every
# view gains `plan`, and nomsync-gen gives each custody course a plan
# started by the POM and continued by the COM after release (3431 events).
source "$(dirname "$0")/lib.bash"

GOLDEN_EVENTS=3431
GOLDEN_DIGEST=bbc3b2996b688d2619bbc30d933906eafcd7c968b5132f2e6effeb807ebdbd80

$GEN --outdir "$WORK/gen" --offenders 120 --seed 20261127 --court SHEFMC --prisons MDI,LEI,WDI \
  --probation N55 --conflicts >/dev/null
mkdir -p "$WORK/stores"
if "$NS_BIN/tests/ns-golden" "$WORK/stores" "$WORK/gen" MDI:prison LEI:prison WDI:prison N55:probation \
  SHEFMC:court >"$WORK/out" 2>"$WORK/err"; then
  ok "four stores fed in different orders agree ($(grep -c '^store' "$WORK/out") digests)"
else
  bad "ns-golden failed: $(cat "$WORK/err")"
fi
cat "$WORK/out"
expect_eq "$(sed -n 's/^events //p' "$WORK/out")" "$GOLDEN_EVENTS" "every generated event was signed and applied"
expect_eq "$(sed -n 's/^digest //p' "$WORK/out")" "$GOLDEN_DIGEST" "digest equals the recorded golden digest"
for s in a b c d; do
  expect_grep "store $s: [0-9]* persons, $GOLDEN_EVENTS events" "$WORK/out" "store $s holds every event"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
