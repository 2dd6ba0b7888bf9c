#!/usr/bin/env bash
# NATS JetStream (issue 14) against a real nats-server -js on loopback, with its
# own store directory under $WORK:
#  (a) catch-up: MDI's store (NS_NATS_OFFENDERS people, about 100k events by
#      default) published from scratch: the stream holds exactly the store's
#      events (same ids, none twice); a consumer verifies events from their
#      envelopes alone (tests/nats_verify.py) and a tampered one fails; the
#      view subjects hold each person's latest view, also after a change;
#  (b) NATS stopped during appends and restarted: no gap, no duplicate;
#  (c) nomsyncd killed -9 while publishing, restarted: no gap, no duplicate;
#  (d) inbound: HMPPS domain events on hmpps.* are mapped and appended by a
#      prison, a probation and a hub node; malformed, unknown and invalid
#      messages go to <prefix>.deadletter with the reason.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
command -v nats-server >/dev/null || { echo "nats-server is not installed (deploy/deps.sh)"; exit 1; }
CAT=$NS_BIN/tests/ns-natscat
VERIFY="python3 $(dirname "$0")/../nats_verify.py"
NATS_PORT=$((BASE_PORT + 40))
URL=nats://127.0.0.1:$NATS_PORT
# About 100k events; a sanitizer build (ASan is ~10x slower) takes about 17k.
if ldd "$NSD" 2>/dev/null | grep -q libasan; then OFFENDERS=${NS_NATS_OFFENDERS:-1500}; else OFFENDERS=${NS_NATS_OFFENDERS:-8700}; fi

start_nats() {
  nats-server -js -sd "$WORK/jetstream" -a 127.0.0.1 -p "$NATS_PORT" >>"$WORK/nats-server.log" 2>&1 &
  PID[natsd]=$!
  local i
  for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

mknode MDI prison; mknode N55 probation; mknode HUBNE hub
write_roster
# nats_config CODE PREFIX STREAM CONSUME: add a [nats] section.
nats_config() {
  { echo "[nats]"; echo "url = $URL"; echo "subject_prefix = $2"; echo "stream = $3"
    echo "ack_timeout = 3"; echo "consume = $4"; echo "consumer = nomsync-$1"; } >>"$WORK/$1.conf"
}
config MDI; nats_config MDI nomsync NOMSYNC hmpps.prison

# status_nats CODE FIELD: a field of the node's NATS status.
status_nats() { jq -r ".nats.$2 // empty" "$WORK/$1/nomsyncd.status.json" 2>/dev/null || true; }
# wait_published CODE SECONDS: the node's publishing lag is 0 and it has published all it holds.
wait_published() {
  local deadline=$((SECONDS + $2)) ev
  while [ $SECONDS -lt $deadline ]; do
    ev=$(events_of "$1")
    [ "$(status_nats "$1" lag_events)" = 0 ] && [ "$(status_nats "$1" connected)" = true ] &&
      [ "$(jq -r .written_at_ms "$WORK/$1/nomsyncd.status.json")" -gt "$(($(date +%s%3N) - 1500))" ] && return 0
    sleep 0.3
  done
  return 1
}
# check_stream WHAT: the stream holds exactly MDI's events, each once.
check_stream() {
  $CAT "$URL" dump NOMSYNC 'nomsync.event.>' >"$WORK/dump.txt"
  cut -f1 "$WORK/dump.txt" | sort >"$WORK/stream.ids"
  $NS --dir "$WORK/MDI" log --json | jq -r .id | sort >"$WORK/store.ids"
  local n dup
  n=$(wc -l <"$WORK/store.ids"); dup=$(uniq -d "$WORK/stream.ids" | wc -l)
  expect_eq "$dup" 0 "$1: no event is twice in the stream"
  if cmp -s "$WORK/stream.ids" "$WORK/store.ids"; then ok "$1: the stream holds exactly the store's $n events"
  else bad "$1: stream $(wc -l <"$WORK/stream.ids") messages vs store $n events; first difference: $(diff "$WORK/stream.ids" "$WORK/store.ids" | head -3 | tr '\n' ' ')"; fi
}

# ---------------------------------------------------------------- (a)
$GEN --outdir "$WORK/genA" --offenders "$OFFENDERS" --seed 41 --court SHEFMC --prisons MDI --probation N55 >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/genA/MDI.jsonl" >/dev/null
total=$(events_of MDI)
start_nats && ok "nats-server -js runs on port $NATS_PORT" || bad "nats-server starts"
t0=$(date +%s%3N)
start MDI
if wait_published MDI 300; then
  ms=$(($(date +%s%3N) - t0))
  ok "MDI published its $total stored events in $((ms / 1000)).$((ms % 1000 / 100)) s ($((total * 1000 / (ms + 1))) events/s, start-up included)"
else bad "MDI publishes its $total events (status: $(jq -c .nats "$WORK/MDI/nomsyncd.status.json"))"; fi
check_stream "catch-up of $total events"
expect_grep "created stream NOMSYNC_VIEWS" "$WORK/MDI.log" "the views stream is created beside the events stream"

head -n 300 "$WORK/dump.txt" >"$WORK/some.txt"
out=$($VERIFY "$WORK/some.txt" 2>&1) && expect_eq "$out" "verified 300" "300 events verify from their envelopes alone" ||
  bad "nats_verify.py: $out"
# Change one byte of a payload: the check fails.
head -n 1 "$WORK/some.txt" | cut -f3 | jq -c '.nomsync.payload |= (.[0:4] + (if .[4:5] == "A" then "B" else "A" end) + .[5:])' >"$WORK/tampered.json"
if $VERIFY "$WORK/tampered.json" >"$WORK/tampered.out" 2>&1; then bad "a tampered envelope verifies"
else expect_grep "does not hash" "$WORK/tampered.out" "a tampered payload is detected"; fi
head -n 1 "$WORK/some.txt" | cut -f3 | jq -c '.nomsync.signature |= ("A" + .[1:])' >"$WORK/tampered.json"
if $VERIFY "$WORK/tampered.json" >"$WORK/tampered.out" 2>&1; then bad "a forged signature verifies"
else expect_grep "signature does not verify" "$WORK/tampered.out" "a forged signature is detected"; fi

# view_matches REF: the view subject's last message is the store's view.
view_matches() {
  local a b
  a=$($NS --dir "$WORK/MDI" show "$1" --json | jq -S -c .)
  b=$($CAT "$URL" last NOMSYNC_VIEWS "nomsync.view.$1" 2>/dev/null | jq -S -c .) || return 1
  [ "$a" = "$b" ]
}
refs=$($NS --dir "$WORK/MDI" log --json | jq -r .offender | grep -E '^[A-Z][0-9]{4}[A-Z]{2}$' | sort -u | awk 'NR % 97 == 1' | head -n 8)
good=0; n=0
for r in $refs; do
  n=$((n + 1))
  for i in $(seq 30); do view_matches "$r" && { good=$((good + 1)); break; }; sleep 0.3; done
done
expect_eq "$good" "$n" "the view subjects of $n people hold their current views"
r=$(echo "$refs" | head -n 1)
echo "{\"type\":\"alert.raised\",\"offender\":\"$r\",\"occurred_at\":\"2026-01-05T09:00:00Z\",\"alert_type\":\"X\",\"alert_code\":\"XSA\",\"from_date\":\"2026-01-05\"}" |
  $NS --dir "$WORK/MDI" append - >/dev/null
ok=0; for i in $(seq 60); do view_matches "$r" && { ok=1; break; }; sleep 0.3; done
if [ $ok = 1 ] && $CAT "$URL" last NOMSYNC_VIEWS "nomsync.view.$r" | grep -q XSA; then ok "after an append, $r's view subject holds the new view"
else bad "$r's view subject follows an append"; fi
vmsgs=$($CAT "$URL" dump NOMSYNC_VIEWS "nomsync.view.$r" | wc -l)
expect_eq "$vmsgs" 1 "the views stream keeps one message per person"

# ---------------------------------------------------------------- (b)
$GEN --outdir "$WORK/genB" --offenders 2000 --seed 42 --court SHEFMC --prisons MDI --probation N55 >/dev/null
split -n l/4 -d "$WORK/genB/MDI.jsonl" "$WORK/genB/part"
( for f in "$WORK"/genB/part*; do $NS --dir "$WORK/MDI" append "$f" >/dev/null; sleep 0.5; done ) &
appender=$!
sleep 0.7
kill -TERM "${PID[natsd]}"; wait "${PID[natsd]}" 2>/dev/null || true
sleep 2
lag=$(status_nats MDI lag_events)
[ "${lag:-0}" -gt 0 ] && ok "while NATS is down the lag grows ($lag events)" || bad "lag while NATS is down: '$lag'"
start_nats || bad "nats-server restarts"
wait "$appender" && ok "appends go on while NATS is down" || bad "appends while NATS is down"
if wait_published MDI 120; then ok "MDI catches up with NATS after its restart"; else bad "MDI catches up after NATS restarts"; fi
check_stream "NATS stopped during appends"

# ---------------------------------------------------------------- (c)
stop MDI && ok "MDI stops cleanly" || bad "MDI exit status on SIGTERM"
$GEN --outdir "$WORK/genC" --offenders $((OFFENDERS / 2 > 2000 ? OFFENDERS / 2 : 2000)) --seed 43 --court SHEFMC --prisons MDI --probation N55 >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/genC/MDI.jsonl" >/dev/null
before=$($CAT "$URL" count NOMSYNC)
want=$(events_of MDI)
start MDI
# Kill it as soon as the stream has grown by 200 messages: in the middle of publishing.
for i in $(seq 1000); do
  n=$($CAT "$URL" count NOMSYNC 2>/dev/null || echo 0); [ "$n" -gt $((before + 200)) ] && break
  sleep 0.02
done
kill9 MDI
n=$($CAT "$URL" count NOMSYNC)
if [ "$n" -gt "$before" ] && [ "$n" -lt "$want" ]; then
  ok "MDI killed -9 while publishing (stream at $n of $want messages)"
else bad "MDI killed -9 while publishing: stream at $n, before $before, store $want events"; fi
start MDI
if wait_published MDI 120; then ok "MDI resumes publishing after kill -9"; else bad "MDI resumes after kill -9"; fi
check_stream "nomsyncd killed -9 while publishing"

# ---------------------------------------------------------------- (d)
config N55; nats_config N55 n55 N55EVENTS hmpps.probation
config HUBNE; nats_config HUBNE hub HUBEVENTS hmpps.hub
start N55; start HUBNE
env() { # env TYPE REFS INFO
  echo "{\"eventType\":\"$1\",\"version\":1,\"occurredAt\":\"2026-01-05T09:00:00Z\",\"publishedAt\":\"2026-01-05T09:45:00Z\",\"personReference\":{\"identifiers\":[$2]},\"additionalInformation\":$3}"
}
NOMS='{"type":"NOMS","value":"G2899UJ"}'
CRN='{"type":"CRN","value":"X777984"}'
{
  env prison-offender-events.prisoner.received "$NOMS" '{"nomsNumber":"G2899UJ","prisonId":"MDI","reason":"ADMISSION","nomisMovementReasonCode":"24"}'
  env prisoner-offender-search.prisoner.alerts-updated "$NOMS" '{"nomsNumber":"G2899UJ","alertsAdded":["HA"],"alertsRemoved":[]}'
  env person.alert.inactive "$NOMS" '{"alertCode":"HA"}'
  env offender-management.pom.allocated "$NOMS" '{"prisonId":"MDI","staffCode":"485926"}'
  env prison-offender-events.prisoner.released "$NOMS" '{"nomsNumber":"G2899UJ","prisonId":"MDI","reason":"TRANSFERRED"}'
  env prisoner-offender-search.prisoner.received "$NOMS" '{"nomsNumber":"G2899UJ","prisonId":"LEI","reason":"TRANSFERRED"}'
  echo '{"eventType": "prison-offender-events.prisoner.received", not json'
  env prisoner-offender-search.prisoner.updated "$NOMS" '{"nomsNumber":"G2899UJ","categoriesChanged":["STATUS"]}'
  env prison-offender-events.prisoner.released "$NOMS" '{"nomsNumber":"G2899UJ","prisonId":"MDI","reason":"UNKNOWN"}'
  env prison-offender-events.prisoner.received "$NOMS" '{"nomsNumber":"G2899UJ","prisonId":"QQQ","reason":"ADMISSION"}'
  env probation-case.registration.added "$CRN" '{"registerTypeCode":"RHRH","registrationDate":"2026-01-04"}'
} >"$WORK/prison.jsonl"
{
  env probation-case.prison-identifier.added "$CRN,$NOMS" '{"bookingNumber":"51132A"}'
  env probation-case.registration.added "$CRN" '{"registerTypeCode":"RHRH","registrationDate":"2026-01-04"}'
  env probation-case.registration.deregistered "$CRN" '{"registerTypeCode":"RHRH"}'
  env person.community.manager.allocated "$CRN" '{"allocationId":"9","probationAreaCode":"N55","staffCode":"N55A001"}'
  env create-and-vary-a-licence.licence.activated "$CRN,$NOMS" '{"licenceId":90,"licenceType":"AP","licenceExpiryDate":"2027-01-05","conditions":["Curfew"]}'
} >"$WORK/probation.jsonl"
{
  env probation-case.merge.completed "$CRN" '{"sourceCRN":"X777985","targetCRN":"X777984"}'
  env probation-case.unmerge.completed "$CRN" '{"reactivatedCRN":"X777985","unmergedCRN":"X777984"}'
  env prison-offender-events.prisoner.merged "$NOMS" '{"nomsNumber":"G2899UJ","removedNomsNumber":"G2899UK","reason":"MERGE"}'
} >"$WORK/hub.jsonl"
for c in MDI N55 HUBNE; do
  for i in $(seq 100); do grep -q "NATS: consuming hmpps" "$WORK/$c.log" && break; sleep 0.2; done
  expect_grep "NATS: consuming hmpps" "$WORK/$c.log" "$c has its durable consumer (and a stream capturing its subject)"
done
$CAT "$URL" pub hmpps.prison "$WORK/prison.jsonl" && $CAT "$URL" pub hmpps.probation "$WORK/probation.jsonl" &&
  $CAT "$URL" pub hmpps.hub "$WORK/hub.jsonl" && ok "HMPPS domain events published on hmpps.prison, .probation and .hub" ||
  bad "publishing the inbound messages"
# wait_consumed CODE CONSUMED DEAD
wait_consumed() {
  local i
  for i in $(seq 100); do
    [ "$(status_nats "$1" consumed)" = "$2" ] && [ "$(status_nats "$1" dead_letters)" = "$3" ] && return 0
    sleep 0.3
  done
  return 1
}
wait_consumed MDI 6 5 && ok "MDI appended 6 prison messages and dead-lettered 5" ||
  bad "MDI consumed $(status_nats MDI consumed), dead letters $(status_nats MDI dead_letters) (want 6, 5)"
wait_consumed N55 5 0 && ok "N55 appended the 5 probation messages" ||
  bad "N55 consumed $(status_nats N55 consumed), dead letters $(status_nats N55 dead_letters) (want 5, 0)"
wait_consumed HUBNE 3 0 && ok "HUBNE appended the 3 merge messages" ||
  bad "HUBNE consumed $(status_nats HUBNE consumed), dead letters $(status_nats HUBNE dead_letters)"
types=$($NS --dir "$WORK/MDI" log --offender G2899UJ --json | jq -r 'select(.site == "MDI") | .type' | tr '\n' ' ')
expect_eq "$types" "prisoner.received alert.raised alert.closed manager.pom.allocated prisoner.released prisoner.received " \
  "MDI's events for G2899UJ are the mapped prison events, in order"
$NS --dir "$WORK/MDI" log --offender G2899UJ --json | jq -c 'select(.type == "prisoner.received") | .payload' >"$WORK/recv.json"
expect_eq "$(head -n 1 "$WORK/recv.json")" '{"movement_reason_code":"24","prison":"MDI","reason":"NEW_ADMISSION"}' \
  "prisoner.received carries the mapped prison, reason and movement reason"
types=$($NS --dir "$WORK/N55" log --offender X777984 --json | jq -r 'select(.site == "N55") | .type' | tr '\n' ' ')
expect_eq "$types" "person.identifier.added registration.added registration.removed manager.com.allocated licence.activated " \
  "N55's events for X777984 are the mapped probation events, in order"
types=$($NS --dir "$WORK/HUBNE" log --json | jq -r 'select(.site == "HUBNE") | .type' | tr '\n' ' ')
expect_eq "$types" "person.merged person.unmerged person.merged " "HUBNE's events are the mapped merges and unmerge"
$CAT "$URL" dump NOMSYNC nomsync.deadletter | cut -f3 >"$WORK/dead.jsonl"
expect_eq "$(wc -l <"$WORK/dead.jsonl")" 5 "5 dead letters on nomsync.deadletter"
for want in "not JSON" "is not one nomsync maps" "prisoner.released) refused" "QQQ' is not an establishment code"; do
  grep -q -- "$want" <(jq -r .reason "$WORK/dead.jsonl") && ok "a dead letter says: $want" || bad "no dead letter says '$want': $(jq -r .reason "$WORK/dead.jsonl" | tr '\n' '|')"
done
expect_eq "$(jq -r 'select(.reason | test("not JSON")) | .message' "$WORK/dead.jsonl")" \
  '{"eventType": "prison-offender-events.prisoner.received", not json' "a dead letter carries the original message"
# The registration sent to the prison node is refused by role and dead-lettered, not retried.
grep -q "registration.added) refused" <(jq -r .reason "$WORK/dead.jsonl") && ok "an event of another role's type is dead-lettered" ||
  bad "role refusal not dead-lettered"
# Appended inbound events are published outbound like any other.
wait_published MDI 60 || true
check_stream "after inbound appends"
finish
