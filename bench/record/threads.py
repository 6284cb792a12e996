#!/usr/bin/env python3
"""CPU seconds per thread of a running process (import4).

    python3 threads.py PID [OUT]

PID is the process to watch, or a shell or GNU time above it (first children).
Samples /proc/PID/task/*/stat every 0.05 s until the process ends and prints
user+sys CPU seconds per thread (name and id), most first: on a shared machine
the CPU seconds of each thread say what wall time an idle one would take.
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
        if seen.get(key) != cpu:
            last_seen[key] = now
        seen[key] = cpu
        first_seen.setdefault(key, now)
    time.sleep(0.05)
lines = [f"{'thread':<24} {'tid':>8} {'CPU s':>8} {'busy from–to s':>16}"]
for (name, tid), cpu in sorted(seen.items(), key=lambda kv: -kv[1]):
    if cpu >= 0.05:
        lines.append(
            f"{name:<24} {tid:>8} {cpu:>8.2f} {first_seen[(name, tid)]:>7.1f}–{last_seen[(name, tid)]:<7.1f}"
        )
lines.append(f"{'all threads':<24} {'':>8} {sum(seen.values()):>8.2f}")
out = "\n".join(lines)
print(out)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(out + "\n")
