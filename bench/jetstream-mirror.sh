#!/usr/bin/env bash
# The JetStream peer of the replication comparison (bench/run.sh section 5, issue 13):
# NATS JetStream mirroring a stream of N 400-byte messages from a hub server to a
# leaf-node server on loopback.
#
#   bench/jetstream-mirror.sh [--build DIR] [--work DIR] [--ports BASE] [--timeout S] N
#
#   --build DIR   CMake build directory holding bench/nomsync-nats-bench
#                 (default: build-bench, else build)
#   --work DIR    where the two servers' configs, stores and logs go (a new
#                 directory in it, removed at exit; default $TMPDIR or /tmp)
#   --ports BASE  use ports BASE .. BASE+2 (default: reserved with deploy/ports.bash)
#   --timeout S   give up if the mirror is not complete after S seconds (default 300)
#
# Starts a hub nats-server (JetStream domain "hub", a leafnode port) and a leaf
# server (JetStream domain "leaf", connected to the hub's leafnode port), fills a
# file-backed stream on the hub with N messages of 400 bytes (async publish, each
# with its own Nats-Msg-Id, every ack awaited; not timed), then creates on the leaf
# a file-backed stream mirroring it through $JS.hub.API and times until the mirror
# holds N messages. Prints "name value" lines: jetstream.mirror_rate (msg/s),
# jetstream.mirror_seconds, jetstream.messages, jetstream.fill_rate.
# Needs nats-server (deploy/deps.sh). See docs/PERFORMANCE.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD= PARENT=${TMPDIR:-/tmp} BASE= TIMEOUT=300 N=
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift ;;
	--work) PARENT=$2; shift ;;
	--ports) BASE=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "jetstream-mirror.sh: unknown option $1" >&2; exit 2 ;;
	*) [ -z "$N" ] || { echo "jetstream-mirror.sh: one count only" >&2; exit 2; }; N=$1 ;;
	esac
	shift
done
case $N in
''|*[!0-9]*|0) echo "usage: jetstream-mirror.sh [--build DIR] [--work DIR] [--ports BASE] [--timeout S] N" >&2; exit 2 ;;
esac
if [ -z "$BUILD" ]; then
	for b in "$ROOT/build-bench" "$ROOT/build"; do
		[ -x "$b/bench/nomsync-nats-bench" ] && { BUILD=$b; break; }
	done
fi
BENCH=${BUILD:+$BUILD/bench/nomsync-nats-bench}
[ -n "$BENCH" ] && [ -x "$BENCH" ] || { echo "jetstream-mirror.sh: no bench/nomsync-nats-bench built" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "jetstream-mirror.sh: nats-server not found (deploy/deps.sh)" >&2; exit 2; }
if [ -z "$BASE" ]; then
	source "$ROOT/deploy/ports.bash"
	ns_reserve_ports 3
	BASE=$NS_PORT_BASE
fi
HUB_PORT=$BASE LEAFNODE_PORT=$((BASE + 1)) LEAF_PORT=$((BASE + 2))

W=$(mktemp -d "$PARENT/jsmirror.XXXXXX")
PIDS=()
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ $rc != 0 ]; then
		for l in "$W"/*.log; do
			[ -f "$l" ] || continue
			echo "---- last lines of $(basename "$l")" >&2
			tail -n 10 "$l" >&2
		done
	fi
	rm -rf "$W"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$W/hub.conf" <<EOF
server_name: hub
listen: 127.0.0.1:$HUB_PORT
jetstream { store_dir: "$W/hub", domain: hub }
leafnodes { listen: 127.0.0.1:$LEAFNODE_PORT }
EOF
cat >"$W/leaf.conf" <<EOF
server_name: leaf
listen: 127.0.0.1:$LEAF_PORT
jetstream { store_dir: "$W/leaf", domain: leaf }
leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:$LEAFNODE_PORT" } ] }
EOF
# wait_log FILE TEXT: until the server's log says TEXT (10 s at most).
wait_log() {
	local i
	for i in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "jetstream-mirror.sh: no '$2' in $(basename "$1")" >&2
	return 1
}
nats-server -c "$W/hub.conf" >"$W/hub.log" 2>&1 &
PIDS+=($!)
wait_log "$W/hub.log" "Server is ready"
nats-server -c "$W/leaf.conf" >"$W/leaf.log" 2>&1 &
PIDS+=($!)
wait_log "$W/leaf.log" "Server is ready"
wait_log "$W/leaf.log" "Leafnode connection created"

"$BENCH" mirror "nats://127.0.0.1:$HUB_PORT" BENCH "$N" 400 16384 "nats://127.0.0.1:$LEAF_PORT" hub "$TIMEOUT"
