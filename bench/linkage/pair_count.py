"""Counts the candidate pairs that recordlinkage_run.py's and splink_run.py's
blocking rules make on one file, without comparing them: the evidence for
"recordlinkage cannot fit" at a million records (pairs x bytes per pair).

    python pair_count.py KIND FILE

Prints one JSON line: per rule the pairs it makes (sum of n(n-1)/2 over its blocks,
rows with a missing key left out, as both tools do), their sum (an upper bound on
the union), and the bytes recordlinkage would hold for the union at least: its
MultiIndex (two int64 per pair) and one float64 per comparison column.
SortedNeighbourhood adds at most (window - 1) / 2 pairs per record and rule.
"""
import json
import sys

import pandas as pd

kind, path = sys.argv[1:]
df = pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
if kind == "febrl":
    rl_rules = [["given_name"], ["surname"], ["date_of_birth"], ["soc_sec_id"], ["postcode"]]
    # splink's FEBRL4 example also blocks on given_name and surname swapped (not counted).
    splink_rules = [["given_name", "surname"], ["date_of_birth"], ["soc_sec_id"],
                    ["state", "address_1"], ["street_number", "address_1"], ["postcode"]]
    columns = 10
    sorted_neighbourhood_rules = 0
elif kind == "addresses":
    rl_rules = [["given_name", "surname"], ["surname", "date_of_birth"],
                ["given_name", "date_of_birth"], ["soc_sec_id"]]
    splink_rules = [["given_name", "surname"], ["surname", "date_of_birth"],
                    ["given_name", "date_of_birth"], ["postcode", "soc_sec_id"], ["soc_sec_id"]]
    columns = 9
    sorted_neighbourhood_rules = 2
else:
    rl_rules = [["given_name", "surname"], ["surname", "birth_year"],
                ["given_name", "birth_date"], ["surname", "patronymic"]]
    splink_rules = rl_rules
    columns = 6 + (kind == "families")
    sorted_neighbourhood_rules = 2


def pairs(rule):
    sizes = df.dropna(subset=rule).groupby(rule, sort=False).size()
    return int((sizes * (sizes - 1) // 2).sum())


rl = {"+".join(r): pairs(r) for r in rl_rules}
sn = sorted_neighbourhood_rules * 3 * len(df)  # SortedNeighbourhood rules, window 7
total = sum(rl.values()) + sn
print(json.dumps(dict(
    records=len(df),
    recordlinkage_rules=rl,
    recordlinkage_sorted_neighbourhood_at_most=sn,
    recordlinkage_pairs_at_most=total,
    recordlinkage_bytes_at_least=total * (16 + 8 * columns),
    splink_rules={"+".join(r): pairs(r) for r in splink_rules},
)))
