#!/usr/bin/env python3
"""CPU seconds per thread of a running process (import4).

    python3 threads.py PID [OUT]

PID is the process to watch, or a shell or GNU time above it (first children).
Samples /proc/PID/task/*/stat every 0.05 s until the process ends and prints
user+sys CPU seconds per thread (name and id), most first: on a shared machine
the CPU seconds of each thread say what wall time an idle one would take.
importwrite: and, from /proc/PID/task/TID/schedstat, the seconds each thread was
ready to run but waited for a core ("ran queue"): the rest of its life it slept
(on a channel, a lock or the disk). CPU + queue over the wall is how much of the
time it could have used a core; the cores busy is all CPU over the wall.
"""
import os
import sys
import time

tick = os.sysconf("SC_CLK_TCK")
pid = int(sys.argv[1])


def child_of(p):
    try:
        with open(f"/proc/{p}/task/{p}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


start = time.monotonic()


def comm(p):
    try:
        with open(f"/proc/{p}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


# Down from a shell or GNU time to the process they run.
target = pid
while comm(target) in ("bash", "sh", "time"):
    kid = child_of(target)
    if kid is None:
        if comm(target) is None:
            break
        time.sleep(0.01)
        continue
    target = kid
seen = {}
queued = {}
# importwrite: each thread's CPU s at each whole second, for TIMELINE=1.
timeline = {}
first_seen = {}
last_seen = {}
while target and os.path.exists(f"/proc/{target}"):
    now = time.monotonic() - start
    try:
        tids = os.listdir(f"/proc/{target}/task")
    except OSError:
        break
    for tid in tids:
        try:
            with open(f"/proc/{target}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1 : s.rindex(")")]
        rest = s[s.rindex(")") + 2 :].split()
        cpu = (int(rest[11]) + int(rest[12])) / tick
        key = (name, int(tid))
        try:
            with open(f"/proc/{target}/task/{tid}/schedstat") as f:
                queued[key] = int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            pass
        if seen.get(key) != cpu:
            last_seen[key] = now
        seen[key] = cpu
        timeline.setdefault(key, {})[int(now)] = cpu
        first_seen.setdefault(key, now)
    time.sleep(0.05)
wall = time.monotonic() - start
lines = [f"{'thread':<24} {'tid':>8} {'CPU s':>8} {'queue s':>8} {'busy from–to s':>16}"]
for (name, tid), cpu in sorted(seen.items(), key=lambda kv: -kv[1]):
    if cpu >= 0.05:
        lines.append(
            f"{name:<24} {tid:>8} {cpu:>8.2f} {queued.get((name, tid), 0):>8.2f} {first_seen[(name, tid)]:>7.1f}–{last_seen[(name, tid)]:<7.1f}"
        )
lines.append(f"{'all threads':<24} {'':>8} {sum(seen.values()):>8.2f} {sum(queued.values()):>8.2f}")
lines.append(f"wall {wall:.2f} s (as watched), cores busy {sum(seen.values()) / wall:.2f}")
if os.environ.get("TIMELINE"):
    # CPU s used in each second by the busiest threads.
    top = [k for k, _ in sorted(seen.items(), key=lambda kv: -kv[1])[:4]]
    lines.append("second " + " ".join(f"{n[:12]:>12}" for n, _ in top))
    def at_end(t, sec):
        return max((c for s2, c in t.items() if s2 <= sec), default=0.0)

    for sec in range(int(wall) + 1):
        row = [at_end(timeline[k], sec) - at_end(timeline[k], sec - 1) for k in top]
        lines.append(f"{sec:>6} " + " ".join(f"{x:>12.2f}" for x in row))
out = "\n".join(lines)
print(out)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(out + "\n")
