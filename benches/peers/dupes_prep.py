"""Shared by the fuzzy-duplicate peer scripts: reads the labelled table that
`syncproof generate --shape benches/peers/dupes-200k.toml --format csv` writes, normalises the
identifying fields the way syncproof's `quality::fuzzy::Person` does (vectorised in pandas), and
scores a set of pairs against the generator's `dup_of` labels (see `truth`). BENCHMARKS.md, "Fuzzy duplicates"."""

import csv
import sys

import pandas as pd

LEGAL = r"\b(inc|incorporated|ltd|limited|llc|gmbh|ag|sa|sarl|co|corp|corporation|plc|kg)\b"


def load(path):
    """The table as strings, plus normalised columns: first, last, email_local, email_domain,
    phone (last nine digits), company."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    word = lambda s: s.str.lower().str.replace(r"[\W_]+", "", regex=True)
    out = pd.DataFrame({"unique_id": df["external_id"]})
    out["first_name"] = word(df["firstname"])
    out["last_name"] = word(df["lastname"])
    email = df["email"].str.strip().str.lower()
    parts = email.str.split("@", n=1, expand=True)
    out["email_local"] = parts[0].str.split("+").str[0].str.replace(".", "", regex=False)
    out["email_domain"] = parts[1].fillna("") if 1 in parts else ""
    out["phone"] = df["phone"].str.replace(r"\D", "", regex=True).str[-9:]
    company = df["company"].str.lower().str.replace(LEGAL, " ", regex=True)
    out["company"] = company.str.replace(r"[\W_]+", " ", regex=True).str.strip()
    out = out.replace("", None)
    return df, out


def with_keys(people):
    """Adds syncproof's name blocking keys: `names_sx` (the two names' soundex codes in
    either order) and `company_key` (last-name soundex and the company's first four letters)."""
    import jellyfish

    sx = lambda s: s.map(lambda v: jellyfish.soundex(v) if v else "")
    last, first = sx(people["last_name"]), sx(people["first_name"])
    names = (last.where(last <= first, first) + ":" + first.where(last <= first, last))
    people["names_sx"] = names.where((last != "") & (first != ""), None)
    company = people["company"].fillna("").str.replace(" ", "").str[:4]
    people["company_key"] = (last + ":" + company).where((last != "") & (company.str.len() >= 3), None)
    return people


def truth(df):
    """True pairs: every two records of one cluster, a row that is not itself a near-duplicate
    and the rows whose dup_of names it, as (smaller id, larger id). A near-duplicate copies its
    original's clean values, so a row whose dup_of names another near-duplicate resembles no row
    of the table (the original's visible values are someone else's): it is left out."""
    near = {x for x, d in zip(df["external_id"], df["defects"]) if "near_duplicate:" in d}
    clusters = {}
    for x, d in zip(df["external_id"], df["dup_of"]):
        if d and d not in near:
            clusters.setdefault(d, [d]).append(x)
    pairs = set()
    for members in clusters.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pairs.add((min(a, b), max(a, b)))
    return pairs


def score(found, true_pairs):
    found = {(min(a, b), max(a, b)) for a, b in found}
    hits = len(found & true_pairs)
    p = hits / max(len(found), 1)
    r = hits / max(len(true_pairs), 1)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return len(found), p, r, f1


if __name__ == "__main__":
    # Scores a pairs CSV (left_id,right_id,...; header first), e.g. `syncproof dupes` output.
    table, pairs_csv = sys.argv[1], sys.argv[2]
    df = pd.read_csv(table, dtype=str, keep_default_na=False)
    with open(pairs_csv, newline="") as f:
        rows = list(csv.reader(f))[1:]
    n, p, r, f1 = score([(a, b) for a, b, *_ in rows], truth(df))
    print(f"{pairs_csv}: {n} pairs, precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f}")
