#!/usr/bin/env bash
# The desk at scale (issue 11): page views of a queue of 35,000 sealed reports
# (plain, filtered, searched, deep pages) over HTTP against the real desk router,
# and duplicate suggestions over 100,000 stored persons. Prints the machine,
# medians and p95. Goals: a page view <= 200 ms; suggestions <= 5 s.
#   bash bench/desk/run.sh                 # both
#   REPORTS=5000 PERSONS=10000 bash bench/desk/run.sh   # smaller, quicker
#   VIEWS=30 RUNS=3                        # page views per kind; suggestion runs
# Everything it writes lives in a temporary folder removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p vigil-desk --example desk_bench
bin="${CARGO_TARGET_DIR:-target}/release/examples/desk_bench"
"$bin" queue "${REPORTS:-35000}" "${VIEWS:-30}"
"$bin" persons "${PERSONS:-100000}" "${RUNS:-3}"
