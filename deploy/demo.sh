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
#   bash deploy/demo.sh           (installs Debian packages and builds if needed)
#   bash deploy/demo.sh --serve   (then keeps the nodes running and prints the
#                                  web page's address and sign-in token)
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

token=demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "== starting five nomsyncd nodes"
for c in $sites; do
  {
    echo "[node]"; echo "dir = $demo/$c"; echo "listen = tcp://127.0.0.1:$((port[$c] + off))"
    echo "roster = $demo/roster"; echo "log_level = info"; echo "anti_entropy = 2"
    if [ "$c" = N55 ]; then
      # The probation area serves the API and the web page.
      echo "[http]"; echo "listen = 127.0.0.1:$((7429 + off))"; echo "token = $token"
    fi
    echo "[peers]"
    for p in ${peers[$c]}; do echo "$p = tcp://127.0.0.1:$((port[$p] + off))"; done
  } >"$demo/$c.conf"
  build/nomsyncd --config "$demo/$c.conf" >"$demo/$c.log" 2>&1 &
  pids+=($!)
  echo "  $c (${role[$c]}) on port $((port[$c] + off)), peers: ${peers[$c]:-(sites dial in)}"
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
if [ "$serve" = 1 ]; then
  echo "== serving: the web page of the probation area N55"
  echo "  http://127.0.0.1:$((7429 + off))/   sign in with the token: $token"
  echo "  (the nodes keep running; Ctrl-C stops them)"
  wait
fi
