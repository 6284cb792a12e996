"""Runs recordlinkage (the Python Record Linkage Toolkit) on one benchmark set and
prints one JSON line in splink_run.py's shape: pairwise precision, recall and F1
after connected-components clustering (same definition as vigil's), CPU and wall
seconds, peak memory, pairs compared.

    python recordlinkage_run.py KIND FILE [FILE2]

KIND as in splink_run.py (febrl, addresses, russian, detentions, families). The
Russian kinds read the Latin view (latin.py or vigil-link-gen --latin-out).
FEBRL: recordlinkage's own FEBRL examples, see the comment below. The addresses shape
and the Russian kinds: several Block rules and SortedNeighbourhood rules,
unioned; Jaro-Winkler at a threshold for names and places, exact for dates and
numbers. Every feature is binary (0/1), as the ECM example wants. Classifying:
ECMClassifier (unsupervised Fellegi-Sunter by EM), its defaults. run.sh runs it
under `timeout`; the address space is capped (RLIMIT_AS, RL_MEMORY_GB, default 8)
so it fails with MemoryError rather than swapping the shared machine.
"""
import json
import os
import resource
import sys
import time
from collections import Counter, defaultdict

import pandas as pd
import recordlinkage as rl

gb = float(os.environ.get("RL_MEMORY_GB", "8"))
resource.setrlimit(resource.RLIMIT_AS, (int(gb * 2**30), int(gb * 2**30)))

kind, *files = sys.argv[1:]
wall0, cpu0 = time.time(), time.process_time()
dfs = [pd.read_csv(f, dtype=str, keep_default_na=False).replace("", None).set_index("rec_id") for f in files]
link = len(dfs) == 2

ix = rl.Index()
cmp = rl.Compare()
if kind == "febrl":
    # recordlinkage's FEBRL examples (docs/guides/link_two_dataframes, data_deduplication,
    # examples/linking_deterministic.py): Block indexing on single columns and binary
    # comparisons, exact or a string similarity at a threshold. Here: one Block per
    # identifying column (given_name and surname as the examples, plus soc_sec_id as
    # linking_deterministic.py, date_of_birth and postcode as splink's FEBRL3 example),
    # and every FEBRL column compared once: the examples' six (exact given name, date
    # of birth, suburb, state; Jaro-Winkler >= 0.85 surname; string >= 0.85 address_1),
    # address_2 as linking_deterministic.py, exact street number and postcode, and
    # Damerau-Levenshtein >= 0.8 on soc_sec_id. Same for FEBRL3 and FEBRL4.
    for column in ("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"):
        ix.block(column)
    cmp.exact("given_name", "given_name", label="given_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    cmp.exact("suburb", "suburb", label="suburb")
    cmp.exact("state", "state", label="state")
    cmp.string("address_1", "address_1", threshold=0.85, label="address_1")
    cmp.string("address_2", "address_2", threshold=0.85, label="address_2")
    cmp.exact("street_number", "street_number", label="street_number")
    cmp.exact("postcode", "postcode", label="postcode")
    cmp.string("soc_sec_id", "soc_sec_id", method="damerau_levenshtein", threshold=0.8, label="soc_sec_id")
elif kind == "addresses":
    # Single-column blocks do not scale to the addresses shape (names from a Zipf pool:
    # 511 M candidate pairs at 100,000 records, pair_count.py): the earlier rules.
    ix.block(["given_name", "surname"])
    ix.block(["surname", "date_of_birth"])
    ix.block(["given_name", "date_of_birth"])
    ix.block("soc_sec_id")
    ix.sortedneighbourhood("surname", window=7, block_on=["given_name"])
    ix.sortedneighbourhood("given_name", window=7, block_on=["surname"])
    cmp.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    cmp.string("soc_sec_id", "soc_sec_id", method="damerau_levenshtein", threshold=0.8, label="soc_sec_id")
    cmp.exact("street_number", "street_number", label="street_number")
    cmp.exact("postcode", "postcode", label="postcode")
    cmp.string("suburb", "suburb", method="jarowinkler", threshold=0.85, label="suburb")
    cmp.exact("state", "state", label="state")
    cmp.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
else:
    ix.block(["given_name", "surname"])
    ix.block(["surname", "birth_year"])
    ix.block(["given_name", "birth_date"])
    ix.block(["surname", "patronymic"])
    ix.sortedneighbourhood("surname", window=7, block_on=["given_name"])
    ix.sortedneighbourhood("given_name", window=7, block_on=["surname"])
    cmp.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.string("patronymic", "patronymic", method="jarowinkler", threshold=0.85, label="patronymic")
    cmp.exact("birth_date", "birth_date", label="birth_date")
    cmp.exact("birth_year", "birth_year", label="birth_year")
    cmp.string("city", "city", method="jarowinkler", threshold=0.85, label="city")
    if kind == "families":
        cmp.string("address", "address", method="jarowinkler", threshold=0.85, label="address")



def progress(step, **counts):
    """One stderr line per step (CPU seconds so far, peak MB): where a run that
    does not finish was when it stopped."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = "".join(f" {k} {v}" for k, v in counts.items())
    print(f"{step}: cpu {time.process_time() - cpu0:.1f} s, peak {peak:.0f} MB{extra}",
          file=sys.stderr, flush=True)


progress("read", records=sum(len(df) for df in dfs))
pairs = ix.index(*dfs)
progress("indexed", pairs=len(pairs))
features = cmp.compute(pairs, *dfs)
progress("compared")
ecm = rl.ECMClassifier(binarize=None)
matches = ecm.fit_predict(features)
progress("classified", matches=len(matches))

# Connected components over the matched pairs.
parent = {}


def find(x):
    while parent.get(x, x) != x:
        parent[x] = parent.get(parent[x], parent[x])
        x = parent[x]
    return x


left_src, right_src = ("a", "b") if link else ("x", "x")
for l, r in matches:
    a, b = find((left_src, l)), find((right_src, r))
    if a != b:
        parent[a] = b

truth = {}
for i, df in enumerate(dfs):
    src = ["a", "b"][i] if link else "x"
    for uid, ent in zip(df.index, df["entity_id"]):
        truth[(src, uid)] = ent


def count(keys):
    groups = defaultdict(Counter)
    for k, s in keys:
        groups[k][s] += 1
    tot = 0
    for by in groups.values():
        n = sum(by.values())
        tot += n * (n - 1) // 2
        if link:
            tot -= sum(c * (c - 1) // 2 for c in by.values())
    return tot


rows = [(s, u, find((s, u))) for (s, u) in truth]
t = count((truth[(s, u)], s) for s, u, _ in rows)
p = count((c, s) for s, u, c in rows)
ok = count(((c, truth[(s, u)]), s) for s, u, c in rows)
prec = ok / p if p else 1.0
rec = ok / t if t else 1.0
f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
print(json.dumps(dict(
    threshold="ECM", precision=prec, recall=rec, f1=f1,
    cpu_seconds=time.process_time() - cpu0, wall_seconds=time.time() - wall0,
    pairs_compared=int(len(pairs)), matched_pairs=int(len(matches)),
    peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
)))
