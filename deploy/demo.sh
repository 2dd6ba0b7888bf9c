#!/usr/bin/env bash
# The local demo: five nomsyncd nodes on 127.0.0.1 (a court, two prisons, a
# probation area and a regional hub). Each site signs and appends its own
# part of realistic offender life courses while the daemons replicate over
# ZeroMQ with CURVE; LEI and the court talk only to the hub, which relays.
# When every node holds the same events, each prints the same digest, and
# one offender's view is shown from a prison and from probation: their
# sentence plan, begun by the prison offender manager in custody and carried
# on by the community offender manager after release; then a community
# order with its requirements, compliance and enforcement, and the figures
# a region uses.
#
# The prison MDI and the probation area N55 serve the API and the web page
# over TLS (a local CA and a certificate for 127.0.0.1/localhost made with
# the openssl CLI) to people signed in with JWTs ([auth] with a JWKS from
# `nomsync token`): a prison officer, a probation officer (both VIEW and
# RECORD) and an analyst (FIGURES only) each get what their roles allow,
# shown with curl --cacert. Then the probation officer restricts one person's
# record to themselves (access.restricted); the restriction replicates and
# the prison's API refuses the prison officer (403 restricted_record) while
# the probation officer reads it.
#
#   bash deploy/demo.sh           (installs Debian packages and builds if needed)
#   bash deploy/demo.sh --serve   (then keeps the nodes running and prints the
#                                  https address, the CA file and the three
#                                  people's token files to sign in with)
set -euo pipefail
serve=0
case "${1:-}" in
  --serve) serve=1 ;;
  "") ;;
  *) echo "usage: bash deploy/demo.sh [--serve]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
NS=build/nomsync
demo=${NS_DEMO_DIR:-$(mktemp -d /tmp/nomsync-demo.XXXXXX)}
echo "demo directory: $demo"
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

declare -A port=([HUBNE]=7400 [SHEFMC]=7401 [MDI]=7411 [LEI]=7412 [N55]=7421)
declare -A role=([HUBNE]=hub [SHEFMC]=court [MDI]=prison [LEI]=prison [N55]=probation)
declare -A peers=([HUBNE]="" [SHEFMC]="HUBNE" [MDI]="HUBNE N55" [LEI]="HUBNE" [N55]="HUBNE")
declare -A https=([MDI]=7419 [N55]=7429)   # the sites that serve the API and the web page
source deploy/ports.bash
ns_reserve_ports 30   # a free block: keep clear of other demos and tests
off=$((NS_PORT_BASE - 7400))
sites="HUBNE SHEFMC MDI LEI N55"

echo "== keys and roster"
: >"$demo/roster"
for c in $sites; do
  $NS --dir "$demo/$c" init --site "$c" --role "${role[$c]}"
  region=-; [ "${role[$c]}" = probation ] && region=$c
  echo "$c ${role[$c]} $region $($NS --dir "$demo/$c" id | cut -d' ' -f3)" >>"$demo/roster"
done
column -t "$demo/roster" | sed 's/^/  /'

echo "== TLS: a local CA and a certificate for 127.0.0.1/localhost (openssl)"
t=$demo/tls
mkdir -p "$t"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/ca.key" -out "$t/ca.pem" \
  -subj "/CN=nomsync demo CA" -days 30 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/api.key" -out "$t/api.csr" \
  -subj /CN=localhost 2>/dev/null
openssl x509 -req -in "$t/api.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -set_serial 0x$(openssl rand -hex 8) \
  -days 30 -extfile <(echo 'subjectAltName=DNS:localhost,IP:127.0.0.1') -out "$t/api.pem" 2>/dev/null
openssl x509 -in "$t/api.pem" -noout -subject -ext subjectAltName | sed 's/^/  /'
echo "== people: a signing key, its JWKS for [auth], and a JWT for each of three users (nomsync token)"
$NS token keygen --alg ES256 --out "$demo/signer.pem" >/dev/null
$NS token jwks "$demo/signer.pem:demo1" >"$demo/jwks.json"
mint() { # mint FILE USER NAME ROLES: a 12-hour JWT in $demo/FILE.jwt
  $NS token mint --key "$demo/signer.pem" --kid demo1 --user "$2" --name "$3" --roles "$4" \
    --iss nomsync-demo --aud nomsync --ttl 43200 >"$demo/$1.jwt"
  printf '  %-17s %-12s %-16s %-14s %s\n' "$1" "$2" "$3" "$4" "$demo/$1.jwt"
}
mint prison-officer PMORGAN_GEN "Pat Morgan" VIEW,RECORD
mint probation-officer N55AH01 "Amira Hussain" VIEW,RECORD
mint analyst N55AN07 "Sam Okafor" FIGURES
echo "== starting five nomsyncd nodes"
for c in $sites; do
  {
    echo "[node]"; echo "dir = $demo/$c"; echo "listen = tcp://127.0.0.1:$((port[$c] + off))"
    echo "roster = $demo/roster"; echo "log_level = info"; echo "anti_entropy = 2"
    if [ -n "${https[$c]:-}" ]; then
      # The prison and the probation area serve the API and the web page, over TLS, to signed-in people.
      echo "[http]"; echo "listen = 127.0.0.1:$((https[$c] + off))"
      echo "tls_cert = $t/api.pem"; echo "tls_key = $t/api.key"
      echo "[auth]"; echo "jwks = $demo/jwks.json"; echo "issuer = nomsync-demo"; echo "audience = nomsync"
    fi
    echo "[peers]"
    for p in ${peers[$c]}; do echo "$p = tcp://127.0.0.1:$((port[$p] + off))"; done
  } >"$demo/$c.conf"
  build/nomsyncd --config "$demo/$c.conf" >"$demo/$c.log" 2>&1 &
  pids+=($!)
  echo "  $c (${role[$c]}) on port $((port[$c] + off)), peers: ${peers[$c]:-(sites dial in)}$(
    [ -n "${https[$c]:-}" ] && echo "; API on https://127.0.0.1:$((https[$c] + off))/")"
done

echo "== each site signs and appends its events (300 offenders' life courses)"
build/nomsync-gen --outdir "$demo/events" --offenders 300 --seed 2026 --court SHEFMC \
  --prisons MDI,LEI --probation N55 --conflicts --hub HUBNE >/dev/null
for c in SHEFMC MDI LEI N55 HUBNE; do
  n=$($NS --dir "$demo/$c" append "$demo/events/$c.jsonl" | wc -l)
  echo "  $c appended $n events"
done
total=$(cat "$demo"/events/*.jsonl | wc -l)

echo "== waiting for convergence ($total events)"
start=$SECONDS
while :; do
  digests=$(for c in $sites; do $NS --dir "$demo/$c" digest; done | sort -u | wc -l)
  counts=$(for c in $sites; do $NS --dir "$demo/$c" status --json | jq .events; done | sort -u)
  [ "$digests" = 1 ] && [ "$counts" = "$total" ] && break
  if [ $((SECONDS - start)) -gt 120 ]; then echo "  did not converge"; exit 1; fi
  sleep 0.5
done
for c in $sites; do echo "  $(printf '%-7s' $c) $($NS --dir "$demo/$c" digest)"; done
echo "  all five nodes hold byte-identical views (converged in $((SECONDS - start)) s)"

echo "== offender A0001AB as the prison LEI sees it (LEI talks only to the hub)"
$NS --dir "$demo/LEI" show A0001AB
crn=$($NS --dir "$demo/N55" show A0001AB --json | jq -r .crn)
echo "== the same person found by CRN $crn at the probation area N55"
$NS --dir "$demo/N55" show "$crn"
echo "== A0000AA was received at two prisons with no release between: flagged, not resolved"
$NS --dir "$demo/N55" show A0000AA | grep -E "^(NOMS|Status|CONFLICT)"
echo "== A0001AB's sentence plan: begun by the POM in custody, carried on by the COM after release"
$NS --dir "$demo/N55" show A0001AB --json | jq -r '
  (.plan.goals[] | "  goal \(.goal_id) [\(.area_of_need)] \(.title): \(.status) (added by \(.site))",
     (.steps[] | "    step \(.step_id) \(.description) - \(.actor), \(.status) (added by \(.site)\(
        if (.updates | length) > 0 then "; last change by " + (.updates[-1].site) else "" end))")),
  "  agreement: \(.plan.agreement.agreement_status // "-") (\(.plan.agreement.site // "-"))",
  (.plan.reviews[] | "  review \(.review_type) by \(.site) on \(.date)")'
co=$(jq -r 'select(.type == "sentence.imposed" and .sentence_type == "COMMUNITY_ORDER") | .offender' \
  "$demo/events/SHEFMC.jsonl" | head -n1)
if [ -n "$co" ]; then
  echo "== a community order, as the probation area N55 sees $co"
  $NS --dir "$demo/N55" show "$co" --json | jq -r '
    .community[] | "  \(.sentence_type) \(.sentence_id): \(.start_date) to \(.end_date), \(.status)",
      (.requirements[] | "    \(.category): \(.completed // "-") of \(.required) \(.unit | ascii_downcase) done (\(.status))"),
      "    compliance: \(.compliance.failures_to_comply) failures to comply, \(.compliance.warnings) warnings, in breach: \(.compliance.in_breach), enforcement due: \(.compliance.enforcement_due)"'
fi
m=$(jq -r .survivor "$demo/events/HUBNE.jsonl" | head -n1)
echo "== a duplicate record merged by the hub: $m at MDI"
$NS --dir "$demo/MDI" show "$m" --json | jq -r '"  \(.noms) \(.name.surname), \(.name.forenames): merged from \(.merged_from | join(", ")); \(.event_count) events"'
echo "== the figures Yorkshire & the Humber (N55) uses, kept by the store as views change"
$NS --dir "$demo/HUBNE" figures --region N55 | head -n 30 | sed 's/^/  /'
echo "== the hub's view of its peers"
sleep 1.2
$NS --dir "$demo/HUBNE" status | sed -n '/^daemon/,$p'

# api PERSON SITE PATH [CURL ARGS...]: print the curl call, then make it as PERSON at SITE's API;
# the body in $demo/body, the status code on stdout.
api() {
  local who=$1 url="https://127.0.0.1:$((https[$2] + off))$3"; shift 3
  local a shown=
  for a in "$@" "$url"; do [[ $a =~ ^[-A-Za-z0-9_./:=]+$ ]] && shown+=" $a" || shown+=" ${a@Q}"; done
  echo "  \$ curl --cacert $t/ca.pem -H \"Authorization: Bearer \$(cat $demo/$who.jwt)\"$shown" >&2
  curl -sS --cacert "$t/ca.pem" -H "Authorization: Bearer $(cat "$demo/$who.jwt")" -o "$demo/body" \
    -w '%{http_code}' "$@" "$url"
}
# shows STATUS JQ: the status and the body, summed up by JQ.
shows() { echo "    $1 $(jq -c "$2" "$demo/body")"; }
for c in MDI N55; do
  start=$SECONDS
  until curl -fsS --cacert "$t/ca.pem" -o /dev/null "https://127.0.0.1:$((https[$c] + off))/healthz" 2>/dev/null; do
    if [ $((SECONDS - start)) -gt 20 ]; then echo "  $c's API does not answer:"; tail -n 5 "$demo/$c.log"; exit 1; fi
    sleep 0.2
  done
done
echo "== over https, each person gets what their roles allow"
echo "  the prison officer at the prison MDI (ROLE_NOMSYNC_VIEW, RECORD): A0001AB's record"
shows "$(api prison-officer MDI /v1/offenders/A0001AB)" '{noms, crn, name: .name.surname, status}'
echo "  the probation officer at the probation area N55: the same person by CRN $crn"
shows "$(api probation-officer N55 "/v1/offenders/$crn")" '{crn, noms, name: .name.surname, tier: .risk.tier, com: .managers.com.staff}'
echo "  the analyst (ROLE_NOMSYNC_FIGURES only) asks for a record: refused, naming the role"
shows "$(api analyst N55 /v1/offenders/A0001AB)" .
echo "  ... and gets the region's figures (no personal data)"
shows "$(api analyst N55 '/v1/figures?region=N55')" '{region, persons, caseload_by_supervision, breaches_open}'
echo "== a limited-access record: the probation officer restricts A0001AB to themselves (access.restricted)"
ev='{"type":"access.restricted","offender":"A0001AB","occurred_at":"'"$(date -u +%FT%TZ)"'","mode":"RESTRICTION","users":["N55AH01"],"reason":"a member of staff is on the caseload"}'
shows "$(api probation-officer N55 /v1/events -H 'Content-Type: application/json' --data-binary "$ev")" .
echo "  it replicates to the prison MDI like any event; there the prison officer is refused"
start=$SECONDS
until [ "$(api prison-officer MDI /v1/offenders/A0001AB 2>/dev/null)" = 403 ]; do
  if [ $((SECONDS - start)) -gt 30 ]; then echo "  the restriction did not reach MDI"; exit 1; fi
  sleep 0.2
done
shows "$(api prison-officer MDI /v1/offenders/A0001AB)" .
echo "  and in a search is a restricted entry, without name or details"
shows "$(api prison-officer MDI '/v1/offenders?prison=MDI&limit=500')" '[.items[] | select(.offender == "A0001AB")]'
echo "  the probation officer, listed, still reads it at the prison's API"
shows "$(api probation-officer MDI /v1/offenders/A0001AB)" '{noms, name: .name.surname, status}'
echo "== the prison's read audit of A0001AB: every read above, allowed or refused, with who and how"
echo "  \$ nomsync --dir $demo/MDI audit --offender A0001AB"
$NS --dir "$demo/MDI" audit --offender A0001AB | sed 's/^/    /'
if [ "$serve" = 1 ]; then
  echo "== serving the web page over TLS (the nodes keep running; Ctrl-C stops them)"
  echo "  the probation area N55: https://127.0.0.1:$((https[N55] + off))/"
  echo "  the prison MDI:         https://127.0.0.1:$((https[MDI] + off))/"
  echo "  the CA to trust:        $t/ca.pem"
  echo "    (import it into the browser as an authority, or: curl --cacert $t/ca.pem ...)"
  echo "  paste one of these tokens into the sign-in page:"
  for p in prison-officer probation-officer analyst; do echo "    $p: $demo/$p.jwt"; done
  echo "  (A0001AB stays restricted: the prison officer's page refuses it, the probation officer's shows it)"
  wait
fi
