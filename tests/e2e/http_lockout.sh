#!/usr/bin/env bash
# HTTP lock-out (issue 10, item 6): connections that pipeline requests and
# never read their responses must not lock out /healthz or authenticated
# clients. One daemon with [http] at the default limits (512 connections, 64
# of them reserved for authenticated requests and /healthz, 32 per client
# address) and response_timeout = 2; tests/tools/ns_httpflood.py opens 520
# such connections, from 17 loopback addresses and then from one, and times
# /healthz and an authenticated GET from 127.0.0.1 meanwhile. Before the fix
# both were refused (the 512 slots were taken) and the 512 attacking
# connections were still open 15 s later (their writes never drained and
# nothing timed them out).
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"
SRC=${NS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

HTTP_PORT=$((BASE_PORT + 45))
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
mknode MDI prison
write_roster
config MDI
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\nresponse_timeout = 2\n' "$HTTP_PORT" "$TOKEN" >>"$WORK/MDI.conf"
start MDI
deadline=$((SECONDS + 20))
until curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { bad "the API answers"; finish; exit 1; }
  sleep 0.2
done

# flood SOURCES: run the attack; its JSON summary in $WORK/flood.json.
flood() {
  python3 "$SRC/tests/tools/ns_httpflood.py" --port "$HTTP_PORT" --token "$TOKEN" --conns 520 --sources "$1" \
    --wait 15 >"$WORK/flood.json"
  echo "  attack from $1 address(es): $(cat "$WORK/flood.json")"
}
j() { jq -r "$1" "$WORK/flood.json"; }
metric() {
  curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

for sources in 17 1; do
  flood $sources
  expect_eq "$(j .healthz_status)" 200 "under attack from $sources address(es): /healthz answers"
  [ "$(j .healthz_status)" = 200 ] && [ "$(j .healthz_ms)" -lt 1000 ] && ok "  ... within a second ($(j .healthz_ms) ms)" || bad "/healthz took $(j .healthz_ms) ms"
  expect_eq "$(j .auth_status)" 200 "under attack from $sources address(es): an authenticated GET answers"
  [ "$(j .auth_status)" = 200 ] && [ "$(j .auth_ms)" -lt 1000 ] && ok "  ... within a second ($(j .auth_ms) ms)" || bad "the authenticated GET took $(j .auth_ms) ms"
  expect_eq "$(j .open_after)" 0 "every attacking connection is closed by the server"
  closed=$(j .closed_by_s)
  if [ "$closed" != null ] && awk -v t="$closed" 'BEGIN { exit !(t <= 2 + 6) }'; then
    ok "  ... within the response timeout (2 s) and a margin: the last after $closed s"
  else
    bad "the attacking connections closed after $closed s (response timeout 2 s)"
  fi
done

refused_client=$(metric 'nomsync_http_connections_refused_total{reason="per_client"}')
refused_reserved=$(metric 'nomsync_http_connections_refused_total{reason="reserved"}')
timed_out=$(metric 'nomsync_http_connections_refused_total{reason="response_timeout"}')
echo "  metrics: per_client=$refused_client reserved=$refused_reserved response_timeout=$timed_out"
[ "${refused_client:-0}" -ge 400 ] && ok "refusals per client address counted ($refused_client)" || bad "per_client refusals: '$refused_client'"
# Whether attackers reach the reserved slots depends on how fast they open
# connections against the 2 s response timeout that frees the others: on a
# loaded machine they may never fill the unreserved ones (seen: 0). The
# reserved slots are checked deterministically in tests/test_http.c
# (test_reserved_slots); here the count is only reported.
echo "  reserved-slot refusals: ${refused_reserved:-0} (informational)"
[ "${timed_out:-0}" -ge 400 ] && ok "connections closed at the response timeout counted ($timed_out)" || bad "response_timeout closures: '$timed_out'"
n=$(grep -c 'WARN.*http: connection refused: too many connections from this address' "$WORK/MDI.log" || true)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] && ok "the per-address refusals are logged at a bounded rate ($n lines for $refused_client)" ||
  bad "per-address refusal log lines: $n"
expect_grep 'http: connection closed: the client did not take its response' "$WORK/MDI.log" "response timeouts are logged"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz")" 200 "the API serves normally afterwards"
stop MDI && ok "the daemon stops cleanly" || bad "the daemon stops cleanly"
finish
