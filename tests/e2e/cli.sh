#!/usr/bin/env bash
# End to end: the nomsync CLI on five stores (two prisons, probation, court,
# hub) exchanging bundles in different orders; every node converges to the
# same digest; conflicts are flagged; tampering is caught; bad input is
# refused with a clear error and nothing written. There is no roster here:
# every import says --no-roster (an import without it, or --config, is a
# usage error); a bundle of format 1, written before trailers were sealed,
# still imports.
source "$(dirname "$0")/lib.bash"

sites="SHEFMC:court MDI:prison LEI:prison N55:probation HUBNE:hub"
for s in $sites; do
  code=${s%%:*} role=${s##*:}
  $NS --dir "$WORK/$code" init --site "$code" --role "$role"
done
ok "init five stores"
id=$($NS --dir "$WORK/MDI" id)
expect_grep "^MDI prison [0-9a-f]\{64\}$" <(echo "$id") "id prints site, role and key"

$GEN --outdir "$WORK/gen" --offenders 25 --seed 7 --court SHEFMC --prisons MDI,LEI --probation N55 --conflicts >"$WORK/gen.txt"
for code in SHEFMC MDI LEI N55; do
  n=$(wc -l <"$WORK/gen/$code.jsonl")
  $NS --dir "$WORK/$code" append "$WORK/gen/$code.jsonl" >"$WORK/ids.$code"
  expect_eq "$(wc -l <"$WORK/ids.$code")" "$n" "append $n events at $code prints $n ids"
  expect_eq "$(grep -cv '^[0-9a-f]\{64\}$' "$WORK/ids.$code" || true)" 0 "ids at $code are 64-hex"
done

# Every site exports everything it holds.
for code in SHEFMC MDI LEI N55; do
  $NS --dir "$WORK/$code" export >"$WORK/$code.bundle" 2>/dev/null
done
# The hub imports in one order; every site imports the others' bundles in reverse order.
for code in SHEFMC MDI LEI N55; do $NS --dir "$WORK/HUBNE" import "$WORK/$code.bundle" --no-roster >/dev/null 2>&1; done
for code in SHEFMC MDI LEI N55; do
  for other in N55 LEI MDI SHEFMC; do
    [ "$other" = "$code" ] || $NS --dir "$WORK/$code" import "$WORK/$other.bundle" --no-roster >/dev/null 2>&1
  done
done
ref=$($NS --dir "$WORK/HUBNE" digest)
for code in SHEFMC MDI LEI N55; do
  expect_eq "$($NS --dir "$WORK/$code" digest)" "$ref" "digest at $code equals the hub's"
done
expect_eq "$($NS --dir "$WORK/MDI" digest A0000AA)" "$($NS --dir "$WORK/N55" digest A0000AA)" "one person's digest agrees"

# Either identifier finds the same person.
$NS --dir "$WORK/HUBNE" show A0001AB --json >"$WORK/v1.json"
crn=$(jq -r .crn "$WORK/v1.json")
$NS --dir "$WORK/HUBNE" show "$crn" --json >"$WORK/v2.json"
expect_eq "$(cat "$WORK/v1.json")" "$(cat "$WORK/v2.json")" "NOMS and CRN ($crn) show the same view"
expect_eq "$(jq -r .noms "$WORK/v1.json")" "A0001AB" "view carries the NOMS number"
expect_eq "$(jq -r .managers.com.region "$WORK/v1.json")" "N55" "probation's COM is in the prison's view"
expect_eq "$(jq -r '.sentences | length' "$WORK/v1.json")" "1" "court's sentence is in the view"
expect_eq "$(jq -r '.dates.crd != null' "$WORK/v1.json")" "true" "release dates computed"

# The double reception of A0000AA at MDI and LEI is a conflict, not a silent winner.
$NS --dir "$WORK/N55" show A0000AA --json >"$WORK/c.json"
expect_eq "$(jq -r '[.conflicts[].rule] | index("RECEIVED_WHILE_IN_CUSTODY") != null' "$WORK/c.json")" "true" \
  "double reception flagged as a conflict"
expect_eq "$(jq -r '.conflicts[0].events | length' "$WORK/c.json")" "2" "conflict names both events"
$NS --dir "$WORK/N55" show A0000AA >"$WORK/c.txt"
expect_grep "CONFLICT" "$WORK/c.txt" "human view shows the conflict"

# log, vector, status
$NS --dir "$WORK/HUBNE" log --offender A0001AB --json >"$WORK/log.json"
expect_eq "$(jq -s 'length' "$WORK/log.json")" "$(jq -r .event_count "$WORK/v1.json")" "log --offender lists every event of the person"
expect_eq "$(jq -s '[.[].occurred_at] == ([.[].occurred_at] | sort)' "$WORK/log.json")" "true" "person's log is in fold order"
$NS --dir "$WORK/HUBNE" vector >"$WORK/vv.json"
expect_eq "$(jq 'length' "$WORK/vv.json")" "4" "hub's vector has four origins"
$NS --dir "$WORK/HUBNE" status >"$WORK/status.txt"
expect_grep "ingested" "$WORK/status.txt" "status shows counters"

# export --since: a bundle of only what the holder lacks.
$NS --dir "$WORK/MDI" vector >"$WORK/mdi.vv"
$NS --dir "$WORK/MDI" append <<'J' >/dev/null
{"type":"alert.raised","offender":"A0001AB","occurred_at":"2026-01-05T09:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-01-05"}
J
$NS --dir "$WORK/MDI" export --since "$WORK/mdi.vv" >"$WORK/delta.bundle" 2>"$WORK/delta.err"
expect_grep "exported 1 events" "$WORK/delta.err" "export --since holds only the new event"
$NS --dir "$WORK/N55" import "$WORK/delta.bundle" --no-roster >"$WORK/imp.txt" 2>/dev/null
expect_grep "1 applied" "$WORK/imp.txt" "delta applies"
expect_grep "^exported by MDI (self-declared, not checked against a roster; key [0-9a-f]\{64\}) on 20" "$WORK/imp.txt" \
  "the exporter is named as the bundle declares it, with its key"
$NS --dir "$WORK/N55" import "$WORK/delta.bundle" --no-roster >"$WORK/imp.txt" 2>/dev/null
expect_grep "1 duplicate" "$WORK/imp.txt" "import is idempotent"

# verify, then one byte changed on disk is found.
$NS --dir "$WORK/LEI" verify >"$WORK/verify.txt"
expect_grep "^ok:" "$WORK/verify.txt" "verify passes on a clean store"
# A compacted copy holds no stale pages, so the byte flipped is live data.
mkdir "$WORK/LEI-tampered"
mdb_copy -c "$WORK/LEI" "$WORK/LEI-tampered"
cp "$WORK/LEI/site.key" "$WORK/LEI-tampered/"
$NS --dir "$WORK/LEI-tampered" verify >/dev/null && ok "compacted copy verifies" || bad "compacted copy verifies"
sur=$(jq -r .name.surname "$WORK/v1.json")
flip_byte "$WORK/LEI-tampered/data.mdb" "$sur"
expect_fail 1 "verify finds a changed byte" $NS --dir "$WORK/LEI-tampered" verify

# Bad input: clear errors, nothing written.
before=$($NS --dir "$WORK/MDI" digest)
vv_before=$($NS --dir "$WORK/MDI" vector)
printf '%s\n' '{"type":"prisoner.received","offender":"A1234BC","occurred_at":"2026-01-05T09:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}' \
  '{"type":"prisoner.received","offender":"A1234BC","occurred_at":"2026-01-05T09:00:00Z","prison":"ZZZ","reason":"NEW_ADMISSION"}' >"$WORK/bad1"
expect_fail 1 "unknown prison code refused" $NS --dir "$WORK/MDI" append "$WORK/bad1"
expect_grep "line 2" "$WORK/err" "error names the line"
expect_grep "prison" "$WORK/err" "error names the field"
echo '{"type":"prisoner.received","offender":"A1234B","occurred_at":"2026-01-05T09:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}' >"$WORK/bad2"
expect_fail 1 "malformed NOMS number refused" $NS --dir "$WORK/MDI" append "$WORK/bad2"
expect_grep "offender" "$WORK/err" "error names the offender field"
echo '{"type":"manager.com.allocated","offender":"A1234BC","occurred_at":"2026-01-05T09:00:00Z","region":"N07","staff":"S1"}' >"$WORK/bad3"
expect_fail 1 "prison may not allocate a COM" $NS --dir "$WORK/MDI" append "$WORK/bad3"
expect_grep "may not" "$WORK/err" "role rule is named"
echo '{"type":"prisoner.received","offender":"A1234BC",' >"$WORK/bad4"
expect_fail 1 "JSON syntax error refused" $NS --dir "$WORK/MDI" append "$WORK/bad4"
echo '{"type":"prisoner.received","offender":"A1234BC","occurred_at":"yesterday","prison":"MDI","reason":"NEW_ADMISSION"}' >"$WORK/bad5"
expect_fail 1 "bad occurred_at refused" $NS --dir "$WORK/MDI" append "$WORK/bad5"
echo '{"type":"prisoner.received","offender":"A1234BC","occurred_at":"2026-01-05T09:00:00Z","prison":"MDI","reason":"NEW_ADMISSION","cell":"A-1-002"}' >"$WORK/bad6"
expect_fail 1 "unknown field refused" $NS --dir "$WORK/MDI" append "$WORK/bad6"
expect_grep "cell" "$WORK/err" "unknown field is named"
echo '{"type":"person.created","offender":"A1234BC","occurred_at":"2026-01-05T09:00:00Z","surname":"X","forenames":"Y","dob":"1990-01-01","pnc":"2012/0052494R"}' >"$WORK/bad7"
expect_fail 1 "PNC with a wrong check letter refused" $NS --dir "$WORK/MDI" append "$WORK/bad7"
expect_grep "pnc" "$WORK/err" "PNC field is named"
# A business time more than 5 minutes ahead of this node's clock (issue 11, item 6).
ahead=$(date -u -d '+10 minutes' +%Y-%m-%dT%H:%M:%SZ)
echo "{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"$ahead\",\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}" >"$WORK/bad8"
expect_fail 1 "occurred_at ahead of the clock refused" $NS --dir "$WORK/MDI" append "$WORK/bad8"
expect_grep "occurred_at" "$WORK/err" "the occurred_at field is named"
expect_grep "ahead of this node's clock" "$WORK/err" "the error says why"
expect_eq "$($NS --dir "$WORK/MDI" digest)" "$before" "nothing was written by refused appends"
expect_eq "$($NS --dir "$WORK/MDI" vector)" "$vv_before" "version vector unchanged"

# Corrupt and truncated bundles: refused, nothing applied.
cp "$WORK/MDI.bundle" "$WORK/trunc.bundle"
truncate -s -7 "$WORK/trunc.bundle"
expect_fail 1 "truncated bundle refused" $NS --dir "$WORK/HUBNE" import "$WORK/trunc.bundle" --no-roster
cp "$WORK/MDI.bundle" "$WORK/flip.bundle"
flip_byte "$WORK/flip.bundle" "NEW_ADMISSION"
expect_fail 1 "altered bundle refused" $NS --dir "$WORK/HUBNE" import "$WORK/flip.bundle" --no-roster
echo "hello" >"$WORK/junk.bundle"
expect_fail 1 "non-bundle refused" $NS --dir "$WORK/HUBNE" import "$WORK/junk.bundle" --no-roster
# The trailer's site changed from MDI to LDI: format 2 signs it.
python3 - "$WORK/MDI.bundle" "$WORK/ldi.bundle" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
i = b.rindex(b'MDI')  # the last "MDI" is the trailer's site
open(sys.argv[2], 'wb').write(b[:i] + b'LDI' + b[i + 3:])
PY
expect_fail 1 "a bundle whose trailer was relabelled LDI is refused" $NS --dir "$WORK/HUBNE" import "$WORK/ldi.bundle" --no-roster
expect_grep "exporter signature does not verify (it covers the trailer's site" "$WORK/err" "the refusal says the signature covers the site"
expect_eq "$($NS --dir "$WORK/HUBNE" digest)" "$ref" "hub unchanged by refused bundles"

# A bundle of format 1, written by nomsync before format 2 sealed the trailer's
# site and time: it still imports, and the report says they are unverified.
$NS --dir "$WORK/OLD" init --site HUBOL --role hub >/dev/null
$NS --dir "$WORK/OLD" import "${NS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fuzz/corpus/bundle/v1-MDI" --no-roster >"$WORK/v1.txt" 2>/dev/null
expect_grep ": [1-9][0-9]* events, [1-9][0-9]* applied, 0 duplicate, 0 held, 0 rejected" "$WORK/v1.txt" "a format-1 bundle still imports"
expect_grep "a format-1 bundle: its site and time are not signed, unverified" "$WORK/v1.txt" \
  "the report says a format-1 bundle's site and time are unverified"
$NS --dir "$WORK/OLD" verify >/dev/null && ok "the store verifies after the format-1 import" || bad "verify after the format-1 import"

# Figures (issue 11 item 7): the hub counts all 25 persons; the region's CSV agrees with its JSON.
fig=$($NS --dir "$WORK/HUBNE" figures --as-of 2021-01-01)
expect_eq "$(printf '%s' "$fig" | python3 -c 'import json,sys; print(json.load(sys.stdin)["persons"])')" 25 "figures count every person at the hub"
rj=$($NS --dir "$WORK/HUBNE" figures --region N55 --as-of 2021-01-01 | python3 -c 'import json,sys; print(json.load(sys.stdin)["persons"])')
rc=$($NS --dir "$WORK/HUBNE" figures --region N55 --csv --as-of 2021-01-01 | tr -d '\r' | awk -F, '$1=="persons"{print $3}')
expect_eq "$rc" "$rj" "figures --csv agrees with the JSON"
expect_fail 2 "figures with a bad --as-of" $NS --dir "$WORK/HUBNE" figures --as-of tomorrow

# Usage errors.
expect_fail 2 "unknown command" $NS --dir "$WORK/MDI" frobnicate
expect_fail 2 "no command" $NS --dir "$WORK/MDI"
expect_fail 2 "import without --config or --no-roster" $NS --dir "$WORK/MDI" import "$WORK/MDI.bundle"
expect_fail 2 "import without a file" $NS --dir "$WORK/MDI" import --no-roster
expect_fail 1 "no store in directory" $NS --dir "$WORK/none" show A1234BC
expect_fail 1 "show of an unknown person" $NS --dir "$WORK/MDI" show Z9999ZZ
expect_fail 1 "init with a bad role" $NS --dir "$WORK/x1" init --site MDI --role warden
expect_fail 1 "init with an unknown prison code" $NS --dir "$WORK/x2" init --site QQQ --role prison
expect_fail 1 "init over an existing store" $NS --dir "$WORK/MDI" init --site MDI --role prison
expect_fail 1 "append of a missing file" $NS --dir "$WORK/MDI" append "$WORK/nope.jsonl"

# nomsync-gen --hub: a duplicate record created at a prison, merged by the hub.
$GEN --outdir "$WORK/genh" --offenders 10 --seed 7 --prisons MDI --probation N55 --hub HUBG >/dev/null
$GEN --outdir "$WORK/gen0" --offenders 10 --seed 7 --prisons MDI --probation N55 >/dev/null
expect_eq "$(cmp -s "$WORK/genh/N55.jsonl" "$WORK/gen0/N55.jsonl" && echo same)" same \
  "nomsync-gen --hub changes no other site's events"
expect_eq "$(jq -r .type "$WORK/genh/HUBG.jsonl" | sort -u)" person.merged "the hub's file holds merges"
$NS --dir "$WORK/hubg" init --site HUBG --role hub >/dev/null
$NS --dir "$WORK/mdig" init --site MDI --role prison >/dev/null
$NS --dir "$WORK/mdig" append "$WORK/genh/MDI.jsonl" >/dev/null
$NS --dir "$WORK/mdig" export >"$WORK/mdig.bundle"
$NS --dir "$WORK/hubg" import "$WORK/mdig.bundle" --no-roster >/dev/null 2>&1
$NS --dir "$WORK/hubg" append "$WORK/genh/HUBG.jsonl" >/dev/null
surv=$(jq -r .survivor "$WORK/genh/HUBG.jsonl" | head -n1)
dup=$(jq -r .removed "$WORK/genh/HUBG.jsonl" | head -n1)
expect_eq "$($NS --dir "$WORK/hubg" show "$dup" --json | jq -r '[.noms, (.merged_from | join(","))] | join(" ")')" \
  "$surv $dup" "the duplicate's number finds the merged record, which names it in merged_from"

# access.restricted recorded by a named user: --recorded-by signs it in; the log and the view show it.
$NS --dir "$WORK/mdig" append --recorded-by PO_SMITH >/dev/null <<J
{"type":"access.restricted","offender":"$surv","occurred_at":"2026-01-05T09:00:00Z","mode":"RESTRICTION","users":["PO_SMITH","jane.doe"],"reason":"Staff member on the caseload"}
J
expect_eq "$($NS --dir "$WORK/mdig" log --offender "$surv" --json | jq -r 'select(.type == "access.restricted") | .recorded_by')" \
  PO_SMITH "log --json shows who recorded the event"
expect_eq "$($NS --dir "$WORK/mdig" show "$surv" --json | jq -r '[.access[0].mode, (.access[0].users | join(",")), .provenance.access.recorded_by] | join(" ")')" \
  "RESTRICTION PO_SMITH,jane.doe PO_SMITH" "the view shows the restriction and who recorded it"
expect_fail 2 "--recorded-by with a space refused" $NS --dir "$WORK/mdig" append --recorded-by "PO SMITH" /dev/null

finish
