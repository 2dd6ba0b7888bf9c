# ns_reserve_ports N: choose N consecutive TCP ports on 127.0.0.1 for test
# or demo daemons and set NS_PORT_BASE to the first one.
#
# The block lies below the kernel's ephemeral port range, so an outgoing
# connection of some other process cannot be holding one of its ports by the
# time a daemon binds it (the failure "Address already in use" seen when
# blocks were picked from 30000-39999, which overlaps 32768-60999). No socket
# in any state may use a port of the block (checked with ss), and the block is
# reserved for the lifetime of the calling shell with a lock file, so tests
# that ctest runs in parallel never pick the same block.
#
# Sourced by deploy/demo.sh, tests/e2e/net.bash and bench/run.sh. Returns 1
# with a message on stderr if no block is free after 200 tries.

ns_reserve_ports() {
  local n=$1 lo=20000 hi eph_lo eph_hi base try p used lockdir fd
  read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range || { eph_lo=32768; eph_hi=60999; }
  if [ "$eph_lo" -gt $((lo + 1000 + n)) ]; then
    hi=$((eph_lo - n))
  else # ephemeral range starts low: use the ports above it
    lo=$((eph_hi + 1)); hi=$((65535 - n))
  fi
  lockdir=${TMPDIR:-/tmp}/nomsync-ports
  mkdir -p "$lockdir" 2>/dev/null; chmod 1777 "$lockdir" 2>/dev/null || true
  for try in $(seq 200); do
    base=$((lo + (RANDOM * 32768 + RANDOM) % ((hi - lo) / n) * n))
    exec {fd}>>"$lockdir/$base.lock" || continue
    if ! flock -n "$fd"; then exec {fd}>&-; continue; fi
    used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')
    for p in $(seq "$base" $((base + n - 1))); do
      if grep -qx "$p" <<<"$used"; then p=; break; fi
    done
    if [ -n "$p" ]; then
      NS_PORT_BASE=$base
      NS_PORT_LOCK_FD=$fd   # held until the shell exits
      return 0
    fi
    exec {fd}>&-
  done
  echo "ns_reserve_ports: no block of $n free ports found in $lo-$hi" >&2
  return 1
}
