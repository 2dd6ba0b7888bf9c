#!/usr/bin/env bash
# The local demo: five sites (a court, two prisons, a probation area and a
# regional hub) each append their own part of realistic offender life
# courses, synchronise through the hub with signed bundles, and converge on
# byte-identical views. One offender's view is printed from two sites.
#
#   bash deploy/demo.sh            (installs Debian packages and builds if needed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
NS=build/nomsync
demo=${NS_DEMO_DIR:-$(mktemp -d /tmp/nomsync-demo.XXXXXX)}
echo "demo directory: $demo"

sites="SHEFMC:court MDI:prison LEI:prison N55:probation HUBNE:hub"
for s in $sites; do
  code=${s%%:*}
  $NS --dir "$demo/$code" init --site "$code" --role "${s##*:}"
  echo "  $(printf '%-7s' "$code") $($NS --dir "$demo/$code" id)"
done

echo "== generating life courses for 200 offenders (court, prisons, probation)"
build/nomsync-gen --outdir "$demo/events" --offenders 200 --seed 2026 --court SHEFMC \
  --prisons MDI,LEI --probation N55 --conflicts | sed 's/^/  events for /'
for code in SHEFMC MDI LEI N55; do
  n=$($NS --dir "$demo/$code" append "$demo/events/$code.jsonl" | wc -l)
  echo "  $code signed and appended $n events"
done

echo "== synchronising through the hub (signed bundles; every event verified on import)"
for code in SHEFMC MDI LEI N55; do
  $NS --dir "$demo/$code" export >"$demo/$code.bundle" 2>/dev/null
  echo "  hub <- $code: $($NS --dir "$demo/HUBNE" import "$demo/$code.bundle")"
done
$NS --dir "$demo/HUBNE" export >"$demo/HUBNE.bundle" 2>/dev/null
for code in SHEFMC MDI LEI N55; do
  echo "  $code <- hub: $($NS --dir "$demo/$code" import "$demo/HUBNE.bundle")"
done

echo "== convergence: digest of every view at every site"
for s in $sites; do
  code=${s%%:*}
  echo "  $(printf '%-7s' "$code") $($NS --dir "$demo/$code" digest)"
done
n=$(for s in $sites; do $NS --dir "$demo/${s%%:*}" digest; done | sort -u | wc -l)
[ "$n" -eq 1 ] && echo "  all five sites hold byte-identical views" || { echo "  DIVERGED"; exit 1; }

echo "== offender A0001AB as the probation area N55 sees it (found by CRN)"
crn=$($NS --dir "$demo/N55" show A0001AB --json | jq -r .crn)
$NS --dir "$demo/N55" show "$crn"
echo "== offender A0001AB as the prison MDI sees it"
$NS --dir "$demo/MDI" show A0001AB
echo "== offender A0000AA: received at two prisons, flagged for a person to resolve"
$NS --dir "$demo/LEI" show A0000AA | grep -E "^(NOMS|Status|CONFLICT)"
echo "== verify at the hub"
$NS --dir "$demo/HUBNE" verify
