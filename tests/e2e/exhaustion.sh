#!/usr/bin/env bash
# Resource exhaustion: a full disk (a small tmpfs this test mounts) and a
# full LMDB map give a clear error, refuse new writes without corrupting
# anything, and recover when space returns (the map grows where allowed). A
# daemon whose disk fills stops acknowledging, keeps running, and catches up
# once space is back.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/net.bash"

$GEN --outdir "$WORK/gen" --offenders 1500 --seed 3 --prisons MDI >/dev/null
split -l 1500 -d "$WORK/gen/MDI.jsonl" "$WORK/part."

# 1. Map full: a 1 MiB map that may grow to 2 MiB, then no further.
export NOMSYNC_MAP_SIZE=1048576 NOMSYNC_MAP_MAX=2097152
$NS --dir "$WORK/map" init --site MDI --role prison
$NS --dir "$WORK/map" append "$WORK/part.00" >/dev/null && ok "map grows past its initial 1 MiB" || bad "map growth"
before=$($NS --dir "$WORK/map" digest)
n=0
while $NS --dir "$WORK/map" append "$WORK/part.0$((n + 1))" >/dev/null 2>"$WORK/maperr"; do n=$((n + 1)); [ $n -lt 8 ] || break; done
expect_grep "full" "$WORK/maperr" "map full is reported clearly"
$NS --dir "$WORK/map" verify >/dev/null && ok "store verifies after map full" || bad "verify after map full"
unset NOMSYNC_MAP_MAX
$NS --dir "$WORK/map" append "$WORK/part.0$((n + 1))" >/dev/null && ok "writes resume when the map may grow again" || bad "writes resume after map full"
$NS --dir "$WORK/map" verify >/dev/null && ok "store verifies after growth" || bad "verify after growth"
unset NOMSYNC_MAP_SIZE

# 2. Disk full, on a tmpfs of our own.
mkdir -p "$WORK/disk"
if ! mount -t tmpfs -o size=6m tmpfs "$WORK/disk" 2>"$WORK/mounterr"; then
  echo "skip disk-full cases: cannot mount a tmpfs here ($(cat "$WORK/mounterr"))"
  finish
  exit $?
fi
trap 'rc=$?; set +e; stop_all; umount "$WORK/disk" 2>/dev/null; rm -rf "$WORK"; exit $rc' EXIT
$NS --dir "$WORK/disk/MDI" init --site MDI --role prison
dd if=/dev/zero of="$WORK/disk/filler" bs=1M count=4 status=none
i=0
while $NS --dir "$WORK/disk/MDI" append "$WORK/part.0$i" >/dev/null 2>"$WORK/diskerr"; do i=$((i + 1)); [ $i -lt 8 ] || break; done
expect_grep "disk holding .* is full" "$WORK/diskerr" "full disk is reported as such"
held=$($NS --dir "$WORK/disk/MDI" status --json | jq .events)
$NS --dir "$WORK/disk/MDI" verify >/dev/null && ok "store verifies on a full disk ($held events)" || bad "verify on full disk"
$NS --dir "$WORK/disk/MDI" append "$WORK/part.0$i" >/dev/null 2>&1 && bad "append on a full disk succeeded" || ok "append still refused while full"
expect_eq "$($NS --dir "$WORK/disk/MDI" status --json | jq .events)" "$held" "nothing partial was written"
rm -f "$WORK/disk/filler"
$NS --dir "$WORK/disk/MDI" append "$WORK/part.0$i" >/dev/null && ok "writes resume when space returns" || bad "writes resume"
$NS --dir "$WORK/disk/MDI" verify >/dev/null && ok "store verifies after recovery" || bad "verify after recovery"

# 3. A daemon whose disk fills while a peer streams to it.
rm -rf "$WORK/disk/MDI"
mknode MDI prison
PORT[LEI]=$((BASE_PORT + 10)); ROLE[LEI]=prison
$NS --dir "$WORK/disk/LEI" init --site LEI --role prison
ln -s "$WORK/disk/LEI" "$WORK/LEI"
write_roster
config MDI; config LEI MDI
cat "$WORK/part.00" "$WORK/part.01" | $NS --dir "$WORK/MDI" append >/dev/null   # ~3.5 MB at LEI: fits once space returns
total=$($NS --dir "$WORK/MDI" status --json | jq .events)
avail=$(df -k --output=avail "$WORK/disk" | tail -1)
dd if=/dev/zero of="$WORK/disk/filler" bs=1K count=$((avail - 1200)) status=none
start MDI; start LEI
sleep 6
kill -0 "${PID[LEI]}" && ok "LEI keeps running with a full disk" || bad "LEI died on a full disk"
expect_grep "full" "$WORK/LEI.log" "LEI logs the full disk"
$NS --dir "$WORK/LEI" verify >/dev/null && ok "LEI's store verifies while full" || bad "LEI verify while full"
rm -f "$WORK/disk/filler"
if wait_converged 60 MDI LEI; then ok "LEI catches up once space returns ($total events)"; else bad "LEI catch-up after disk full"; fi
stop LEI; stop MDI
finish
