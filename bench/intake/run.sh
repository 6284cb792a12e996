#!/usr/bin/env bash
# The intake's throughput: sealed, durable reports per second from a real HTTP
# load tool (oha) at 1, 16, 64 and 256 concurrent clients, 1 KiB Cyrillic
# reports, on SQLite; p50/p99 latency, errors, the intake's CPU per report and
# peak RSS; and beside it the bare age sealing rate of this machine measured in
# the same run (`vigil bench-seal`, one core). After each load step every report
# answered 201 is pulled and acknowledged through the desk API and counted, so
# a report answered but not stored shows as a mismatch.
#
# intake8: each step also prints the bytes written to the disk per report, how
# busy the whole machine was (/proc/stat) and the machine's CPU per report (the
# intake, the load tool and the kernel together). Then the floor: `vigil
# bench-floor`, which does per report only what no intake can skip, at 64
# clients, step by step (HTTP and the JSON; and sealing; and a plain durable
# commit; the same requests into the intake's own store and commit pipeline;
# the plain floor with its file on tmpfs): how far the goal lies from what
# this machine allows (docs/benchmarks.md, "Intake throughput: the floor").
#
#   bash bench/intake/run.sh              release build, 10 s a step
#   VIGIL_BIN=path/to/vigil bash bench/intake/run.sh   use a built binary
#   VIGIL_BENCH_PERF=1 bash bench/intake/run.sh   also profile the 64-client step with perf
#   VIGIL_BENCH_SECONDS=5 VIGIL_BENCH_CLIENTS="1 64" bash bench/intake/run.sh
#   VIGIL_BENCH_FLOOR=0 bash bench/intake/run.sh   without the floor
#
# Results go to stdout and bench/intake/out/ (ignored by git). See
# docs/benchmarks.md, section "Intake throughput".
set -euo pipefail
cd "$(dirname "$0")/../.."
export VIGIL_BENCH_DIR="$PWD/bench/intake"  # measure.py, for the Python steps

seconds="${VIGIL_BENCH_SECONDS:-10}"
clients="${VIGIL_BENCH_CLIENTS:-1 16 64 256}"
out="bench/intake/out"
mkdir -p "$out"

bin="${VIGIL_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release -q -p vigil
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/vigil"
fi
# oha when installed (`cargo install oha --locked`, several minutes of
# compiling once; VIGIL_BENCH_INSTALL_OHA=1 does it here), else vigil's own
# loopback load generator (`vigil bench-load`), which prints the same numbers.
if ! command -v oha >/dev/null 2>&1 && [ "${VIGIL_BENCH_INSTALL_OHA:-0}" = 1 ]; then
  cargo install oha --locked
fi
load() { # CLIENTS URL OUT
  # The load tool shares the cores with the intake: its own CPU time (user +
  # system, from /usr/bin/time) goes to OUT.time and is reported per report.
  local timed=()
  if [ -x /usr/bin/time ]; then timed=(/usr/bin/time -f '%U %S' -o "$3.time"); fi
  if command -v oha >/dev/null 2>&1; then
    "${timed[@]}" oha -z "${seconds}s" -c "$1" -m POST -H 'Content-Type: application/json' \
      -D "$work/report.json" --no-tui --output-format json "$2" > "$3"
  else
    "${timed[@]}" "$bin" bench-load --clients "$1" --seconds "$seconds" --body "$work/report.json" --url "$2" > "$3"
  fi
}

work=$(mktemp -d /tmp/vigil-bench-intake.XXXXXX)
intake_pid=""
cleanup() {
  if [ -n "$intake_pid" ]; then
    kill "$intake_pid" 2>/dev/null || true
    wait "$intake_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  case "${floor_data:-}" in /dev/shm/vigil-bench-floor.*) rm -rf "$floor_data" ;; esac
}
trap cleanup EXIT

export VIGIL_PASSPHRASE="bench passphrase $(python3 -c 'import secrets; print(secrets.token_hex(8))')"
unset VIGIL_DATABASE_URL VIGIL_DATA
"$bin" keygen --data "$work/data" --kdf-work-factor 10 >/dev/null
token=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/data/intake"
cat > "$work/data/intake/intake.toml" <<TOML
version = 1
listen = "127.0.0.1:$port"
recipients = ["$(tr -d '[:space:]' < "$work/data/desk/recipient.txt")"]
desk_token_sha256 = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
TOML
VIGIL_LOG=warn "$bin" intake --data "$work/data" > "$work/intake.log" 2>&1 &
intake_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$intake_pid" 2>/dev/null || { cat "$work/intake.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

# 1 KiB of Cyrillic text (two bytes a letter), as JSON.
python3 - "$work/report.json" <<'PY'
import json, sys
words = "Моего брата задержали у метро Пушкинская, везут в ОВД Тверской, статья 20.2. "
text = (words * 20).encode()[:1024].decode("utf-8", "ignore")
json.dump({"text": text, "urgent": False, "lang": "ru"}, open(sys.argv[1], "w"), ensure_ascii=False)
PY

# Pulls and acknowledges everything waiting; prints how many.
drain() {
  python3 - "$base" "$token" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
auth = {"Authorization": "Bearer " + token}
total = 0
while True:
    req = urllib.request.Request(base + "/api/v1/desk/reports?limit=500", headers=auth)
    reports = json.load(urllib.request.urlopen(req))["reports"]
    if not reports:
        break
    body = json.dumps({"ids": [r["id"] for r in reports]}).encode()
    req = urllib.request.Request(base + "/api/v1/desk/ack", data=body, method="POST",
                                 headers={**auth, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    total += len(reports)
print(total)
PY
}

# intake8: every step starts once the last step's writes are on the disk
# (`sync`): a step ends with up to gigabytes not yet written back, which the
# next step would otherwise pay for in its own syncs.
settle() {
  local t0 t1
  t0=$(date +%s.%N)
  sync
  t1=$(date +%s.%N)
  python3 -c 'import sys; w = float(sys.argv[2]) - float(sys.argv[1]); print(f"         (waited {w:.0f} s for the last step\x27s writes to reach the disk)") if w >= 1 else None' "$t0" "$t1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$intake_pid/stat"; }
# intake8: bytes the intake wrote through write(2) and friends (wchar), and
# bytes sent to the disk (write_bytes), from /proc/PID/io.
io_bytes() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$intake_pid/io"; }
# intake4: the SQLite writer thread's own CPU ticks (the rest of the intake's
# CPU is the tokio workers: HTTP, JSON, sealing, receipts).
# intake5: `writer_ticks intake-syncer` (or intake-ckpt) counts the commit
# pipeline's other threads.
writer_ticks() {
  local t=0 f name="${1:-intake-writer}"
  for f in /proc/"$intake_pid"/task/*; do
    if [ "$(cat "$f/comm" 2>/dev/null)" = "$name" ]; then
      t=$(awk -v t="$t" '{sub(/^.*\) /, ""); print t + $12 + $13}' "$f/stat")
    fi
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
# intake6: every thread's name, CPU ticks and context switches (voluntary +
# involuntary), one line each, summed by name; the 64-client step prints the
# difference per report (bench/intake/out/threads-64.txt).
thread_stats() {
  local f
  for f in /proc/"$intake_pid"/task/*; do
    printf '%s\t%s\t%s\n' "$(cat "$f/comm" 2>/dev/null)" \
      "$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "$f/stat" 2>/dev/null)" \
      "$(awk '/ctxt_switches/ {s += $2} END {print s}' "$f/status" 2>/dev/null)"
  done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
fs=$(stat -f -c %T "$work")
echo "storage: $work on $fs$([ "$fs" = tmpfs ] && echo ' (WARNING: tmpfs: syncs return at once; the intake and the floor do not wait for a disk)')"
echo "binary: $bin; load tool: $(command -v oha >/dev/null 2>&1 && echo oha || echo 'vigil bench-load')"
seal=$("$bin" bench-seal --seconds 3)
echo "bare sealing (one core): $seal"
# intake4: the age crate's own X25519 sealing is the goal's baseline; the
# intake's own sealing (ring's X25519 stanzas) is printed beside it.
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("sealing µs of CPU, one core: age crate (baseline) %s, the intake'"'"'s (ring X25519) %s" % (d.get("cpu_microseconds_each"), d.get("intake_cpu_microseconds_each")))' "$seal"
ours_per_core=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("intake_per_second_one_core_cpu") or 0)' "$seal")
# The goal uses the CPU-time rate: on a busy machine wall time is inflated.
per_core=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("per_second_one_core_cpu") or d["per_second_one_core"])' "$seal")
cores=$(nproc)

printf '%-8s %10s %9s %9s %8s %8s %9s %12s %9s %13s %13s %12s\n' clients "reports/s" "p50 ms" "p99 ms" errors stored "answered" "CPU µs/rep" "RSS MiB" "load µs/rep" "writer µs/rep" "sync+ckpt µs"
for c in $clients; do
  drain >/dev/null
  settle
  before=$(cpu_ticks)
  wbefore=$(writer_ticks)
  sbefore=$(( $(writer_ticks intake-syncer) + $(writer_ticks intake-ckpt) ))
  thread_stats > "$work/threads-before"
  wcbefore=$(io_bytes wchar); wbbefore=$(io_bytes write_bytes); statbefore=$(head -1 /proc/stat)
  if [ "${VIGIL_BENCH_PERF:-0}" = 1 ] && [ "$c" = 64 ] && command -v perf >/dev/null 2>&1; then
    # Where the intake's CPU goes under load (bench/intake/out/perf-64.txt).
    # VIGIL_BENCH_PERF_ARGS="--call-graph dwarf" for call stacks through C code (intake6).
    perf record -q -F 499 ${VIGIL_BENCH_PERF_ARGS:--g} -p "$intake_pid" -o "$out/perf.data" -- sleep "$seconds" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  load "$c" "$base/api/v1/reports" "$out/load-$c.json"
  if [ -n "${perf_pid:-}" ]; then
    wait "$perf_pid" || true
    perf report -q -i "$out/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -v '^$' | grep '%' | head -60 > "$out/perf-64.txt" || true
    perf_pid=""
  fi
  after=$(cpu_ticks)
  wafter=$(writer_ticks)
  safter=$(( $(writer_ticks intake-syncer) + $(writer_ticks intake-ckpt) ))
  thread_stats > "$work/threads-after"
  wcafter=$(io_bytes wchar); wbafter=$(io_bytes write_bytes); statafter=$(head -1 /proc/stat)
  stored=$(drain)
  rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$intake_pid/status")
  python3 - "$out/load-$c.json" "$c" "$stored" "$rss" "$((after - before))" "$hz" "$((wafter - wbefore))" "$per_core" "$ours_per_core" "$cores" "$((safter - sbefore))" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["VIGIL_BENCH_DIR"])
import measure
r = json.load(open(sys.argv[1]))
c, stored, rss, ticks, hz = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
wticks, per_core, ours_per_core, cores = int(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10])
sticks = int(sys.argv[11])
codes = r.get("statusCodeDistribution", {})
created = int(codes.get("201", 0))
errors = sum(int(v) for k, v in codes.items() if k != "201") + sum(int(v) for v in r.get("errorDistribution", {}).values())
p = r["latencyPercentiles"]
elapsed = r["summary"]["total"]
rate = created / elapsed if elapsed else 0
cpu_us = ticks / hz * 1e6 / created if created else 0
flag = "" if stored == created else "  MISMATCH: answered != stored"
# The load tool's CPU (user + system seconds) per answered request.
load_us = measure.load_us(sys.argv[1], created)
writer_us = wticks / hz * 1e6 / created if created else 0
sync_us = sticks / hz * 1e6 / created if created else 0
print(f"{c:<8} {rate:10.0f} {p['p50']*1000:9.1f} {p['p99']*1000:9.1f} {errors:8d} {stored:8d} {created:9d} {cpu_us:12.0f} {rss:>9} {load_us:>13} {writer_us:13.0f} {sync_us:12.0f}{flag}")
if c == "64" and per_core:
    # The ratio the goal asks for (against the age crate's sealing rate),
    # and, beside it, against the intake's own sealing rate.
    ratio = rate / (cores * per_core)
    ours = f", {rate / (cores * ours_per_core):.2f} of cores x the intake's own sealing rate" if ours_per_core else ""
    print(f"         64 clients: {ratio:.2f} of cores x the age crate's sealing rate (goal >= 0.50){ours}")
PY
  python3 - "$out/load-$c.json" "$((wcafter - wcbefore))" "$((wbafter - wbbefore))" "$statbefore" "$statafter" "$hz" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["VIGIL_BENCH_DIR"])
import measure
created = int(json.load(open(sys.argv[1])).get("statusCodeDistribution", {}).get("201", 0)) or 1
# wchar counts the sockets' bytes too (each answer); write_bytes is what went to the disk,
# the WAL and the checkpoint's copies into the database file.
# intake8: the whole machine over the step (/proc/stat): how busy both cores
# were, and the CPU of everything (intake, load tool, kernel) per report.
total, idle, iowait, steal, busy = measure.machine(sys.argv[4], sys.argv[5])
busy_us = busy / int(sys.argv[6]) * 1e6 / created
print(f"         bytes written per report: {int(sys.argv[2]) / created / 1024:.1f} KiB through write calls (sockets too), {int(sys.argv[3]) / created / 1024:.1f} KiB to the disk; machine busy {100 * busy / total:.0f} % (idle {100 * idle / total:.0f}, waiting on the disk {100 * iowait / total:.0f}, steal {100 * steal / total:.0f}), {busy_us:.0f} µs of the machine's CPU per report")
PY
  if [ "$c" = 64 ]; then
    # Per thread name: CPU µs and context switches per answered report.
    python3 - "$work/threads-before" "$work/threads-after" "$out/load-$c.json" "$hz" <<'PY' | tee "$out/threads-64.txt"
import collections, json, sys
def read(path):
    d = collections.defaultdict(lambda: [0, 0])
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3 and parts[1] and parts[2]:
            d[parts[0]][0] += int(parts[1]); d[parts[0]][1] += int(parts[2])
    return d
before, after = read(sys.argv[1]), read(sys.argv[2])
created = int(json.load(open(sys.argv[3])).get("statusCodeDistribution", {}).get("201", 0)) or 1
hz = int(sys.argv[4])
rows = []
for name, (ticks, switches) in after.items():
    b = before.get(name, [0, 0])
    rows.append((name, (ticks - b[0]) / hz * 1e6 / created, (switches - b[1]) / created))
rows.sort(key=lambda r: -r[1])
print("         threads at 64 clients (CPU µs and context switches per report): " + ", ".join(f"{n} {us:.0f} µs {cs:.2f} cs" for n, us, cs in rows if us > 0.5 or cs > 0.01))
PY
  fi
done
# intake8: the floor. `vigil bench-floor` does per report only what no intake
# on this stack can skip (HTTP/1.1, the JSON parsed, a receipt and its keyed
# hash, the same sealing as the intake, a durable SQLite commit shared by the
# reports queued meanwhile) and nothing else vigil's intake does. Measured at
# 64 clients with the same load tool, right after the intake: how far the
# goal lies from what this machine allows (VIGIL_BENCH_FLOOR=0 skips it).
if [ "${VIGIL_BENCH_FLOOR:-1}" = 1 ] && "$bin" bench-floor --help >/dev/null 2>&1; then
  kill "$intake_pid" 2>/dev/null || true
  wait "$intake_pid" 2>/dev/null || true
  intake_pid=""
  # The floor's steps one by one (`--stop-after`): what HTTP and the JSON
  # cost alone, then with the receipt and sealing, then with the durable
  # commit (`store`: one table, one index, a plain commit). `intake-store`:
  # the floor's requests into the intake's own store and commit pipeline.
  # `tmpfs`: the plain floor again with its file on /dev/shm (a sync returns
  # at once): what waiting for the disk costs.
  steps="parse seal store intake-store"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then steps="$steps tmpfs"; fi
  for step in $steps; do
    floor_data="$work/floor"
    stop_after=store storage=minimal table=reports file=floor.db
    case "$step" in
      parse | seal) stop_after=$step ;;
      intake-store) storage=intake table=intake_reports file=intake.db ;;
      tmpfs) floor_data=$(mktemp -d /dev/shm/vigil-bench-floor.XXXXXX) ;;
    esac
    rm -rf "$work/floor"
    settle
    "$bin" bench-floor --listen "127.0.0.1:$port" --data "$floor_data/db" --stop-after "$stop_after" \
      --storage "$storage" --recipient "$(tr -d '[:space:]' < "$work/data/desk/recipient.txt")" > "$work/floor-$step.log" 2>&1 &
    intake_pid=$!
    # A log of its own per step: a shared one could still hold the last
    # step's "listening" when it is read, before the new process truncates it.
    for _ in $(seq 1 600); do
      grep -q listening "$work/floor-$step.log" 2>/dev/null && break
      kill -0 "$intake_pid" 2>/dev/null || { cat "$work/floor-$step.log" >&2; exit 1; }
      sleep 0.1
    done
    grep -q listening "$work/floor-$step.log" || {
      echo "bench-floor did not start in 60 s" >&2; cat "$work/floor-$step.log" >&2
      for t in /proc/"$intake_pid"/task/*; do echo "$(cat "$t/comm") $(cat "$t/wchan")" >&2; done
      ss -ltnp 2>/dev/null | grep ":$port " >&2 || true
      exit 1
    }
    before=$(cpu_ticks); statbefore=$(head -1 /proc/stat)
    load 64 "$base/api/v1/reports" "$out/floor-$step-64.json"
    after=$(cpu_ticks); statafter=$(head -1 /proc/stat)
    stored=-
    if [ "$stop_after" = store ]; then
      stored=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM " + sys.argv[2]).fetchone()[0])' "$floor_data/db/$file" "$table")
    fi
    python3 - "$out/floor-$step-64.json" "$stored" "$((after - before))" "$hz" "$statbefore" "$statafter" "$per_core" "$cores" "$step" <<'PY'
import json, os, sys
sys.path.insert(0, os.environ["VIGIL_BENCH_DIR"])
import measure
r = json.load(open(sys.argv[1]))
stored, ticks, hz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
per_core, cores, step = float(sys.argv[7]), int(sys.argv[8]), sys.argv[9]
codes = r.get("statusCodeDistribution", {})
created = int(codes.get("201", 0))
errors = sum(int(v) for k, v in codes.items() if k != "201") + sum(int(v) for v in r.get("errorDistribution", {}).values())
rate = created / r["summary"]["total"] if created else 0
total, _, _, steal, busy = measure.machine(sys.argv[5], sys.argv[6])
load_us = measure.load_us(sys.argv[1], created)
cpu_us = ticks / hz * 1e6 / created if created else 0
machine_us = busy / hz * 1e6 / created if created else 0
flag = "" if stored in ("-", str(created)) else "  MISMATCH: answered != stored"
name = {"store": "floor", "intake-store": "fl:intst", "tmpfs": "fl:tmpfs"}.get(step, f"fl:{step}")
print(f"{name:<8} {rate:10.0f} {r['latencyPercentiles']['p50']*1000:9.1f} {r['latencyPercentiles']['p99']*1000:9.1f} {errors:8d} {stored:>8} {created:9d} {cpu_us:12.0f} {'':>9} {load_us:>13}{flag}")
what = {
    "parse": "HTTP and the JSON only",
    "seal": "and a receipt and sealing",
    "store": "and the durable commit: the floor",
    "intake-store": "the floor's requests into the intake's own store and commit pipeline",
    "tmpfs": "the floor with its file on tmpfs (no wait for a disk)",
}[step]
print(f"         {what}: {rate / (cores * per_core):.2f} of cores x the age crate's sealing rate; machine busy {100 * busy / total:.0f} % (steal {100 * steal / total:.0f} %), {machine_us:.0f} µs of the machine's CPU per report (the goal allows {2e6 / per_core:.0f} with both cores always busy)")
PY
    kill "$intake_pid" 2>/dev/null || true
    wait "$intake_pid" 2>/dev/null || true
    intake_pid=""
    if [ "$step" = tmpfs ]; then rm -rf "$floor_data"; fi
  done
fi
# intake8: the machine's speed drifts within a run here (one binary's sealing
# took 58 to 95 µs in runs an hour apart); sealing measured again at the end
# shows how far, so a ratio can be read against both ends.
seal_end=$("$bin" bench-seal --seconds 3)
python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print("bare sealing at the start and at the end of the run: %s and %s µs of CPU (age crate); the 64-client ratios above use the start" % (a.get("cpu_microseconds_each"), b.get("cpu_microseconds_each")))' "$seal" "$seal_end"
echo "goal at 64 clients: >= 50 % of cores x one-core sealing (CPU time) = $(python3 -c "print(round(0.5*$cores*$per_core))") reports/s, zero errors, RSS < 64 MiB"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share these cores; compare CPU µs/report with the sealing CPU µs above)"
