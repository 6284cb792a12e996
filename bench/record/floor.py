"""The floor of `vigil import` on SQLite (importfast): SQLite alone inserting the
same rows into the same schema, batch by batch, with no Rust, no binding and no
sealing: `INSERT ... SELECT` from a desk that `vigil import` filled.

    python3 bench/record/floor.py BENCH_DIR/data/desk/desk.db [VARIANT] [BATCH]

VARIANT: `full` (foreign keys on, the counting facts' insert triggers on),
`nofk` (foreign keys off), `notrig` (foreign keys off, the facts' blocks dropped
once per batch instead of by the triggers: what the import's own path does),
`noindex` (as notrig, without any secondary index), `nosource` (as notrig,
without the persons', actions' and events' `source_id` indexes), `readonly` (only the
reading, to subtract). importwrite: `rollback` (as nosource, with a rollback journal
instead of the WAL: new pages need no journal, and there is no checkpoint to copy
them again), `noid` (as nosource, the persons', actions' and events' text `id` not a
PRIMARY KEY: what an integer key instead of the second B-tree would save), `bigcache`
(as nosource, a 128 MiB page cache), `walbig` (as nosource, autocheckpoint at 1 GiB:
each page copied to the file once, at the end). BATCH: events per transaction (default 10,000, as
`vigil import`). The copy goes next to the source as floor-VARIANT.db and is
removed afterwards. Prints the CPU seconds of this process (SQLite runs in it).
"""
import os
import sqlite3
import sys
import time

src = sys.argv[1]
variant = sys.argv[2] if len(sys.argv) > 2 else "notrig"
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
dst = os.path.join(os.path.dirname(os.path.abspath(src)), f"floor-{variant}.db")


def remove():
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(dst + ext):
            os.remove(dst + ext)


remove()
s = sqlite3.connect(src)
schema = s.execute(
    "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
    "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
).fetchall()
s.close()
d = sqlite3.connect(dst, isolation_level=None)
# import6: FLOOR_PAGE_SIZE=N sets the new file's page size (before any table).
if os.environ.get("FLOOR_PAGE_SIZE"):
    d.execute("PRAGMA page_size=" + str(int(os.environ["FLOOR_PAGE_SIZE"])))
journal = "journal_mode=TRUNCATE" if variant == "rollback" else "journal_mode=WAL"
cache = "cache_size=-131072" if variant == "bigcache" else "cache_size=-32768"
autock = "wal_autocheckpoint=262144" if variant == "walbig" else "wal_autocheckpoint=16384"
for pragma in (journal, "synchronous=NORMAL", cache, autock, "temp_store=MEMORY"):
    d.execute("PRAGMA " + pragma)
d.execute("PRAGMA foreign_keys=" + ("ON" if variant == "full" else "OFF"))
triggers = variant in ("full", "nofk")
for typ, name, sql in schema:
    if typ == "trigger" and name.endswith("_facts_insert") and not triggers:
        continue
    if typ == "index" and variant == "noindex":
        continue
    # import5: the record's source_id indexes left out (what they cost).
    nosource = ("nosource", "rollback", "noid", "bigcache", "walbig")
    if typ == "index" and variant in nosource and name.endswith("_source"):
        continue
    if variant == "noid" and name in ("record_persons", "record_actions", "record_events"):
        sql = sql.replace("id TEXT PRIMARY KEY", "id TEXT", 1)
        sql = sql.replace("id           TEXT PRIMARY KEY", "id           TEXT", 1)
        sql = sql.replace("id             TEXT PRIMARY KEY", "id             TEXT", 1)
        sql = sql.replace("id         TEXT PRIMARY KEY", "id         TEXT", 1)
        assert "PRIMARY KEY" not in sql.split(",")[0], sql[:120]
    d.execute(sql)
d.execute("ATTACH ? AS src", (src,))
nev = d.execute("SELECT max(rowid) FROM src.record_events").fetchone()[0]
nac = d.execute("SELECT max(rowid) FROM src.record_actions").fetchone()[0]
ids = [r[0] for r in d.execute("SELECT id FROM src.record_events ORDER BY rowid")]
# Each batch's actions: up to the last one its events name (read before the clock).
action_to = []
for lo in range(1, nev + 1, batch):
    hi = min(lo + batch - 1, nev)
    need = d.execute(
        "SELECT COALESCE(max(a.rowid), 0) FROM src.record_events e JOIN src.record_actions a "
        "ON a.id = e.action_id WHERE e.rowid BETWEEN ? AND ?", (lo, hi)).fetchone()[0]
    action_to.append(max([need, hi * nac // nev] + action_to[-1:]))


def run(table, where):
    q = f"SELECT * FROM src.{table} WHERE {where}"
    if variant == "readonly":
        d.execute(f"SELECT count(*) FROM ({q})").fetchone()
    else:
        d.execute(f"INSERT INTO {table} {q}")


t0, w0 = time.process_time(), time.time()
d.execute("INSERT INTO record_sources SELECT * FROM src.record_sources")
for i, lo in enumerate(range(1, nev + 1, batch)):
    hi = min(lo + batch - 1, nev)
    alo, ahi = (action_to[i - 1] if i else 0) + 1, action_to[i]
    d.execute("BEGIN IMMEDIATE")
    run("record_persons", f"rowid BETWEEN {lo} AND {hi}")
    run("record_actions", f"rowid BETWEEN {alo} AND {ahi}")
    run("record_events", f"rowid BETWEEN {lo} AND {hi}")
    run("record_event_articles", f"event_id BETWEEN '{ids[lo - 1]}' AND '{ids[hi - 1]}'")
    if not triggers and variant != "readonly":
        d.execute("DELETE FROM record_event_facts WHERE block >= ?", (lo >> 14,))
    d.execute("COMMIT")
if variant == "walbig":
    d.execute("PRAGMA wal_checkpoint(TRUNCATE)")
cpu, wall = time.process_time() - t0, time.time() - w0
rows = [d.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("record_persons", "record_actions", "record_events", "record_event_articles")]
d.close()
remove()
page = os.environ.get("FLOOR_PAGE_SIZE", "4096")
print(f"floor {variant}: page {page}, batch {batch}, CPU {cpu:.2f} s, wall {wall:.2f} s, rows "
      f"(persons, actions, events, articles) {rows}, SQLite {sqlite3.sqlite_version}, "
      f"load {os.getloadavg()[0]:.1f}")
