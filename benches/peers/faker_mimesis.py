#!/usr/bin/env python3
"""Python peers of `syncproof generate`: Faker and Mimesis writing the demo's contact columns
(record_idx, external_id, firstname, lastname, email, phone, company, jobtitle, address, city,
zip, country, lifecyclestage, created_at, defects, dup_of) to Parquet with pyarrow, single
thread, same locale mix (70 % en_US, 15 % de_DE, 7 % fr_FR, 8 % ja_JP) and the same null rates.

Installs its own dependencies with pip (into the current interpreter's user site) and is never
run by CI. Usage, with the figures recorded in BENCHMARKS.md:

    python3 benches/peers/faker_mimesis.py --records 20000 --out /tmp/peers
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time


def ensure(*packages):
    missing = []
    for module, package in packages:
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--user", *missing])


ensure(("faker", "faker"), ("mimesis", "mimesis"), ("pyarrow", "pyarrow"))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

LOCALES = [("en_US", 0.70), ("de_DE", 0.15), ("fr_FR", 0.07), ("ja_JP", 0.08)]
NULL = {"email": 0.01, "phone": 0.04, "company": 0.02, "jobtitle": 0.10, "address": 0.05,
        "city": 0.03, "zip": 0.05}
STAGES = (["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"],
          [0.25, 0.40, 0.15, 0.12, 0.08])
COLUMNS = ["record_idx", "external_id", "firstname", "lastname", "email", "phone", "company",
           "jobtitle", "address", "city", "zip", "country", "lifecyclestage", "created_at",
           "defects", "dup_of"]


def write(rows_iter, n, path, batch=8192):
    schema = pa.schema([("record_idx", pa.uint64())] + [(c, pa.string()) for c in COLUMNS[1:]])
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        cols = {c: [] for c in COLUMNS}
        for i, row in enumerate(rows_iter):
            for c, v in zip(COLUMNS, row):
                cols[c].append(v)
            if len(cols["record_idx"]) == batch or i == n - 1:
                writer.write_table(pa.table(cols, schema=schema))
                cols = {c: [] for c in COLUMNS}


def maybe(rng, field, value):
    return None if rng.random() < NULL.get(field, 0.0) else value


def faker_rows(n, seed):
    from faker import Faker

    fakers = {loc: Faker(loc) for loc, _ in LOCALES}
    for f in fakers.values():
        f.seed_instance(seed)
    rng = random.Random(seed)
    names, weights = zip(*LOCALES)
    for i in range(n):
        f = fakers[rng.choices(names, weights)[0]]
        yield (i, f"sp-{seed:08x}-{i}", f.first_name(), f.last_name(), maybe(rng, "email", f.email()),
               maybe(rng, "phone", f.phone_number()), maybe(rng, "company", f.company()),
               maybe(rng, "jobtitle", f.job()), maybe(rng, "address", f.street_address()),
               maybe(rng, "city", f.city()), maybe(rng, "zip", f.postcode()), f.country(),
               rng.choices(*STAGES)[0], f.iso8601(), "", None)


def mimesis_rows(n, seed):
    from mimesis import Address, Datetime, Finance, Locale, Person

    codes = {"en_US": Locale.EN, "de_DE": Locale.DE, "fr_FR": Locale.FR, "ja_JP": Locale.JA}
    providers = {loc: (Person(codes[loc], seed=seed), Address(codes[loc], seed=seed),
                       Finance(codes[loc], seed=seed)) for loc, _ in LOCALES}
    dt = Datetime(seed=seed)
    rng = random.Random(seed)
    names, weights = zip(*LOCALES)
    for i in range(n):
        person, address, finance = providers[rng.choices(names, weights)[0]]
        yield (i, f"sp-{seed:08x}-{i}", person.first_name(), person.last_name(),
               maybe(rng, "email", person.email()), maybe(rng, "phone", person.telephone()),
               maybe(rng, "company", finance.company()), maybe(rng, "jobtitle", person.occupation()),
               maybe(rng, "address", address.address()), maybe(rng, "city", address.city()),
               maybe(rng, "zip", address.postal_code()), address.country(),
               rng.choices(*STAGES)[0], dt.datetime().isoformat(), "", None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=tempfile.mkdtemp())
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, rows in [("faker", faker_rows), ("mimesis", mimesis_rows)]:
        path = f"{args.out}/{name}-contact.parquet"
        started = time.perf_counter()
        write(rows(args.records, args.seed), args.records, path)
        secs = time.perf_counter() - started
        print(f"{name:8} {args.records} rows in {secs:.2f}s: {args.records / secs:,.0f} rows/s  ({path})")


if __name__ == "__main__":
    main()
