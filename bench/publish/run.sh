#!/usr/bin/env bash
# Publish benchmark (issue 10): `vigil publish` of a record of ROWS events.
#   1. bench/record's seeded generator writes ROWS rows of persons and events;
#   2. `vigil import` brings them into a fresh desk (SQLite; timed, not the goal);
#   3. `vigil publish` is timed REPEAT times into a fresh folder (GNU time: wall,
#      CPU, peak RSS), then once more over the previous release (the chained
#      case: the previous release is verified and its tables compared);
#   4. `vigil verify` of the result is timed too;
#   5. the release writer alone (open data, manifest, signatures, chain and
#      changes) on a synthetic events table of ROWS rows, without the desk
#      (crates/vigil-public/examples/release_bench.rs).
# SKIP_IMPORT=1 runs only step 5.
# Goals: publish <= 20 s and <= 512 MiB on two cores.
#
#   bash bench/publish/run.sh                  # 1,000,000 events, release build
#   ROWS=100000 bash bench/publish/run.sh      # a smaller record
#   FAST_BUILD=1 bash bench/publish/run.sh     # dev profile, vigil's crates at opt-level 3
# Generated data and releases go to BENCH_DIR (default /tmp/vigil-bench-publish),
# never into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${ROWS:-1000000}"
repeat="${REPEAT:-3}"
work="${BENCH_DIR:-/tmp/vigil-bench-publish}"
case "$work" in "$root"*) echo "BENCH_DIR must be outside the repository" >&2; exit 1;; esac
rm -rf "$work"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== machine"
echo "$(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "memory: $(free -m | awk '/Mem:/ {print $2 " MiB total, " $7 " MiB available"}'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "${FAST_BUILD:-}" ]; then
  opts=()
  for p in vigil vigil-core vigil-store vigil-record vigil-public; do
    opts+=(--config "profile.dev.package.$p.opt-level=3")
  done
  (cd "$root" && cargo build -q -p vigil --bin vigil -p vigil-public --example release_bench "${opts[@]}")
  bin="$target/debug/vigil"
  writer="$target/debug/examples/release_bench"
  echo "build: dev profile, vigil crates at opt-level 3 (FAST_BUILD)"
else
  (cd "$root" && cargo build -q --release -p vigil --bin vigil -p vigil-public --example release_bench)
  bin="$target/release/vigil"
  writer="$target/release/examples/release_bench"
  echo "build: release"
fi
echo "vigil at $(cd "$root" && git rev-parse --short HEAD)"

timed() {
  local label="$1"; shift
  /usr/bin/time -f "$label %e %U %S %M" -o "$work/time.txt" "$@"
  cat "$work/time.txt" >>"$work/times.txt"
}
: >"$work/times.txt"

echo "== the release writer alone, $rows events"
timed writer "$writer" "$rows" "$work/writer"
rm -rf "$work/writer"

if [ -z "${SKIP_IMPORT:-}" ]; then
echo "== generate $rows rows (bench/record/generate.py, seed 7)"
python3 "$root/bench/record/generate.py" "$rows" 7 "$work/events.csv"
ls -l "$work/events.csv" | awk '{print $5 " bytes"}'

export VIGIL_PASSPHRASE="benchmark passphrase, not secret"
"$bin" keygen --data "$work/data" --kdf-work-factor 10 >/dev/null
# `vigil publish` opens the desk through its config (the intake is never called).
printf 'version = 1\nlisten = "127.0.0.1:0"\nintake_url = "http://127.0.0.1:9"\nsecure_cookies = false\n' \
  >"$work/data/desk/desk.toml"
export VIGIL_INTAKE_TOKEN="0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

echo "== vigil import"
timed import "$bin" import --data "$work/data" --mapping "$root/bench/record/events.toml" \
  "$work/events.csv" >"$work/import.out"
cat "$work/import.out"

echo "== vigil publish, $repeat runs into a new folder"
for i in $(seq "$repeat"); do
  rm -rf "$work/site"
  timed publish "$bin" publish --data "$work/data" --out "$work/site" >"$work/publish.out"
done
cat "$work/publish.out"
echo "== vigil publish over the previous release (chained), and vigil verify"
timed publish-chained "$bin" publish --data "$work/data" --out "$work/site" >"$work/publish.out"
cat "$work/publish.out"
timed verify "$bin" verify "$work/site" --key "$work/data/desk/release-key.pub" >/dev/null
du -sh "$work/site" | awk '{print "release size: " $1}'
fi

echo "== results (median of runs; CPU = user + sys; memory = peak RSS)"
python3 - "$work/times.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, wall, user, sys_, rss = line.split()
    runs.setdefault(label, []).append((float(wall), float(user) + float(sys_), int(rss) / 1024))
print(f"{'what':<16} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}")
for label, r in runs.items():
    print(f"{label:<16} {len(r):>4} {statistics.median(x[0] for x in r):>8.2f} "
          f"{statistics.median(x[1] for x in r):>8.2f} {statistics.median(x[2] for x in r):>9.1f}")
PY
