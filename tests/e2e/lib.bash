# Shared helpers for end-to-end tests. Sourced, not run.
# NS_BIN is the build directory (set by ctest); NS_SRC the source tree.
set -euo pipefail
NS_BIN=${NS_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
NS=${NS_BIN}/nomsync
GEN=${NS_BIN}/nomsync-gen
WORK=$(mktemp -d "${NS_TMP_PREFIX:-/tmp/nomsync-e2e}.XXXXXX")
trap 'rc=$?; rm -rf "$WORK" || true; exit $rc' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# expect_fail CODE DESCRIPTION CMD... : CMD must exit with CODE and print to stderr.
expect_fail() {
  local want=$1 what=$2; shift 2
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" -eq "$want" ] && [ -s "$WORK/err" ]; then
    ok "$what (exit $rc: $(head -c 150 "$WORK/err" | tr '\n' ' '))"
  else
    bad "$what: exit $rc, wanted $want; stderr: $(cat "$WORK/err")"
  fi
}

# expect_eq A B DESCRIPTION
expect_eq() {
  if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: '$1' != '$2'"; fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
  if grep -q -- "$1" "$2"; then ok "$3"; else bad "$3: no '$1' in $(head -c 400 "$2")"; fi
}

# flip_byte FILE NEEDLE: flip one bit of the first occurrence of NEEDLE.
flip_byte() {
  local off
  off=$(grep -obUaF -- "$2" "$1" | head -n1 | cut -d: -f1)
  [ -n "$off" ] || return 1
  off=$((off + 1))
  local b
  b=$(dd if="$1" bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null
}

finish() {
  if [ "$fail" -gt 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $(basename "$log")"
      grep -v " DEBUG " "$log" | tail -n 15
    done
  fi
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
