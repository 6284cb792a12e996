"""DuckDB's answer to `vigil stats --by month,region` on the generated CSV, timed
from the file to the table (the query reads the CSV itself).

    python duckdb_stats.py EVENTS.csv OUT.csv
"""
import sys
import time

import duckdb

QUERY = """
SELECT strftime(CAST(date AS DATE), '%Y-%m') AS month,
       region,
       count(DISTINCT action) AS actions,
       count(*) FILTER (WHERE event_kind = 'detention') AS detentions,
       count(*) AS persons
FROM read_csv(?, header = true, all_varchar = true)
GROUP BY ALL
ORDER BY month, region
"""

start = time.perf_counter()
rows = duckdb.execute(QUERY, [sys.argv[1]]).fetchall()
seconds = time.perf_counter() - start
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("month,region,actions,detentions,persons\n")
    for r in rows:
        f.write(",".join(str(x) for x in r) + "\n")
print(f"duckdb query {seconds:.3f} s, {len(rows)} groups")
