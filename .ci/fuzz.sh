#!/usr/bin/env bash
# Fuzzing CI job (see docs/RELIABILITY.md).
#
#   .ci/fuzz.sh            # or: FUZZ_TIME=300 FUZZ_TARGETS="http json" .ci/fuzz.sh
#
# 1. Configures build-fuzz with clang, ASan+UBSan and NS_FUZZ=ON and builds the
#    libFuzzer targets fuzz_<name> (tests/fuzz/).
# 2. Regression: runs every checked-in file of tests/fuzz/corpus/<name>/,
#    crash-* regression inputs included, once through its target (one process
#    per file, so every failing file is named).
# 3. Fuzzing: runs each target for FUZZ_TIME seconds (default 30) with
#    -timeout=10 -rss_limit_mb=2048 (and tests/fuzz/dict/<name>.dict if there
#    is one) on a copy of its corpus (without crash-*
#    files, which would stop it at once; new inputs never land in the repo).
#    Crashing inputs are kept in $FUZZ_OUT/artifacts (printed at the end).
#
# Exits 1 if any regression input or any fuzzing run crashes, hangs, leaks or
# breaks a harness invariant. Environment: FUZZ_TIME, FUZZ_TARGETS,
# FUZZ_JOBS (parallel fuzzers, default nproc), FUZZ_BUILD (default
# build-fuzz), FUZZ_OUT (default a new /tmp directory), FUZZ_SKIP_BUILD=1,
# NS_FUZZ_SKIP_KNOWN=all (while reported bugs are open, fuzz past their
# invariants to look for others; see tests/fuzz/fuzz_common.h).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD:-build-fuzz}
TIME=${FUZZ_TIME:-30}
TARGETS=${FUZZ_TARGETS:-"event message ingest bundle json config roster http jwt"}
JOBS=${FUZZ_JOBS:-$(nproc)}
OUT=${FUZZ_OUT:-$(mktemp -d /tmp/nomsync-fuzz-ci.XXXXXX)}
mkdir -p "$OUT/artifacts" "$OUT/logs" "$OUT/corpus" "$OUT/tmp"
export TMPDIR=$OUT/tmp            # the harnesses' scratch stores
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FLAGS=(-timeout=10 -rss_limit_mb=2048)

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang libclang-rt-14-dev)"; exit 1; }
  CC=clang cmake -S . -B "$BUILD" -DNS_FUZZ=ON -DNS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$OUT/logs/cmake.log"
  for t in $TARGETS; do
    cmake --build "$BUILD" -j"$(nproc)" --target "fuzz_$t" >>"$OUT/logs/build.log" 2>&1 ||
      { tail -40 "$OUT/logs/build.log"; echo "fuzz: build of fuzz_$t failed"; exit 1; }
  done
fi
BIN=$ROOT/$BUILD/tests/fuzz
failed=0

# ---- 2. regression: every checked-in input once --------------------------------
echo "== regression: every corpus file once through its target"
for t in $TARGETS; do
  n=0 bad=0
  for f in "$ROOT/tests/fuzz/corpus/$t"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if ! "$BIN/fuzz_$t" "${FLAGS[@]}" "$f" >"$OUT/logs/replay-$t.log" 2>&1; then
      bad=$((bad + 1))
      echo "FAIL $t: $(basename "$f")"
      grep -E "ERROR: |runtime error|INVARIANT|SUMMARY" "$OUT/logs/replay-$t.log" | head -4 | sed 's/^/     /'
    fi
  done
  printf '  %-8s %3d inputs, %d failing\n' "$t" "$n" "$bad"
  [ $bad -eq 0 ] || failed=1
done

# ---- 3. fuzzing ----------------------------------------------------------------
echo "== fuzzing: $TIME s per target, $JOBS at a time"
run_one() {
  local t=$1 rc=0
  rm -rf "$OUT/corpus/$t"
  mkdir -p "$OUT/corpus/$t"
  find "$ROOT/tests/fuzz/corpus/$t" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$OUT/corpus/$t/" \;
  local dict=()
  [ -f "$ROOT/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$ROOT/tests/fuzz/dict/$t.dict")
  "$BIN/fuzz_$t" "${FLAGS[@]}" "${dict[@]}" -max_total_time="$TIME" -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$t-" "$OUT/corpus/$t" >"$OUT/logs/fuzz-$t.log" 2>&1 || rc=$?
  echo $rc >"$OUT/logs/fuzz-$t.rc"
}
running=0
for t in $TARGETS; do
  run_one "$t" &
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

printf '  %-8s %10s %8s %6s %6s %6s  %s\n' target execs exec/s cov ft corpus result
for t in $TARGETS; do
  log=$OUT/logs/fuzz-$t.log
  rc=$(cat "$OUT/logs/fuzz-$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  if [ "$rc" = 0 ]; then res=ok; else res="CRASH (exit $rc)"; failed=1; fi
  printf '  %-8s %10s %8s %6s %6s %6s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res"
  if [ "$rc" != 0 ]; then
    grep -E "ERROR: |runtime error|INVARIANT|SUMMARY|Test unit written" "$log" | head -6 | sed 's/^/     /'
  fi
done
rm -rf "$OUT/tmp"
if [ $failed -ne 0 ]; then
  echo "fuzz: FAILED; logs in $OUT/logs, crashing inputs in $OUT/artifacts"
  echo "      (add a crashing input to tests/fuzz/corpus/<target>/crash-<name> as a regression)"
  exit 1
fi
echo "fuzz: all targets clean (logs in $OUT/logs)"
