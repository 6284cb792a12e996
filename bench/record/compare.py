"""Checks that vigil and DuckDB gave the same numbers for every (month, region)."""
import csv
import sys

vigil = {}
for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")):
    if r["month"] == "total":
        continue
    vigil[(r["month"], r["region"])] = (int(r["actions"]), int(r["detentions"]), int(r["persons"]))
duck = {}
for r in csv.DictReader(open(sys.argv[2], encoding="utf-8")):
    duck[(r["month"], r["region"])] = (int(r["actions"]), int(r["detentions"]), int(r["persons"]))
diff = [k for k in set(vigil) | set(duck) if vigil.get(k) != duck.get(k)]
print(f"groups: vigil {len(vigil)}, duckdb {len(duck)}; differing: {len(diff)}")
for k in sorted(diff)[:5]:
    print("  ", k, "vigil", vigil.get(k), "duckdb", duck.get(k))
sys.exit(1 if diff else 0)
