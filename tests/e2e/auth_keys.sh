#!/usr/bin/env bash
# [auth] jwks in nomsyncd (issue 12): `nomsync token` makes keys, a JWKS and
# tokens; a bad key set stops the start-up with a message naming the file
# and the key; SIGHUP reloads the set (key rotation) and keeps the keys in
# use when the new file is bad. What the HTTP API does with a token is
# tested with the API (tests/test_http*.c, e2e scripts of the API).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

HTTP_PORT=$((BASE_PORT + 47))
K=$WORK/keys
mkdir -p "$K"

# --- nomsync token ---------------------------------------------------------
$NS token keygen --alg ES256 --out "$K/es.pem" --kid es-2026 >"$K/one.json"
expect_eq "$(jq -r '.keys[0].kid + " " + .keys[0].kty + " " + .keys[0].crv' "$K/one.json")" "es-2026 EC P-256" \
  "token keygen --kid prints the new key's JWKS"
expect_eq "$(stat -c %a "$K/es.pem")" 600 "the private key file is mode 0600"
$NS token keygen --alg RS256 --out "$K/rs.pem"
$NS token keygen --alg EdDSA --out "$K/ed.pem"
expect_fail 1 "token keygen never overwrites a key" $NS token keygen --alg EdDSA --out "$K/ed.pem"
expect_fail 1 "token keygen refuses HS256" $NS token keygen --alg HS256 --out "$K/hs.pem"
$NS token jwks "$K/es.pem:es-2026" "$K/rs.pem" >"$K/jwks.json"
expect_eq "$(jq -r '[.keys[] | .kid + "/" + .alg] | join(" ")' "$K/jwks.json")" "es-2026/ES256 rs/RS256" \
  "token jwks: kids given or from the file name, algorithms from the keys"
expect_eq "$(jq '[.keys[] | has("d")] | any' "$K/jwks.json")" false "token jwks writes no private member"
tok=$($NS token mint --key "$K/es.pem" --kid es-2026 --user PO_SMITH --name "Pat Smith" --roles VIEW,RECORD \
  --iss https://sign-in.example --aud nomsync --ttl 600)
payload=$(cut -d. -f2 <<<"$tok" | tr '_-' '/+')
while [ $((${#payload} % 4)) -ne 0 ]; do payload+="="; done
claims=$(base64 -d <<<"$payload")
expect_eq "$(jq -r '.user_name + " " + .name + " " + (.authorities | join(",")) + " " + .iss + " " + .aud' <<<"$claims")" \
  "PO_SMITH Pat Smith ROLE_NOMSYNC_VIEW,ROLE_NOMSYNC_RECORD https://sign-in.example nomsync" "token mint: the claims"
expect_eq "$(jq '.exp - .iat' <<<"$claims")" 600 "token mint: exp is iat + ttl"
expect_eq "$(cut -d. -f1 <<<"$tok" | base64 -d 2>/dev/null | jq -r '.alg + " " + .kid')" "ES256 es-2026" \
  "token mint: the header names the key and its algorithm"
expect_fail 2 "token mint refuses an unknown role" $NS token mint --key "$K/es.pem" --user U --roles SUPERUSER
expect_fail 1 "token mint --alg must be the key's" $NS token mint --key "$K/es.pem" --user U --alg RS256
expect_fail 2 "token mint needs --user" $NS token mint --key "$K/es.pem"

# --- nomsyncd ----------------------------------------------------------------
mknode MDI prison
write_roster
config MDI
cp "$WORK/MDI.conf" "$WORK/MDI.base.conf"
# (and a service token, which the API accepts besides user tokens)
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\n[auth]\njwks = keys/jwks.json\nissuer = https://sign-in.example\naudience = nomsync\n' \
  "$HTTP_PORT" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$WORK/MDI.conf"

# A bad key set (an RSA key of 1024 bits) stops the start-up.
cp "$K/jwks.json" "$K/good.json"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/weak.pem" 2>/dev/null
n=$(openssl pkey -in "$K/weak.pem" -noout -text 2>/dev/null | awk '/^modulus:/{f=1;next} /^publicExponent/{f=0} f' |
  tr -d ' \n:' | sed 's/^00//' | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '=')
jq --arg n "$n" '.keys[1].n = $n' "$K/good.json" >"$K/jwks.json"
expect_fail 1 "nomsyncd refuses a key set with a 1024-bit RSA key" $NSD --config "$WORK/MDI.conf"
expect_grep "jwks.json: key 1: an RSA modulus of 1024 bits" "$WORK/err" "  ... naming the file, the key and the rule"
echo '{"keys":[]}' >"$K/jwks.json"
expect_fail 1 "nomsyncd refuses an empty key set" $NSD --config "$WORK/MDI.conf"
rm "$K/jwks.json"
expect_fail 1 "nomsyncd refuses a missing key set" $NSD --config "$WORK/MDI.conf"
expect_grep "cannot open the key set" "$WORK/err" "  ... saying it cannot open it"

# No token and no key set: the API would be open to nobody.
cp "$WORK/MDI.base.conf" "$WORK/MDI.noauth.conf"
printf '[http]\nlisten = 127.0.0.1:%s\n' "$HTTP_PORT" >>"$WORK/MDI.noauth.conf"
expect_fail 1 "nomsyncd refuses [http] listen without [auth] jwks or a token" $NSD --config "$WORK/MDI.noauth.conf"

cp "$K/good.json" "$K/jwks.json"
start MDI
deadline=$((SECONDS + 20))
until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { bad "the API answers"; finish; exit 1; }
  sleep 0.2
done
expect_grep "JWT sign-in: 2 trusted keys from .*jwks.json (issuer https://sign-in.example, audience nomsync, leeway 60 s)" \
  "$WORK/MDI.log" "nomsyncd starts with the key set (relative to the config file) and says so"

# wait_log PATTERN: the daemon's log shows PATTERN within 10 s.
wait_log() {
  local deadline=$((SECONDS + 10))
  until grep -q -- "$1" "$WORK/MDI.log"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
echo '{"keys": [' >"$K/jwks.json"
kill -HUP "${PID[MDI]}"
wait_log "SIGHUP: JWT keys not reloaded, the 2 keys in use stay" &&
  ok "SIGHUP with a broken key set: the keys in use stay (logged)" || bad "SIGHUP with a broken key set"
$NS token jwks "$K/es.pem:es-2026" "$K/rs.pem" "$K/ed.pem:ed-2027" >"$K/jwks.json"
kill -HUP "${PID[MDI]}"
wait_log "SIGHUP: 3 JWT keys reloaded from" && ok "SIGHUP reloads the key set (3 keys)" || bad "SIGHUP reload"
curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && ok "the API still answers after the reloads" ||
  bad "the API after the reloads"

# Retiring a key: a token of the RS256 key works (and is remembered as verified, so the
# next request skips its signature check), then the key leaves the set: its token is
# refused at once after SIGHUP, the remembered verification forgotten.
TOK=$($NS token mint --key "$K/rs.pem" --kid rs --user kr --roles VIEW --iss https://sign-in.example --aud nomsync)
who() { curl -s -o "$WORK/who" -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$HTTP_PORT/v1/whoami"; }
expect_eq "$(who)/$(who)" "200/200" "a token of the RS256 key is accepted (twice: the second from the verified tokens)"
$NS token jwks "$K/es.pem:es-2026" "$K/ed.pem:ed-2027" >"$K/jwks.json"
kill -HUP "${PID[MDI]}"
wait_log "SIGHUP: 2 JWT keys reloaded from" && ok "SIGHUP reloads the set without the RS256 key" || bad "SIGHUP reload (2 keys)"
expect_eq "$(who)" 401 "its token is refused once the key has left the set"
expect_eq "$(jq -r .reason "$WORK/who")" unknown_key "  ... as signed by an unknown key"
stop MDI && ok "nomsyncd stops cleanly" || bad "nomsyncd stop"
finish
