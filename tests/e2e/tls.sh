#!/usr/bin/env bash
# TLS on the API (issue 12, item 4). Certificates made with the openssl CLI:
# a CA, a server certificate for 127.0.0.1/localhost (serial 1001), its
# replacement (serial 1002), an expired one and a client certificate. One
# daemon with [http] tls_cert/tls_key: curl with --cacert (/healthz and an
# authenticated GET), without it (verification fails), plain HTTP to the TLS
# port (a 400 naming https://), a TLS 1.1 client (refused), the metrics and
# the start-up log line; SIGHUP with the replacement certificate (a
# connection opened before keeps working, a new one sees serial 1002; a
# broken replacement keeps the old one); an expired certificate refuses
# start-up; with tls_client_ca, a client without a certificate is refused
# and one with it served.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

HTTP_PORT=$((BASE_PORT + 46))
URL=https://127.0.0.1:$HTTP_PORT
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
T=$WORK/tls
mkdir -p "$T"

# cert NAME SERIAL SUBJECT EXT: a P-256 key NAME.key and NAME.pem signed by the CA.
cert() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" \
    -subj "$3" 2>/dev/null
  openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial "$2" -days 2 \
    -extfile <(printf '%s\n' "$4") -out "$T/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
  -subj "/CN=nomsync test CA" -days 2 2>/dev/null
SAN='subjectAltName=DNS:localhost,IP:127.0.0.1'
cert server 0x1001 /CN=localhost "$SAN"
cert server2 0x1002 /CN=localhost "$SAN"
cert client 0x2001 "/CN=nomsync test client" 'extendedKeyUsage=clientAuth'
# The expired certificate: openssl ca can set the dates.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/expired.key" -out "$T/expired.csr" \
  -subj /CN=localhost 2>/dev/null
: >"$T/index.txt"
echo 3001 >"$T/serial"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\n\
default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n' "$T" "$T" "$T" >"$T/ca.cnf"
openssl ca -batch -config "$T/ca.cnf" -cert "$T/ca.pem" -keyfile "$T/ca.key" -in "$T/expired.csr" \
  -out "$T/expired.pem" -startdate 20200101000000Z -enddate 20200102000000Z -notext 2>/dev/null

mknode MDI prison
write_roster
config MDI
cp "$WORK/MDI.conf" "$WORK/plain.conf"
cp "$T/server.pem" "$T/api.pem"
cp "$T/server.key" "$T/api.key"
printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\ntls_cert = tls/api.pem\ntls_key = tls/api.key\n' \
  "$HTTP_PORT" "$TOKEN" >>"$WORK/MDI.conf"

wait_up() {
  local deadline=$((SECONDS + 20))
  until curl -fsS --cacert "$T/ca.pem" -o /dev/null "$URL/healthz" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
metric() {
  curl -sS --cacert "$T/ca.pem" -H "Authorization: Bearer $TOKEN" "$URL/metrics" |
    awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}
serial_seen() {
  openssl s_client -connect "127.0.0.1:$HTTP_PORT" -CAfile "$T/ca.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}

start MDI
wait_up && ok "curl --cacert: GET /healthz over TLS" || { bad "the TLS API answers"; finish; exit 1; }
expect_grep "HTTP API on https://127.0.0.1:$HTTP_PORT/ (TLS): certificate CN=localhost (serial 1001" "$WORK/MDI.log" \
  "start-up log names the certificate's subject and serial"
expect_grep "valid until .* GMT" "$WORK/MDI.log" "... and its expiry"
code=$(curl -sS --cacert "$T/ca.pem" -o "$WORK/status.json" -D "$WORK/head" -w '%{http_code}' \
  -H "Authorization: Bearer $TOKEN" "$URL/v1/status")
expect_eq "$code" 200 "an authenticated GET /v1/status over TLS"
expect_grep "Strict-Transport-Security: max-age=31536000" "$WORK/head" "responses carry Strict-Transport-Security"
# A body over the limit, still being uploaded when the 413 goes out: the server
# half-closes and reads the rest away (lingering close), so the client reads its
# 413 instead of a connection reset (which unread input at close would cause).
head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$WORK/big.json"
codes=""
for i in 1 2 3 4 5; do
  codes="$codes $(curl -sS --cacert "$T/ca.pem" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H 'Expect:' --data-binary @"$WORK/big.json" "$URL/v1/events" 2>/dev/null || true)"
done
expect_eq "$codes" " 413 413 413 413 413" "an 8 MiB upload over TLS gets its 413, five times out of five"
rc=0
curl -sS -o /dev/null "$URL/healthz" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 60 "curl without --cacert fails verification ($(head -c 100 "$WORK/err"))"
code=$(curl -sS -o "$WORK/plain" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz" || true)
expect_eq "$code" 400 "plain HTTP to the TLS port: 400"
expect_grep "this port speaks HTTPS: use https://127.0.0.1:$HTTP_PORT/" "$WORK/plain" "... saying to use https://"
rc=0
openssl s_client -connect "127.0.0.1:$HTTP_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null \
  >"$WORK/tls11" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "protocol version" "$WORK/tls11"; then
  ok "a TLS 1.1 client is refused (alert protocol version)"
else
  bad "TLS 1.1: exit $rc, $(grep -m1 -i alert "$WORK/tls11")"
fi
rc=0
curl -sS -o /dev/null --cacert "$T/ca.pem" --tls-max 1.1 "$URL/healthz" 2>"$WORK/err" || rc=$?
[ "$rc" -ne 0 ] && ok "curl --tls-max 1.1 fails (exit $rc)" || bad "curl --tls-max 1.1 succeeded"
expiry=$(date -d "$(openssl x509 -enddate -noout -in "$T/server.pem" | cut -d= -f2)" +%s)
expect_eq "$(metric nomsync_http_tls_cert_expiry_seconds)" "$expiry" "metrics: the certificate's expiry"
ok_n=$(metric 'nomsync_http_tls_handshakes_total{result="ok"}')
failed_n=$(metric 'nomsync_http_tls_handshakes_total{result="failed"}')
[ "${ok_n:-0}" -ge 3 ] && [ "${failed_n:-0}" -ge 2 ] && ok "metrics: handshakes ok=$ok_n failed=$failed_n" ||
  bad "metrics: handshakes ok='$ok_n' failed='$failed_n'"
expect_eq "$(metric nomsync_http_tls_plain_refused_total)" 1 "metrics: plain-HTTP requests refused"

# Rotation: a kept-alive connection opened before SIGHUP keeps working; new ones get the new certificate.
expect_eq "$(serial_seen)" "serial=1001" "before SIGHUP: serial 1001"
coproc KEEP { python3 -u -c '
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
f = s.makefile("rb")
def get():
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status = f.readline().split()[1].decode()
    n = 0
    while True:
        line = f.readline()
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
        if line in (b"\r\n", b""):
            break
    f.read(n)
    return status
print(get(), int(s.getpeercert()["serialNumber"], 16), flush=True)
sys.stdin.readline()
print(get(), flush=True)
' "$HTTP_PORT" "$T/ca.pem"; }
read -r -t 10 first serial_before <&"${KEEP[0]}" || true
expect_eq "$first $serial_before" "200 4097" "a kept-alive connection: first request (serial 0x1001)"
cp "$T/server2.pem" "$T/api.pem"
cp "$T/server2.key" "$T/api.key"
kill -HUP "${PID[MDI]}"
deadline=$((SECONDS + 10))
until grep -q "SIGHUP: TLS reloaded" "$WORK/MDI.log"; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
expect_grep "SIGHUP: TLS reloaded: certificate CN=localhost (serial 1002" "$WORK/MDI.log" "SIGHUP reloads the certificate"
echo go >&"${KEEP[1]}"
read -r -t 10 second <&"${KEEP[0]}" || true
expect_eq "${second:-}" 200 "the connection opened before SIGHUP still works"
wait "$KEEP_PID" 2>/dev/null || true
expect_eq "$(serial_seen)" "serial=1002" "a new connection sees the new certificate (serial 1002)"
# A broken replacement (the key of another certificate): refused, the old one stays.
cp "$T/client.key" "$T/api.key"
kill -HUP "${PID[MDI]}"
deadline=$((SECONDS + 10))
until grep -q "SIGHUP: TLS not reloaded" "$WORK/MDI.log"; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.1
done
expect_grep "TLS not reloaded, still serving the old certificate: \[http\] tls_key .*api.key does not match tls_cert" \
  "$WORK/MDI.log" "a mismatched key on SIGHUP: logged, not loaded"
expect_eq "$(serial_seen)" "serial=1002" "... and the previous certificate is still served"
stop MDI && ok "clean stop" || bad "stop"

# Start-up refusals: an expired certificate, a mismatched key, a missing file.
tls_conf() {
  { cat "$WORK/plain.conf"
    printf '[http]\nlisten = 127.0.0.1:%s\ntoken = %s\ntls_cert = %s\ntls_key = %s\n' "$HTTP_PORT" "$TOKEN" "$1" "$2"
    [ -z "${3:-}" ] || printf 'tls_client_ca = %s\n' "$3"
  } >"$WORK/MDI.conf"
}
tls_conf tls/expired.pem tls/expired.key
expect_fail 1 "an expired certificate refuses start-up" timeout 20 "$NSD" --config "$WORK/MDI.conf"
expect_grep "tls_cert .*expired.pem expired on Jan  2 00:00:00 2020 GMT" "$WORK/err" "... saying it expired and when"
tls_conf tls/server.pem tls/client.key
expect_fail 1 "a key that does not match the certificate refuses start-up" timeout 20 "$NSD" --config "$WORK/MDI.conf"
expect_grep "tls_key .*client.key does not match tls_cert" "$WORK/err" "... naming both files"
tls_conf tls/missing.pem tls/server.key
expect_fail 1 "a missing certificate file refuses start-up" timeout 20 "$NSD" --config "$WORK/MDI.conf"
expect_grep "tls_cert: cannot read .*missing.pem: No such file or directory" "$WORK/err" "... naming the file"

# Mutual TLS.
tls_conf tls/server.pem tls/server.key tls/ca.pem
start MDI
wait_up_mtls() {
  local deadline=$((SECONDS + 20))
  until curl -fsS --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" -o /dev/null "$URL/healthz" \
    2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
wait_up_mtls && ok "mutual TLS: a client certificate signed by tls_client_ca is accepted" || bad "mutual TLS with a client certificate"
code=$(curl -sS --cacert "$T/ca.pem" --cert "$T/client.pem" --key "$T/client.key" -o /dev/null -w '%{http_code}' \
  -H "Authorization: Bearer $TOKEN" "$URL/v1/status")
expect_eq "$code" 200 "... and an authenticated GET with it"
rc=0
curl -sS --cacert "$T/ca.pem" -o /dev/null "$URL/healthz" 2>"$WORK/err" || rc=$?
[ "$rc" -ne 0 ] && ok "mutual TLS: no client certificate, refused (curl exit $rc: $(head -c 80 "$WORK/err"))" ||
  bad "mutual TLS: served without a client certificate"
# A certificate from another CA: the server certificate's own key pair is signed by the same CA, so use a self-signed one.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/rogue.key" -out "$T/rogue.pem" \
  -subj "/CN=rogue" -days 2 2>/dev/null
rc=0
curl -sS --cacert "$T/ca.pem" --cert "$T/rogue.pem" --key "$T/rogue.key" -o /dev/null "$URL/healthz" 2>"$WORK/err" || rc=$?
[ "$rc" -ne 0 ] && ok "mutual TLS: a certificate from another CA refused (curl exit $rc)" ||
  bad "mutual TLS: served a client certificate from another CA"
expect_grep "TLS handshake failed from 127.0.0.1" "$WORK/MDI.log" "a failed handshake is logged"
stop MDI && ok "clean stop" || bad "stop"
finish
