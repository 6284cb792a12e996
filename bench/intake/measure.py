"""Helpers shared by bench/intake/run.sh's Python steps (intake8)."""

import os


def load_us(load_json, created):
    """The load tool's CPU (user + system, from /usr/bin/time) per answered
    request, as text; "-" where it was not timed."""
    path = load_json + ".time"
    if not (os.path.exists(path) and created):
        return "-"
    user, system = open(path).read().split()[-2:]
    return f"{(float(user) + float(system)) * 1e6 / created:.0f}"


def machine(stat_before, stat_after):
    """The whole machine between two first lines of /proc/stat, in ticks:
    (total, idle, iowait, steal, busy). The fields read are user nice system
    idle iowait irq softirq steal; guest and guest_nice are already inside
    user and nice. Steal is time the host took: neither idle nor busy."""
    d = [int(b) - int(a) for a, b in zip(stat_before.split()[1:9], stat_after.split()[1:9])]
    total, idle, iowait, steal = sum(d), d[3], d[4], d[7]
    return total, idle, iowait, steal, total - idle - iowait - steal
