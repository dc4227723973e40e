"""Fuzzy duplicates with the Python recordlinkage toolkit on the labelled table, side by side
with `syncproof dupes` (BENCHMARKS.md, "Fuzzy duplicates"). Same normalisation, same blocking
keys (email local part, phone digits, the two names' soundex codes, last-name soundex with the
company's first four letters), Jaro-Winkler on names, email local part and company, Levenshtein on
the phone, and syncproof's weights (email 0.35, name 0.30, phone 0.25, company 0.10) and rules
(0.5 for local parts equal but for digits, 0.9 for the same local part at another domain, a phone
kept only within one digit, 0.9 times the score for two different employers), threshold 0.9 over
the fields both records hold; not the swapped-name and first-initial rules.

    python benches/peers/dupes_recordlinkage.py contact.csv
"""

import sys
import time

import numpy as np
import pandas as pd
import recordlinkage

from dupes_prep import load, score, truth, with_keys

path = sys.argv[1]
started = time.perf_counter()
df, people = load(path)
loaded = time.perf_counter()
people = people.set_index("unique_id")
people = with_keys(people)

indexer = recordlinkage.Index()
indexer.block("email_local")
indexer.block("phone")
indexer.block("names_sx")
indexer.block("company_key")
candidates = indexer.index(people)

compare = recordlinkage.Compare(n_jobs=2)
compare.string("email_local", "email_local", method="jarowinkler", missing_value=np.nan, label="email")
compare.string("first_name", "first_name", method="jarowinkler", missing_value=np.nan, label="first")
compare.string("last_name", "last_name", method="jarowinkler", missing_value=np.nan, label="last")
compare.string("phone", "phone", method="levenshtein", missing_value=np.nan, label="phone")
compare.string("company", "company", method="jarowinkler", missing_value=np.nan, label="company")
features = compare.compute(candidates, people)

left = people.loc[features.index.get_level_values(0)]
right = people.loc[features.index.get_level_values(1)]
other_domain = (features["email"] == 1.0).values & left["email_domain"].notna().values & (
    left["email_domain"].values != right["email_domain"].values
)
features.loc[other_domain, "email"] = 0.9
letters = lambda s: s["email_local"].fillna("").str.replace(r"\d", "", regex=True).values
numbered = (letters(left) == letters(right)) & (left["email_local"].values != right["email_local"].values)
features.loc[numbered & features["email"].notna().values, "email"] = 0.5
name = np.where(features["first"].isna(), features["last"], 0.6 * features["last"] + 0.4 * features["first"])
phone = features["phone"].where(features["phone"] >= 0.85, 0.0).where(features["phone"].notna())
parts = [(0.35, features["email"]), (0.30, pd.Series(name, index=features.index)), (0.25, phone), (0.10, features["company"])]
weight = sum(w * s.notna() for w, s in parts)
total = sum(w * s.fillna(0.0) for w, s in parts)
employer = np.where(features["company"] < 0.8, 0.9, 1.0)
final = (total / weight.replace(0, np.nan)) * (weight / 0.4).clip(upper=1.0) * employer
matches = final[final >= 0.9].index
finished = time.perf_counter()

n, p, r, f1 = score(list(matches), truth(df))
print(
    f"recordlinkage {recordlinkage.__version__}: {len(people)} records, {len(candidates)} candidate pairs, "
    f"{n} pairs found; precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f}; "
    f"load+normalise {loaded - started:.2f} s, block+compare+classify {finished - loaded:.2f} s, "
    f"total {finished - started:.2f} s"
)
