#!/usr/bin/env bash
# Linkage benchmark: vigil, splink 5 and recordlinkage side by side on FEBRL3,
# FEBRL4, the generated Russian set, a one-million-record Russian set and the hard
# shapes (addresses, detentions, families, common names) at 100,000 records.
#   bash bench/linkage/run.sh            # everything (the 1M splink run takes minutes and ~6 GB)
#   SKIP_1M=1 bash bench/linkage/run.sh  # without the one-million-record set
#   VIGIL_ONLY=1 bash bench/linkage/run.sh  # only vigil's rows (FEBRL CSVs must already
#                                           # be in the work directory from a full run)
#   HARD_1M=1 bash bench/linkage/run.sh  # also the hard shapes at 1,000,000 records
#   ONLY=hard bash bench/linkage/run.sh  # only the hard tier (ONLY=classic: only FEBRL/Russian)
#   SHAPES="addresses" ...               # which hard shapes (default all four)
#   PEER_TIMEOUT=900 ...                 # seconds before a Python peer run counts as
#                                        # "did not finish" (default 900)
#   REPEAT=5 bash bench/linkage/run.sh   # runs per tool and set (default 3); the table
#                                        # shows medians of CPU, wall and peak memory
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${BENCH_DIR:-$here/.work}"
mkdir -p "$work"
venv="$here/.venv"
if [ -z "${VIGIL_ONLY:-}" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q 'splink>=5,<6' recordlinkage
fi
(cd "$root" && cargo build -q --release -p vigil-linkage --bins)
bin="${CARGO_TARGET_DIR:-$root/target}/release"
only="${ONLY:-}"
peer_timeout="${PEER_TIMEOUT:-900}"
if [ -z "${VIGIL_ONLY:-}" ]; then
  "$venv/bin/python" "$here/export_febrl.py" "$work" >/dev/null
elif [ ! -f "$work/febrl3.csv" ] || [ ! -f "$work/febrl4a.csv" ] || [ ! -f "$work/febrl4b.csv" ]; then
  echo "VIGIL_ONLY needs febrl3.csv, febrl4a.csv and febrl4b.csv in $work (from a full run)" >&2
  exit 1
fi
"$bin/vigil-link-gen" --records 10000 --seed 2 --out "$work/ru10k.csv" --latin-out "$work/ru10k_latin.csv"
if [ -z "${SKIP_1M:-}" ] && [ "$only" != hard ]; then
  "$bin/vigil-link-gen" --records 1000000 --seed 3 --out "$work/ru1m.csv" --latin-out "$work/ru1m_latin.csv"
fi
ru_spec="$root/crates/vigil-linkage/testdata/russian.toml"

repeat="${REPEAT:-3}"

# Runs a command $repeat times under GNU time (CPU = user + sys, peak RSS),
# appending one "user sys wall rss" line per run to $work/times.txt.
timed() {
  local out="$1"; shift
  : >"$work/times.txt"
  : >"$out.runs"
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f '%U %S %e %M' -o "$work/time.txt" "$@" >"$out" 2>"$work/err.txt" || return $?
    cat "$work/time.txt" >>"$work/times.txt"
    tail -n 1 "$out" >>"$out.runs"
  done
}

# One table row: quality from the last run's JSON (both tools are deterministic
# for a given input), medians of CPU seconds, wall seconds and peak memory.
# splink clusters at several thresholds (0.1 to 0.999) to find its best; the CPU and wall time of
# the clusterings it did not need (it reports them as extra_*) are taken off.
row() {
  python3 - "$@" "$work/times.txt" <<'PY'
import json, statistics, sys
name, tool, path, times = sys.argv[1:]
runs_json = [json.loads(l) for l in open(path + ".runs") if l.strip()]
d = runs_json[-1]
runs = [list(map(float, l.split())) for l in open(times) if l.strip()]
extra = [(j.get("extra_cpu_seconds", 0.0), j.get("extra_wall_seconds", 0.0)) for j in runs_json]
cpu = statistics.median(u + s - xc for (u, s, _, _), (xc, _) in zip(runs, extra))
wall = statistics.median(w - xw for (_, _, w, _), (_, xw) in zip(runs, extra))
rss = statistics.median(r for _, _, _, r in runs) / 1024
if tool == "vigil":
    label, pairs = "vigil", d["pairs_compared"]
elif tool == "recordlinkage":
    label, pairs = "recordlinkage (ECM)", d["pairs_compared"]
else:
    label, pairs = f"splink (best threshold {d['threshold']})", f"{d['pairs_compared_above_0.5']} above 0.5"
print(f"| {name} | {label} | {d['precision']:.4f} | {d['recall']:.4f} | {d['f1']:.4f} "
      f"| {cpu:.2f} | {wall:.2f} | {rss:.0f} | {pairs} |")
PY
}

vigil() {
  local name="$1" spec="$2"; shift 2
  local inputs=()
  for f in "$@"; do inputs+=(--input "$f"); done
  timed "$work/vigil.json" "$bin/vigil-link" --spec "$spec" "${inputs[@]}" \
    --truth-column entity_id --json --quiet || {
      echo "| $name | vigil | failed: $(tail -n 1 "$work/err.txt") | | | | | | |"; return; }
  row "$name" vigil "$work/vigil.json"
}

splink() {
  local name="$1" kind="$2"; shift 2
  if [ -n "${VIGIL_ONLY:-}" ]; then return; fi
  timed "$work/splink.json" "$venv/bin/python" "$here/splink_run.py" "$kind" "$@" || {
      cp "$work/err.txt" "$work/splink.err"
      echo "| $name | splink | failed, see $work/splink.err | | | | | | |"; return; }
  row "$name" splink "$work/splink.json"
}

# recordlinkage may not finish at a million records: it runs under timeout and a
# memory cap, and the row says "did not finish" instead of hanging the run.
reclink() {
  local name="$1" kind="$2"; shift 2
  if [ -n "${VIGIL_ONLY:-}" ]; then return; fi
  local rc=0
  timed "$work/rl.json" timeout "$peer_timeout" "$venv/bin/python" "$here/recordlinkage_run.py" "$kind" "$@" || rc=$?
  if [ "$rc" = 124 ]; then
    echo "| $name | recordlinkage | did not finish in ${peer_timeout} s | | | | | | |"; return
  elif [ "$rc" != 0 ]; then
    cp "$work/err.txt" "$work/rl.err"
    echo "| $name | recordlinkage | did not finish: $(tail -n 1 "$work/err.txt" | cut -c1-80) | | | | | | |"; return
  fi
  row "$name" recordlinkage "$work/rl.json"
}

# One hard shape at $2 records: generated with a fixed seed; the Russian shapes
# get a Latin view for the Python peers (latin.py).
hard() {
  local shape="$1" n="$2" label="$3"
  local csv="$work/${shape}_${n}.csv" peer_csv="$work/${shape}_${n}.csv"
  [ -f "$csv" ] || "$bin/vigil-link-gen" --shape "$shape" --records "$n" --seed 12 --out "$csv"
  if [ "$shape" != addresses ]; then
    peer_csv="$work/${shape}_${n}_latin.csv"
    if [ -z "${VIGIL_ONLY:-}" ] && [ ! -f "$peer_csv" ]; then
      "$venv/bin/python" "$here/latin.py" "$csv" "$peer_csv"
    fi
  fi
  local kind="$shape"
  [ "$shape" = common ] && kind=russian
  vigil "$shape ($label)" "$here/specs/$shape.toml" "$csv"
  splink "$shape ($label)" "$kind" "$peer_csv"
  reclink "$shape ($label)" "$kind" "$peer_csv"
}

echo "## Machine"
echo
echo '```'
uname -a
echo "cores: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
grep MemTotal /proc/meminfo
if [ -z "${VIGIL_ONLY:-}" ]; then
  echo "splink $("$venv/bin/python" -c 'import splink; print(splink.__version__)')," \
    "recordlinkage $("$venv/bin/python" -c 'import recordlinkage; print(recordlinkage.__version__)')"
fi
echo "runs per tool and set: $repeat (medians of CPU, wall and peak memory)"
echo '```'
echo
echo "| set | tool | precision | recall | F1 | CPU s | wall s | peak MB | pairs compared |"
echo "|---|---|---|---|---|---|---|---|---|"
if [ "$only" != hard ]; then
vigil "FEBRL3 (dedupe, 5,000)" "$here/febrl.toml" "$work/febrl3.csv"
splink "FEBRL3 (dedupe, 5,000)" febrl "$work/febrl3.csv"
reclink "FEBRL3 (dedupe, 5,000)" febrl "$work/febrl3.csv"
vigil "FEBRL4 (link, 5,000 + 5,000)" "$here/febrl.toml" "$work/febrl4a.csv" "$work/febrl4b.csv"
splink "FEBRL4 (link, 5,000 + 5,000)" febrl "$work/febrl4a.csv" "$work/febrl4b.csv"
reclink "FEBRL4 (link, 5,000 + 5,000)" febrl "$work/febrl4a.csv" "$work/febrl4b.csv"
vigil "Russian (dedupe, 10,000)" "$ru_spec" "$work/ru10k.csv"
splink "Russian (dedupe, 10,000)" russian "$work/ru10k_latin.csv"
reclink "Russian (dedupe, 10,000)" russian "$work/ru10k_latin.csv"
if [ -z "${SKIP_1M:-}" ]; then
  vigil "Russian (dedupe, 1,000,000)" "$ru_spec" "$work/ru1m.csv"
  splink "Russian (dedupe, 1,000,000)" russian "$work/ru1m_latin.csv"
  reclink "Russian (dedupe, 1,000,000)" russian "$work/ru1m_latin.csv"
fi
fi
if [ "$only" != classic ]; then
  for shape in ${SHAPES:-addresses detentions families common}; do
    hard "$shape" 100000 "dedupe, 100,000"
  done
  if [ -n "${HARD_1M:-}" ]; then
    for shape in ${SHAPES:-addresses detentions families common}; do
      hard "$shape" 1000000 "dedupe, 1,000,000"
    done
  fi
fi
