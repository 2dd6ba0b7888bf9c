#!/usr/bin/env bash
# The OpenAPI 3.1 contract (docs/openapi.json) against the code and a live node.
# 1. Redocly's validator (npm @redocly/cli, installed by deploy/deps.sh into
#    tests/web/node_modules; Debian has no OpenAPI 3.1 validator) accepts it
#    with its recommended rules (tests/openapi/redocly.yaml).
# 2. tests/openapi/check.py (Debian's python3-jsonschema): the document's
#    paths are exactly the router's; a node holding a court's, two prisons'
#    and a probation area's events (nomsync-gen, a seed the schemas were not
#    written from) answers every JSON route, for every person, staff code,
#    region, prison and several dates, with bodies matching the schemas; error
#    bodies match Error; GET /v1/openapi.json serves the document itself.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
SRC=${NS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
REDOCLY=$SRC/tests/web/node_modules/.bin/redocly

if [ -x "$REDOCLY" ]; then
  if "$REDOCLY" lint --config "$SRC/tests/openapi/redocly.yaml" "$SRC/docs/openapi.json" >"$WORK/lint.out" 2>&1; then
    ok "redocly lint accepts docs/openapi.json ($(grep -o 'You have [0-9]* warning' "$WORK/lint.out" || echo 'no warnings'))"
  else
    bad "redocly lint: $(tail -n 30 "$WORK/lint.out")"
  fi
else
  bad "no $REDOCLY: run deploy/deps.sh (npm ci in tests/web)"
fi

HTTP_PORT=$((BASE_PORT + 40))
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
mknode N55 probation; mknode MDI prison; mknode LEI prison; mknode SHEFMC court
write_roster
config N55
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\n[auth]\njwks = %s\n' "$HTTP_PORT" "$TOKEN" "$WORK/jwks.json" \
  >>"$WORK/N55.conf"
$NS token keygen --alg ES256 --out "$WORK/idp.pem" >/dev/null
$NS token jwks "$WORK/idp.pem:idp" >"$WORK/jwks.json"
mint() { $NS token mint --key "$WORK/idp.pem" --kid idp "$@"; }
NOROLE=$(mint --user nobody --roles "")
READER=$(mint --user bob --roles VIEW)
$GEN --outdir "$WORK/gen" --offenders 60 --seed 23 --court SHEFMC --prisons MDI,LEI --probation N55 --conflicts >/dev/null
for c in SHEFMC MDI LEI N55; do $NS --dir "$WORK/$c" append "$WORK/gen/$c.jsonl" >/dev/null; done
for c in SHEFMC MDI LEI; do
  $NS --dir "$WORK/$c" export >"$WORK/$c.bundle"
  $NS --dir "$WORK/N55" import "$WORK/$c.bundle" --config "$WORK/N55.conf" >/dev/null 2>&1
done
# One person's record restricted to alice: bob (VIEW) is refused it and sees it masked in lists.
RESTRICTED=$(head -n1 "$WORK/gen/SHEFMC.jsonl" | jq -r .offender)
echo '{"type":"access.restricted","offender":"'"$RESTRICTED"'","mode":"RESTRICTION","users":["alice"],"reason":"staff member on the caseload","occurred_at":"2024-01-01T00:00:00Z"}' |
  $NS --dir "$WORK/N55" append - >/dev/null
start N55
deadline=$((SECONDS + 20))
until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { bad "the node's API answers"; finish; exit 1; }
  sleep 0.2
done
ok "a node with $(cat "$WORK"/gen/*.jsonl | wc -l) events serves its API"

if /usr/bin/python3 "$SRC/tests/openapi/check.py" --doc "$SRC/docs/openapi.json" --src "$SRC" \
  --base "http://127.0.0.1:$HTTP_PORT" --token "$TOKEN" --norole-token "$NOROLE" \
  --restricted "$RESTRICTED" --reader-token "$READER" >"$WORK/check.out" 2>&1; then
  ok "check.py: $(grep -c '^ok' "$WORK/check.out") checks passed"
else
  bad "check.py found problems"
fi
cat "$WORK/check.out"
finish
