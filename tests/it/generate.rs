//! `generate` end to end: whole datasets written by the library and the binary, checked for what
//! the issue promises: same bytes whatever the thread count, shards that add up to the whole,
//! references that resolve except the labelled orphans, unique values, labelled defect rates,
//! and Parquet files with the documented columns. Frequencies per field are property-tested.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::{Array, StringArray, UInt64Array};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use serde_json::Value;
use syncproof::config::Source;
use syncproof::generate::{
    Codec, DatasetOptions, Format, Generator, Record, rows_of_block, write_dataset,
};
use syncproof::shape::Shape;

use crate::support::{datasets, within_binomial};

fn b2b() -> Arc<Shape> {
    let path = datasets().join("shapes/b2b-saas.toml");
    Arc::new(Shape::from_source(&Source::read(&path).unwrap()).unwrap())
}

fn write(
    shape: &Arc<Shape>,
    out: &Path,
    records: u64,
    shard: Option<(u64, u64)>,
    format: Format,
    threads: usize,
) {
    let options = DatasetOptions {
        records,
        seed: 11,
        shard,
        format,
        threads,
        out: out.to_path_buf(),
        max_rows_per_file: None,
        compression: Codec::default(),
    };
    write_dataset(shape, &options).unwrap();
}

/// Rows of an NDJSON file.
fn rows(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn labels(row: &Value) -> Vec<String> {
    row["defects"]
        .as_str()
        .unwrap()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_bytes_do_not_depend_on_the_thread_count() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Ndjson, Format::Parquet] {
        write(&shape, &dir.path().join("one"), 9_000, None, format, 1);
        write(&shape, &dir.path().join("three"), 9_000, None, format, 3);
        for object in ["company", "contact", "contact-updates", "deal"] {
            let name = format!("{object}.{}", format.extension());
            let a = std::fs::read(dir.path().join("one").join(&name)).unwrap();
            let b = std::fs::read(dir.path().join("three").join(&name)).unwrap();
            assert!(a == b, "{name} differs between 1 and 3 threads");
        }
    }
}

#[test]
fn shards_are_disjoint_and_add_up_to_the_whole_byte_for_byte() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    let records = 7_500;
    write(
        &shape,
        &dir.path().join("whole"),
        records,
        None,
        Format::Ndjson,
        2,
    );
    let n = 3;
    for k in 0..n {
        write(
            &shape,
            &dir.path().join("parts"),
            records,
            Some((k, n)),
            Format::Ndjson,
            2,
        );
    }
    for object in ["company", "contact", "contact-updates", "deal"] {
        let whole =
            std::fs::read(dir.path().join("whole").join(format!("{object}.ndjson"))).unwrap();
        let mut joined = Vec::new();
        for k in 0..n {
            let part = dir
                .path()
                .join("parts")
                .join(format!("{object}-{k:04}.ndjson"));
            let bytes = std::fs::read(part).unwrap();
            assert!(!bytes.is_empty(), "shard {k} of {object} is empty");
            joined.extend(bytes);
        }
        assert!(
            whole == joined,
            "{object}: the shards do not add up to the whole"
        );
    }
    let contacts = rows(&dir.path().join("whole/contact.ndjson"));
    assert_eq!(contacts.len() as u64, records);
    let ids: HashSet<&str> = contacts
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, records, "external ids are unique");
}

#[test]
fn references_resolve_except_labelled_orphans_and_unique_fields_do_not_repeat() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    write(&shape, dir.path(), 20_000, None, Format::Ndjson, 2);
    let companies = rows(&dir.path().join("company.ndjson"));
    let contacts = rows(&dir.path().join("contact.ndjson"));
    let deals = rows(&dir.path().join("deal.ndjson"));
    let ids = |rows: &[Value]| -> HashSet<String> {
        rows.iter()
            .map(|r| r["external_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (company_ids, contact_ids) = (ids(&companies), ids(&contacts));
    // Contacts per company follow the shape's mean of 4 (geometric, cut at 60 and at blocks).
    let per_company = contacts.len() as f64 / companies.len() as f64;
    assert!(
        (3.0..5.0).contains(&per_company),
        "{per_company} contacts per company"
    );
    for c in &contacts {
        match c["company_id"].as_str() {
            Some(id) => assert!(company_ids.contains(id), "{c}"),
            None => assert!(
                labels(c).contains(&"missing_required:company_id".into()),
                "{c}"
            ),
        }
    }
    let mut orphans = 0;
    for d in &deals {
        let l = labels(d);
        for (field, ids) in [("company_id", &company_ids), ("contact_id", &contact_ids)] {
            let Some(id) = d[field].as_str() else {
                continue;
            };
            let orphan = l.contains(&format!("orphan_reference:{field}"));
            assert_eq!(!ids.contains(id), orphan, "{field} of {d}");
            orphans += usize::from(orphan);
        }
    }
    assert!(
        within_binomial(orphans as f64, deals.len() as f64, 0.01, 5.0),
        "{orphans} orphans"
    );
    // A deal's contact works at the deal's company.
    let company_of: HashMap<&str, &str> = contacts
        .iter()
        .filter_map(|c| Some((c["external_id"].as_str()?, c["company_id"].as_str()?)))
        .collect();
    for d in deals.iter().filter(|d| labels(d).is_empty()) {
        if let (Some(contact), Some(company)) = (d["contact_id"].as_str(), d["company_id"].as_str())
            && let Some(of) = company_of.get(contact)
        {
            assert_eq!(*of, company, "{d}");
        }
    }
    for (rows, field) in [
        (&contacts, "email"),
        (&companies, "domain"),
        (&contacts, "hs_object_source_id"),
    ] {
        let values: Vec<&str> = rows.iter().filter_map(|r| r[field].as_str()).collect();
        let distinct: HashSet<&&str> = values.iter().collect();
        assert_eq!(distinct.len(), values.len(), "{field} repeats");
    }
}

#[test]
fn labelled_defects_follow_their_rates_and_near_duplicates_name_their_original() {
    let shape = b2b();
    let g = Generator::new(Arc::clone(&shape), 5);
    let n = 30_000;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut variants = HashSet::new();
    for i in 0..n {
        let r = g.record(i);
        for l in &r.defects {
            let defect = l.split(':').next().unwrap().to_string();
            if defect == "near_duplicate" {
                variants.insert(l.clone());
                let original = r
                    .dup_of
                    .as_deref()
                    .expect("a near-duplicate names its original");
                let j: u64 = original.rsplit('-').next().unwrap().parse().unwrap();
                assert!(j < i && i - j <= 50, "{original} for row {i}");
            }
            *counts.entry(defect).or_default() += 1;
        }
        assert_eq!(
            r.dup_of.is_some(),
            r.defects.iter().any(|d| d.starts_with("near_duplicate:"))
        );
    }
    let n = n as f64;
    // Rate × share of rows the defect applies to (a phone is present in 95 % of rows).
    for (defect, p) in [
        // Every row but the first has an earlier row to duplicate.
        ("near_duplicate", 0.03),
        ("invalid_email", 0.01 * 0.99),
        ("malformed_phone", 0.01 * 0.95),
        ("unicode_edge", 0.01),
        ("over_long", 0.005),
        ("missing_required", 0.005),
        ("out_of_range_date", 0.002),
    ] {
        let seen = counts.get(defect).copied().unwrap_or(0) as f64;
        assert!(
            within_binomial(seen, n, p, 5.0),
            "{defect}: {seen} of {n}, expected {p}"
        );
    }
    assert!(
        variants.len() >= 6,
        "near-duplicate variants seen: {variants:?}"
    );
}

#[test]
fn parquet_files_have_the_documented_columns_and_metadata() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    write(&shape, dir.path(), 3_000, None, Format::Parquet, 2);
    let file = std::fs::File::open(dir.path().join("contact.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let kv: HashMap<String, String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(kv["syncproof.object"], "contact");
    assert_eq!(kv["syncproof.seed"], "11");
    assert!(kv["syncproof.shape"].contains("root = \"contact\""));
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut expected = vec!["record_idx", "external_id"];
    expected.extend(shape.root().fields.iter().map(|f| f.name.as_str()));
    expected.extend(["defects", "dup_of"]);
    assert_eq!(names, expected);
    assert_eq!(schema.field(0).data_type(), &DataType::UInt64);
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(type_of("external_id"), DataType::Utf8);
    assert_eq!(type_of("email"), DataType::Utf8);
    assert_eq!(type_of("email_opt_out"), DataType::Boolean);
    assert_eq!(
        type_of("created_at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(type_of("defects"), DataType::Utf8);
    let deals = ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(dir.path().join("deal.parquet")).unwrap(),
    )
    .unwrap();
    let deal_type = |name: &str| {
        deals
            .schema()
            .field_with_name(name)
            .unwrap()
            .data_type()
            .clone()
    };
    assert_eq!(deal_type("amount"), DataType::Decimal128(38, 2));
    assert_eq!(deal_type("closedate"), DataType::Date32);
    let companies = ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(dir.path().join("company.parquet")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        companies
            .schema()
            .field_with_name("numberofemployees")
            .unwrap()
            .data_type(),
        &DataType::Int64
    );
    let mut n = 0;
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let idx = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        let ids = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..batch.num_rows() {
            assert_eq!(idx.value(i), n);
            assert!(ids.value(i).ends_with(&format!("-{n}")));
            n += 1;
        }
        assert_eq!(
            batch.column(names.len() - 2).null_count(),
            0,
            "defects is never null"
        );
    }
    assert_eq!(n, 3_000);
}

/// `max_rows_per_file` cuts every stream into parts of exactly N rows (the last one fewer),
/// whose rows, in part order, are the unsplit file's: byte for byte in NDJSON, row for row in
/// Parquet (where a row group straddling two parts is re-encoded in pieces).
#[test]
fn split_files_add_up_to_the_unsplit_file() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    let records = 5_000;
    let n = 700;
    for format in [Format::Ndjson, Format::Parquet] {
        let whole = dir.path().join(format!("whole-{}", format.extension()));
        let parts = dir.path().join(format!("parts-{}", format.extension()));
        write(&shape, &whole, records, None, format, 2);
        let options = DatasetOptions {
            records,
            seed: 11,
            shard: None,
            format,
            threads: 2,
            out: parts.clone(),
            max_rows_per_file: Some(n),
            compression: Codec::default(),
        };
        let files = write_dataset(&shape, &options).unwrap();
        for object in ["company", "contact", "contact-updates", "deal"] {
            let ext = format.extension();
            let mine: Vec<_> = files
                .iter()
                .filter(|f| {
                    f.path
                        .file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .starts_with(&format!("{object}-0"))
                })
                .collect();
            assert!(mine.len() > 1, "{object} is not split: {mine:?}");
            for (k, f) in mine.iter().enumerate() {
                assert_eq!(f.path, parts.join(format!("{object}-{k:04}.{ext}")));
                if k + 1 < mine.len() {
                    assert_eq!(f.rows, n, "{f:?}");
                } else {
                    assert!(f.rows <= n && f.rows > 0, "{f:?}");
                }
            }
            let whole_file = whole.join(format!("{object}.{ext}"));
            match format {
                Format::Ndjson => {
                    let joined: Vec<u8> = mine
                        .iter()
                        .flat_map(|f| std::fs::read(&f.path).unwrap())
                        .collect();
                    assert!(joined == std::fs::read(&whole_file).unwrap(), "{object}");
                }
                _ => {
                    let read = |path: &Path| -> Vec<arrow_array::RecordBatch> {
                        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                            .unwrap()
                            .build()
                            .unwrap()
                            .map(Result::unwrap)
                            .collect()
                    };
                    // Row by row: one-row slices compare logically, whatever the batching.
                    let each_row = |batches: Vec<arrow_array::RecordBatch>| {
                        batches
                            .into_iter()
                            .flat_map(|b| (0..b.num_rows()).map(move |i| b.slice(i, 1)))
                            .collect::<Vec<_>>()
                    };
                    let joined = each_row(mine.iter().flat_map(|f| read(&f.path)).collect());
                    let whole_rows = each_row(read(&whole_file));
                    assert_eq!(joined.len(), whole_rows.len(), "{object}");
                    assert!(joined == whole_rows, "{object}: split rows differ");
                }
            }
        }
    }
}

/// The update stream of the B2B contacts: every version refers to a contact that was written,
/// versions run 1..=k with a delete only last, the shares of updated and deleted contacts match
/// the shape, and a version holds a value exactly for the fields it names as changed.
#[test]
fn updates_refer_to_written_rows_and_follow_the_shapes_rates() {
    let shape = b2b();
    let spec = shape
        .root()
        .updates
        .clone()
        .expect("b2b contacts have updates");
    let listed: HashSet<&str> = spec
        .fields
        .iter()
        .map(|(i, _)| shape.root().fields[*i].name.as_str())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let records = 20_000;
    write(&shape, dir.path(), records, None, Format::Ndjson, 2);
    let contacts: HashMap<u64, String> = rows(&dir.path().join("contact.ndjson"))
        .iter()
        .map(|r| {
            (
                r["record_idx"].as_u64().unwrap(),
                r["external_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let updates = rows(&dir.path().join("contact-updates.ndjson"));
    assert!(!updates.is_empty());
    let mut versions: Vec<(u64, Vec<(u64, String)>)> = Vec::new();
    for u in &updates {
        let idx = u["record_idx"].as_u64().unwrap();
        assert_eq!(
            contacts.get(&idx).map(String::as_str),
            u["external_id"].as_str(),
            "an update of a contact that was never written: {u}"
        );
        let entry = (
            u["version"].as_u64().unwrap(),
            u["op"].as_str().unwrap().to_string(),
        );
        match versions.last_mut() {
            Some((last, list)) if *last == idx => list.push(entry),
            _ => versions.push((idx, vec![entry])),
        }
        let changed: HashSet<&str> = u["changed"]
            .as_str()
            .unwrap()
            .split(',')
            .filter(|s| !s.is_empty())
            .collect();
        assert!(changed.is_subset(&listed), "{u}");
        assert!(changed.len() <= spec.max_fields as usize, "{u}");
        for f in &shape.root().fields {
            let name = f.name.as_str();
            assert_eq!(!u[name].is_null(), changed.contains(name), "{name} in {u}");
        }
        if u["op"] == "delete" {
            assert!(changed.is_empty(), "{u}");
        }
    }
    // Rows come in the creates' order, each row's versions together and in order.
    assert!(versions.windows(2).all(|w| w[0].0 < w[1].0));
    let (mut updated, mut deleted) = (0u64, 0u64);
    for (idx, list) in &versions {
        for (k, (v, op)) in list.iter().enumerate() {
            assert_eq!(*v, k as u64 + 1, "row {idx}: versions {list:?}");
            assert_eq!(op == "delete", k + 1 == list.len() && op == "delete");
        }
        let n_updates = list.iter().filter(|(_, op)| op == "update").count() as u64;
        assert!(n_updates <= u64::from(spec.max_versions));
        updated += u64::from(n_updates > 0);
        deleted += u64::from(list.last().unwrap().1 == "delete");
    }
    let n = records as f64;
    assert!(
        within_binomial(updated as f64, n, spec.rate, 5.0),
        "{updated} of {n} updated, expected {}",
        spec.rate
    );
    assert!(
        within_binomial(deleted as f64, n, spec.delete_rate, 5.0),
        "{deleted} of {n} deleted, expected {}",
        spec.delete_rate
    );
    // Each row's count of updates is uniform over 1..=max_versions.
    let with = |k: usize| {
        versions
            .iter()
            .filter(|(_, l)| l.iter().filter(|(_, op)| op == "update").count() == k)
            .count() as f64
    };
    for k in 1..=spec.max_versions as usize {
        let p = spec.rate / f64::from(spec.max_versions);
        assert!(
            within_binomial(with(k), n, p, 5.0),
            "{k} updates: {}",
            with(k)
        );
    }
}

/// A near-duplicate names an earlier row, so its original is written whatever `--records` cuts:
/// for every dataset size, every `dup_of` is the external id of a row in the same file.
#[test]
fn near_duplicates_name_a_row_of_the_written_range_whatever_the_size() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    let mut dups = 0;
    for records in [1, 2, 3, 17, 1_025, 2_049] {
        let out = dir.path().join(records.to_string());
        write(&shape, &out, records, None, Format::Ndjson, 1);
        for object in ["company", "contact", "deal"] {
            let rows = rows(&out.join(format!("{object}.ndjson")));
            let ids: HashSet<&str> = rows
                .iter()
                .map(|r| r["external_id"].as_str().unwrap())
                .collect();
            for r in &rows {
                if let Some(d) = r["dup_of"].as_str() {
                    dups += 1;
                    assert!(ids.contains(d), "{object} of {records}: {d} is not written");
                }
            }
        }
    }
    assert!(dups > 10, "too few near-duplicates to check: {dups}");
    // Each run's first contact (the one that used to copy the next row) copies the row before.
    let g = Generator::new(Arc::clone(&shape), 11);
    let mut firsts = 0;
    for i in 1..20_000u64 {
        let r = g.record(i);
        if let Some(d) = &r.dup_of {
            let j: u64 = d.rsplit('-').next().unwrap().parse().unwrap();
            assert!(j < i, "row {i} duplicates later row {j}");
            firsts += u64::from(j + 1 == i);
        }
    }
    assert!(firsts > 0);
}

/// The Parquet files read in DuckDB and pandas with the documented columns and types, and the
/// typed values equal the text the CSV writer gives for the same rows.
#[test]
fn parquet_files_read_in_duckdb_and_pandas_with_their_types() {
    let shape = b2b();
    let dir = tempfile::tempdir().unwrap();
    write(
        &shape,
        &dir.path().join("pq"),
        2_000,
        None,
        Format::Parquet,
        2,
    );
    write(
        &shape,
        &dir.path().join("nd"),
        2_000,
        None,
        Format::Ndjson,
        1,
    );
    let script = r#"
import json, sys
import duckdb, pandas
pq, nd = sys.argv[1], sys.argv[2]
out = {}
for obj in ["company", "contact", "deal", "contact-updates"]:
    rel = duckdb.sql(f"DESCRIBE SELECT * FROM '{pq}/{obj}.parquet'").fetchall()
    out[obj] = {name: typ for name, typ, *_ in rel}
    out[obj + ":rows"] = duckdb.sql(f"SELECT count(*) FROM '{pq}/{obj}.parquet'").fetchall()[0][0]
df = pandas.read_parquet(f"{pq}/deal.parquet")
out["pandas:deal"] = {c: str(t) for c, t in df.dtypes.items()}
# Typed values agree with the text of the same rows.
text = [json.loads(line) for line in open(f"{nd}/deal.ndjson")]
a = duckdb.sql(f"SELECT CAST(amount AS VARCHAR) AS a, CAST(closedate AS VARCHAR) AS d FROM '{pq}/deal.parquet' ORDER BY record_idx").fetchall()
mismatch = 0
for (amount, close), row in zip(a, text):
    want_amount = row["amount"] if row["amount"] not in ("", None) else None
    want_close = row["closedate"] if row["closedate"] not in ("", None) else None
    if amount != want_amount or close != want_close:
        mismatch += 1
out["mismatch"] = mismatch + abs(len(a) - len(text))
c = duckdb.sql(f"SELECT CAST(created_at AS VARCHAR), email_opt_out FROM '{pq}/contact.parquet' ORDER BY record_idx LIMIT 1").fetchall()[0]
out["contact0"] = [c[0], c[1]]
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir.path().join("pq"))
        .arg(dir.path().join("nd"))
        .output()
        .expect("python3 runs (pip install duckdb pandas pyarrow)");
    assert!(
        out.status.success(),
        "needs python3 with duckdb, pandas and pyarrow (pip install duckdb pandas pyarrow): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["contact"]["record_idx"], "UBIGINT");
    assert_eq!(v["contact"]["email"], "VARCHAR");
    assert_eq!(v["contact"]["email_opt_out"], "BOOLEAN");
    assert_eq!(v["contact"]["created_at"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(v["company"]["numberofemployees"], "BIGINT");
    assert_eq!(v["deal"]["amount"], "DECIMAL(38,2)");
    assert_eq!(v["deal"]["closedate"], "DATE");
    assert_eq!(v["contact-updates"]["version"], "UINTEGER");
    assert_eq!(v["contact-updates"]["op"], "VARCHAR");
    assert_eq!(v["contact:rows"], 2_000);
    assert_eq!(v["pandas:deal"]["record_idx"], "uint64");
    assert_eq!(
        v["pandas:deal"]["amount"], "object",
        "decimals as Decimal objects"
    );
    assert!(
        v["pandas:deal"]["closedate"]
            .as_str()
            .is_some_and(|t| t.starts_with("date") || t == "object"),
        "{}",
        v["pandas:deal"]
    );
    assert_eq!(v["mismatch"], 0, "typed deal values differ from their text");
    let contacts = rows(&dir.path().join("nd/contact.ndjson"));
    let created = contacts[0]["created_at"].as_str().unwrap();
    // DuckDB prints the instant in the session's zone; compare the instant's date and time.
    let shown = v["contact0"][0].as_str().unwrap();
    assert!(
        shown.starts_with(&created[..10]) || v["contact0"][0].is_null(),
        "{shown} vs {created}"
    );
    assert_eq!(
        v["contact0"][1].as_bool().map(|b| b.to_string()).as_deref(),
        contacts[0]["email_opt_out"].as_str()
    );
}

#[test]
fn the_binary_writes_one_file_per_object_and_refuses_a_bad_shape_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let shape = datasets().join("shapes/b2c.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_syncproof"))
        .args([
            "generate",
            "--shape",
            shape.to_str().unwrap(),
            "--records",
            "2000",
            "--format",
            "csv",
        ])
        .args(["--shard", "1/2", "--out", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for object in ["customer", "order"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{object}-0001.csv"))).unwrap();
        assert!(text.starts_with("record_idx,external_id,"), "{object}");
    }
    let updates = std::fs::read_to_string(dir.path().join("customer-updates-0001.csv")).unwrap();
    assert!(
        updates.starts_with("record_idx,external_id,version,op,customer_number,"),
        "{}",
        updates.lines().next().unwrap_or_default()
    );
    assert!(updates.lines().next().unwrap().ends_with(",changed"));
    assert!(updates.lines().count() > 100);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "root = \"c\"\nlocales = [{ locale = \"en_US\", weight = 1.0 }]\n[[objects]]\nname = \"c\"\n\
         [[objects.fields]]\nname = \"x\"\nkind = \"phnoe\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_syncproof"))
        .args([
            "generate",
            "--shape",
            bad.to_str().unwrap(),
            "--records",
            "10",
            "--out",
        ])
        .arg(dir.path().join("never"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:7") && err.contains("did you mean \"phone\""),
        "{err}"
    );
    assert!(
        !dir.path().join("never").exists(),
        "nothing written for a bad shape"
    );
}

/// A one-object shape with the given rates, for the property tests.
fn rated_shape(null_rate: f64, blank_rate: f64, weights: &[f64]) -> Shape {
    let values: Vec<String> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{{ value = \"v{i}\", weight = {w} }}"))
        .collect();
    let text = format!(
        "root = \"c\"\nlocales = [{{ locale = \"en_US\", weight = 1.0 }}]\n[[objects]]\nname = \"c\"\n\
         [[objects.fields]]\nname = \"city\"\nkind = \"city\"\nnull_rate = {null_rate}\nblank_rate = {blank_rate}\n\
         [[objects.fields]]\nname = \"stage\"\nkind = \"enum\"\nvalues = [{}]\n\
         [[objects.fields]]\nname = \"n\"\nkind = \"integer\"\nunique = true\n",
        values.join(", ")
    );
    Shape::from_source(&Source::embedded("p.toml", &text)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn null_blank_and_enum_frequencies_follow_the_shape(
        null_rate in 0.0f64..0.5,
        blank_rate in 0.0f64..0.3,
        weights in proptest::collection::vec(0.1f64..5.0, 1..5),
        seed in any::<u64>(),
    ) {
        let shape = Arc::new(rated_shape(null_rate, blank_rate, &weights));
        let g = Generator::new(shape, seed);
        let n = 3_000u64;
        let (mut nulls, mut blanks) = (0.0, 0.0);
        let mut per_value = vec![0.0; weights.len()];
        let mut ints = HashSet::new();
        for i in 0..n {
            let r = g.record(i);
            match r.values[0].as_deref() {
                None => nulls += 1.0,
                Some("") => blanks += 1.0,
                Some(_) => {}
            }
            let v = r.values[1].as_deref().unwrap();
            per_value[v[1..].parse::<usize>().unwrap()] += 1.0;
            prop_assert!(ints.insert(r.values[2].clone().unwrap()), "unique integers repeat");
        }
        let n = n as f64;
        prop_assert!(within_binomial(nulls, n, null_rate, 5.0), "nulls {} for {}", nulls, null_rate);
        prop_assert!(within_binomial(blanks, n, blank_rate, 5.0), "blanks {} for {}", blanks, blank_rate);
        let total: f64 = weights.iter().sum();
        for (count, w) in per_value.iter().zip(&weights) {
            prop_assert!(within_binomial(*count, n, w / total, 5.0), "{} for weight {}", count, w / total);
        }
    }

    #[test]
    fn a_row_is_the_same_made_fresh_or_over_another_rows_buffers(
        seed in any::<u64>(),
        object in 0usize..3,
        idxs in proptest::collection::vec(0u64..5_000, 1..12),
    ) {
        let shape = b2b();
        // Rows of related objects are sparse: take existing ones, from the first blocks.
        let existing: Vec<u64> = (0..5)
            .flat_map(|b| rows_of_block(&shape, seed, 5_000, b).swap_remove(object))
            .collect();
        let g = Generator::for_object(shape, seed, object);
        let mut reused = Record::default();
        for i in idxs {
            let i = existing[i as usize % existing.len()];
            g.record_into(i, &mut reused);
            prop_assert_eq!(&reused, &g.record(i));
        }
    }
}
