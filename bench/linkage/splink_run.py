"""Runs splink 5 on one benchmark set and prints one JSON line with pairwise
precision, recall and F1 (same definition as vigil's), CPU and wall seconds and
peak memory. FEBRL3/4 get the detailed model of splink's own FEBRL4 example unchanged (its
comparisons, blocking rules and training steps; see the comment below); for the Russian sets
splink gets the prepared Latin view (ICAO transliteration, ISO dates, a year).

    python splink_run.py KIND FILE [FILE2]
KIND: febrl (FEBRL3/4), addresses (the FEBRL-like hard shape: the bench's earlier
FEBRL-like settings plus address_1, as the example's rules do not scale to it),
russian (the Russian set and the common-names shape), detentions (the
person fields only: the action's context is shared by everyone detained together, and
splink's fields are independent by assumption, so a careful user leaves it out),
families (the person fields plus the address, as a user would give them).
splink 5 API: inputs are registered with db_api.register() as SplinkDataFrames; EM
samples 1% of records by default: FEBRL keeps that default as its example does, the
other kinds give EM all records (or 100,000)."""
import json
import resource
import sys
import time
from collections import Counter, defaultdict

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

kind, *files = sys.argv[1:]
wall0, cpu0 = time.time(), time.process_time()
dfs = [pd.read_csv(f, dtype=str, keep_default_na=False).replace("", None) for f in files]
for df in dfs:
    df.rename(columns={"rec_id": "unique_id"}, inplace=True)

n_records = sum(len(df) for df in dfs)
if kind == "febrl":
    # The detailed model of splink's own FEBRL4 example (docs/demos/examples/duckdb/
    # febrl4.ipynb), unchanged, for FEBRL3 and FEBRL4 alike: its comparisons, its seven
    # blocking rules, its deterministic rules for the prior (recall 0.8), u from random
    # sampling (1e6 pairs; seed 2 as its FEBRL3 example, so runs repeat), EM on
    # date_of_birth and on postcode without term frequencies, splink 5's default EM
    # sample.
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                 invalid_dates_as_null=True),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
    ]
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    prior_rules = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
    prior_recall = 0.8
    u_pairs, u_seed = 1e6, 2
    em_rules = [block_on("date_of_birth"), block_on("postcode")]
    em_args = dict(estimate_without_term_frequencies=True)
elif kind == "addresses":
    # The FEBRL example's rules do not scale to the addresses shape (names and addresses
    # drawn from pools: block_on("postcode") alone makes 112.6 M pairs at 100,000 records,
    # pair_count.py), so it keeps the earlier FEBRL-like settings plus address_1.
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("suburb", [0.9]),
        cl.ExactMatch("state"),
        cl.JaroWinklerAtThresholds("address_1", [0.9]),
    ]
    blocking = [
        block_on("given_name", "surname"),
        block_on("surname", "date_of_birth"),
        block_on("given_name", "date_of_birth"),
        block_on("postcode", "soc_sec_id"),
        block_on("soc_sec_id"),
    ]
    prior_rules = [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "date_of_birth")]
    prior_recall = 0.7
    u_pairs, u_seed = 5e6, None
    em_rules = [block_on("given_name", "surname"), block_on("date_of_birth"), block_on("soc_sec_id")]
    em_args = dict(record_sample_proportion=min(1.0, 100_000 / n_records))
else:
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.NameComparison("patronymic"),
        cl.DateOfBirthComparison("birth_date", input_is_string=True),
        cl.ExactMatch("birth_year"),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
    ]
    blocking = [
        block_on("given_name", "surname"),
        block_on("surname", "birth_year"),
        block_on("given_name", "birth_date"),
        block_on("surname", "patronymic"),
    ]
    prior_rules = [block_on("given_name", "surname", "birth_date")]
    prior_recall = 0.7
    u_pairs, u_seed = 5e6, 2
    em_rules = [block_on("given_name", "surname"), block_on("birth_date")]
    # All records in EM up to 100,000 (splink 5 samples 1% by default).
    em_args = dict(record_sample_proportion=min(1.0, 100_000 / n_records))
    if kind == "families":
        comparisons.append(cl.JaroWinklerAtThresholds("address", [0.9]))

link = len(dfs) == 2
settings = SettingsCreator(
    link_type="link_only" if link else "dedupe_only",
    comparisons=comparisons,
    blocking_rules_to_generate_predictions=blocking,
    retain_intermediate_calculation_columns=False,
)
db_api = DuckDBAPI()
sdfs = [db_api.register(df, dataset_display_name=name) for df, name in zip(dfs, ["a", "b"])]
linker = Linker(sdfs if link else sdfs[0], settings)
linker.training.estimate_probability_two_random_records_match(prior_rules, recall=prior_recall)
linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=u_seed)
for rule in em_rules:
    linker.training.estimate_parameters_using_expectation_maximisation(rule, **em_args)
# Predicted down to the lowest threshold tried; clustered at every threshold below
# (issue 12: splink's best, also below 0.5, is the peer's figure).
THRESHOLDS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999)
pred = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
pred_df = pred.as_pandas_dataframe()
n_pairs = int((pred_df["match_probability"] >= 0.5).sum())
del pred_df
base_cpu, base_wall = time.process_time() - cpu0, time.time() - wall0

truth = {}
for i, df in enumerate(dfs):
    src = ["a", "b"][i] if link else "x"
    for uid, ent in zip(df["unique_id"], df["entity_id"]):
        truth[(src, uid)] = ent


def quality(clusters):
    """clusters: iterable of (source, id, cluster)"""
    def pairs(keys):
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
    rows = list(clusters)
    t = pairs((truth[(s, u)], s) for s, u, _ in rows)
    p = pairs((c, s) for s, u, c in rows)
    ok = pairs(((c, truth[(s, u)]), s) for s, u, c in rows)
    prec = ok / p if p else 1.0
    rec = ok / t if t else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


best = None
spent = []
tried = []
for thr in THRESHOLDS:
    c0, w0 = time.process_time(), time.time()
    cl_df = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=thr)
    cdf = cl_df.as_pandas_dataframe()
    src = cdf["source_dataset"] if link else ["x"] * len(cdf)
    prec, rec, f1 = quality(zip(src, cdf["unique_id"], cdf["cluster_id"]))
    cpu, wall = base_cpu + time.process_time() - c0, base_wall + time.time() - w0
    spent.append((thr, time.process_time() - c0, time.time() - w0))
    r = dict(threshold=thr, precision=prec, recall=rec, f1=f1, cpu_seconds=cpu, wall_seconds=wall)
    tried.append(dict(threshold=thr, precision=round(prec, 4), recall=round(rec, 4), f1=round(f1, 4)))
    if best is None or f1 > best["f1"]:
        best = r
best["pairs_compared_above_0.5"] = int(n_pairs)
best["thresholds"] = tried
# What the clusterings at the other thresholds cost: the benchmark takes it off
# splink's process time, so splink is timed as if it had clustered once.
best["extra_cpu_seconds"] = sum(c for t, c, _ in spent if t != best["threshold"])
best["extra_wall_seconds"] = sum(w for t, _, w in spent if t != best["threshold"])
best["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(best))
