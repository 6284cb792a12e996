#!/usr/bin/env bash
# Record benchmark, side by side in one run:
#   1. a seeded generator writes ROWS rows of persons and events (generate.py);
#   2. `vigil import` of that CSV into a fresh desk (SQLite): wall, CPU, peak memory;
#      and CPU seconds per thread (threads.py: the reader, SQLite's writer, ...);
#   3. `vigil stats --by month,region` against DuckDB (PyPI) answering the same
#      question from the same CSV, timed from the file to the table; both answers
#      are compared group by group.
#
#   bash bench/record/run.sh                 # 1,000,000 rows, release build
#   ROWS=100000 bash bench/record/run.sh     # a smaller set
#   FAST_BUILD=1 bash bench/record/run.sh    # dev profile with vigil's crates at
#                                            # opt-level 3 (dependencies are already
#                                            # optimised in dev): no release build
# Generated data, databases and outputs go to BENCH_DIR (default /tmp/vigil-bench-record),
# never into the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${ROWS:-1000000}"
repeat="${REPEAT:-3}"
work="${BENCH_DIR:-/tmp/vigil-bench-record}"
case "$work" in "$root"*) echo "BENCH_DIR must be outside the repository" >&2; exit 1;; esac
rm -rf "$work"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== machine"
echo "$(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "memory: $(free -m | awk '/Mem:/ {print $2 " MiB total, " $7 " MiB available"}'); load: $(cut -d' ' -f1-3 /proc/loadavg)"

venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q 'duckdb>=1,<3'
echo "duckdb $("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')"

if [ -n "${FAST_BUILD:-}" ]; then
  opts=()
  for p in vigil vigil-core vigil-store vigil-record; do
    opts+=(--config "profile.dev.package.$p.opt-level=3")
  done
  (cd "$root" && cargo build -q -p vigil "${opts[@]}")
  bin="$target/debug/vigil"
  echo "build: dev profile, vigil crates at opt-level 3 (FAST_BUILD)"
else
  (cd "$root" && cargo build -q --release -p vigil)
  bin="$target/release/vigil"
  echo "build: release"
fi
echo "vigil at $(cd "$root" && git rev-parse --short HEAD)"

echo "== generate $rows rows (seed 7)"
python3 "$here/generate.py" "$rows" 7 "$work/events.csv"
ls -l "$work/events.csv" | awk '{print $5 " bytes"}'

export VIGIL_PASSPHRASE="benchmark passphrase, not secret"
"$bin" keygen --data "$work/data" --kdf-work-factor 10 >/dev/null

# "label wall user sys maxrss_kib" from GNU time.
timed() {
  local label="$1"; shift
  /usr/bin/time -f "$label %e %U %S %M" -o "$work/time.txt" "$@"
  cat "$work/time.txt" >>"$work/times.txt"
}
: >"$work/times.txt"

echo "== vigil import (one run: a second run would find every row already held)"
timed import "$bin" import --data "$work/data" --mapping "$here/events.toml" "$work/events.csv" \
  >"$work/import.out" &
importing=$!
# CPU seconds per thread of the import (the reader, SQLite's writer, ...).
python3 "$here/threads.py" "$importing" "$work/threads.txt" >/dev/null
wait "$importing"
cat "$work/import.out"
echo "== import: CPU seconds per thread"
cat "$work/threads.txt"

echo "== vigil stats --by month,region and DuckDB, $repeat runs each"
for _ in $(seq "$repeat"); do
  timed vigil-stats "$bin" stats --data "$work/data" --by month,region --format csv >"$work/vigil.csv"
  timed duckdb "$venv/bin/python" "$here/duckdb_stats.py" "$work/events.csv" "$work/duckdb.csv" \
    >>"$work/duckdb.out"
done
cat "$work/duckdb.out"
python3 "$here/compare.py" "$work/vigil.csv" "$work/duckdb.csv"

echo "== results (median of runs; CPU = user + sys; memory = peak RSS)"
python3 - "$work/times.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, wall, user, sys_, rss = line.split()
    runs.setdefault(label, []).append((float(wall), float(user) + float(sys_), int(rss) / 1024))
print(f"{'what':<12} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}")
for label, r in runs.items():
    print(f"{label:<12} {len(r):>4} {statistics.median(x[0] for x in r):>8.2f} "
          f"{statistics.median(x[1] for x in r):>8.2f} {statistics.median(x[2] for x in r):>9.1f}")
PY
