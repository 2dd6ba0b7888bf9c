#!/usr/bin/env bash
# Erasure that really erases, everywhere (issue 10, item 9). Four daemons
# (two prisons, probation, a hub) replicate a person with a distinctive
# surname; another prison may not erase the event; its origin erases it with
# `nomsync erase --reason` while its daemon runs; the signed event.erased
# replicates, every node erases its copy and compacts its store, and then no
# byte of the surname is left in any data.mdb, nor in a backup taken after
# (mdb_copy or cp). Before this, `nomsync erase` was local and left 3 copies
# of the surname in the erasing store's free pages and all of them elsewhere.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

SURNAME=QUIXOTEWORTHINGTON
copies() { { grep -ao "$SURNAME" "$1" || true; } | wc -l; }

mknode MDI prison; mknode LEI prison; mknode N55 probation; mknode HUBNE hub
write_roster
config HUBNE
config MDI HUBNE
config LEI HUBNE
config N55 HUBNE
for c in HUBNE MDI LEI N55; do start $c; done

$NS --dir "$WORK/MDI" append >"$WORK/ids" <<J
{"type":"person.created","offender":"A1234BC","occurred_at":"2024-01-01T09:00:00Z","surname":"$SURNAME","forenames":"JOHN","dob":"1980-01-01","gender":"M"}
{"type":"prisoner.received","offender":"A1234BC","occurred_at":"2024-01-01T15:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}
J
target=$(head -1 "$WORK/ids")
if wait_converged 60 HUBNE MDI LEI N55; then ok "four nodes converged"; else bad "four nodes converged"; fi
for c in HUBNE MDI LEI N55; do
  n=$(copies "$WORK/$c/data.mdb")
  [ "$n" -gt 0 ] && ok "$c holds the surname before the erasure ($n copies)" ||
    bad "$c holds the surname before the erasure"
done

expect_fail 1 "another prison may not erase MDI's event" \
  $NS --dir "$WORK/LEI" erase "$target" --reason DATA_PROTECTION_REQUEST
expect_fail 2 "erase needs a reason" $NS --dir "$WORK/MDI" erase "$target"
expect_fail 1 "a reason outside the list is refused" \
  $NS --dir "$WORK/MDI" erase "$target" --reason BECAUSE

# The origin erases it while its daemon has the store open.
$NS --dir "$WORK/MDI" erase "$target" --reason DATA_PROTECTION_REQUEST --requested-by DPO-2026-17 \
  >"$WORK/erase.out" 2>"$WORK/erase.err" && ok "MDI erases its event" || bad "MDI erases its event"
expect_grep "^erased payload of $target by event " "$WORK/erase.out" "erase names the erasure event"
expect_grep "nomsyncd does so by itself" "$WORK/erase.err" "compaction left to the running daemon"
if wait_converged 60 HUBNE MDI LEI N55; then ok "the erasure converged"; else bad "the erasure converged"; fi

# Every daemon compacts its store on its own once no other process has it open.
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
  left=0
  for c in HUBNE MDI LEI N55; do left=$((left + $(copies "$WORK/$c/data.mdb"))); done
  [ $left = 0 ] && break
  sleep 0.5
done
for c in HUBNE MDI LEI N55; do
  expect_eq "$(copies "$WORK/$c/data.mdb")" 0 "no copy of the surname left in $c's data.mdb"
  expect_grep "store compacted after an erasure" "$WORK/$c.log" "$c's daemon compacted its store"
  expect_eq "$($NS --dir "$WORK/$c" show A1234BC --json | { grep -c "$SURNAME" || true; })" 0 "$c's view has no surname"
  expect_eq "$($NS --dir "$WORK/$c" log --offender A1234BC --json | jq -r "select(.id == \"$target\") | .payload")" \
    null "$c holds the target without its payload"
  expect_eq "$($NS --dir "$WORK/$c" status --json | jq '.counters.erased')" 1 "$c counts one erasure"
done

# Backups taken after: mdb_copy (as is, free pages included) and cp.
for c in HUBNE MDI LEI N55; do
  mkdir "$WORK/bk-$c"
  mdb_copy "$WORK/$c" "$WORK/bk-$c" && cp "$WORK/$c/data.mdb" "$WORK/bk-$c/cp.mdb" || bad "backup of $c"
  expect_eq "$(copies "$WORK/bk-$c/data.mdb")" 0 "no copy of the surname in an mdb_copy backup of $c"
  expect_eq "$(copies "$WORK/bk-$c/cp.mdb")" 0 "no copy of the surname in a cp backup of $c"
done

# The stores keep working after their reopen.
echo '{"type":"alert.raised","offender":"A1234BC","occurred_at":"2026-02-01T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-01"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
if wait_converged 30 HUBNE MDI LEI N55; then ok "a later event converges"; else bad "a later event converges"; fi
for c in HUBNE MDI LEI N55; do
  if stop $c; then ok "$c exits 0 on SIGTERM"; else bad "$c exit status on SIGTERM"; fi
  $NS --dir "$WORK/$c" verify >/dev/null && ok "$c verifies" || bad "$c verify"
done
finish
