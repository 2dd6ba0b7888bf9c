#!/usr/bin/env bash
# A rolling upgrade rehearsed with NOMSYNC_CATALOGUE_HIDE: the hub HUBNE runs
# as an older release that does not know alert.raised; MDI (the newer
# release) appends an alert and more events after it; LEI, behind the hub
# only, receives them through it. HUBNE stores and relays the event it
# cannot read without holding back MDI's later events, and leaves it out of
# its view; once restarted as the newer release it re-checks the event,
# re-folds the person and every digest agrees.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

HIDE=alert.raised
old() { NOMSYNC_CATALOGUE_HIDE=$HIDE $NS "$@"; }

mknode HUBNE hub; mknode MDI prison; mknode LEI prison
write_roster
config HUBNE
HTTP_PORT=$((BASE_PORT + 45))   # nodes use BASE_PORT + 0..2
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\n' "$HTTP_PORT" "$TOKEN" >>"$WORK/HUBNE.conf"
config MDI HUBNE
config LEI HUBNE

# An unknown name in the list is refused at startup, not ignored.
NOMSYNC_CATALOGUE_HIDE=alert.raised,prisoner.escaped $NSD --config "$WORK/HUBNE.conf" >"$WORK/refused.out" 2>&1 &&
  bad "a daemon with an unknown name in NOMSYNC_CATALOGUE_HIDE starts" ||
  expect_grep "prisoner.escaped" "$WORK/refused.out" "an unknown name in NOMSYNC_CATALOGUE_HIDE is refused at startup"

export NOMSYNC_CATALOGUE_HIDE=$HIDE
start HUBNE
unset NOMSYNC_CATALOGUE_HIDE
start MDI
start LEI

cat >"$WORK/mdi.jsonl" <<'JSON'
{"type":"person.created","offender":"A0000AA","occurred_at":"2024-01-01T15:40:13Z","dob":"1979-11-15","forenames":"LIAM","gender":"M","surname":"ROBINSON"}
{"type":"prisoner.received","offender":"A0000AA","occurred_at":"2024-01-01T16:01:31Z","prison":"MDI","reason":"NEW_ADMISSION","movement_reason_code":"N"}
{"type":"person.created","offender":"A0001AB","occurred_at":"2024-01-02T15:58:07Z","dob":"2003-07-01","forenames":"EMMA","gender":"F","surname":"KHAN"}
{"type":"prisoner.received","offender":"A0001AB","occurred_at":"2024-01-02T16:20:58Z","prison":"MDI","reason":"NEW_ADMISSION","movement_reason_code":"N"}
{"type":"alert.raised","offender":"A0001AB","occurred_at":"2024-01-03T09:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2024-01-03"}
{"type":"prisoner.released","offender":"A0000AA","occurred_at":"2024-11-15T09:09:09Z","prison":"MDI","reason":"RELEASED","release_type":"CRD","movement_reason_code":"CR"}
JSON
$NS --dir "$WORK/MDI" append "$WORK/mdi.jsonl" >/dev/null

# Vectors converge: HUBNE holds MDI's six events, none held behind the alert.
vec() { "$@" vector | jq -c 'with_entries(.value |= [.seq, .held])'; }
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  v1=$(vec $NS --dir "$WORK/MDI") v2=$(vec old --dir "$WORK/HUBNE") v3=$(vec $NS --dir "$WORK/LEI")
  [ "$v1" = "$v2" ] && [ "$v1" = "$v3" ] && break
  sleep 0.3
done
expect_eq "$v2" "$v1" "the older hub holds every event of MDI's chain, none held"
expect_eq "$v3" "$v1" "LEI, behind the hub only, holds them too"
expect_eq "$(old --dir "$WORK/HUBNE" status --json | jq .events)" "6" "the hub stored all six events"

# The older release logs the event as of an unknown type and leaves it out of the view.
old --dir "$WORK/HUBNE" log --offender A0001AB >"$WORK/hub.log.txt"
expect_grep "unknown type 10" "$WORK/hub.log.txt" "nomsync log shows the unknown type's number"
expect_eq "$(old --dir "$WORK/HUBNE" log --offender A0001AB --json | jq -c 'select(.type_known == false) | [.type, .type_number, .payload]')" \
  '[null,10,null]' "JSON marks the event as of an unknown type, not erased"
expect_eq "$(old --dir "$WORK/HUBNE" show A0000AA --json)" "$($NS --dir "$WORK/MDI" show A0000AA --json)" \
  "the view of a person without the hidden type is byte-identical on the hub and MDI"
expect_eq "$($NS --dir "$WORK/LEI" show A0000AA --json)" "$($NS --dir "$WORK/MDI" show A0000AA --json)" \
  "and on LEI"
expect_eq "$($NS --dir "$WORK/LEI" show A0001AB --json)" "$($NS --dir "$WORK/MDI" show A0001AB --json)" \
  "LEI (which knows the type) folds the relayed alert as MDI does"
expect_eq "$(old --dir "$WORK/HUBNE" show A0001AB --json | jq -c '[(.alerts | length), .event_count]')" "[0,2]" \
  "the hub's view of the affected person lacks the alert and does not count it"
expect_eq "$($NS --dir "$WORK/MDI" show A0001AB --json | jq -c '[(.alerts | length), .event_count]')" "[1,3]" \
  "MDI's view has it"
old --dir "$WORK/HUBNE" verify >/dev/null && ok "the hub's store verifies with the unknown event" || bad "hub verify"
# The HTTP API's timeline returns it (the web page shows it as an unknown event type).
curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/v1/offenders/A0001AB/events" >"$WORK/events.json" ||
  bad "the hub's timeline API answers"
expect_eq "$(jq -c '[.events[] | select(.type_known == false) | [.type_number, .signature]]' "$WORK/events.json")" \
  '[[10,"valid"]]' "the hub's API timeline returns the unknown event, with a valid signature"

# Upgrade the hub: restart it without the variable.
stop HUBNE || true
start HUBNE
deadline=$((SECONDS + 30))
until grep -q "re-checked" "$WORK/HUBNE.log" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
expect_grep "re-checked 1 events of types new to this release: 0 rejected, 1 persons to re-fold" "$WORK/HUBNE.log" \
  "the upgraded hub logs the re-check"
if wait_converged 60 HUBNE MDI LEI; then ok "all digests agree after the upgrade"; else bad "digests after the upgrade"; fi
expect_eq "$($NS --dir "$WORK/HUBNE" show A0001AB --json)" "$($NS --dir "$WORK/MDI" show A0001AB --json)" \
  "the hub's view of the affected person now has the alert"
$NS --dir "$WORK/HUBNE" verify >/dev/null && ok "the upgraded hub verifies" || bad "upgraded hub verify"
for c in HUBNE MDI LEI; do stop $c || bad "$c exit status"; done
finish
