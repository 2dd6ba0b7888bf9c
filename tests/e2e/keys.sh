#!/usr/bin/env bash
# Key lifecycle with real daemons: the roster is signed by an offline
# authority key (a tampered roster is refused); roster changes replicate as
# events signed by the authority: a site added, a key rotated, a key revoked
# from a sequence number (events after it are refused everywhere); and a site
# restored from an old backup is held from appending until it has caught up
# its own events from its peers, so it never equivocates by accident.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
INJ=${NS_BIN}/tests/ns-inject
counter() { $NS --dir "$WORK/$1" status --json | jq -r ".counters[\"$2\"] // 0"; }
ev() { echo "{\"type\":\"alert.raised\",\"offender\":\"$1\",\"occurred_at\":\"2026-0$2-01T10:00:00Z\",\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2026-0$2-01\"}"; }

$NS --dir "$WORK/AUTH" init --site AUTHORITY --role authority
AUTHORITY=$($NS --dir "$WORK/AUTH" id | cut -d' ' -f3)
mknode MDI prison; mknode N55 probation; mknode HUBNE hub
write_roster
$NS --dir "$WORK/AUTH" roster-sign "$WORK/roster" >/dev/null
expect_grep "^# nomsync-roster-signature [0-9a-f]\{128\}$" "$WORK/roster" "roster carries the authority's signature"
config HUBNE; config MDI HUBNE; config N55 HUBNE

# A tampered roster is refused at start.
# Change one hex digit of N55's key (0<->1, anything else -> 0), so the file
# always differs from the signed one whatever key N55 drew.
sed -e 's/^N55 probation N55 0/N55 probation N55 1/;t' -e 's/^N55 probation N55 ./N55 probation N55 0/' \
    "$WORK/roster" >"$WORK/bad-roster"
cmp -s "$WORK/roster" "$WORK/bad-roster" && { echo "FAIL test setup: bad-roster equals the signed roster"; exit 1; }
PORT[BAD]=$((BASE_PORT + 30))
ROSTER="$WORK/bad-roster" config BAD HUBNE
sed -i "s|^dir = .*|dir = $WORK/MDI|" "$WORK/BAD.conf"
expect_fail 1 "a roster altered after signing is refused" $NSD --config "$WORK/BAD.conf" --check
expect_grep "signature does not verify" "$WORK/err" "the refusal names the signature"

for c in HUBNE MDI N55; do start $c; done
$GEN --outdir "$WORK/gen" --offenders 10 --seed 9 --prisons MDI --probation N55 >/dev/null
for c in MDI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
wait_converged 30 HUBNE MDI N55 && ok "signed-roster network converges" || bad "signed-roster network converges"

# 1. A site added by a roster change signed by the authority.
$NS --dir "$WORK/WDI" init --site WDI --role prison
wdikey=$($NS --dir "$WORK/WDI" id | cut -d' ' -f3)
echo "{\"type\":\"roster.site.added\",\"offender\":\"ROSTER\",\"occurred_at\":\"2026-03-01T09:00:00Z\",\"site\":\"WDI\",\"role\":\"prison\",\"key\":\"$wdikey\"}" |
  $NS --dir "$WORK/AUTH" append >/dev/null
$NS --dir "$WORK/AUTH" export >"$WORK/auth1.bundle" 2>/dev/null
PORT[WDI]=$((BASE_PORT + 20)); ROLE[WDI]=prison
config WDI HUBNE
$NS --dir "$WORK/HUBNE" import "$WORK/auth1.bundle" --config "$WORK/HUBNE.conf" >/dev/null
$NS --dir "$WORK/WDI" import "$WORK/auth1.bundle" --config "$WORK/WDI.conf" >/dev/null
start WDI
ev A0001AB 4 | $NS --dir "$WORK/WDI" append >/dev/null
if wait_converged 30 HUBNE MDI N55 WDI; then ok "the added site WDI replicates with everyone"; else bad "added site replicates"; fi
expect_grep "roster updated by the authority" "$WORK/MDI.log" "MDI applied the roster change it received"

# 1b. An air-gapped store imports, with its config (signed roster + authority),
# one bundle holding both the roster change that adds WDI and WDI's events:
# the import applies the change, then retries what the old roster refused.
$NS --dir "$WORK/GAP" init --site LEI --role prison >/dev/null
PORT[GAP]=$((BASE_PORT + 25)); config GAP
$NS --dir "$WORK/WDI" export >"$WORK/wdi-all.bundle" 2>/dev/null
nall=$($NS --dir "$WORK/WDI" status --json | jq -r .events)
$NS --dir "$WORK/GAP" import "$WORK/wdi-all.bundle" --config "$WORK/GAP.conf" >"$WORK/gap.out"
expect_grep ": $nall events, $nall applied, 0 duplicate, 0 held, 0 rejected" "$WORK/gap.out" \
  "an import with the node's config applies a roster change and the added site's events from one bundle"
expect_eq "$($NS --dir "$WORK/GAP" digest)" "$($NS --dir "$WORK/WDI" digest)" "the air-gapped store's views equal WDI's"

# 2. Rotation: MDI takes a new key; the authority lists it.
cp -r "$WORK/MDI" "$WORK/MDI-stolen" 2>/dev/null || true   # a copy of the old key, for step 3
stop MDI
oldseq=$($NS --dir "$WORK/MDI" vector | jq -r '[.[] | select(.site == "MDI")][0].seq')
out=$($NS --dir "$WORK/MDI" rekey 2>/dev/null)
oldkey=$(echo "$out" | sed -n 's/^old //p'); newkey=$(echo "$out" | sed -n 's/^new //p')
[ -n "$newkey" ] && [ "$oldkey" != "$newkey" ] && ok "rekey made a new key" || bad "rekey"
echo "{\"type\":\"roster.key.rotated\",\"offender\":\"ROSTER\",\"occurred_at\":\"2026-03-02T09:00:00Z\",\"site\":\"MDI\",\"old_key\":\"$oldkey\",\"new_key\":\"$newkey\"}" |
  $NS --dir "$WORK/AUTH" append >/dev/null
echo "{\"type\":\"roster.key.revoked\",\"offender\":\"ROSTER\",\"occurred_at\":\"2026-03-02T09:01:00Z\",\"site\":\"MDI\",\"key\":\"$oldkey\",\"from_seq\":$((oldseq + 1)),\"reason\":\"rotated\"}" |
  $NS --dir "$WORK/AUTH" append >/dev/null
$NS --dir "$WORK/AUTH" export >"$WORK/auth2.bundle" 2>/dev/null
$NS --dir "$WORK/HUBNE" import "$WORK/auth2.bundle" --config "$WORK/HUBNE.conf" >/dev/null
$NS --dir "$WORK/MDI" import "$WORK/auth2.bundle" --config "$WORK/MDI.conf" >/dev/null
start MDI
ev A0002AC 5 | $NS --dir "$WORK/MDI" append >/dev/null
if wait_converged 30 HUBNE MDI N55 WDI; then ok "MDI's events under its new key reach everyone"; else bad "rotated key replicates"; fi
expect_eq "$($NS --dir "$WORK/N55" vector | jq '[.[] | select(.site == "MDI")] | length')" "2" \
  "N55 holds MDI's old and new chains"

# 3. The old key, revoked from seq $((oldseq + 1)), signs more: refused everywhere.
ev A0003AD 6 | $NS --dir "$WORK/MDI-stolen" append >/dev/null
$NS --dir "$WORK/MDI-stolen" export >"$WORK/stolen.bundle" 2>/dev/null
{ cat "$WORK/roster"; echo "WDI prison - $wdikey"; } >"$WORK/inj-roster"
for c in HUBNE N55 WDI; do
  $INJ --dir "$WORK/HUBNE" --roster "$WORK/inj-roster" --to "tcp://127.0.0.1:${PORT[$c]}" --server $c --bundle "$WORK/stolen.bundle" >/dev/null
done
sleep 1
for c in HUBNE N55 WDI; do
  expect_eq "$(counter $c rejected.revoked)" "1" "$c refuses the revoked key's new event"
  expect_eq "$($NS --dir "$WORK/$c" vector | jq -r "[.[] | select(.site == \"MDI\" and .seq == $((oldseq + 1)))] | length")" "0" \
    "$c's old MDI chain did not advance"
done

# 4. A site restored from an old backup: held until it has caught up its own events.
mkdir "$WORK/N55-backup"
mdb_copy "$WORK/N55" "$WORK/N55-backup"
cp "$WORK/N55/site.key" "$WORK/N55-backup/"
for m in 7 8 9; do ev A0004AE $m | $NS --dir "$WORK/N55" append >/dev/null; done
wait_converged 30 HUBNE MDI N55 WDI || true
stop N55
rm -f "$WORK/N55/data.mdb" "$WORK/N55/lock.mdb"
cp "$WORK/N55-backup/data.mdb" "$WORK/N55/"
$NS --dir "$WORK/N55" hold >/dev/null
ev A0005AF 7 >"$WORK/next.json"
expect_fail 1 "a restored store refuses appends" $NS --dir "$WORK/N55" append "$WORK/next.json"
expect_grep "held" "$WORK/err" "the refusal explains the hold"
start N55
deadline=$((SECONDS + 30))
until grep -q "appends released" "$WORK/N55.log" || [ $SECONDS -gt $deadline ]; do sleep 0.3; done
expect_grep "appends released" "$WORK/N55.log" "nomsyncd releases the hold after catching up"
$NS --dir "$WORK/N55" append "$WORK/next.json" >/dev/null && ok "appends resume after catch-up" || bad "append after release"
if wait_converged 30 HUBNE MDI N55 WDI; then ok "everyone converges"; else bad "converge after restore"; fi
for c in HUBNE MDI N55 WDI; do
  expect_eq "$($NS --dir "$WORK/$c" vector | jq '[.[] | select(.quarantined)] | length')" "0" "no origin quarantined at $c"
done
for c in HUBNE MDI N55 WDI; do stop $c || bad "$c exit status"; done
finish
