"""Fuzzy duplicates with Splink (DuckDB backend) on the labelled table, side by side with
`syncproof dupes` (BENCHMARKS.md, "Fuzzy duplicates"). Same normalisation and the same blocking
keys as syncproof (email local part, phone digits, the two names' soundex codes in either order,
last-name soundex with the company's first four letters); Splink's own Fellegi-Sunter model:
u from random sampling, m by expectation maximisation on two blocking rules; precision, recall and
F1 at the best of a few match-probability thresholds. DuckDB uses 2 threads (this machine's cores).

    python benches/peers/dupes_splink.py contact.csv
"""

import logging
import sys
import time

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from dupes_prep import load, score, truth, with_keys

logging.getLogger("splink").setLevel(logging.ERROR)

path = sys.argv[1]
started = time.perf_counter()
df, people = load(path)
loaded = time.perf_counter()
con = duckdb.connect()
con.execute("SET threads = 2")
db_api = DuckDBAPI(connection=con)
people = with_keys(people)
con.register("people_raw", people)
con.execute("CREATE TABLE people AS SELECT * FROM people_raw")
table = db_api.register("people")
settings = SettingsCreator(
    link_type="dedupe_only",
    blocking_rules_to_generate_predictions=[
        block_on("email_local"),
        block_on("phone"),
        block_on("names_sx"),
        block_on("company_key"),
    ],
    comparisons=[
        cl.JaroWinklerAtThresholds("email_local", [0.95, 0.88]),
        cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]),
        cl.JaroWinklerAtThresholds("last_name", [0.92, 0.8]),
        cl.LevenshteinAtThresholds("phone", [1, 2]),
        cl.JaroWinklerAtThresholds("company", [0.92]),
    ],
)
linker = Linker(table, settings)
linker.training.estimate_probability_two_random_records_match([block_on("email_local", "phone")], recall=0.7)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("email_local"))
trained = time.perf_counter()
predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
finished = time.perf_counter()

# Splink's F1 at the best of a few probability thresholds (its benefit of the doubt).
true_pairs = truth(df)
best = None
for threshold in (0.5, 0.9, 0.99, 0.999, 0.9999):
    kept = predictions[predictions["match_probability"] >= threshold]
    n, p, r, f1 = score(list(zip(kept["unique_id_l"], kept["unique_id_r"])), true_pairs)
    print(f"  at match probability >= {threshold}: {n} pairs, precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f}")
    if best is None or f1 > best[4]:
        best = (threshold, n, p, r, f1)
threshold, n, p, r, f1 = best
print(
    f"splink {splink.__version__} (duckdb {duckdb.__version__}): {len(people)} records; best at "
    f"match probability >= {threshold}: {n} pairs, precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f}; "
    f"load+normalise {loaded - started:.2f} s, train {trained - loaded:.2f} s, "
    f"predict {finished - trained:.2f} s, total {finished - started:.2f} s"
)
