#!/usr/bin/env bash
# The HTTP/JSON API and the caseworker web page on a real network of five
# daemons (a court, two prisons, a probation area and a hub; the hub serves
# [http] over TLS, with a certificate from a test CA made with the openssl
# CLI, and [auth]). API checks with curl --cacert + jq: authentication (bearer token,
# login session cookie with the token or a JWT, 401s, CSRF refusals, sign-out by POST), views by NOMS number and CRN byte-for-byte equal to
# `nomsync show --json`, event timelines, caseloads by prison, region and
# surname, the event catalogue and reference data (equal to `nomsync
# catalogue --json` and the CSVs), appends (201, 422 naming the field, 400,
# 413), 404 and 405. Then the headless-browser test (tests/web/browser_test.py)
# drives Chromium through the page over https (the server key pinned with
# --ignore-certificate-errors-spki-list), signing in with the token and then
# with a JWT, and saves screenshots in ${NS_BIN}/screenshots.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
SRC=${NS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

HTTP_PORT=$((BASE_PORT + 45))   # nodes use BASE_PORT + 0..4
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
API=https://127.0.0.1:$HTTP_PORT
# The test CA and the hub's certificate for 127.0.0.1/localhost.
T=$WORK/tls
mkdir -p "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
  -subj "/CN=nomsync web test CA" -days 2 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/api.key" -out "$T/api.csr" \
  -subj /CN=localhost 2>/dev/null
openssl x509 -req -in "$T/api.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial 0x1001 -days 2 \
  -extfile <(echo 'subjectAltName=DNS:localhost,IP:127.0.0.1') -out "$T/api.pem" 2>/dev/null
# Chromium trusts no test CA: it is told to accept this one key (base64 SHA-256 of its SubjectPublicKeyInfo).
SPKI=$(openssl pkey -in "$T/api.key" -pubout -outform der | openssl dgst -sha256 -binary | base64)
AUTH=(-H "Authorization: Bearer $TOKEN")

mknode MDI prison; mknode LEI prison; mknode N55 probation; mknode HUBNE hub; mknode SHEFMC court
write_roster
config HUBNE
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\ntls_cert = %s\ntls_key = %s\n' "$HTTP_PORT" "$TOKEN" \
  "$T/api.pem" "$T/api.key" >>"$WORK/HUBNE.conf"
# People sign in with JWTs from a test key (`nomsync token`); a prison officer may view records only.
$NS token keygen --alg ES256 --out "$WORK/signer.pem" >/dev/null
$NS token jwks "$WORK/signer.pem:web1" >"$WORK/jwks.json"
printf '[auth]\njwks = %s\naudience = nomsync\n' "$WORK/jwks.json" >>"$WORK/HUBNE.conf"
OFFICER_JWT=$($NS token mint --key "$WORK/signer.pem" --kid web1 --user officer1 --name "Pat Officer" \
  --roles VIEW --aud nomsync)
config MDI HUBNE N55
config LEI HUBNE
config N55 HUBNE
config SHEFMC HUBNE
for c in HUBNE MDI LEI N55 SHEFMC; do start $c; done

$GEN --outdir "$WORK/gen" --offenders 40 --seed 11 --court SHEFMC --prisons MDI,LEI --probation N55 --conflicts >/dev/null
for c in SHEFMC MDI LEI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
total=$(cat "$WORK"/gen/*.jsonl | wc -l)
if wait_converged 60 HUBNE MDI LEI N55 SHEFMC; then ok "five nodes converged ($total events)"; else bad "five nodes converged"; fi

deadline=$((SECONDS + 20))
until curl -fsS --cacert "$T/ca.pem" -o /dev/null "$API/healthz" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    bad "the hub's HTTP API answers on $API/healthz"
    tail -n 20 "$WORK/HUBNE.log"
    finish
    exit 1
  fi
  sleep 0.2
done
ok "the hub's HTTP API answers on port $HTTP_PORT"
expect_grep "HTTP API on https://127.0.0.1:$HTTP_PORT/ (TLS)" "$WORK/HUBNE.log" "the hub logs where the API listens (TLS)"

# req METHOD PATH [CURL ARGS...]: response body in $WORK/body, headers in
# $WORK/headers; prints the status code (000 if the connection failed).
req() {
  local method=$1 path=$2; shift 2
  : >"$WORK/body"; : >"$WORK/headers"
  curl -sS --cacert "$T/ca.pem" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X "$method" "$@" "$API$path" \
    2>"$WORK/curl.err" || true
}
body() { jq -r "$1" "$WORK/body" 2>/dev/null; }
same_json() { [ "$(jq -cS . "$1")" = "$(jq -cS . "$2")" ]; }

# ---- authentication -----------------------------------------------------------
expect_eq "$(req GET /healthz)" 200 "GET /healthz needs no token"
expect_eq "$(req GET /v1/status)" 401 "GET /v1/status without a token: 401"
expect_eq "$(body .error)" unauthorized "401 body names the error"
[ -n "$(body .message)" ] && ok "401 body carries a message" || bad "401 body carries a message"
expect_eq "$(req GET /v1/status -H 'Authorization: Bearer wrong-token')" 401 "a wrong bearer token: 401"
expect_eq "$(req GET /v1/offenders/A0001AB)" 401 "a view without a token: 401"
expect_eq "$(req GET /metrics)" 401 "metrics without a token: 401"
expect_eq "$(req GET /)" 401 "GET / without a token: 401"
expect_grep 'id="login-form"' "$WORK/body" "GET / without a token shows the login page"
expect_grep 'action="/login"' "$WORK/body" "the login form posts to /login"
expect_eq "$(req POST /login --data-urlencode token=not-it)" 401 "login with a wrong token: 401"
expect_grep 'id="login-form"' "$WORK/body" "a wrong token shows the login page again"
expect_grep 'role="alert"[^>]*>.*That token is not valid' "$WORK/body" "... saying the token is not valid, as an alert"
expect_grep 'aria-describedby="token-error token-hint" aria-invalid="true"' "$WORK/body" "... with the field described by the error"
expect_grep '<title>Error: Sign in' "$WORK/body" "... and a title that starts with Error:"
expect_eq "$(req POST /login --data-urlencode "token=$OFFICER_JWT")" 303 "login with a JWT: 303 See Other"
jcookie=$(grep -i '^set-cookie: nomsync_session=' "$WORK/headers" | head -n1 | sed 's/^[^:]*: //; s/;.*//' | tr -d '\r')
expect_eq "$(req GET /v1/whoami -H "Cookie: $jcookie")" 200 "the JWT's session: whoami"
expect_eq "$(body '.user + " " + (.roles | join(","))')" "officer1 ROLE_NOMSYNC_VIEW" "... is the officer, with the JWT's roles"
expect_eq "$(req GET /v1/status -H "Cookie: $jcookie")" 403 "the officer's session may not read the status (ROLE_NOMSYNC_ADMIN)"
expect_eq "$(req GET / -H "Authorization: Bearer $OFFICER_JWT")" 200 "GET / with a login proxy's Bearer JWT: the page"
expect_grep 'id="user-badge"' "$WORK/body" "... with the signed-in user's place in the header"
expect_eq "$(req POST /login --data-urlencode "token=$TOKEN")" 303 "login with the token: 303 See Other"
grep -qi '^location: /' "$WORK/headers" && ok "login redirects to /" || bad "login redirects to /: $(tr '\r\n' '  ' <"$WORK/headers")"
cookie=$(grep -i '^set-cookie: nomsync_session=' "$WORK/headers" | head -n1 | tr -d '\r')
case "$cookie" in
  *HttpOnly*SameSite=Strict*Secure*) ok "login sets an HttpOnly, SameSite=Strict, Secure cookie (TLS)" ;;
  *) bad "login cookie attributes: '$cookie'" ;;
esac
session=$(printf '%s' "$cookie" | sed -E 's/^[Ss]et-[Cc]ookie: nomsync_session=([0-9a-f]*);.*/\1/')
[ ${#session} -eq 64 ] && [ "$session" != "$TOKEN" ] && ok "the cookie carries a session id, not the token" ||
  bad "the cookie's value: '$session'"
SESSION=(-H "Cookie: nomsync_session=$session")
expect_eq "$(req GET /v1/status "${SESSION[@]}")" 200 "the session cookie authorises API calls"
expect_eq "$(req GET /v1/status -H "Cookie: nomsync_session=$TOKEN")" 401 "the token as a cookie is no session: 401"
expect_eq "$(req GET / "${SESSION[@]}")" 200 "GET / with the cookie: the page"
expect_grep 'id="search-input"' "$WORK/body" "the page has the search box"
expect_grep 'action="/logout"' "$WORK/body" "sign-out is a form that posts to /logout"
# CSRF: a signed-in browser's POST /v1/events from elsewhere, or not JSON, is refused.
ev='{"type":"alert.raised","offender":"A0001AB","occurred_at":"2024-02-05T09:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2024-02-05"}'
expect_eq "$(req POST /v1/events "${SESSION[@]}" -H "Origin: $API" -H 'Content-Type: text/plain' --data-binary "$ev")" 403 \
  "cookie + text/plain: 403"
expect_eq "$(body .error)" forbidden "403 body names the error"
expect_eq "$(req POST /v1/events "${SESSION[@]}" -H 'Origin: http://127.0.0.1:1' -H 'Content-Type: application/json' \
  --data-binary "$ev")" 403 "cookie + JSON from another port of the host (Origin): 403"
expect_eq "$(req POST /v1/events "${SESSION[@]}" -H 'Content-Type: application/json' --data-binary "$ev")" 403 \
  "cookie + JSON without Origin or Sec-Fetch-Site: 403"
# A bearer a login proxy injects into a browser's requests is as ambient as a cookie: checked the same way.
PROXIED=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
expect_eq "$(req POST /v1/events "${PROXIED[@]}" -H 'Origin: https://evil.example' --data-binary "$ev")" 403 \
  "bearer + JSON from another site (Origin; a proxy-injected bearer): 403"
expect_eq "$(req POST /v1/events "${PROXIED[@]}" -H 'Sec-Fetch-Site: cross-site' --data-binary "$ev")" 403 \
  "bearer + JSON with Sec-Fetch-Site: cross-site: 403"
expect_eq "$(req GET /logout "${SESSION[@]}")" 405 "GET /logout does not sign out: 405"
expect_eq "$(req GET /v1/status "${SESSION[@]}")" 200 "... and the session still works"
expect_eq "$(req POST /logout "${SESSION[@]}" -H "Origin: $API")" 303 "POST /logout from the page: 303"
grep -i '^set-cookie: nomsync_session=;' "$WORK/headers" | grep -qi 'max-age=0' && ok "logout clears the cookie" ||
  bad "logout clears the cookie: $(grep -i set-cookie "$WORK/headers")"
expect_eq "$(req GET /v1/status "${SESSION[@]}")" 401 "after sign-out the session is gone: 401"

# ---- the page's files: served, and nothing external --------------------------
for f in / /app.js /style.css; do
  expect_eq "$(req GET "$f" "${AUTH[@]}")" 200 "GET $f"
  if grep -Eqi '(src|href)="?(https?:)?//|url\((https?:)?//|@import' "$WORK/body"; then
    bad "$f loads nothing from elsewhere: $(grep -Eoi '(https?:)?//[^"'"'"' )]*' "$WORK/body" | head -3 | tr '\n' ' ')"
  else
    ok "$f loads nothing from elsewhere"
  fi
done
# hgrep PATTERN DESCRIPTION: the last response's headers match (case-insensitive).
hgrep() {
  if grep -qi -- "$1" "$WORK/headers"; then ok "$2"; else bad "$2: no '$1' in $(tr '\r\n' '  ' <"$WORK/headers")"; fi
}
req GET /app.js "${AUTH[@]}" >/dev/null
hgrep '^content-type: text/javascript' "app.js is served as JavaScript"
req GET / "${AUTH[@]}" >/dev/null
hgrep "^content-security-policy: .*default-src 'self'" "the page is served with a Content-Security-Policy"

# ---- views ------------------------------------------------------------------------
$NS --dir "$WORK/HUBNE" show A0001AB --json >"$WORK/want.json"
crn=$(jq -r .crn "$WORK/want.json")
expect_eq "$(req GET /v1/offenders/A0001AB "${AUTH[@]}")" 200 "view by NOMS number: 200"
same_json "$WORK/body" "$WORK/want.json" && ok "view by NOMS equals nomsync show --json" || bad "view by NOMS equals nomsync show --json"
hgrep '^content-type: application/json' "views are application/json"
expect_eq "$(req GET "/v1/offenders/$crn" "${AUTH[@]}")" 200 "view by CRN $crn: 200"
same_json "$WORK/body" "$WORK/want.json" && ok "view by CRN equals the same person's view" || bad "view by CRN equals the view"
expect_eq "$(req GET /v1/offenders/A9999ZZ "${AUTH[@]}")" 404 "an unknown NOMS number: 404"
expect_eq "$(body .error)" not_found "404 body names the error"

# ---- timelines ----------------------------------------------------------------------
expect_eq "$(req GET /v1/offenders/A0001AB/events "${AUTH[@]}")" 200 "timeline: 200"
cp "$WORK/body" "$WORK/events.json"
expect_eq "$(jq '.events | length' "$WORK/events.json")" "$(jq .event_count "$WORK/want.json")" "timeline length equals event_count"
expect_eq "$(jq -r .offender "$WORK/events.json")" A0001AB "timeline names the person"
expect_eq "$(jq '[.events[] | select(.signature != "valid")] | length' "$WORK/events.json")" 0 "every event's signature is valid"
expect_eq "$(jq '[.events[] | select((.id | test("^[0-9a-f]{64}$")) and .type and .occurred_at and .recorded_at and .site and .role and (.seq >= 1))] | length' "$WORK/events.json")" \
  "$(jq '.events | length' "$WORK/events.json")" "every event has id, type, times, site, role and seq"
expect_eq "$(jq -c '[.events[].occurred_at] | . == sort' "$WORK/events.json")" true "events are in fold order (occurred_at)"
# Each provenance entry of the view is an event whose "sets" names that field.
prov_ok=$(jq -n --slurpfile v "$WORK/want.json" --slurpfile e "$WORK/events.json" '
  [$v[0].provenance | to_entries[] | .key as $f | .value.event as $id
   | ($e[0].events[] | select(.id == $id) | .sets | index($f)) != null] | all')
expect_eq "$prov_ok" true "each event's \"sets\" lists the fields whose provenance it is"
expect_eq "$(req GET "/v1/offenders/$crn/events" "${AUTH[@]}")" 200 "timeline by CRN: 200"
expect_eq "$(jq -c '[.events[].id]' "$WORK/body")" "$(jq -c '[.events[].id]' "$WORK/events.json")" "timeline by CRN is the same"
expect_eq "$(req GET /v1/offenders/A9999ZZ/events "${AUTH[@]}")" 404 "timeline of an unknown person: 404"

# ---- caseloads ----------------------------------------------------------------------
# Expected lists from the CLI: every person at the hub, by NOMS number or (a person
# on a community sentence, known to probation only) by CRN; one line per person.
for ref in $(jq -r '.offender' "$WORK"/gen/*.jsonl | sort -u); do
  $NS --dir "$WORK/HUBNE" show "$ref" --json |
    jq -c '{ref: (.noms // .crn), noms, prison, region: .managers.com.region, surname: .name.surname,
            conflicts: (.conflicts | length), rules: [.conflicts[].rule]}'
done | sort -u >"$WORK/persons.jsonl"
expect_eq "$(wc -l <"$WORK/persons.jsonl")" 40 "40 persons at the hub"
# caseload KEY VALUE JQFILTER DESCRIPTION
caseload() {
  local want got
  want=$(jq -r "select($3) | .ref" "$WORK/persons.jsonl" | sort | tr '\n' ' ')
  expect_eq "$(req GET "/v1/offenders?$1=$2&limit=500" "${AUTH[@]}")" 200 "caseload $1=$2: 200"
  got=$(jq -r '.items[] | .noms // .crn' "$WORK/body" | sort | tr '\n' ' ')
  if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$(body .total)" = "$(echo $want | wc -w)" ]; then
    ok "$4: $(echo $want | wc -w) people"
  else
    bad "$4: got '$got' (total $(body .total)), wanted '$want'"
  fi
}
caseload prison MDI '.prison == "MDI"' "caseload of prison MDI lists everyone held there"
caseload prison LEI '.prison == "LEI"' "caseload of prison LEI"
caseload region N55 '.region == "N55"' "caseload of region N55 lists everyone supervised there"
surname=$(jq -r .name.surname "$WORK/want.json")
prefix=${surname:0:3}
caseload q "$prefix" "(.surname // \"\") | startswith(\"$prefix\")" "surname search '$prefix'"
req GET "/v1/offenders?q=$prefix&limit=500" "${AUTH[@]}" >/dev/null
expect_eq "$(jq '[.items[] | select(.noms == "A0001AB")] | length' "$WORK/body")" 1 "surname search finds A0001AB"
expect_eq "$(jq -c '[.items[] | select(.noms == "A0001AB")][0] | [.crn, .name.surname, .status, .legal_status]' "$WORK/body")" \
  "$(jq -c '[.crn, .name.surname, .status, .legal_status]' "$WORK/want.json")" "a caseload item carries CRN, name, status, legal status"
lower=$(echo "$prefix" | tr 'A-Z' 'a-z')
req GET "/v1/offenders?q=$lower&limit=500" "${AUTH[@]}" >/dev/null
expect_eq "$(jq '[.items[] | select(.noms == "A0001AB")] | length' "$WORK/body")" 1 "surname search ignores case"
req GET "/v1/offenders?region=N55&offset=0&limit=3" "${AUTH[@]}" >/dev/null
p1=$(jq -c '[.items[].noms]' "$WORK/body"); t1=$(body .total)
req GET "/v1/offenders?region=N55&offset=3&limit=3" "${AUTH[@]}" >/dev/null
p2=$(jq -c '[.items[].noms]' "$WORK/body")
expect_eq "$(jq -n --argjson a "$p1" --argjson b "$p2" '($a | length) == 3 and ($b | length) > 0 and (($a - $b) | length) == 3')" true \
  "caseload pages (offset, limit) do not overlap"
expect_eq "$(body .offset),$(body .limit),$(body .total)" "3,3,$t1" "a page reports offset, limit and total"
conflicted=$(jq -r 'select(.rules | index("RECEIVED_WHILE_IN_CUSTODY")) | .noms' "$WORK/persons.jsonl" | head -n1)
[ -n "$conflicted" ] && ok "a person with RECEIVED_WHILE_IN_CUSTODY ($conflicted)" || bad "generator made a conflict"
conflicted=${conflicted:-A0000AA}
cprison=$(jq -r "select(.noms == \"$conflicted\") | .prison // empty" "$WORK/persons.jsonl")
if [ -n "$cprison" ]; then
  req GET "/v1/offenders?prison=$cprison&limit=500" "${AUTH[@]}" >/dev/null
  expect_eq "$(jq -r ".items[] | select(.noms == \"$conflicted\") | .conflicts" "$WORK/body")" \
    "$(jq -r "select(.noms == \"$conflicted\") | .conflicts" "$WORK/persons.jsonl")" "caseload items count conflicts"
fi

# ---- catalogue and reference data ---------------------------------------------------------
expect_eq "$(req GET /v1/catalogue)" 401 "GET /v1/catalogue without a token: 401"
expect_eq "$(req GET /v1/refdata)" 401 "GET /v1/refdata without a token: 401"
expect_eq "$(req GET /v1/catalogue "${AUTH[@]}")" 200 "GET /v1/catalogue: 200"
$NS catalogue --json >"$WORK/catalogue.json"
same_json "$WORK/body" "$WORK/catalogue.json" && ok "/v1/catalogue equals nomsync catalogue --json" ||
  bad "/v1/catalogue equals nomsync catalogue --json"
ntypes=$($NS catalogue | grep -c '^[a-z_.]* ([0-9]*): ')
expect_eq "$(jq '.types | length' "$WORK/body")" "$ntypes" "the catalogue lists every event type ($ntypes)"
expect_eq "$(jq -r '.types[] | select(.name == "prisoner.received") | [.label, (.roles | join(",")),
  (.fields[] | select(.field == "reason") | .kind, .required, .values[0])] | join("|")' "$WORK/body")" \
  "Received into prison|prison|enum|true|NEW_ADMISSION" "a type carries its label, roles and field rules"
expect_eq "$(jq '[.types[] | select((.label | length) > 0 and (.roles | length) > 0 and (.fields | length) > 0)] | length' "$WORK/body")" "$ntypes" \
  "every type has a label, roles and fields"
expect_eq "$(req GET /v1/refdata "${AUTH[@]}")" 200 "GET /v1/refdata: 200"
expect_eq "$(jq '.prisons | length' "$WORK/body"),$(jq '.regions | length' "$WORK/body"),$(jq '.pdus | length' "$WORK/body")" \
  "$(($(wc -l <"$SRC/src/validate/data/establishments.csv") - 1)),12,120" "refdata lists every prison, region and PDU"
expect_eq "$(jq -r '[.prisons.MDI, .regions.N55, .pdus.N55DNR.name, .pdus.N55DNR.region] | join("|")' "$WORK/body")" \
  "Moorland (HMP & YOI)|Yorkshire & The Humber|Doncaster|N55" "refdata names prisons, regions and PDUs (with their region)"
expect_eq "$(req POST /v1/refdata "${AUTH[@]}" --data-binary '{}')" 405 "POST /v1/refdata: 405"

# ---- status and metrics ---------------------------------------------------------------
sleep 1.2
expect_eq "$(req GET /v1/status "${AUTH[@]}")" 200 "GET /v1/status: 200"
cp "$WORK/body" "$WORK/status.json"
expect_eq "$(jq -r '.site + " " + .role' "$WORK/status.json")" "HUBNE hub" "status names the site and role"
expect_eq "$(jq .events "$WORK/status.json")" "$total" "status counts every event"
expect_eq "$(jq .persons "$WORK/status.json")" 40 "status counts the persons"
expect_eq "$(jq '.conflicts_open >= 1' "$WORK/status.json")" true "status counts open conflicts"
expect_eq "$(jq '.vector | length' "$WORK/status.json")" 4 "status carries the version vector (four origins)"
expect_eq "$(jq -c '[.peers[].site] | sort' "$WORK/status.json")" '["LEI","MDI","N55","SHEFMC"]' "status lists the hub's four peers"
expect_eq "$(jq '[.peers[] | select(.state == "live")] | length' "$WORK/status.json")" 4 "all four peers live"
expect_eq "$(jq '[.peers[] | select(has("last_contact_ms_ago") and has("behind_events") and has("behind_seconds") and has("rejected_events"))] | length' "$WORK/status.json")" 4 \
  "peers carry last contact, lag and rejections"
expect_eq "$(req GET /metrics "${AUTH[@]}")" 200 "GET /metrics: 200"
expect_grep '^nomsync_peer_up{peer="MDI"' "$WORK/body" "metrics: peer up gauge"
expect_grep '^nomsync_replication_lag_events{' "$WORK/body" "metrics: replication lag"
expect_grep "^nomsync_events_stored $total\$" "$WORK/body" "metrics: events stored"
expect_grep '^nomsync_conflicts_open ' "$WORK/body" "metrics: open conflicts"

# ---- the browser ------------------------------------------------------------------------
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && command -v python3 >/dev/null; then
  shots=${NS_BIN}/screenshots
  mkdir -p "$shots"
  brc=0
  python3 "$SRC/tests/web/browser_test.py" --base "$API" --cacert "$T/ca.pem" --spki "$SPKI" \
    --token "$TOKEN" --screenshot-dir "$shots" \
    --noms A0001AB --conflict-noms "$conflicted" --jwt "$OFFICER_JWT" --jwt-name "Pat Officer" \
    >"$WORK/browser.out" 2>&1 || brc=$?
  sed 's/^/  browser: /' "$WORK/browser.out"
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/browser.out" | tail -n1)
  bp=$(echo "$summary" | cut -d' ' -f1); bf=$(echo "$summary" | cut -d' ' -f3)
  if [ "$brc" -eq 0 ] && [ -n "$summary" ] && [ "${bf:-1}" -eq 0 ]; then
    ok "browser test: $summary; screenshots in $shots"
  else
    bad "browser test (exit $brc): ${summary:-no summary}; see the output above and $shots"
  fi
  pass=$((pass + ${bp:-0}))
  fail=$((fail + ${bf:-0}))
else
  bad "browser test needs /usr/bin/chromium, /usr/bin/chromedriver and python3: apt-get install chromium chromium-driver (deploy/deps.sh lists them)"
fi

# ---- appends ------------------------------------------------------------------------------
pnc=$(jq -r .pnc "$WORK/want.json")
before=$(jq .event_count "$WORK/want.json")
ev='{"type":"person.identifier.added","offender":"A0001AB","occurred_at":"2026-03-01T09:00:00Z","identifier_type":"PNC","value":"'"$pnc"'"}'
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "$ev")" 201 "POST one valid event: 201"
expect_eq "$(jq '.ids | length' "$WORK/body")" 1 "201 returns the event id"
id=$(jq -r '.ids[0]' "$WORK/body")
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "[$ev,$ev]")" 201 "POST an array of events: 201"
expect_eq "$(jq '.ids | length' "$WORK/body")" 2 "201 returns one id per event"
req GET /v1/offenders/A0001AB/events "${AUTH[@]}" >/dev/null
expect_eq "$(jq --arg id "$id" '[.events[] | select(.id == $id and .site == "HUBNE" and .signature == "valid")] | length' "$WORK/body")" 1 \
  "the appended event is in the timeline, signed by the hub"
expect_eq "$(jq '.events | length' "$WORK/body")" "$((before + 3))" "the timeline grew by three events"
if wait_converged 30 HUBNE MDI LEI N55 SHEFMC; then ok "events appended over HTTP replicate to every node"; else bad "HTTP appends replicate"; fi
expect_eq "$($NS --dir "$WORK/MDI" log --json | jq -r --arg id "$id" 'select(.id == $id) | .site')" HUBNE "MDI holds the hub's new event"

bad_ev='{"type":"person.identifier.added","offender":"A0001AB","occurred_at":"2026-03-01T09:00:00Z","identifier_type":"PNC","value":"not-a-pnc"}'
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "[$ev,$bad_ev]")" 422 "an invalid event: 422"
expect_eq "$(jq -r '.error + " " + (.index | tostring) + " " + .field' "$WORK/body")" "validation 1 value" "422 names the index and the field"
[ -n "$(body .message)" ] && ok "422 explains the rule: $(body .message)" || bad "422 carries a message"
forbidden='{"type":"alert.raised","offender":"A0001AB","occurred_at":"2026-03-01T09:00:00Z","alert_type":"X","alert_code":"XSA","from_date":"2026-03-01"}'
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "$forbidden")" 422 "an event type the hub may not emit: 422"
expect_eq "$(body .field)" type "the role refusal names the field 'type'"
req GET /v1/offenders/A0001AB/events "${AUTH[@]}" >/dev/null
expect_eq "$(jq '.events | length' "$WORK/body")" "$((before + 3))" "a refused request writes nothing"
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary '{"type": "person.identifier.added",')" 400 "malformed JSON: 400"
expect_eq "$(body .error)" bad_json "400 names the error"
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary '"just a string"')" 400 "JSON that is not an event: 400"
expect_eq "$(req POST /v1/events -H 'Content-Type: application/json' --data-binary "$ev")" 401 "POST without a token: 401"
head -c $((1024 * 1024 + 100)) /dev/zero | tr '\0' ' ' >"$WORK/big.json"
expect_eq "$(req POST /v1/events "${AUTH[@]}" -H 'Content-Type: application/json' -H 'Expect:' --data-binary @"$WORK/big.json")" 413 "a body over 1 MiB: 413"

# ---- paths and methods ------------------------------------------------------------------
expect_eq "$(req GET /v1/nothing-here "${AUTH[@]}")" 404 "an unknown path: 404"
expect_eq "$(body .error)" not_found "404 body names the error"
expect_eq "$(req GET /v1/offenders/A0001AB/nothing "${AUTH[@]}")" 404 "an unknown sub-resource: 404"
expect_eq "$(req DELETE /v1/status "${AUTH[@]}")" 405 "DELETE /v1/status: 405"
expect_eq "$(req PUT /v1/offenders/A0001AB "${AUTH[@]}" --data-binary '{}')" 405 "PUT on a view: 405"
expect_eq "$(req GET /v1/events "${AUTH[@]}")" 405 "GET /v1/events: 405"
expect_eq "$(req GET '/v1/offenders?limit=0&q=A' "${AUTH[@]}")" 400 "a caseload limit of 0: 400"
expect_eq "$(req GET /healthz)" 200 "still healthy after the bad requests"
kill -0 "${PID[HUBNE]}" && ok "the hub is still running" || bad "the hub died"

if stop HUBNE; then ok "HUBNE exits 0 on SIGTERM with the API open"; else bad "HUBNE exit status on SIGTERM"; fi
for c in MDI LEI N55 SHEFMC; do stop $c || bad "$c exit status on SIGTERM"; done
finish
