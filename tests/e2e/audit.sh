#!/usr/bin/env bash
# The read audit (issue 12 part 3): every view read whose response left the
# node is in <dir>/audit, even when the daemon is killed with SIGKILL right
# after the responses (an entry is on disk before its response is sent).
#
# One prison node with the [http] service token. Round 1: 60 view reads, 8 at
# a time, then kill -9 at once: `nomsync audit` (read-only, on the dead
# node's directory) counts exactly 60 entries, one per read. Round 2: reads
# of distinct persons in a loop and a kill -9 in the middle of them: every
# person whose view came back (200) has an entry. Then, restarted: GET
# /v1/audit by offender, user and time range, its refusals, the metrics, and
# `nomsync audit` while the daemon runs; over TLS, three reads on one
# connection (responses held for the audit are sealed when sent); with JWTs,
# a read allowed and a read refused (no role) audited with the user and roles
# and surviving another kill -9, and the audit's own role.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

HTTP_PORT=$((BASE_PORT + 46))
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
API="http://127.0.0.1:$HTTP_PORT"
mknode MDI prison
write_roster
config MDI
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\naudit = on\naudit_days = 30\n' "$HTTP_PORT" "$TOKEN" >>"$WORK/MDI.conf"
$GEN --outdir "$WORK/gen" --offenders 120 --seed 5 --prisons MDI >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
jq -r .offender "$WORK/gen/MDI.jsonl" | sort -u >"$WORK/ids"
nids=$(wc -l <"$WORK/ids")
[ "$nids" -ge 80 ] && ok "a store with $nids persons" || bad "persons generated: $nids"

up() {
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null "$API/healthz" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
get() { curl -sS -H "Authorization: Bearer $TOKEN" "$API$1"; }
code() { curl -sS -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$1"; }
# audit_count ARGS...: entries `nomsync audit` lists.
audit_count() { $NS --dir "$WORK/MDI" audit --json "$@" | wc -l; }

start MDI
up && ok "the daemon serves HTTP" || { bad "the daemon serves HTTP"; finish; exit 1; }

# ---- round 1: 60 reads received, then kill -9 -------------------------------------------------
head -n 20 "$WORK/ids" >"$WORK/ids20"
for r in 1 2 3; do cat "$WORK/ids20"; done >"$WORK/reads1"
xargs -P 8 -I{} curl -sS -o /dev/null -w '{} %{http_code}\n' -H "Authorization: Bearer $TOKEN" "$API/v1/offenders/{}" \
  <"$WORK/reads1" >"$WORK/got1"
kill9 MDI
got=$(awk '$2 == 200' "$WORK/got1" | wc -l)
expect_eq "$got" 60 "60 view reads answered 200 before the kill -9"
expect_eq "$(audit_count)" "$got" "after kill -9: exactly one audit entry per read received ($got)"
a0=$(head -n1 "$WORK/ids20")
expect_eq "$(audit_count --offender "$a0")" 3 "three entries for $a0 (read three times)"
$NS --dir "$WORK/MDI" audit --offender "$a0" >"$WORK/table"
expect_grep "GET /v1/offenders/{id}" "$WORK/table" "the table names the endpoint"
expect_grep "service .*$a0 .*allowed" "$WORK/table" "... the user, the person and the outcome"
$NS --dir "$WORK/MDI" audit --offender "$a0" --json | head -n1 >"$WORK/line"
if jq -e --arg id "$a0" '.offender == $id and .user == "service" and .outcome == "allowed" and
     .endpoint == "GET /v1/offenders/{id}" and (.roles | index("ROLE_NOMSYNC_AUDIT")) != null and
     (.at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))' "$WORK/line" >/dev/null; then
  ok "a JSON line has time, user, roles, person, endpoint and outcome"
else
  bad "JSON line: $(cat "$WORK/line")"
fi

# ---- round 2: kill -9 in the middle of reads ---------------------------------------------------
start MDI
up && ok "restarted after the kill" || { bad "restarted after the kill"; finish; exit 1; }
tail -n +21 "$WORK/ids" >"$WORK/reads2"
(xargs -P 4 -I{} curl -sS -o /dev/null -w '{} %{http_code}\n' -H "Authorization: Bearer $TOKEN" "$API/v1/offenders/{}" \
  <"$WORK/reads2" >"$WORK/got2" 2>/dev/null || true) &
reader=$!
deadline=$((SECONDS + 20))
until [ "$(awk '$2 == 200' "$WORK/got2" 2>/dev/null | wc -l)" -ge 20 ] || [ $SECONDS -ge $deadline ]; do sleep 0.02; done
kill9 MDI
wait "$reader" || true
awk '$2 == 200 { print $1 }' "$WORK/got2" | sort -u >"$WORK/recv2"
nrecv=$(wc -l <"$WORK/recv2")
$NS --dir "$WORK/MDI" audit --json | jq -r .offender | sort -u >"$WORK/audited"
missing=$(comm -23 "$WORK/recv2" "$WORK/audited" | wc -l)
[ "$nrecv" -ge 20 ] && ok "$nrecv distinct views received before the kill -9 mid-load" || bad "views received: $nrecv"
expect_eq "$missing" 0 "every view received has its audit entry ($nrecv received, $(comm -12 "$WORK/audited" "$WORK/reads2" | wc -l) audited)"

# ---- restarted: GET /v1/audit, refusals, metrics, the CLI while the daemon runs ---------------
start MDI
up && ok "restarted again" || { bad "restarted again"; finish; exit 1; }
expect_eq "$(code "/v1/audit?offender=$a0")" 200 "GET /v1/audit?offender=ID answers"
expect_eq "$(jq '.entries | length' "$WORK/body")" 3 "... with the three reads of $a0"
expect_eq "$(jq -r '[.entries[].user] | unique | join(",")' "$WORK/body")" service "... by the service user"
expect_eq "$(code "/v1/audit?offender=$a0&limit=2")" 200 "limit=2 answers"
expect_eq "$(jq '.entries | length' "$WORK/body")" 2 "... with two entries"
total=$(audit_count)
expect_eq "$(code "/v1/audit?user=service&limit=100000")" 200 "GET /v1/audit?user=U answers"
expect_eq "$(jq '.entries | length' "$WORK/body")" "$total" "... with every entry of that user ($total)"
today=$(date -u +%Y-%m-%d)
expect_eq "$(code "/v1/audit?offender=$a0&from=$today&to=$today")" 200 "from/to as dates"
expect_eq "$(jq '.entries | length' "$WORK/body")" 3 "... today's entries are in [from, end of to]"
expect_eq "$(code "/v1/audit?offender=$a0&to=2000-01-01T00:00:00Z")" 200 "to as a time"
expect_eq "$(jq '.entries | length' "$WORK/body")" 0 "... nothing before 2000"
expect_eq "$(code "/v1/audit")" 400 "neither offender nor user: 400"
expect_eq "$(code "/v1/audit?offender=$a0&colour=blue")" 400 "an unknown parameter: 400"
expect_grep "colour" "$WORK/body" "... naming it"
expect_eq "$(code "/v1/audit?offender=$a0&from=yesterday")" 400 "a bad date: 400"
expect_eq "$(code "/v1/audit?offender=$a0&limit=0")" 400 "limit=0: 400"
expect_eq "$(curl -sS -o /dev/null -w '%{http_code}' "$API/v1/audit?offender=$a0")" 401 "no token: 401"
before=$(audit_count)
expect_eq "$(code "/v1/offenders/$a0")" 200 "a view read while the daemon runs"
expect_eq "$(audit_count)" $((before + 1)) "nomsync audit (read-only) sees it while the daemon runs"
expect_eq "$(code "/v1/offenders/Z9999ZZ")" 404 "an unknown person: 404"
expect_eq "$(audit_count)" $((before + 1)) "... not audited (no data returned)"
get /metrics >"$WORK/metrics"
expect_grep '^nomsync_http_reads_total{outcome="allowed"} 1$' "$WORK/metrics" "metrics: reads allowed since the start"
expect_grep '^nomsync_http_reads_total{outcome="restricted"} 0$' "$WORK/metrics" "metrics: reads refused, restricted"
expect_grep '^nomsync_audit_entries_total 1$' "$WORK/metrics" "metrics: audit entries committed"
expect_grep '^nomsync_audit_batches_total [1-9]' "$WORK/metrics" "metrics: audit batches"
expect_grep '^nomsync_audit_failed_total 0$' "$WORK/metrics" "metrics: no audit failures"
expect_grep '^nomsync_audit_queued 0$' "$WORK/metrics" "metrics: nothing queued"
stop MDI && ok "the daemon stops cleanly" || bad "the daemon stops cleanly"

# ---- over TLS: held responses are sealed when sent, several on one connection --------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/api.key" -out "$WORK/api.crt" \
  -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
printf 'tls_cert = %s\ntls_key = %s\n' "$WORK/api.crt" "$WORK/api.key" >>"$WORK/MDI.conf"
API="https://127.0.0.1:$HTTP_PORT"
start MDI
deadline=$((SECONDS + 30))
until curl -fsS --cacert "$WORK/api.crt" -o /dev/null "$API/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
before=$(audit_count)
a1=$(sed -n 2p "$WORK/ids20")
codes=$(curl -sS --cacert "$WORK/api.crt" -H "Authorization: Bearer $TOKEN" -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} ' \
  "$API/v1/offenders/$a0" "$API/v1/offenders/$a1" "$API/v1/offenders/$a0")
expect_eq "$codes" "200 200 200 " "three view reads over one TLS connection"
expect_eq "$(audit_count)" $((before + 3)) "... all three audited"

# ---- people (JWTs): allowed and refused reads audited with the user and roles, kill -9 again ------
$NS token keygen --alg ES256 --out "$WORK/signer.pem" >/dev/null
$NS token jwks "$WORK/signer.pem:k1" >"$WORK/jwks.json"
printf '[auth]\njwks = %s\n' "$WORK/jwks.json" >>"$WORK/MDI.conf"
mint() { $NS token mint --key "$WORK/signer.pem" --kid k1 --user "$1" --roles "$2"; }
ALICE=$(mint alice VIEW) CLERK=$(mint clerk RECORD) AUDITOR=$(mint auditor AUDIT)
as() { curl -sS --cacert "$WORK/api.crt" -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$API$2"; }
stop MDI && ok "the daemon stops cleanly (TLS)" || bad "the daemon stops cleanly (TLS)"
start MDI
deadline=$((SECONDS + 30))
until curl -fsS --cacert "$WORK/api.crt" -o /dev/null "$API/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
expect_eq "$(as "$ALICE" "/v1/offenders/$a1")" 200 "alice (VIEW) reads a view"
expect_eq "$(as "$CLERK" "/v1/offenders/$a1")" 403 "clerk (RECORD only) is refused it"
expect_eq "$(as "$ALICE" "/v1/audit?offender=$a1")" 403 "alice may not read the audit"
expect_eq "$(jq -r .role "$WORK/body")" ROLE_NOMSYNC_AUDIT "... the refusal names ROLE_NOMSYNC_AUDIT"
kill9 MDI
$NS --dir "$WORK/MDI" audit --json --offender "$a1" --from "$(date -u +%Y-%m-%d)" >"$WORK/people"
expect_eq "$(jq -c 'select(.user == "alice") | [.outcome, .roles]' "$WORK/people")" '["allowed",["ROLE_NOMSYNC_VIEW"]]' \
  "after kill -9: alice's read, allowed, with her roles"
expect_eq "$(jq -c 'select(.user == "clerk") | [.outcome, .roles]' "$WORK/people")" '["no_role",["ROLE_NOMSYNC_RECORD"]]' \
  "after kill -9: clerk's refused read, no_role"
start MDI
deadline=$((SECONDS + 30))
until curl -fsS --cacert "$WORK/api.crt" -o /dev/null "$API/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
expect_eq "$(as "$AUDITOR" "/v1/audit?user=clerk")" 200 "the auditor (AUDIT) reads the audit by user"
expect_eq "$(jq -c '[.entries[] | .outcome]' "$WORK/body")" '["no_role"]' "... clerk's refused read"
stop MDI && ok "the daemon stops cleanly (JWT)" || bad "the daemon stops cleanly (JWT)"
expect_fail 2 "nomsync audit: a bad --from is a usage error" $NS --dir "$WORK/MDI" audit --from 2026-02-30
expect_fail 1 "nomsync audit: no audit in a directory" $NS --dir "$WORK/gen" audit
finish
