#!/usr/bin/env bash
# An air-gapped prison. MDI, N55 and the hub HUBNE run daemons and replicate;
# WDI never runs a daemon and exchanges signed bundles with the hub by hand
# (`nomsync export` / `nomsync import`). The hub imports WDI's bundle while
# its daemon is running on the same store; the daemons then spread WDI's
# events to MDI and N55, and a fresh hub bundle brings WDI level: all four
# stores end with the same vector and digest. Importing a bundle twice
# changes nothing and reports every event as a duplicate. A key outside the
# roster that claims to be MDI gets nothing in: an import needs the node's
# config (or an explicit --no-roster), and the report names the exporter by
# the roster, not by what the bundle says of itself.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

mknode MDI prison; mknode N55 probation; mknode HUBNE hub; mknode WDI prison
write_roster
config HUBNE
config MDI HUBNE N55
config N55 HUBNE
config WDI   # never started: its imports check events against the roster through it
for c in HUBNE MDI N55; do start $c; done

# vector as {site: seq}, for comparisons that read well in a failure message.
seqs() { $NS --dir "$WORK/$1" vector | jq -c 'map({(.site): .seq}) | add // {}'; }
# import_counts FILE: "events applied duplicate held rejected" from an import line.
import_counts() {
  sed -n 's/.*: \([0-9]*\) events, \([0-9]*\) applied, \([0-9]*\) duplicate, \([0-9]*\) held, \([0-9]*\) rejected.*/\1 \2 \3 \4 \5/p' "$1"
}

$GEN --outdir "$WORK/gen" --offenders 150 --seed 31 --court SHEFMC --prisons MDI,WDI --probation N55 >/dev/null
nMDI=$(wc -l <"$WORK/gen/MDI.jsonl"); nN55=$(wc -l <"$WORK/gen/N55.jsonl"); nWDI=$(wc -l <"$WORK/gen/WDI.jsonl")
total=$((nMDI + nN55 + nWDI))
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
$NS --dir "$WORK/N55" append "$WORK/gen/N55.jsonl" >/dev/null
$NS --dir "$WORK/WDI" append "$WORK/gen/WDI.jsonl" >/dev/null
expect_eq "$(events_of WDI)" "$nWDI" "air-gapped WDI holds its own $nWDI events"

if wait_converged 60 HUBNE MDI N55; then ok "daemon nodes converge"; else bad "daemon nodes converge"; fi
expect_eq "$(events_of HUBNE)" "$((nMDI + nN55))" "hub holds MDI's and N55's events, none of WDI's yet"

# Hub -> WDI: a full bundle.
$NS --dir "$WORK/HUBNE" export >"$WORK/hub1.bundle" 2>"$WORK/export.err"
expect_grep "exported $((nMDI + nN55)) events" "$WORK/export.err" "hub exports every event it holds"
$NS --dir "$WORK/WDI" import "$WORK/hub1.bundle" --config "$WORK/WDI.conf" >"$WORK/imp1.out"
expect_grep "^exported by HUBNE (in the roster) on 20" "$WORK/imp1.out" "import names the exporting site by the roster"
expect_eq "$(import_counts "$WORK/imp1.out")" "$((nMDI + nN55)) $((nMDI + nN55)) 0 0 0" "WDI applies every event of the hub bundle"
expect_eq "$(events_of WDI)" "$total" "WDI holds all $total events after the import"
dWDI=$($NS --dir "$WORK/WDI" digest)

# The same bundle again: nothing changes, everything is a duplicate.
$NS --dir "$WORK/WDI" import "$WORK/hub1.bundle" --config "$WORK/WDI.conf" >"$WORK/imp2.out"
expect_eq "$(import_counts "$WORK/imp2.out")" "$((nMDI + nN55)) 0 $((nMDI + nN55)) 0 0" \
  "second import of the same bundle: 0 applied, $((nMDI + nN55)) duplicate"
expect_grep "$((nMDI + nN55)) duplicate" "$WORK/imp2.out" "import output says '$((nMDI + nN55)) duplicate'"
expect_eq "$($NS --dir "$WORK/WDI" digest)" "$dWDI" "WDI's digest is unchanged by the repeated import"
expect_eq "$(events_of WDI)" "$total" "WDI's event count is unchanged by the repeated import"

# WDI -> hub: only what the hub lacks, using the hub's vector.
$NS --dir "$WORK/HUBNE" vector >"$WORK/hub.vector.json"
$NS --dir "$WORK/WDI" export --since "$WORK/hub.vector.json" >"$WORK/wdi.bundle" 2>"$WORK/export2.err"
expect_grep "exported $nWDI events" "$WORK/export2.err" "WDI's --since export holds exactly its own $nWDI events"
# The hub's daemon is running on the same store while the CLI imports.
$NS --dir "$WORK/HUBNE" import "$WORK/wdi.bundle" --config "$WORK/HUBNE.conf" >"$WORK/imp3.out"
expect_eq "$(import_counts "$WORK/imp3.out")" "$nWDI $nWDI 0 0 0" "hub (daemon running) applies WDI's $nWDI events"
$NS --dir "$WORK/HUBNE" import "$WORK/wdi.bundle" --config "$WORK/HUBNE.conf" >"$WORK/imp4.out"
expect_eq "$(import_counts "$WORK/imp4.out")" "$nWDI 0 $nWDI 0 0" "hub re-import of WDI's bundle: all $nWDI duplicate"

# The running daemons pick the imported events up and spread them.
if wait_converged 60 HUBNE MDI N55; then ok "daemons spread WDI's events to MDI and N55"; else bad "daemons spread WDI's events"; fi
expect_eq "$(events_of MDI)" "$total" "MDI holds all $total events, WDI's included"
expect_eq "$(seqs N55 | jq -r .WDI)" "$nWDI" "N55's vector has WDI at seq $nWDI"
expect_eq "$($NS --dir "$WORK/MDI" digest)" "$dWDI" "MDI's digest equals WDI's"

# Live work continues at MDI; a fresh hub bundle (since WDI's vector) levels WDI.
echo '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-01T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-01"}' |
  $NS --dir "$WORK/MDI" append >/dev/null
if wait_converged 30 HUBNE MDI N55; then ok "MDI's new event reaches the daemon nodes"; else bad "MDI's new event converged"; fi
$NS --dir "$WORK/WDI" vector >"$WORK/wdi.vector.json"
$NS --dir "$WORK/HUBNE" export --since "$WORK/wdi.vector.json" >"$WORK/hub2.bundle" 2>"$WORK/export3.err"
expect_grep "exported 1 events" "$WORK/export3.err" "hub's --since bundle for WDI holds just the new event"
$NS --dir "$WORK/WDI" import "$WORK/hub2.bundle" --config "$WORK/WDI.conf" >"$WORK/imp5.out"
expect_eq "$(import_counts "$WORK/imp5.out")" "1 1 0 0 0" "WDI applies the fresh hub bundle"

# The attack (issue 10, item 10): a key outside the roster that calls itself
# MDI signs an alert and exports it. With the node's config its event is
# refused and written nowhere, and the report says whose key sealed the
# bundle: nobody's in the roster. An import with neither --config nor
# --no-roster is refused outright (before, it applied the event and showed
# it as MDI's behind a warning); --no-roster imports it, loudly, and counts.
$NS --dir "$WORK/ROGUE" init --site MDI --role prison >/dev/null
rogue_key=$($NS --dir "$WORK/ROGUE" id | cut -d' ' -f3)
echo '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-02T10:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-02-02"}' |
  $NS --dir "$WORK/ROGUE" append >/dev/null
$NS --dir "$WORK/ROGUE" export >"$WORK/rogue.bundle" 2>/dev/null
dW=$($NS --dir "$WORK/WDI" digest)
$NS --dir "$WORK/WDI" import "$WORK/rogue.bundle" --config "$WORK/WDI.conf" >"$WORK/imp6.out"
expect_eq "$(import_counts "$WORK/imp6.out")" "1 0 0 0 1" "WDI (with its config) refuses the event of a key outside the roster"
expect_grep "^exporter key $rogue_key not in the roster (the bundle claims MDI)" "$WORK/imp6.out" \
  "the report says the exporter's key is not in the roster, and that MDI is only the bundle's claim"
expect_eq "$($NS --dir "$WORK/WDI" digest)" "$dW" "WDI's views are unchanged by the refused bundle"
expect_eq "$($NS --dir "$WORK/WDI" status --json | jq -r '.counters["rejected.unknown_origin"] // 0')" "1" \
  "the refusal is counted as rejected.unknown_origin"
$NS --dir "$WORK/SCRATCH" init --site HUBX --role hub >/dev/null
expect_fail 2 "an import with neither --config nor --no-roster is refused" $NS --dir "$WORK/SCRATCH" import "$WORK/rogue.bundle"
expect_grep "give --config NOMSYNCD.conf" "$WORK/err" "the refusal says to give --config (or --no-roster)"
expect_eq "$(events_of SCRATCH)" "0" "the refused import wrote nothing"
expect_fail 1 "the rogue's alert is not shown as MDI's anywhere" $NS --dir "$WORK/SCRATCH" show A0003AD
expect_fail 2 "--config and --no-roster together are refused" \
  $NS --dir "$WORK/SCRATCH" import "$WORK/rogue.bundle" --config "$WORK/WDI.conf" --no-roster
$NS --dir "$WORK/SCRATCH" import "$WORK/rogue.bundle" --no-roster >"$WORK/imp7.out" 2>"$WORK/imp7.err"
expect_eq "$(import_counts "$WORK/imp7.out")" "1 1 0 0 0" "--no-roster applies every correctly signed event, the rogue's too"
expect_grep "WARNING: --no-roster: events are NOT checked against any roster" "$WORK/imp7.err" "--no-roster warns on stderr"
expect_grep "^exported by MDI (self-declared, not checked against a roster; key $rogue_key)" "$WORK/imp7.out" \
  "without a roster the exporter is reported as self-declared, with its key"
expect_eq "$($NS --dir "$WORK/SCRATCH" status --json | jq -r '.counters["imported.no_roster"] // 0')" "1" \
  "events applied by --no-roster imports are counted as imported.no_roster"
expect_fail 1 "import --config with a missing config file" $NS --dir "$WORK/WDI" import "$WORK/rogue.bundle" --config "$WORK/none.conf"

expect_eq "$(seqs WDI)" "$(seqs HUBNE)" "WDI's vector equals the hub's"
d=$($NS --dir "$WORK/HUBNE" digest)
for c in MDI N55 WDI; do expect_eq "$($NS --dir "$WORK/$c" digest)" "$d" "$c's digest equals the hub's"; done
vW=$($NS --dir "$WORK/WDI" show A0003AD --json) || vW=
vN=$($NS --dir "$WORK/N55" show A0003AD --json) || vN=
expect_eq "$(jq -r '[.alerts[].alert_code] | index("XSA") != null' <<<"${vW:-null}" 2>/dev/null)" "true" \
  "WDI's view of A0003AD shows MDI's new alert"
expect_eq "$vW" "$vN" "WDI's view of A0003AD is byte-identical to N55's"
for c in WDI HUBNE; do
  $NS --dir "$WORK/$c" verify >/dev/null && ok "$c verifies after the bundle exchange" || bad "$c verify"
done
for c in HUBNE MDI N55; do
  if stop $c; then ok "$c exits 0 on SIGTERM"; else bad "$c exit status on SIGTERM"; fi
done
if grep -HE " ERROR |Sanitizer|runtime error" "$WORK"/*.log >"$WORK/errors"; then bad "daemon logs have errors: $(head -c 600 "$WORK/errors")"; else ok "no ERROR or sanitizer lines in the daemon logs"; fi
[ "$fail" -eq 0 ] || tail -n 25 "$WORK"/*.log
finish
