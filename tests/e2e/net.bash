# Helpers for multi-node tests: real nomsyncd daemons on 127.0.0.1.
# Sourced after lib.bash.
NSD=${NS_BIN}/nomsyncd
source "$(dirname "${BASH_SOURCE[0]}")/../../deploy/ports.bash"
ns_reserve_ports 50   # nodes use BASE_PORT + 0..49
BASE_PORT=$NS_PORT_BASE
declare -A PORT=() ROLE=() PID=()
NODES=0

# mknode CODE ROLE: a store and its port.
mknode() {
  local code=$1 role=$2
  $NS --dir "$WORK/$code" init --site "$code" --role "$role"
  ROLE[$code]=$role
  PORT[$code]=$((BASE_PORT + NODES))
  NODES=$((NODES + 1))
}

# roster: every node made so far (plus extra lines from $EXTRA_ROSTER).
write_roster() {
  local code
  : >"$WORK/roster"
  for code in "${!PORT[@]}"; do
    local key region=-
    key=$($NS --dir "$WORK/$code" id | cut -d' ' -f3)
    [ "${ROLE[$code]}" = probation ] && region=$code
    echo "$code ${ROLE[$code]} $region $key" >>"$WORK/roster"
  done
  [ -z "${EXTRA_ROSTER:-}" ] || echo "$EXTRA_ROSTER" >>"$WORK/roster"
}

# config CODE PEER...: write CODE's config; peers by code.
config() {
  local code=$1 p; shift
  {
    echo "[node]"
    echo "dir = $WORK/$code"
    echo "listen = tcp://127.0.0.1:${PORT[$code]}"
    echo "roster = ${ROSTER:-$WORK/roster}"
    echo "log_level = ${LOG_LEVEL:-info}"
    echo "anti_entropy = 1"
    echo "heartbeat = 0.5"
    echo "peer_timeout = 3"
    [ -z "${AUTHORITY:-}" ] || echo "authority = $AUTHORITY"
    echo "[peers]"
    for p in "$@"; do echo "$p = tcp://127.0.0.1:${PORT[$p]}"; done
  } >"$WORK/$code.conf"
}

start() {
  local code=$1
  $NSD --config "$WORK/$code.conf" >>"$WORK/$code.log" 2>&1 &
  PID[$code]=$!
}

stop() {
  local code=$1
  [ -n "${PID[$code]:-}" ] || return 0
  kill -TERM "${PID[$code]}" 2>/dev/null || true
  local rc=0
  wait "${PID[$code]}" || rc=$?
  PID[$code]=
  return $rc
}

kill9() {
  local code=$1
  kill -KILL "${PID[$code]}" 2>/dev/null || true
  wait "${PID[$code]}" 2>/dev/null || true
  PID[$code]=
}

stop_all() {
  for code in "${!PID[@]}"; do
    [ -z "${PID[$code]:-}" ] || kill -KILL "${PID[$code]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'rc=$?; set +e; stop_all; [ -n "${NS_KEEP:-}" ] || rm -rf "$WORK"; exit $rc' EXIT

# wait_converged SECONDS CODE...: all stores hold the same vector and digest.
wait_converged() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  while [ $SECONDS -lt $deadline ]; do
    local d v same=1 first= firstv=
    for code in "$@"; do
      d=$($NS --dir "$WORK/$code" digest 2>/dev/null) || { same=0; break; }
      v=$($NS --dir "$WORK/$code" vector 2>/dev/null | jq -c 'with_entries(.value |= .seq)') || { same=0; break; }
      if [ -z "$first" ]; then first=$d; firstv=$v
      elif [ "$d" != "$first" ] || [ "$v" != "$firstv" ]; then same=0; break; fi
    done
    [ $same = 1 ] && return 0
    sleep 0.3
  done
  for code in "$@"; do
    echo "  $code: $($NS --dir "$WORK/$code" digest) $($NS --dir "$WORK/$code" vector | jq -c 'with_entries(.value |= .seq)')"
  done
  return 1
}

# events_of CODE: number of events held.
events_of() { $NS --dir "$WORK/$1" status --json | jq .events; }
