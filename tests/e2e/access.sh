#!/usr/bin/env bash
# Limited-access records across nodes (issue 12): two daemons, a prison (MDI)
# and a probation area (N55), each serving the HTTP API with the same [auth]
# keys (a JWKS made by `nomsync token`). A record restricted at MDI with
# `nomsync append` of access.restricted reaches N55; there an unlisted user
# gets 403 restricted_record, a listed user reads the view, and a search
# shows the person to the unlisted user masked. Likewise an EXCLUSION list.
# A restriction lifted at N55 reaches MDI. Missing roles and bad tokens get
# 403 naming the role and 401 saying why.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

HTTP_MDI=$((BASE_PORT + 40))
HTTP_N55=$((BASE_PORT + 41))
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ISS=https://sign-in.test
AUD=nomsync

$NS token keygen --alg ES256 --out "$WORK/signer.pem" >/dev/null
$NS token keygen --alg ES256 --out "$WORK/stranger.pem" >/dev/null
$NS token jwks "$WORK/signer.pem:k1" >"$WORK/jwks.json"
expect_eq "$(jq -r '.keys[0].kid' "$WORK/jwks.json")" k1 "nomsync token jwks prints the key set"
# mint USER ROLES [ARGS...]: a JWT for USER from the trusted key.
mint() {
  local user=$1 roles=$2; shift 2
  $NS token mint --key "$WORK/signer.pem" --kid k1 --user "$user" --name "User $user" --roles "$roles" \
    --iss "$ISS" --aud "$AUD" "$@"
}

mknode MDI prison; mknode N55 probation
write_roster
config MDI N55
config N55 MDI
for c in MDI N55; do
  port=$HTTP_MDI; [ $c = N55 ] && port=$HTTP_N55
  printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\n[auth]\njwks = %s\nissuer = %s\naudience = %s\n' \
    "$port" "$TOKEN" "$WORK/jwks.json" "$ISS" "$AUD" >>"$WORK/$c.conf"
done
for c in MDI N55; do start $c; done

for port in $HTTP_MDI $HTTP_N55; do
  deadline=$((SECONDS + 20))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      bad "the HTTP API answers on port $port"
      finish
      exit 1
    fi
    sleep 0.2
  done
done
ok "both nodes serve the HTTP API"

# req NODE_PORT METHOD PATH JWT-or-empty [CURL ARGS...]: body in $WORK/body, headers in $WORK/headers; the status.
req() {
  local port=$1 method=$2 path=$3 tok=$4; shift 4
  local auth=()
  [ -z "$tok" ] || auth=(-H "Authorization: Bearer $tok")
  : >"$WORK/body"; : >"$WORK/headers"
  curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X "$method" "${auth[@]}" "$@" \
    "http://127.0.0.1:$port$path" 2>"$WORK/curl.err" || true
}
body() { jq -r "$1" "$WORK/body" 2>/dev/null; }

ALICE=$(mint alice VIEW)
BOB=$(mint bob VIEW)
CLERK=$(mint clerk RECORD)

# Two people at MDI: A1111AA restricted to alice, A2222BB excluding bob.
cat >"$WORK/people.jsonl" <<'EOF'
{"type":"person.created","offender":"A1111AA","occurred_at":"2026-01-05T09:00:00Z","surname":"GUARDED","forenames":"ANNA","dob":"1985-02-03","gender":"F"}
{"type":"prisoner.received","offender":"A1111AA","occurred_at":"2026-01-05T10:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}
{"type":"person.created","offender":"A2222BB","occurred_at":"2026-01-05T09:00:00Z","surname":"GUARDEDTOO","forenames":"BEN","dob":"1986-02-03","gender":"M"}
{"type":"prisoner.received","offender":"A2222BB","occurred_at":"2026-01-05T10:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}
EOF
$NS --dir "$WORK/MDI" append "$WORK/people.jsonl" >/dev/null
if wait_converged 60 MDI N55; then ok "two people replicated"; else bad "two people replicated"; fi
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A1111AA "$BOB")" 200 "before any restriction bob reads A1111AA at N55"

cat >"$WORK/restrict.jsonl" <<'EOF'
{"type":"access.restricted","offender":"A1111AA","occurred_at":"2026-01-06T09:00:00Z","mode":"RESTRICTION","users":["alice"],"reason":"high-profile case"}
{"type":"access.restricted","offender":"A2222BB","occurred_at":"2026-01-06T09:00:00Z","mode":"EXCLUSION","users":["bob"],"reason":"bob is a relative"}
EOF
$NS --dir "$WORK/MDI" append "$WORK/restrict.jsonl" >/dev/null
if wait_converged 60 MDI N55; then ok "the restrictions replicated from MDI to N55"; else bad "restrictions replicated"; fi

# RESTRICTION at N55: bob refused, alice allowed, bob's search masked.
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A1111AA "$BOB")" 403 "N55: bob (not listed) is refused A1111AA"
expect_eq "$(body .error)" restricted_record "... as restricted_record"
grep -q GUARDED "$WORK/body" && bad "the refusal names the person" || ok "the refusal shows nothing of the record"
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A1111AA/events "$BOB")" 403 "N55: bob is refused A1111AA's timeline"
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A1111AA "$ALICE")" 200 "N55: alice (listed) reads A1111AA"
expect_eq "$(body .name.surname)" GUARDED "... the whole view"
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A1111AA "$TOKEN")" 200 "N55: the service token reads A1111AA"
expect_eq "$(req $HTTP_N55 GET '/v1/offenders?q=GUARDED' "$BOB")" 200 "N55: bob searches GUARDED"
expect_eq "$(body '[.items[] | select(.offender == "A1111AA")] | .[0] | keys | join(",")')" "offender,restricted" \
  "... and sees A1111AA as {offender, restricted} only"
grep -q ANNA "$WORK/body" && bad "bob's search shows A1111AA's forename" || ok "bob's search shows nothing of A1111AA"
expect_eq "$(req $HTTP_N55 GET '/v1/offenders?q=GUARDED' "$ALICE")" 200 "N55: alice searches GUARDED"
expect_eq "$(body '[.items[] | select(.noms == "A1111AA")] | length')" 1 "... and sees A1111AA in full"

# EXCLUSION at N55: bob refused, alice allowed.
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A2222BB "$BOB")" 403 "N55: bob (excluded) is refused A2222BB"
expect_eq "$(body .error)" restricted_record "... as restricted_record"
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A2222BB "$ALICE")" 200 "N55: alice (not excluded) reads A2222BB"
expect_eq "$(req $HTTP_N55 GET '/v1/offenders?q=GUARDEDTOO' "$BOB")" 200 "N55: bob searches GUARDEDTOO"
expect_eq "$(body '.items[0].restricted')" true "... and sees A2222BB masked"

# The same at MDI, where the restrictions were recorded.
expect_eq "$(req $HTTP_MDI GET /v1/offenders/A1111AA "$BOB")" 403 "MDI: bob is refused A1111AA too"

# Roles and tokens.
expect_eq "$(req $HTTP_N55 GET /v1/offenders/A2222BB "$CLERK")" 403 "a user without ROLE_NOMSYNC_VIEW: 403"
expect_eq "$(body .role)" ROLE_NOMSYNC_VIEW "... naming the role"
expect_eq "$(req $HTTP_N55 GET /v1/status "$ALICE")" 403 "status without ROLE_NOMSYNC_ADMIN: 403"
expect_eq "$(req $HTTP_N55 GET /v1/whoami "$ALICE")" 200 "whoami"
expect_eq "$(body '[.user, .name, (.roles | join(",")), .service] | join(" ")')" \
  "alice User alice ROLE_NOMSYNC_VIEW false" "... names the user and roles"
expect_eq "$(req $HTTP_N55 GET /v1/whoami "$(mint bob VIEW --ttl -3600)")" 401 "an expired token: 401"
expect_eq "$(body .reason)" expired "... saying it expired"
grep -qi '^www-authenticate: Bearer error="invalid_token"' "$WORK/headers" && ok "... with WWW-Authenticate" ||
  bad "WWW-Authenticate: $(tr '\r\n' '  ' <"$WORK/headers")"
expect_eq "$(req $HTTP_N55 GET /v1/whoami "$(mint bob VIEW --aud elsewhere)")" 401 "a token for another audience: 401"
expect_eq "$(body .reason)" wrong_audience "... saying so"
forged=$($NS token mint --key "$WORK/stranger.pem" --kid k1 --user bob --roles ALL --iss "$ISS" --aud "$AUD")
expect_eq "$(req $HTTP_N55 GET /v1/whoami "$forged")" 401 "a token signed by an untrusted key under a trusted kid: 401"
expect_eq "$(body .reason)" bad_signature "... bad_signature"

# Lifted at N55 (probation may lift): bob reads A1111AA at MDI once it arrives.
echo '{"type":"access.lifted","offender":"A1111AA","occurred_at":"2026-01-07T09:00:00Z","mode":"RESTRICTION"}' |
  $NS --dir "$WORK/N55" append >/dev/null
if wait_converged 60 MDI N55; then ok "the lifting replicated from N55 to MDI"; else bad "lifting replicated"; fi
expect_eq "$(req $HTTP_MDI GET /v1/offenders/A1111AA "$BOB")" 200 "MDI: bob reads A1111AA once the restriction is lifted"
expect_eq "$(req $HTTP_MDI GET /v1/offenders/A2222BB "$BOB")" 403 "MDI: the exclusion of bob still stands"

for c in MDI N55; do
  if stop $c; then ok "$c exits 0 on SIGTERM"; else bad "$c exit status on SIGTERM"; fi
done
grep -q "service credential" "$WORK/N55.log" && ok "N55 logged the service token's use" ||
  bad "N55 logged the service token's use"
finish
