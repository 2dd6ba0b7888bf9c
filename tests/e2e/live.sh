#!/usr/bin/env bash
# The event-driven live path: nomsyncd binds DIR/nomsyncd.notify (mode 0600),
# each `nomsync append` notifies it (counted in the status file as
# local_append_notifications) and the event reaches the peer's view; an
# append with the daemon killed (a stale socket) succeeds, the restarted daemon
# replaces the socket and sends the event on; a clean stop removes it.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

mknode MDI prison; mknode HUBNE hub
write_roster
config HUBNE
config MDI HUBNE
start HUBNE; start MDI

$GEN --outdir "$WORK/gen" --offenders 20 --seed 5 --prisons MDI >/dev/null
$NS --dir "$WORK/MDI" append "$WORK/gen/MDI.jsonl" >/dev/null
if wait_converged 60 MDI HUBNE; then ok "two nodes converged"; else bad "two nodes converged"; fi

sock=$WORK/MDI/nomsyncd.notify
[ -S "$sock" ] && ok "nomsyncd.notify is a socket" || bad "nomsyncd.notify is a socket"
expect_eq "$(stat -c %a "$sock")" "600" "the socket is mode 0600"

alert() { # alert N: an alert.raised line with code XS<N>
  printf '{"type":"alert.raised","offender":"A0003AD","occurred_at":"2026-02-01T10:00:%02dZ","alert_type":"X","alert_code":"XS%s","from_date":"2026-02-01"}\n' "$1" "$1"
}
codes_on() { $NS --dir "$WORK/$1" show A0003AD --json | jq -r '[.alerts[].alert_code] | join(",")'; }

# Each append is on HUBNE's view within a few seconds; the daemon counts the notifications.
n=5 slow=0
for i in $(seq 1 $n); do
  alert "$i" | $NS --dir "$WORK/MDI" append >/dev/null
  t0=$(date +%s%N)
  until codes_on HUBNE | grep -q "XS$i"; do
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || { slow=1; break; }
    sleep 0.01
  done
  echo "  append $i on HUBNE's view after $(( ($(date +%s%N) - t0) / 1000000 )) ms after the append returned (polled with nomsync show)"
done
expect_eq "$slow" "0" "$n CLI appends reached the peer's view"
sleep 1.3 # the status file is rewritten every second
got=$(jq .local_append_notifications "$WORK/MDI/nomsyncd.status.json")
[ "$got" -ge "$n" ] && ok "MDI read $got notifications (>= $n)" || bad "MDI read $got notifications, wanted >= $n"

# The daemon killed: its socket is stale; an append still succeeds, and the restarted daemon sends it on.
kill9 MDI
[ -S "$sock" ] && ok "a killed daemon leaves its socket" || bad "a killed daemon leaves its socket"
alert 7 | $NS --dir "$WORK/MDI" append >/dev/null && ok "append with a stale socket succeeds" ||
  bad "append with a stale socket"
start MDI
if wait_converged 30 MDI HUBNE; then ok "the restarted daemon sent the event on"; else bad "restarted daemon sent the event"; fi
expect_grep "XS7" <(codes_on HUBNE) "HUBNE's view shows the event appended while MDI was down"
grep -q "no append notifications" "$WORK/MDI.log" && bad "the restarted daemon took over the stale socket" ||
  ok "the restarted daemon took over the stale socket"

if stop MDI; then ok "MDI exits 0 on SIGTERM"; else bad "MDI exit status"; fi
[ ! -e "$sock" ] && ok "a clean stop removes the socket" || bad "a clean stop removes the socket"
stop HUBNE || true
finish
