#!/usr/bin/env bash
# Build nomsync and run the whole test suite twice: a normal optimised build,
# then an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Usage: tests/run.sh            (installs missing Debian packages first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/deps.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests (RelWithDebInfo)"
(cd build && ctest --output-on-failure -j"$jobs" -LE bench | tee ctest-normal.log)
echo "== benchmark, quick mode, alone on the machine (RelWithDebInfo)"
(cd build && ctest --output-on-failure -L bench | tee ctest-bench.log)

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE 'nosan|bench' | tee ctest-asan.log)
