#!/usr/bin/env bash
# Regenerate the seed corpora under tests/fuzz/corpus/ and the roster in
# tests/fuzz/data/roster from real stores made by the built programs.
#
#   tests/fuzz/make_corpus.sh BUILD_DIR
#
# Five sites (court SHEFMC, prisons MDI and LEI, probation N55, hub HUBNE)
# append nomsync-gen life courses plus a line of every event type the
# generator does not write, exchange bundles, correct and erase events, and
# equivocate (a copy of MDI's store signs a different event at the same seq).
# Their bundles are then cut into: single events (event), replication
# messages (message), Events batches (ingest), whole bundles (bundle). JSON
# lines, configurations, rosters and HTTP requests are written alongside.
# crash-* files (regression inputs) and the bundle corpus's v1-* files
# (bundles of format 1, which export no longer writes) are left alone. The
# stores here are a lab with no roster: they import with --no-roster.
# Every file is < 64 KiB.
set -euo pipefail
BIN=$(cd "${1:?usage: make_corpus.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
NS=$BIN/nomsync
GEN=$BIN/nomsync-gen
W=$(mktemp -d /tmp/nomsync-corpus.XXXXXX)
trap 'rm -rf "$W"' EXIT

for s in SHEFMC:court MDI:prison LEI:prison N55:probation HUBNE:hub; do
  $NS --dir "$W/${s%%:*}" init --site "${s%%:*}" --role "${s##*:}"
done
$GEN --outdir "$W/gen" --offenders 3 --seed 7 --court SHEFMC --prisons MDI,LEI --probation N55 --conflicts >/dev/null

# Event types nomsync-gen does not write, one line each, at a site that may emit them.
cat >>"$W/gen/N55.jsonl" <<'J'
{"type":"registration.added","offender":"X000001","occurred_at":"2025-06-01T10:00:00Z","register_type":"RHRH","registration_date":"2025-06-01"}
{"type":"registration.removed","offender":"X000001","occurred_at":"2025-09-01T10:00:00Z","register_type":"RHRH","removal_date":"2025-09-01"}
{"type":"manager.handover.changed","offender":"X000001","occurred_at":"2025-06-02T10:00:00Z","handover_date":"2025-06-02","responsible":"COM"}
{"type":"licence.ended","offender":"X000001","occurred_at":"2026-09-30T10:00:00Z","licence_id":"L1","end_date":"2026-09-30","reason":"EXPIRED"}
{"type":"supervision.terminated","offender":"X000001","occurred_at":"2026-10-01T10:00:00Z","reason":"EXPIRY","termination_date":"2026-10-01"}
{"type":"alert.raised","offender":"X000002","occurred_at":"2025-07-01T10:00:00Z","alert_type":"R","alert_code":"RSP","from_date":"2025-07-01","comment":"risk to staff"}
{"type":"appointment.outcome.recorded","offender":"X000003","occurred_at":"2025-02-03T17:00:00Z","sentence_id":"S9","requirement_id":"R1","appointment_date":"2025-02-03","outcome":"ATTC","minutes_credited":420}
{"type":"appointment.outcome.recorded","offender":"X000003","occurred_at":"2025-02-05T17:00:00Z","sentence_id":"S9","requirement_id":"R2","appointment_date":"2025-02-05","outcome":"UAAB","rar":true,"appointment_id":"C7"}
{"type":"enforcement.warning.issued","offender":"X000003","occurred_at":"2025-02-06T10:00:00Z","sentence_id":"S9","warning_date":"2025-02-06"}
{"type":"breach.initiated","offender":"X000003","occurred_at":"2025-03-01T10:00:00Z","sentence_id":"S9","breach_id":"B1","breach_date":"2025-03-01","reason":"2IN12"}
{"type":"requirement.ended","offender":"X000003","occurred_at":"2025-06-01T10:00:00Z","sentence_id":"S9","requirement_id":"R1","reason":"COMPLETED","end_date":"2025-06-01"}
J
cat >>"$W/gen/SHEFMC.jsonl" <<'J'
{"type":"court.appearance.recorded","offender":"A0002AC","occurred_at":"2024-01-10T10:00:00Z","court":"SHEFMC","appearance_date":"2024-01-10","next_hearing_date":"2024-02-10","case_ref":"T20240001"}
{"type":"sentence.quashed","offender":"A0002AC","occurred_at":"2026-03-01T10:00:00Z","sentence_id":"S1","reason":"conviction quashed on appeal"}
{"type":"sentence.imposed","offender":"X000003","occurred_at":"2025-01-20T10:00:00Z","sentence_id":"S9","sentence_date":"2025-01-20","sentence_type":"SSO","term_years":2,"suspended_months":6,"court":"SHEFMC","requirements":[{"requirement_id":"R1","category":"UNPAID_WORK","length":80,"unit":"HOURS"},{"requirement_id":"R2","category":"RAR","length":15,"unit":"DAYS"}]}
{"type":"breach.concluded","offender":"X000003","occurred_at":"2025-03-20T10:00:00Z","breach_id":"B1","outcome":"ORDER_CONTINUED"}
J
cat >>"$W/gen/MDI.jsonl" <<'J'
{"type":"alert.closed","offender":"A0000AA","occurred_at":"2024-06-01T10:00:00Z","alert_code":"HA","to_date":"2024-06-01"}
{"type":"manager.handover.changed","offender":"A0000AA","occurred_at":"2024-06-02T10:00:00Z","handover_date":"2024-06-02","responsible":"COM"}
{"type":"person.deceased","offender":"A0002AC","occurred_at":"2027-01-01T10:00:00Z","date_of_death":"2027-01-01"}
{"type":"access.restricted","offender":"X000001","occurred_at":"2025-06-03T10:00:00Z","mode":"RESTRICTION","users":["PO_SMITH","jane.doe"],"reason":"Staff member on the caseload"}
{"type":"access.restricted","offender":"X000001","occurred_at":"2025-06-04T10:00:00Z","mode":"EXCLUSION","users":["CASE_ADMIN"],"reason":"Conflict of interest"}
{"type":"access.lifted","offender":"X000001","occurred_at":"2025-07-01T10:00:00Z","mode":"EXCLUSION"}
J
for c in SHEFMC MDI LEI N55; do $NS --dir "$W/$c" append "$W/gen/$c.jsonl" >/dev/null; done

# MDI corrects its own first event.
first=$($NS --dir "$W/MDI" log --json | sed -n 1p)
echo "{\"type\":\"event.corrected\",\"offender\":\"$(jq -r .offender <<<"$first")\",\"occurred_at\":\"2024-07-01T10:00:00Z\",\"target_event_id\":\"$(jq -r .id <<<"$first")\",\"reason\":\"entered in error\"}" >"$W/gen/MDI.fix.jsonl"
$NS --dir "$W/MDI" append "$W/gen/MDI.fix.jsonl" >/dev/null

# Everyone's events reach the hub; the hub links a CRN and corrects N55's first event.
for c in SHEFMC MDI LEI N55; do $NS --dir "$W/$c" export >"$W/$c.bundle" 2>/dev/null; done
for c in SHEFMC MDI LEI N55; do $NS --dir "$W/HUBNE" import "$W/$c.bundle" --no-roster >/dev/null; done
n55first=$($NS --dir "$W/N55" log --json | sed -n 1p)
cat >"$W/gen/HUBNE.jsonl" <<J
{"type":"person.identifier.added","offender":"A0001AB","occurred_at":"2024-08-01T10:00:00Z","identifier_type":"CRN","value":"X000001"}
{"type":"event.corrected","offender":"$(jq -r .offender <<<"$n55first")","occurred_at":"2024-08-02T10:00:00Z","target_event_id":"$(jq -r .id <<<"$n55first")","reason":"duplicate record"}
J
$NS --dir "$W/HUBNE" append "$W/gen/HUBNE.jsonl" >/dev/null

# A delta bundle (export --since) and an erased event.
$NS --dir "$W/MDI" vector >"$W/mdi.vv"
echo '{"type":"alert.raised","offender":"A0001AB","occurred_at":"2026-01-05T09:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-01-05"}' |
  $NS --dir "$W/MDI" append >/dev/null
$NS --dir "$W/MDI" export --since "$W/mdi.vv" >"$W/MDI.delta.bundle" 2>/dev/null
$NS --dir "$W/MDI" export >"$W/MDI.bundle" 2>/dev/null
$NS --dir "$W/HUBNE" import "$W/MDI.bundle" --no-roster >/dev/null
erase=$($NS --dir "$W/HUBNE" log --json | sed -n 5p | jq -r .id)
$NS --dir "$W/HUBNE" erase "$erase" --reason DATA_PROTECTION_REQUEST >/dev/null

# Equivocation: a restored copy of MDI signs another event at MDI's next seq.
mkdir "$W/MDICOPY"
mdb_copy "$W/MDI" "$W/MDICOPY"
cp "$W/MDI/site.key" "$W/MDICOPY/"
echo '{"type":"alert.raised","offender":"A0000AA","occurred_at":"2026-02-02T10:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-02-02"}' |
  $NS --dir "$W/MDI" append >/dev/null
echo '{"type":"alert.raised","offender":"A0002AC","occurred_at":"2026-02-02T10:00:00Z","alert_type":"R","alert_code":"RSP","from_date":"2026-02-02"}' |
  $NS --dir "$W/MDICOPY" append >/dev/null
$NS --dir "$W/MDI" export >"$W/MDI.bundle" 2>/dev/null
$NS --dir "$W/MDICOPY" export >"$W/MDICOPY.bundle" 2>/dev/null
$NS --dir "$W/N55" import "$W/MDI.bundle" --no-roster >/dev/null
$NS --dir "$W/N55" import "$W/MDICOPY.bundle" --no-roster >/dev/null
$NS --dir "$W/N55" export >"$W/N55.proof.bundle" 2>/dev/null
# A proof with no events of its origin (the bundle above, imported elsewhere,
# is a known-bug regression input: tests/fuzz/corpus/bundle/crash-import-*).
$NS --dir "$W/PROOF" init --site HUBPR --role hub
$NS --dir "$W/PROOF" import "$W/N55.proof.bundle" --no-roster >/dev/null
$NS --dir "$W/PROOF" export >"$W/PROOF.bundle" 2>/dev/null
$NS --dir "$W/HUBNE" export >"$W/HUBNE.bundle" 2>/dev/null
mkdir "$W/EMPTY" && rmdir "$W/EMPTY" && $NS --dir "$W/EMPTY" init --site HUBSW --role hub
$NS --dir "$W/EMPTY" export >"$W/EMPTY.bundle" 2>/dev/null
$NS --dir "$W/HUBNE" vector >"$W/hubne.vv"
for c in SHEFMC MDI LEI N55 HUBNE; do $NS --dir "$W/$c" verify >/dev/null; done

# The roster of the five sites: the message harness's trust policy.
mkdir -p "$HERE/data"
{
  echo "# Roster of the sites whose events are in tests/fuzz/corpus (made by make_corpus.sh)."
  for c in SHEFMC MDI LEI N55 HUBNE; do
    read -r site role key < <($NS --dir "$W/$c" id)
    region=-; [ "$role" = probation ] && region=$site
    echo "$site $role $region $key"
  done
} >"$HERE/data/roster"

# The roster authority: roster changes (a site added, a key rotated and revoked).
$NS --dir "$W/AUTH" init --site AUTHORITY --role authority
$NS --dir "$W/WDI" init --site WDI --role prison
wdikey=$($NS --dir "$W/WDI" id | cut -d' ' -f3)
mdikey=$($NS --dir "$W/MDI" id | cut -d' ' -f3)
cp -r "$W/MDI" "$W/MDIOLD"
$NS --dir "$W/MDI" rekey >/dev/null 2>&1
newkey=$($NS --dir "$W/MDI" id | cut -d' ' -f3)
cat >"$W/gen/AUTH.jsonl" <<J
{"type":"roster.site.added","offender":"ROSTER","occurred_at":"2026-03-01T09:00:00Z","site":"WDI","role":"prison","key":"$wdikey"}
{"type":"roster.key.rotated","offender":"ROSTER","occurred_at":"2026-03-02T09:00:00Z","site":"MDI","old_key":"$mdikey","new_key":"$newkey"}
{"type":"roster.key.revoked","offender":"ROSTER","occurred_at":"2026-03-02T09:01:00Z","site":"MDI","key":"$mdikey","from_seq":40,"reason":"rotated"}
J
$NS --dir "$W/AUTH" append "$W/gen/AUTH.jsonl" >/dev/null
$NS --dir "$W/AUTH" export >"$W/AUTH.bundle" 2>/dev/null

$NS --dir "$W/AUTH" roster-sign "$HERE/data/roster" >/dev/null
$NS --dir "$W/AUTH" id | cut -d' ' -f3 >"$HERE/data/authority"

for t in event message ingest bundle json config roster http jwt; do
  mkdir -p "$HERE/corpus/$t"
  find "$HERE/corpus/$t" -type f ! -name 'crash-*' ! -name 'v1-*' -delete
done

python3 - "$W" "$HERE/corpus" "$SRC" <<'PY'
import glob, json, os, random, struct, sys
W, OUT, SRC = sys.argv[1:4]
random.seed(7)

def varint(v):
    b = bytearray()
    while v >= 0x80:
        b.append((v & 0x7f) | 0x80); v >>= 7
    b.append(v)
    return bytes(b)

def rd_varint(buf, pos):
    r = shift = 0
    while True:
        b = buf[pos]; pos += 1
        r |= (b & 0x7f) << shift; shift += 7
        if not b & 0x80:
            return r, pos

def fld(num, wt, payload):
    key = varint(num << 3 | wt)
    if wt == 2:
        return key + varint(len(payload)) + payload
    return key + varint(payload)

def bundle_records(path):
    buf = open(path, 'rb').read()
    assert buf.startswith(b'NSBUNDLE2\n') or buf.startswith(b'NSBUNDLE1\n')
    pos, ev, proofs = 10, [], []
    while pos < len(buf):
        kind = chr(buf[pos]); pos += 1
        n, pos = rd_varint(buf, pos); a = buf[pos:pos + n]; pos += n
        if kind == 'E':
            ev.append(a)
        elif kind == 'P':
            n, pos = rd_varint(buf, pos); b = buf[pos:pos + n]; pos += n
            proofs.append((a, b))
    return ev, proofs

def header(evb):
    # Event.header (field 1) -> dict of EventHeader fields we need.
    pos, h = 0, None
    while pos < len(evb):
        key, pos = rd_varint(evb, pos)
        n, pos = rd_varint(evb, pos)
        if key >> 3 == 1: h = evb[pos:pos + n]
        pos += n
    f, pos = {}, 0
    while pos < len(h):
        key, pos = rd_varint(h, pos)
        if key & 7 == 0:
            v, pos = rd_varint(h, pos)
        else:
            n, pos = rd_varint(h, pos); v = h[pos:pos + n]; pos += n
        f[key >> 3] = v
    return f

def put(target, name, data):
    assert len(data) < 64 * 1024, (target, name, len(data))
    with open(os.path.join(OUT, target, name), 'wb') as fh:
        fh.write(data)

def msg(kind, body):  # Message oneof: hello 1, events 2, ack 3, pull 4, proof 5, ping 6
    return fld(kind, 2, body)

def events_body(evs, batch=1):
    return b''.join(fld(1, 2, e) for e in evs) + fld(2, 0, batch)

sites = ['SHEFMC', 'MDI', 'LEI', 'N55', 'HUBNE']
hub_ev, hub_proofs = bundle_records(f'{W}/HUBNE.bundle')
auth_ev, _ = bundle_records(f'{W}/AUTH.bundle')
n55_ev, n55_proofs = bundle_records(f'{W}/N55.proof.bundle')
copy_ev, _ = bundle_records(f'{W}/MDICOPY.bundle')
by_origin = {}
for e in hub_ev:
    h = header(e)
    by_origin.setdefault(h[10].decode(), []).append((h, e))

# --- event: one event of every (site, type), the erased one, the equivocating one.
seen = set()
for site, lst in by_origin.items():
    for h, e in lst:
        t = h[8]
        if (site, t) in seen: continue
        seen.add((site, t))
        put('event', f'{site}-type{t:02d}-seq{h[3]}', e)
def fields(evb):
    pos, out = 0, set()
    while pos < len(evb):
        key, pos = rd_varint(evb, pos)
        n, pos = rd_varint(evb, pos)
        out.add(key >> 3); pos += n
    return out
erased = [e for e in hub_ev if 3 not in fields(e)]
assert erased, 'no erased event in the hub bundle'
for e in erased[:1]:
    h = header(e)
    put('event', f'erased-{h[10].decode()}-seq{h[3]}', e)
put('event', 'equivocating-MDI', copy_ev[-1])
for e in auth_ev:
    h = header(e)
    put('event', f'AUTHORITY-type{h[8]:02d}-seq{h[3]}', e)

# --- message: every body kind.
mdi = [e for h, e in by_origin['MDI']]
n55 = [e for h, e in by_origin['N55']]
vec = json.load(open(f'{W}/hubne.vv'))
entries = b''.join(fld(3, 2, fld(1, 2, bytes.fromhex(k)) + fld(2, 0, v['seq'])) for k, v in vec.items())
put('message', 'hello', msg(1, fld(1, 0, 1) + fld(2, 2, b'HUBNE') + entries + fld(4, 0, 8) + fld(5, 0, 0x1234567890abcdef)))
put('message', 'hello-empty', msg(1, fld(1, 0, 1) + fld(2, 2, b'N55') + fld(4, 0, 8) + fld(5, 0, 77)))
put('message', 'hello-version2', msg(1, fld(1, 0, 2) + fld(2, 2, b'N55') + fld(5, 0, 78)))
put('message', 'events-MDI-1-8', msg(2, events_body(mdi[:8], 1)))
put('message', 'events-MDI-9-16', msg(2, events_body(mdi[8:16], 2)))
put('message', 'events-N55-all', msg(2, events_body(n55, 3)))
put('message', 'events-gap', msg(2, events_body(mdi[20:22], 4)))
put('message', 'events-mixed', msg(2, events_body([n55[0], mdi[0], n55[1], mdi[1]], 5)))
put('message', 'events-empty', msg(2, fld(2, 0, 6)))
put('message', 'events-equivocating', msg(2, events_body([copy_ev[-1]], 7)))
put('message', 'events-roster-changes', msg(2, events_body(auth_ev, 8)))
put('message', 'ack', msg(3, fld(1, 0, 3) + fld(2, 0, 1)))
put('message', 'pull', msg(4, fld(1, 2, header(mdi[0])[2]) + fld(2, 0, 2)))
for i, (a, b) in enumerate(n55_proofs):
    put('message', f'proof-{i}', msg(5, fld(1, 2, a) + fld(2, 2, b)))
put('message', 'ping', msg(6, fld(1, 0, 1767225600000)))
put('message', 'empty', b'')

# --- ingest: Events batches (re-signed by the harness).
put('ingest', 'chain-MDI', events_body(mdi[:12]))
put('ingest', 'chain-N55', events_body(n55))
put('ingest', 'reverse-LEI', events_body([e for h, e in by_origin['LEI']][:10][::-1]))
put('ingest', 'court', events_body([e for h, e in by_origin['SHEFMC']]))
put('ingest', 'hub-corrections', events_body([e for h, e in by_origin['HUBNE']]))
put('ingest', 'fork', events_body([mdi[-1], copy_ev[-1]]))
put('ingest', 'erased', events_body(erased[:1]))
put('ingest', 'roster-changes', events_body(auth_ev))
for i, (h, e) in enumerate(by_origin['MDI'][:6]):
    put('ingest', f'single-{i}', e)

# --- bundle: real bundles.
import shutil
for name in ['SHEFMC', 'LEI', 'N55', 'MDI.delta', 'PROOF', 'MDICOPY', 'EMPTY', 'HUBNE', 'MDI', 'AUTH']:
    data = open(f'{W}/{name}.bundle', 'rb').read()
    if len(data) < 64 * 1024:
        put('bundle', name, data)

# --- json: a line of every (site, type), plus a version vector.
seen = set()
for path in sorted(glob.glob(f'{W}/gen/*.jsonl')):
    site = os.path.basename(path).split('.')[0]
    for line in open(path):
        t = json.loads(line)['type']
        if (site, t) in seen: continue
        seen.add((site, t))
        put('json', f'{site}-{t}', line.strip().encode())
put('json', 'vector', open(f'{W}/hubne.vv', 'rb').read())

# --- config: the examples, the e2e form, every key.
for p in glob.glob(f'{SRC}/deploy/examples/*.conf'):
    shutil.copy(p, os.path.join(OUT, 'config', os.path.basename(p)))
put('config', 'authority', b'[node]\ndir = /tmp/w/MDI\nlisten = tcp://127.0.0.1:20001\nroster = /tmp/w/roster\nauthority = '
    + open(os.path.join(OUT, '..', 'data', 'authority'), 'rb').read().strip() + b'\n[peers]\nHUBNE = tcp://127.0.0.1:20000\n')
put('config', 'e2e', b'[node]\ndir = /tmp/w/MDI\nlisten = tcp://127.0.0.1:20001\nroster = /tmp/w/roster\n'
    b'log_level = info\nanti_entropy = 1\nheartbeat = 0.5\npeer_timeout = 3\n[peers]\nHUBNE = tcp://127.0.0.1:20000\n')
put('config', 'all-keys', b'; comment\n[node]\ndir = MDI # relative\nlisten = ipc:///run/nomsync/mdi\nroster = ../roster\n'
    b'log_level = debug\nanti_entropy = 0.25\nheartbeat = 2\npeer_timeout = 30\nbatch = 4096\nwindow = 1024\n'
    b'[http]\nlisten = 0.0.0.0:8401\ntoken = 0123456789abcdef0123456789abcdef\n'
    b'[peers]\nHUBNE = tcp://10.0.0.1:7400\nN55 = ipc:///run/nomsync/n55\nLEI = tcp://[::1]:7402\n')
put('config', 'http-audit', b'[node]\ndir = /tmp/w/MDI\nlisten = tcp://127.0.0.1:20001\nroster = /tmp/w/roster\n'
    b'[http]\nlisten = 127.0.0.1:8401\ntoken = 0123456789abcdef0123456789abcdef\naudit = on\naudit_days = 2555\n'
    b'audit_syslog = off\n')
put('config', 'auth', b'[node]\ndir = d\nlisten = tcp://127.0.0.1:7401\nroster = r\n[http]\nlisten = 127.0.0.1:8401\n'
    b'[auth]\njwks = jwks.json\nissuer = https://sign-in.example/issuer\naudience = nomsync\nleeway = 30\n')

# --- roster: the real one, the example (placeholders), variants.
roster = open(os.path.join(OUT, '..', 'data', 'roster'), 'rb').read()
put('roster', 'sites', roster)
put('roster', 'unsigned', b''.join(l + b'\n' for l in roster.splitlines() if not l.startswith(b'# nomsync-roster-signature')))
shutil.copy(f'{SRC}/deploy/examples/roster.example', os.path.join(OUT, 'roster', 'example'))
put('roster', 'comments', b'# header\n\n' + b'\n'.join(l + b'   # trailing' for l in roster.splitlines()[1:]) + b'\n\t\n')

# --- http: a request for every route.
T = b'Authorization: Bearer fuzz-token-0123456789abcdef\r\n'
def req(method, path, body=b'', headers=b'', auth=True):
    h = method + b' ' + path + b' HTTP/1.1\r\nHost: 127.0.0.1\r\n' + (T if auth else b'') + headers
    if body:
        h += b'Content-Type: application/json\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n'
    return h + b'\r\n' + body
ev1 = b'{"type":"alert.raised","offender":"A0000AA","occurred_at":"2026-01-05T09:00:00Z","alert_type":"H","alert_code":"HA","from_date":"2026-01-05"}'
ev2 = b'{"type":"prisoner.released","offender":"A0002AC","occurred_at":"2026-02-01T09:00:00Z","prison":"MDI","reason":"RELEASED","release_type":"CRD"}'
put('http', 'healthz', req(b'GET', b'/healthz', auth=False))
put('http', 'healthz-head', req(b'HEAD', b'/healthz', auth=False))
put('http', 'login', req(b'POST', b'/login', b'token=fuzz-token-0123456789abcdef', auth=False).replace(b'application/json', b'application/x-www-form-urlencoded'))
put('http', 'login-wrong', req(b'POST', b'/login', b'token=nope', auth=False))
put('http', 'page-unauthorised', req(b'GET', b'/', auth=False))
put('http', 'page', req(b'GET', b'/'))
put('http', 'assets', req(b'GET', b'/style.css', auth=False) + req(b'GET', b'/app.js') + req(b'GET', b'/login.html') + req(b'GET', b'/index.html'))
put('http', 'logout', req(b'GET', b'/logout'))
put('http', 'cookie', req(b'GET', b'/v1/status', auth=False, headers=b'Cookie: a=b; nomsync_token=fuzz-token-0123456789abcdef\r\n'))
put('http', 'status', req(b'GET', b'/v1/status'))
put('http', 'metrics', req(b'GET', b'/metrics'))
put('http', 'caseload-prison', req(b'GET', b'/v1/offenders?prison=MDI'))
put('http', 'caseload-region', req(b'GET', b'/v1/offenders?region=N55&limit=10&offset=0'))
put('http', 'caseload-q', req(b'GET', b'/v1/offenders?q=hug%48&limit=500&offset=1'))
put('http', 'view', req(b'GET', b'/v1/offenders/A0000AA'))
put('http', 'view-crn', req(b'GET', b'/v1/offenders/X000000'))
put('http', 'view-missing', req(b'GET', b'/v1/offenders/Z9999ZZ'))
put('http', 'timeline', req(b'GET', b'/v1/offenders/A0000AA/events'))
put('http', 'post-event', req(b'POST', b'/v1/events', ev1))
put('http', 'post-array', req(b'POST', b'/v1/events', b'[' + ev1 + b',' + ev2 + b']'))
put('http', 'post-invalid', req(b'POST', b'/v1/events', ev1.replace(b'"HA"', b'"H A"')))
put('http', 'post-bad-json', req(b'POST', b'/v1/events', b'{"type":'))
put('http', 'post-chunked', b'POST /v1/events HTTP/1.1\r\nHost: x\r\n' + T + b'Transfer-Encoding: chunked\r\n\r\n'
    + hex(len(ev1))[2:].encode() + b'\r\n' + ev1 + b'\r\n0\r\n\r\n')
put('http', 'pipelined', req(b'GET', b'/healthz') + req(b'GET', b'/v1/offenders/A0000AA') + req(b'GET', b'/nope') + req(b'DELETE', b'/v1/events'))
put('http', 'http10', b'GET /v1/status HTTP/1.0\r\n' + T + b'\r\n')
put('http', 'garbage', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
PY
# --- jwt: key sets with tokens (nomsync token), and header/payload pairs the
# harness signs itself ("signed\n"). Tokens live ~3 years from now: the
# harness verifies at 2027-01-15.
J=$HERE/corpus/jwt
for a in RS256 ES256 EdDSA; do $NS token keygen --alg $a --out "$W/jwt-$a.pem"; done
$NS token keygen --alg ES256 --out "$W/jwt-other.pem"
jwks=$($NS token jwks "$W/jwt-RS256.pem:r1" "$W/jwt-ES256.pem:e1" "$W/jwt-EdDSA.pem:d1" | tr -d ' \n')
mint() { $NS token mint --iss iss-fz --aud aud-fz --ttl 100000000 "$@"; }
for a in RS256 ES256 EdDSA; do
  k=$(case $a in RS256) echo r1;; ES256) echo e1;; *) echo d1;; esac)
  printf '%s\n\n%s\n' "$jwks" "$(mint --key "$W/jwt-$a.pem" --kid $k --user PO_$a --name 'Pat O' --roles VIEW,RECORD)" >"$J/valid-$a"
done
printf '%s\n\n%s\n%s\n%s\n%s\n' "$jwks" \
  "$(mint --key "$W/jwt-other.pem" --kid e1 --user FORGER --roles ALL)" \
  "$(mint --key "$W/jwt-ES256.pem" --kid e1 --user OLD --ttl -100000000)" \
  "$(mint --key "$W/jwt-EdDSA.pem" --kid d1 --user LATER --nbf-in 100000000)" \
  "$(mint --key "$W/jwt-ES256.pem" --kid r1 --user SWAP)" >"$J/refused"
printf '%s\n\n%s\n' "$jwks" "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ." >"$J/alg-none"
printf '%s\n\n%s\n' '{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}' x.y.z >"$J/jwks-oct"
printf '%s\n\n' '{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB","use":"enc"}]}' >"$J/jwks-rsa-short"
printf '%s\n\n' '{"keys":[{"kty":"EC","kid":"e","crv":"P-384","x":"AA","y":"AA"}]}' >"$J/jwks-ec-p384"
printf 'signed\n%s\n%s' '{"alg":"EdDSA","kid":"fz"}' \
  '{"user_name":"AB","name":"A B","sub":"x","iss":"iss-fz","aud":["y","aud-fz"],"exp":1800000100,"nbf":1799999000,"authorities":["ROLE_NOMSYNC_VIEW","ROLE_X"]}' >"$J/signed-valid"
printf 'signed\n%s\n%s' '{"alg":"EdDSA","kid":"fz","crit":["b64"]}' '{"sub":"x","exp":1}' >"$J/signed-crit"
printf 'signed\n%s\n%s' '{"alg":"RS256","kid":"rs"}' '{"sub":"x","iss":"iss-fz","aud":"aud-fz","exp":1800000100}' >"$J/signed-alg-mismatch"
printf 'signed\n%s\n%s' '{"alg":"EdDSA","kid":"fz"}' '{"sub":"a b","iss":"other","aud":"aud-fz","exp":"soon","authorities":"ROLE_NOMSYNC_ADMIN"}' >"$J/signed-bad-claims"
echo "corpus:"; for t in event message ingest bundle json config roster http jwt; do
  printf '  %-8s %3d files, %6d bytes\n' $t "$(ls "$HERE/corpus/$t" | wc -l)" "$(cat "$HERE/corpus/$t"/* | wc -c)"
done
