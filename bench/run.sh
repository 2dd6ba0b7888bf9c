#!/usr/bin/env bash
# nomsync benchmark: measures the machine's limits, then the project, in one
# run, and prints every figure with its ratio to the limit and its target.
#
#   bench/run.sh [--quick] [--build DIR] [--events N] [--workdir DIR] [--out FILE.md]
#                [--keep] [--no-hypercore]
#
#   --quick         CI mode (< 2 minutes): smaller sizes, no Hypercore; exits
#                   non-zero if catch-up ingest < 1.2 x the all-core verify limit
#   --build DIR     CMake build directory (default: build-bench, else build)
#   --events N      events for the catch-up figure (default 1,000,000; quick 50,000);
#                   10000000 is the 10-million-event run (not in CI; see docs/PERFORMANCE.md)
#   --workdir DIR   where the stores go (default $TMPDIR or /tmp); it must have room
#                   for about 4 KB per catch-up event (checked before starting)
#   --out FILE.md   also write the table as Markdown
#   --keep          keep the work directory (stores, logs) for inspection
#   --no-hypercore  skip the Hypercore comparison
#
# Needs: the built nomsync, nomsyncd, nomsync-gen and bench/nomsync-bench;
# for the comparison, node and bench/hypercore/node_modules (npm install).
# Uses /tmp (or $TMPDIR, or --workdir), ten free ports below the ephemeral range, ~3.5 GB of disk
# in the full run (about 4 KB per catch-up event: the source store, the receiver's, the generated files).
# The NATS figures need nats-server (deploy/deps.sh); without it they are skipped.
# See docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0 BUILD= EVENTS= OUT= KEEP=0 HYPERCORE=1 WORKDIR=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--build) BUILD=$2; shift ;;
	--events) EVENTS=$2; shift ;;
	--workdir) WORKDIR=$2; shift ;;
	--out) OUT=$2; shift ;;
	--keep) KEEP=1 ;;
	--no-hypercore) HYPERCORE=0 ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$BUILD" ]; then
	for b in "$ROOT/build-bench" "$ROOT/build"; do
		[ -x "$b/bench/nomsync-bench" ] && { BUILD=$b; break; }
	done
fi
[ -n "$BUILD" ] || { echo "run.sh: no build with bench/nomsync-bench found; build first (see docs/PERFORMANCE.md)" >&2; exit 2; }
BUILD=$(cd "$BUILD" && pwd)
NS=$BUILD/nomsync NSD=$BUILD/nomsyncd GEN=$BUILD/nomsync-gen NB=$BUILD/bench/nomsync-bench
for b in "$NS" "$NSD" "$GEN" "$NB"; do
	[ -x "$b" ] || { echo "run.sh: $b is missing; build first" >&2; exit 2; }
done

if [ $QUICK = 1 ]; then
	MODE=quick LIMIT_S=1 APPEND_N=20000 FOLD_P=10000 REFOLD_P=50 CATCHUP_N=${EVENTS:-50000}
	LIVE_N=50 HTTP_S=3 STARTUP_RUNS=3 CMP_N=0 HYPERCORE=0
else
	MODE=full LIMIT_S=2 APPEND_N=100000 FOLD_P=100000 REFOLD_P=200 CATCHUP_N=${EVENTS:-1000000}
	LIVE_N=200 HTTP_S=10 STARTUP_RUNS=5 CMP_N=100000
fi
HTTP_RATE=1000
TOKEN=nomsync-bench-token-$RANDOM$RANDOM
JWT=
# Ports BASE .. BASE+9, free and below the ephemeral range (deploy/ports.bash).
source "$ROOT/deploy/ports.bash"
ns_reserve_ports 10
BASE=$NS_PORT_BASE

# Disk: about 4 KB per catch-up event in all (measured in a quick run: each of the two stores takes
# ~1.9 KB per event, the generated JSON lines ~0.2 KB), plus 1 GB for the other steps.
NEED_KB=$(( CATCHUP_N * 4 + 1048576 ))
[ -d "$WORKDIR" ] || { echo "run.sh: --workdir $WORKDIR is not a directory" >&2; exit 2; }
FREE_KB=$(df -Pk "$WORKDIR" | awk 'NR == 2 { print $4 }')
if [ "$FREE_KB" -lt "$NEED_KB" ]; then
	echo "run.sh: $WORKDIR has $((FREE_KB / 1048576)) GiB free; $CATCHUP_N catch-up events need about $((NEED_KB / 1048576 + 1)) GiB (use --workdir)" >&2
	exit 2
fi
# Long runs: the catch-up's time limit follows N (the 10-million-event run took 15 minutes here).
CATCHUP_TIMEOUT=$(( CATCHUP_N / 1000 > 900 ? CATCHUP_N / 1000 : 900 ))
WORK=$(mktemp -d "$WORKDIR/nsb.XXXXXX")
PIDS=()
cleanup() {
	local rc=$?
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
	if [ $KEEP = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$SECONDS
declare -A R=()
say() { printf '== %s\n' "$*" >&2; }
calc() { awk "BEGIN { printf \"%.4f\", $* }"; }
ratio() { awk "BEGIN { printf \"%.2f\", $* }"; }
# run NAME CMD...: CMD's "name value" lines land in R (names prefixed with $PFX
# if set); its stderr passes through.
run() {
	local name=$1; shift
	if ! "$@" >"$WORK/out.$name"; then
		echo "run.sh: step '$name' failed: $*" >&2
		for l in "$WORK"/*.log; do
			[ -f "$l" ] || continue
			echo "---- last lines of $(basename "$l")" >&2
			tail -n 15 "$l" >&2
		done
		exit 1
	fi
	local k v
	while read -r k v; do R[${PFX:-}$k]=$v; done <"$WORK/out.$name"
}
offenders_for() { echo $(( $1 * 6 / 100 + 200 )); }   # ~16.7 events per offender from nomsync-gen
# stop_pid PID: stop a daemon this script started, and forget it (PIDs get reused).
stop_pid() {
	local keep=() p
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# config NAME DIR ZMQPORT HTTPPORT [PEER=ENDPOINT...]
config() {
	local name=$1 dir=$2 zp=$3 hp=$4; shift 4
	{
		echo "[node]"
		echo "dir = $dir"
		echo "listen = tcp://127.0.0.1:$zp"
		echo "roster = $WORK/roster"
		echo "log_level = info"
		# NSB_FOLD_THREADS: threads for deferred folds (default: one per core), e.g. 1 for a baseline.
		[ -z "${NSB_FOLD_THREADS:-}" ] || echo "fold_threads = $NSB_FOLD_THREADS"
		echo "[http]"
		echo "listen = 127.0.0.1:$hp"
		echo "token = $TOKEN"
		# A serves the baseline of the HTTP figure: no read audit; B audits every read (the default).
		[ "$name" != A ] || echo "audit = off"
		echo "[auth]"
		echo "jwks = $WORK/jwks.json"
		echo "[peers]"
		for p in "$@"; do echo "${p%%=*} = ${p#*=}"; done
	} >"$WORK/$name.conf"
}

# pair TAG EVENTS GENDIR: source node A (MDI, prep'd from GENDIR) and empty node B (hub BENCHB).
pair() {
	local tag=$1 n=$2 gen=$3
	rm -rf "$WORK/A" "$WORK/B"
	"$NS" --dir "$WORK/A" init --site MDI --role prison >/dev/null
	"$NS" --dir "$WORK/B" init --site BENCHB --role hub >/dev/null
	PFX=$tag. run "prep-$tag" "$NB" prep --gen "$gen" --dir "$WORK/A" --events "$n" --roster "$WORK/roster"
	echo "BENCHB hub - $("$NS" --dir "$WORK/B" id | cut -d' ' -f3)" >>"$WORK/roster"
	config A "$WORK/A" $((BASE + 0)) $((BASE + 2))
	config B "$WORK/B" $((BASE + 1)) $((BASE + 3)) "MDI=tcp://127.0.0.1:$((BASE + 0))"
	"$NSD" --config "$WORK/A.conf" >>"$WORK/A.$tag.log" 2>&1 &
	A_PID=$!
	PIDS+=("$A_PID")
	PFX=$tag. run "waitA-$tag" "$NB" wait --http "127.0.0.1:$((BASE + 2))" --timeout 120 --pid "$A_PID"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "nomsync benchmark ($MODE) on $(nproc) cores, $(uname -sr); build $BUILD; load average $LOAD0" >&2

# Signed-in users (issue 12): one ES256 key of an identity service, trusted by every node, and
# the JWT of the user whose view lookups the HTTP figure times.
"$NS" token keygen --alg ES256 --out "$WORK/idp.pem" >/dev/null
"$NS" token jwks "$WORK/idp.pem:idp" >"$WORK/jwks.json"
JWT=$("$NS" token mint --key "$WORK/idp.pem" --kid idp --user bench.reader --roles VIEW,ADMIN --ttl 86400)

# ---- 1. limits --------------------------------------------------------------
say "limits of this machine"
run limits "$NB" limits --seconds "$LIMIT_S" --tmp "$WORK"

# ---- 2. local append ----------------------------------------------------------
say "local append: $APPEND_N signed durable events"
"$GEN" --outdir "$WORK/gen-append" --offenders $((APPEND_N / 5 + 200)) --prisons MDI,LEI >/dev/null
run append "$NB" append --gen "$WORK/gen-append/MDI.jsonl" --dir "$WORK/append-api" --events "$APPEND_N" --batch 1000
head -n "$APPEND_N" "$WORK/gen-append/MDI.jsonl" >"$WORK/append.jsonl"
"$NS" --dir "$WORK/append-cli" init --site MDI --role prison >/dev/null
t0=$(date +%s.%N)
# The CLI's CPU (user + system, every thread) from bash's time: its profile row.
TIMEFORMAT='%U %S'
{ time "$NS" --dir "$WORK/append-cli" append "$WORK/append.jsonl" >/dev/null; } 2>"$WORK/cli.time"
unset TIMEFORMAT
t1=$(date +%s.%N)
read -r cu cs <"$WORK/cli.time"
R[cli.cpu_seconds]=$(calc "$cu + $cs")
R[cli.seconds]=$(calc "$t1 - $t0")
R[cli.rate]=$(calc "$APPEND_N / ($t1 - $t0)")
echo "  .. nomsync append: $APPEND_N events in ${R[cli.seconds]} s" >&2
rm -rf "$WORK/gen-append" "$WORK/append-api" "$WORK/append-cli" "$WORK/append.jsonl"

# ---- 3. fold ---------------------------------------------------------------------
say "fold: full re-fold of $FOLD_P offenders; late event for a 500-event offender"
"$GEN" --outdir "$WORK/gen-fold" --offenders "$FOLD_P" >/dev/null
run fold "$NB" fold --gen "$WORK/gen-fold" --persons "$FOLD_P"

# The same offenders folded through the store (views, summaries and the figures record kept at each
# fold, issue 11), then GET /v1/figures from a nomsyncd holding them. The roster is rewritten by pair.
say "figures: $FOLD_P offenders folded through the store; GET /v1/figures"
"$NS" --dir "$WORK/F" init --site MDI --role prison >/dev/null
run prep-fig "$NB" prep --gen "$WORK/gen-fold" --dir "$WORK/F" --roster "$WORK/roster" --defer-fold
rm -rf "$WORK/gen-fold"
R[fig.persons]=${R[prep.persons]}
config F "$WORK/F" $((BASE + 4)) $((BASE + 5))
"$NSD" --config "$WORK/F.conf" >>"$WORK/F.log" 2>&1 &
F_PID=$!
PIDS+=("$F_PID")
run waitF "$NB" wait --http "127.0.0.1:$((BASE + 5))" --timeout 120 --pid "$F_PID"
PFX=fig. run http-fig "$NB" http --addr "127.0.0.1:$((BASE + 5))" --token "$TOKEN" --path /v1/figures \
	--rate 100 --seconds "$HTTP_S" --conns 2 --warmup 1
stop_pid "$F_PID"
rm -rf "$WORK/F"
# A fold cache that holds the offenders' histories (200 x 500 events, about 115 MiB); the cold figure has none.
run refold "$NB" refold --dir "$WORK/refold" --persons "$REFOLD_P" --events 500 --fold-cache-mib 256
rm -rf "$WORK/refold"

# ---- 4. catch-up, live replication, HTTP, start-up ---------------------------------
say "catch-up: an empty nomsyncd pulls $CATCHUP_N events over ZeroMQ + CURVE"
"$GEN" --outdir "$WORK/gen-catchup" --offenders "$(offenders_for "$CATCHUP_N")" >/dev/null
pair catchup "$CATCHUP_N" "$WORK/gen-catchup"
rm -rf "$WORK/gen-catchup"
# The all-core verify limit again, right before and right after: the machine is shared.
PFX=pre. run verify-pre "$NB" limits --only verify --seconds "$LIMIT_S"
run catchup "$NB" catchup --nomsyncd "$NSD" --config "$WORK/B.conf" --dir "$WORK/B" \
	--events "${R[catchup.prep.events]}" --timeout "$CATCHUP_TIMEOUT" --log "$WORK/B.catchup.log" --pidfile "$WORK/B.pid" \
	--peer-pid "$A_PID"
B_PID=$(cat "$WORK/B.pid")
PIDS+=("$B_PID")
R[catchup.mean_bytes]=${R[catchup.prep.event_bytes_mean]}
PFX=post. run verify-post "$NB" limits --only verify --seconds "$LIMIT_S"
if "$NB" get --http "127.0.0.1:$((BASE + 3))" --path /metrics --token "$TOKEN" >"$WORK/metrics.B" 2>/dev/null; then
	R[catchup.folds]=$(awk '$1 == "nomsync_fold_seconds_count" { print $2 }' "$WORK/metrics.B")
	R[catchup.fold_seconds]=$(awk '$1 == "nomsync_fold_seconds_sum" { print $2 }' "$WORK/metrics.B")
	# The receiver's CPU by activity (nomsync_cpu_seconds_total), all of it until every signature was checked.
	while read -r k v; do R[catchup.cpu.$k]=$v; done < <(awk -F'[" ]' \
		'/^nomsync_cpu_seconds_total\{/ { print $2, $4 } /^nomsync_process_cpu_seconds_total / { print "process", $2 }' "$WORK/metrics.B")
fi
R[catchup.rejected]=$(grep -c "rejected" "$WORK/B.catchup.log" || true)

say "live replication: append on A, until B's view shows it"
"$NB" refs --dir "$WORK/A" --max 100000 >"$WORK/refs"
run live "$NB" live --src "$WORK/A" --dst "$WORK/B" --refs "$WORK/refs" --samples "$LIVE_N" --gap-ms 20

# The cost of knowing who reads (issue 12): the same lookups as a signed-in user (an ES256 JWT
# verified on every request) with every read audited, on B; and with the service token, no
# audit, on A, which holds the same views.
say "HTTP view lookups on B at $HTTP_RATE req/s, as a JWT user, every read audited"
run http "$NB" http --addr "127.0.0.1:$((BASE + 3))" --token "$JWT" --refs "$WORK/refs" \
	--rate "$HTTP_RATE" --seconds "$HTTP_S" --conns 4 --warmup 1
say "HTTP view lookups on A at $HTTP_RATE req/s, service token, no audit (the baseline)"
PFX=base. run http-base "$NB" http --addr "127.0.0.1:$((BASE + 2))" --token "$TOKEN" --refs "$WORK/refs" \
	--rate "$HTTP_RATE" --seconds "$HTTP_S" --conns 4 --warmup 1

# Convergence check: the same views on both nodes.
sleep 0.5
if [ "$("$NS" --dir "$WORK/A" digest)" = "$("$NS" --dir "$WORK/B" digest)" ]; then R[converged]=1; else R[converged]=0; fi
stop_pid "$B_PID"
stop_pid "$A_PID"

# ---- 4b. NATS JetStream (issue 14) ---------------------------------------------------
# The limit first: a bare libnats async publisher of 400-byte messages, each with its
# own Nats-Msg-Id, into a file-backed stream; then B (holding the catch-up's events)
# publishing them all to an empty NOMSYNC stream on the same server, in the same window.
NATS_BENCH=$BUILD/bench/nomsync-nats-bench
NATS_WINDOW=16384
if command -v nats-server >/dev/null && [ -x "$NATS_BENCH" ]; then
	NCAT_N=${R[catchup.events]%.*}
	NATS_N=$((QUICK == 1 ? 50000 : 200000))
	say "NATS: bare libnats publisher ($NATS_N x 400 B), then nomsyncd publishing $NCAT_N stored events"
	NATS_URL=nats://127.0.0.1:$((BASE + 9))
	nats-server -js -sd "$WORK/jetstream" -a 127.0.0.1 -p $((BASE + 9)) >"$WORK/nats-server.log" 2>&1 &
	NATS_PID=$!
	PIDS+=("$NATS_PID")
	for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$((BASE + 9))) 2>/dev/null && break; sleep 0.1; done
	run nats-ceiling "$NATS_BENCH" ceiling "$NATS_URL" CEILING "$NATS_N" 400 "$NATS_WINDOW"
	{ cat "$WORK/B.conf"; echo "[nats]"; echo "url = $NATS_URL"; echo "window = $NATS_WINDOW"; } >"$WORK/B.nats.conf"
	run nats-publish "$NATS_BENCH" publish "$NATS_URL" NOMSYNC "$NCAT_N" 900 "$WORK/B.nats.log" -- "$NSD" --config "$WORK/B.nats.conf"
	PIDS+=("${R[nats.publish_pid]}")
	stop_pid "${R[nats.publish_pid]}"
	stop_pid "$NATS_PID"
	rm -rf "$WORK/jetstream"
else
	NATS_NOTE="NATS figures skipped: nats-server or nomsync-nats-bench missing"
fi

say "start-up of a node holding ${R[catchup.events]%.*} events"
run startup "$NB" startup --nomsyncd "$NSD" --config "$WORK/B.conf" --http "127.0.0.1:$((BASE + 3))" \
	--runs "$STARTUP_RUNS" --log "$WORK/B.startup.log"
R[store.bytes]=$(du -s -B1 "$WORK/B" | cut -f1) # blocks allocated: the map's tail is sparse
rm -rf "$WORK/A" "$WORK/B"

# ---- 5. peer comparison ------------------------------------------------------------
HC_NOTE= JS_NOTE=
if [ "$CMP_N" -gt 0 ]; then
	say "replication of $CMP_N events of 400 bytes: nomsync"
	mkdir -p "$WORK/gen-cmp"
	run alerts "$NB" alerts --out "$WORK/gen-cmp/MDI.jsonl" --events "$CMP_N" --bytes 400
	pair cmp "$CMP_N" "$WORK/gen-cmp"
	rm -rf "$WORK/gen-cmp"
	# The catch-up figures of the comparison go under cmp.*; keep the main ones.
	"$NB" catchup --nomsyncd "$NSD" --config "$WORK/B.conf" --dir "$WORK/B" --events "$CMP_N" \
		--timeout 600 --log "$WORK/B.cmp.log" --pidfile "$WORK/B.pid" --peer-pid "$A_PID" >"$WORK/out.cmp" || exit 1
	PIDS+=("$(cat "$WORK/B.pid")")
	while read -r k v; do R[cmp.${k#catchup.}]=$v; done <"$WORK/out.cmp"
	stop_pid "$(cat "$WORK/B.pid")"
	stop_pid "$A_PID"
	rm -rf "$WORK/A" "$WORK/B"
	if [ $HYPERCORE = 1 ]; then
		say "replication of $CMP_N entries of 400 bytes: Hypercore"
		HC=$ROOT/bench/hypercore
		if command -v node >/dev/null && [ ! -d "$HC/node_modules/hypercore" ] && command -v npm >/dev/null; then
			(cd "$HC" && npm install --no-audit --no-fund >"$WORK/npm.log" 2>&1) || true
		fi
		if command -v node >/dev/null && [ -d "$HC/node_modules/hypercore" ]; then
			if TMPDIR=$WORK node "$HC/replicate.mjs" "$CMP_N" 400 >"$WORK/out.hypercore"; then
				while read -r k v; do R[$k]=$v; done <"$WORK/out.hypercore"
			else
				HC_NOTE="Hypercore run failed; comparison skipped"
			fi
		else
			HC_NOTE="node or npm unavailable (bench/hypercore not installed); comparison skipped"
		fi
	else
		HC_NOTE="comparison skipped (--no-hypercore)"
	fi
	# The second peer: JetStream mirroring CMP_N x 400 B from a hub server to a leaf-node server.
	if command -v nats-server >/dev/null && [ -x "$BUILD/bench/nomsync-nats-bench" ]; then
		say "replication of $CMP_N messages of 400 bytes: NATS JetStream mirror, hub -> leaf"
		if bash "$ROOT/bench/jetstream-mirror.sh" --build "$BUILD" --work "$WORK" --ports $((BASE + 4)) \
			"$CMP_N" >"$WORK/out.jetstream"; then
			while read -r k v; do R[$k]=$v; done <"$WORK/out.jetstream"
		else
			JS_NOTE="JetStream mirror run failed; comparison skipped"
		fi
	else
		JS_NOTE="nats-server or nomsync-nats-bench missing; comparison skipped"
	fi
else
	HC_NOTE="comparison skipped in --quick mode"
	JS_NOTE="comparison skipped in --quick mode"
fi
[ -z "$HC_NOTE" ] || echo "  .. $HC_NOTE" >&2
[ -z "$JS_NOTE" ] || echo "  .. $JS_NOTE" >&2

# ---- 6. the table -----------------------------------------------------------------------
ROWS=()
: >"$WORK/misses"
# row FIGURE VALUE LIMIT RATIO TARGET RESULT
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }
fmt() { awk "BEGIN { v = $1; if (v >= 100) printf \"%'.0f\", v; else if (v >= 10) printf \"%.1f\", v; else printf \"%.2f\", v }"; }
judge() { # judge NAME CONDITION(awk) -> pass/FAIL
	if awk "BEGIN { exit !($2) }"; then echo pass; else echo "$1" >>"$WORK/misses"; echo FAIL; fi
}
V1=${R[limit.verify_1core]} VA=${R[limit.verify_allcores]} SG=${R[limit.sign_1core]} FS=${R[limit.lmdb_sync_commits]}
# Catch-up is compared with the all-core verify rate measured around it (mean of before and after).
VC=$(calc "(${R[pre.limit.verify_allcores]} + ${R[post.limit.verify_allcores]}) / 2")
R[catchup.verify_limit]=$VC
NCAT=${R[catchup.events]%.*}
row "Ed25519 verify, 1 core (limit)" "$(fmt "$V1") /s" "" "" "" ""
row "Ed25519 verify, ${R[limit.threads]%.*} threads (limit)" "$(fmt "$VA") /s" "" "" "" ""
row "Ed25519 verify, ${R[limit.threads]%.*} threads, before / after catch-up (limit)" "$(fmt "${R[pre.limit.verify_allcores]}") / $(fmt "${R[post.limit.verify_allcores]}") /s" "" "" "" ""
row "Ed25519 sign, 1 core (limit)" "$(fmt "$SG") /s" "" "" "" ""
row "LMDB synced commits, 1 put/txn (limit)" "$(fmt "$FS") /s" "" "" "" ""
row "Local append, ns_store_append, 1000/txn" "$(fmt "${R[append.rate]}") ev/s" "sign 1 core" "$(ratio "${R[append.rate]} / $SG")" ">= 0.8 x limit" \
	"$(judge "local append (C API)" "${R[append.rate]} >= 0.8 * $SG")"
if [ -n "${R[append.caller_cpu_seconds]:-}" ]; then
	# The profile of the append target: the caller's thread builds, writes and re-folds each batch
	# while a second thread signs; the caller's CPU per event caps the rate whatever the signer does.
	row "  caller's thread CPU / whole process CPU per event" "$(fmt "$(calc "${R[append.caller_cpu_seconds]} / ${R[append.events]} * 1e6")") / $(fmt "$(calc "${R[append.cpu_seconds]} / ${R[append.events]} * 1e6")") us" "sign 1 core: $(fmt "$(calc "1e6 / $SG")") us" "" "" ""
	row "  bound: the caller's thread busy all the time" "$(fmt "$(calc "${R[append.events]} / ${R[append.caller_cpu_seconds]}")") ev/s" "sign 1 core" "$(ratio "${R[append.events]} / ${R[append.caller_cpu_seconds]} / $SG")" "" ""
fi
row "Local append, nomsync append FILE" "$(fmt "${R[cli.rate]}") ev/s" "sign 1 core" "$(ratio "${R[cli.rate]} / $SG")" ">= 0.8 x limit" \
	"$(judge "local append (CLI)" "${R[cli.rate]} >= 0.8 * $SG")"
row "  CLI CPU per event (every thread) / cores busy" "$(fmt "$(calc "${R[cli.cpu_seconds]} / $APPEND_N * 1e6")") us / $(fmt "$(calc "${R[cli.cpu_seconds]} / ${R[cli.seconds]}")")" "" "" "" ""
row "Catch-up ingest, $NCAT events (mean ${R[catchup.mean_bytes]%.*} B)" "$(fmt "${R[catchup.rate]}") ev/s" "verify all cores, around" \
	"$(ratio "${R[catchup.rate]} / $VC")" ">= 2.5 x limit" "$(judge "catch-up ingest rate" "${R[catchup.rate]} >= 2.5 * $VC")"
if [ "$NCAT" -ge 1000000 ]; then
	# 60 s for 1M events; a longer run (the 10-million-event one) at the same rate: 60 s per million.
	T1M=$(judge "1M catch-up time" "${R[catchup.settled_seconds]} <= 60 * $NCAT / 1000000")
	M1M=$(judge "catch-up peak RSS" "${R[catchup.vmhwm_kib]} <= 262144")
else
	T1M="n/a (N < 1M)"
	M1M=$(judge "catch-up peak RSS" "${R[catchup.vmhwm_kib]} <= 262144")
fi
row "Catch-up, every event stored (views readable)" "$(fmt "${R[catchup.seconds]}") s" "N / verify all cores" \
	"$(ratio "${R[catchup.seconds]} / ($NCAT / $VC)")" "" ""
row "Catch-up total time, every view folded and stored" "$(fmt "${R[catchup.settled_seconds]}") s" "N / verify all cores" \
	"$(ratio "${R[catchup.settled_seconds]} / ($NCAT / $VC)")" "<= 60 s per 1M" "$T1M"
row "  every view folded / every event stored" "$(fmt "${R[catchup.settled_seconds]}") / $(fmt "${R[catchup.seconds]}") s" "time to store" \
	"$(ratio "${R[catchup.settled_seconds]} / ${R[catchup.seconds]}")" "<= 1.3 x" \
	"$(judge "catch-up: every view folded within 1.3 x the time to store" "${R[catchup.settled_seconds]} <= 1.3 * ${R[catchup.seconds]}")"
row "  every signature checked (background checks done)" "$(fmt "${R[catchup.checked_seconds]}") s" "time to store" \
	"$(ratio "${R[catchup.checked_seconds]} / ${R[catchup.seconds]}")" "<= 3 x" \
	"$(judge "catch-up: every signature checked within 3 x the time to store" "${R[catchup.checked_seconds]} <= 3 * ${R[catchup.seconds]}")"
row "  signatures covered by a run's tip (checked in the background)" "$(fmt "${R[catchup.covered]}")" "" "" "" ""
row "  rate until every view folded" "$(fmt "${R[catchup.settled_rate]}") ev/s" "verify all cores, around" \
	"$(ratio "${R[catchup.settled_rate]} / $VC")" "" ""
row "  CPU: receiver cores busy / sender core-s" "$(fmt "$(calc "${R[catchup.cpu_seconds]} / ${R[catchup.settled_seconds]}")") / $(fmt "${R[catchup.sender_cpu_seconds]}")" "" "" "" ""
if [ -n "${R[catchup.folds]:-}" ]; then
	row "  re-folds during catch-up: per person / fold time" "$(fmt "$(calc "${R[catchup.folds]} / ${R[catchup.persons]}")") / $(fmt "${R[catchup.fold_seconds]}") s" "" "" "" ""
fi
if [ -n "${R[catchup.cpu.process]:-}" ]; then
	# The profile of the catch-up targets: what each phase costs in CPU, and the least time two
	# cores need for it, against the time to store (a target below its bound cannot be met).
	C=${R[catchup.cpu.process]} NC=$(nproc)
	CS=$(calc "${R[catchup.cpu.verify]} + ${R[catchup.cpu.ingest]} + ${R[catchup.cpu.index]} + ${R[catchup.cpu.fold]} + ${R[catchup.cpu.sigcheck]}")
	R[catchup.cpu.other]=$(calc "$C - $CS")
	B_STORE=$(calc "(${R[catchup.sender_cpu_seconds]} + ${R[catchup.cpu.verify]} + ${R[catchup.cpu.ingest]} + ${R[catchup.cpu.other]}) / $NC")
	B_FOLD=$(calc "$B_STORE + (${R[catchup.cpu.index]} + ${R[catchup.cpu.fold]}) / $NC")
	B_SIG=$(calc "$B_FOLD + ${R[catchup.cpu.sigcheck]} / $NC")
	R[catchup.bound_store]=$B_STORE R[catchup.bound_fold]=$B_FOLD R[catchup.bound_sig]=$B_SIG
	row "  receiver CPU, storing: run verify / ingest / other (ZeroMQ, CURVE, decode, loop)" "$(fmt "${R[catchup.cpu.verify]}") / $(fmt "${R[catchup.cpu.ingest]}") / $(fmt "${R[catchup.cpu.other]}") core-s" "" "" "" ""
	row "  receiver CPU after: id index / folds / background signature checks" "$(fmt "${R[catchup.cpu.index]}") / $(fmt "${R[catchup.cpu.fold]}") / $(fmt "${R[catchup.cpu.sigcheck]}") core-s" "" "" "" ""
	row "  CPU per event: storing (with the sender's) / folding / checking its signature" "$(fmt "$(calc "$B_STORE * $NC / $NCAT * 1e6")") / $(fmt "$(calc "(${R[catchup.cpu.index]} + ${R[catchup.cpu.fold]}) / $NCAT * 1e6")") / $(fmt "$(calc "${R[catchup.cpu.sigcheck]} / $NCAT * 1e6")") us" "" "" "" ""
	row "  bound on $NC cores: every event stored (storing CPU / cores)" "$(fmt "$B_STORE") s" "time to store" "$(ratio "$B_STORE / ${R[catchup.seconds]}")" "" ""
	row "  bound on $NC cores: every view folded (+ index and folds)" "$(fmt "$B_FOLD") s" "time to store" "$(ratio "$B_FOLD / ${R[catchup.seconds]}")" "" ""
	row "  bound on $NC cores: every signature checked (+ checks)" "$(fmt "$B_SIG") s" "time to store" "$(ratio "$B_SIG / ${R[catchup.seconds]}")" "" ""
fi
row "  written by the receiver (write calls / to disk)" "$(fmt "${R[catchup.write_mib]}") / $(fmt "${R[catchup.disk_write_mib]}") MiB" "" "" "" ""
row "Catch-up receiver peak RSS (VmHWM)" "$(fmt "$(calc "${R[catchup.vmhwm_kib]} / 1024")") MiB" "" "" "<= 256 MiB" "$M1M"
row "  of which anonymous (RssAnon at end / max)" "$(fmt "$(calc "${R[catchup.rss_anon_kib]} / 1024")") / $(fmt "$(calc "${R[catchup.rss_anon_max_kib]} / 1024")") MiB" "" "" "" ""
FLOOR=$(calc "2000 / $FS")
row "Live replication A->B view, p50" "$(fmt "${R[live.p50_ms]}") ms" "2 fsyncs = $(fmt "$FLOOR") ms" "$(ratio "${R[live.p50_ms]} / $FLOOR")" "<= 3 ms" \
	"$(judge "live replication p50" "${R[live.p50_ms]} <= 3")"
row "Live replication A->B view, p99" "$(fmt "${R[live.p99_ms]}") ms" "2 fsyncs" "$(ratio "${R[live.p99_ms]} / $FLOOR")" "<= 10 ms" \
	"$(judge "live replication p99" "${R[live.p99_ms]} <= 10")"
row "Full re-fold, ${R[fold.persons]%.*} offenders (${R[fold.events]%.*} events), 1 thread" "$(fmt "${R[fold.seconds]}") s" "" "" "" ""
row "  folds per second / per offender p99" "$(fmt "${R[fold.persons_per_s]}") /s / $(fmt "${R[fold.person_p99_us]}") us" "" "" "" ""
row "Full re-fold through the store, ${R[storefold.persons]%.*} offenders (views, figures)" "$(fmt "${R[storefold.seconds]}") s" "ns_fold alone" \
	"$(ratio "${R[storefold.seconds]} / ${R[fold.seconds]}")" "" ""
row "  per offender: all / store writes (view, summary, figures record)" "$(fmt "${R[storefold.person_us]}") / $(fmt "${R[storefold.store_person_us]}") us" "" "" "" ""
row "Late event, 500-event offender (in the fold cache): ingest + re-fold p50" "$(fmt "${R[refold.ingest_p50_ms]}") ms" "" "" "" ""
row "Late event, 500-event offender (in the fold cache): ingest + re-fold p99" "$(fmt "${R[refold.ingest_p99_ms]}") ms" "" "" "<= 0.5 ms" \
	"$(judge "re-fold of a 500-event offender p99" "${R[refold.ingest_p99_ms]} <= 0.5")"
row "  not in the fold cache (all loaded, whole fold) p50 / p99" "$(fmt "${R[refold.cold_p50_ms]}") / $(fmt "${R[refold.cold_p99_ms]}") ms" "" "" "" ""
row "  of which ns_fold alone p50 / p99" "$(fmt "${R[refold.fold_p50_ms]}") / $(fmt "${R[refold.fold_p99_ms]}") ms" "" "" "" ""
row "  of which loading 500 events p50 / p99" "$(fmt "${R[refold.load_p50_ms]}") / $(fmt "${R[refold.load_p99_ms]}") ms" "" "" "" ""
row "  durable (fsync) p50 / p99" "$(fmt "${R[refold.durable_p50_ms]}") / $(fmt "${R[refold.durable_p99_ms]}") ms" "" "" "" ""
row "HTTP view lookup at $(fmt "${R[http.rate]}") req/s, p50" "$(fmt "${R[http.p50_ms]}") ms" "" "" "" ""
row "HTTP view lookup at $(fmt "${R[http.rate]}") req/s, p99" "$(fmt "${R[http.p99_ms]}") ms" "" "" "<= 2 ms" \
	"$(judge "HTTP lookup p99" "${R[http.p99_ms]} <= 2 && ${R[http.errors]} == 0")"
row "  same, service token, no audit (baseline), p50 / p99" "$(fmt "${R[base.http.p50_ms]}") / $(fmt "${R[base.http.p99_ms]}") ms" "" "" "" ""
row "  JWT + read audit / baseline, p99" "$(ratio "${R[http.p99_ms]} / ${R[base.http.p99_ms]}") x" "" "" "<= 1.5 x" \
	"$(judge "HTTP p99 with JWT and audit vs without" "${R[http.p99_ms]} <= 1.5 * ${R[base.http.p99_ms]} && ${R[base.http.errors]} == 0")"
row "GET /v1/figures with ${R[fig.persons]%.*} offenders at $(fmt "${R[fig.http.rate]}") req/s, p50" "$(fmt "${R[fig.http.p50_ms]}") ms" "" "" "" ""
row "GET /v1/figures with ${R[fig.persons]%.*} offenders, p99" "$(fmt "${R[fig.http.p99_ms]}") ms" "view lookup p99" \
	"$(ratio "${R[fig.http.p99_ms]} / ${R[http.p99_ms]}")" "<= 20 ms" \
	"$(judge "GET /v1/figures p99" "${R[fig.http.p99_ms]} <= 20 && ${R[fig.http.errors]} == 0")"
row "Start-up with $NCAT events, median (max)" "$(fmt "$(calc "${R[startup.median_s]} * 1000")") ms ($(fmt "$(calc "${R[startup.max_s]} * 1000")"))" "" "" "<= 1 s" \
	"$(judge "start-up" "${R[startup.median_s]} <= 1")"
if [ -n "${R[nats.publish_rate]:-}" ]; then
	row "NATS limit: bare async publisher, 400 B + Nats-Msg-Id (limit)" "$(fmt "${R[nats.ceiling_rate]}") msg/s" "" "" "" ""
	row "nomsyncd publishing $NCAT stored events to JetStream" "$(fmt "${R[nats.publish_rate]}") ev/s" "bare publisher" \
		"$(ratio "${R[nats.publish_rate]} / ${R[nats.ceiling_rate]}")" ">= 0.7 x limit" \
		"$(judge "NATS publishing rate" "${R[nats.publish_rate]} >= 0.7 * ${R[nats.ceiling_rate]}")"
else
	row "nomsyncd publishing to JetStream" "skipped" "" "" ">= 0.7 x limit" "${NATS_NOTE:-skipped}"
fi
if [ -n "${R[cmp.rate]:-}" ]; then
	row "nomsync replication, $CMP_N x 400 B" "$(fmt "${R[cmp.rate]}") ev/s" "verify all cores" "$(ratio "${R[cmp.rate]} / $VA")" "" ""
fi
if [ -n "${R[hypercore.rate]:-}" ]; then
	row "Hypercore 11.37.1 replication, $CMP_N x 400 B" "$(fmt "${R[hypercore.rate]}") ent/s" "" "" "" ""
	row "nomsync / Hypercore" "$(ratio "${R[cmp.rate]} / ${R[hypercore.rate]}") x" "" "" ">= 8 x" \
		"$(judge "replication vs Hypercore" "${R[cmp.rate]} >= 8 * ${R[hypercore.rate]}")"
else
	row "nomsync / Hypercore" "skipped" "" "" ">= 8 x" "${HC_NOTE:-skipped}"
fi
if [ -n "${R[jetstream.mirror_rate]:-}" ]; then
	row "JetStream 2.9 mirror hub -> leaf, $CMP_N x 400 B" "$(fmt "${R[jetstream.mirror_rate]}") msg/s" "" "" "" ""
	row "nomsync / JetStream mirror" "$(ratio "${R[cmp.rate]} / ${R[jetstream.mirror_rate]}") x" "" "" ">= 0.5 x" \
		"$(judge "replication vs JetStream mirror" "${R[cmp.rate]} >= 0.5 * ${R[jetstream.mirror_rate]}")"
else
	row "nomsync / JetStream mirror" "skipped" "" "" ">= 0.5 x" "${JS_NOTE:-skipped}"
fi

ELAPSED=$((SECONDS - T_START))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "| figure | value | limit (this run) | ratio | target | result |"
	echo "|---|---:|---|---:|---|---|"
	for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
} >"$WORK/table.md"
echo
echo "nomsync benchmark, $MODE mode, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${ELAPSED} s, load average $LOAD0 -> $LOAD1"
for r in "${ROWS[@]}"; do
	IFS='|' read -r f v l q t res <<<"$r"
	printf '%-58s %20s  %-24s %8s  %-16s %s\n' "$f" "$v" "$l" "$q" "$t" "$res"
done
echo
echo "views converged on both nodes: $([ "${R[converged]}" = 1 ] && echo yes || echo NO); events rejected during catch-up: ${R[catchup.rejected]}"
echo "HTTP: ${R[http.requests]%.*} requests, ${R[http.errors]%.*} errors, p99.9 ${R[http.p999_ms]} ms, max ${R[http.max_ms]} ms"
echo "store on disk after catch-up: $(fmt "$(calc "${R[store.bytes]} / 1048576")") MiB for ${NCAT} events ($(fmt "$(calc "${R[store.bytes]} / $NCAT")") bytes per event)"
# The regional hub bootstrapping 100 million events, scaled linearly from this run (the store's B-trees
# grow by log N, so it is a lower bound for the times): disk, time to store and to fold every view.
H=100000000
echo "extrapolated to a regional hub bootstrapping 100M events: $(fmt "$(calc "${R[store.bytes]} / $NCAT * $H / 1e9")") GB on disk," \
	"stored in $(fmt "$(calc "$H / ${R[catchup.rate]} / 60")") min, every view folded in $(fmt "$(calc "${R[catchup.settled_seconds]} / $NCAT * $H / 60")") min$(
	[ -z "${R[catchup.checked_seconds]:-}" ] || echo ", every signature checked in $(fmt "$(calc "${R[catchup.checked_seconds]} / $NCAT * $H / 60")") min");" \
	"start-up was $(fmt "$(calc "${R[startup.median_s]} * 1000")") ms at $NCAT events"
[ -z "$HC_NOTE" ] || echo "$HC_NOTE"
[ -z "$JS_NOTE" ] || echo "JetStream: $JS_NOTE"
if [ -s "$WORK/misses" ]; then
	echo "targets missed: $(wc -l <"$WORK/misses"): $(paste -sd, "$WORK/misses" | sed 's/,/, /g')"
else
	echo "all targets met"
fi
if [ -n "$OUT" ]; then
	{
		echo "nomsync benchmark, $MODE mode, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${ELAPSED} s, load average $LOAD0 -> $LOAD1"
		echo
		cat "$WORK/table.md"
		echo
		echo "All figures (name value):"
		echo
		echo '```'
		for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "$k ${R[$k]}"; done
		echo '```'
	} >"$OUT"
fi

[ "${R[converged]}" = 1 ] || { echo "run.sh: the two nodes did not converge" >&2; exit 1; }
if [ $QUICK = 1 ]; then
	if ! awk "BEGIN { exit !(${R[catchup.rate]} >= 1.2 * $VC) }"; then
		echo "run.sh: catch-up ingest ${R[catchup.rate]} ev/s is below 1.2 x the all-core verify limit ($VC/s)" >&2
		exit 1
	fi
fi
exit 0
