//! `syncproof dupes EXPORT --id COLUMN --out pairs.csv`: the near-duplicate pairs of an export,
//! header first, from CSV, NDJSON and Parquet alike; a wrong `--id` is refused with exit 2 and
//! the closest column.

use std::process::Command;

fn syncproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_syncproof"))
}

const ROWS: [[&str; 6]; 6] = [
    [
        "c1",
        "Jane",
        "Doe",
        "jane.doe@acme.com",
        "+1 415 555 0132",
        "Acme Inc",
    ],
    [
        "c2",
        "Jane",
        "Deo",
        "JANE.DOE@ACME.COM",
        "+14155550132",
        "ACME",
    ],
    [
        "c3",
        "Omar",
        "Haddad",
        "omar@globex.com",
        "+44 20 7946 0000",
        "Globex",
    ],
    ["c4", "Haddad", "Omar", "omar@globex.com", "", "Globex GmbH"],
    [
        "c5",
        "John",
        "Doe",
        "john.doe@acme.com",
        "+1 415 555 0199",
        "Acme Inc",
    ],
    [
        "c6",
        "Yuki",
        "Tanaka",
        "yuki@initech.jp",
        "+81 3 1234 5678",
        "Initech",
    ],
];

fn pairs(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn near_duplicates_of_csv_and_ndjson_exports_are_listed_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("contacts.csv");
    let mut text = String::from("Id,First Name,Last Name,Email,Phone,Company\n");
    let mut nd = String::new();
    for r in ROWS {
        text.push_str(&format!("{}\n", r.join(",")));
        nd.push_str(&format!(
            "{{\"Id\":\"{}\",\"First Name\":\"{}\",\"Last Name\":\"{}\",\"Email\":\"{}\",\"Phone\":\"{}\",\"Company\":\"{}\"}}\n",
            r[0], r[1], r[2], r[3], r[4], r[5]
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let ndjson = dir.path().join("contacts.ndjson");
    std::fs::write(&ndjson, nd).unwrap();
    for export in [&csv, &ndjson] {
        let out = dir.path().join("pairs.csv");
        let status = syncproof()
            .arg("dupes")
            .arg(export)
            .args(["--id", "Id", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(
            status.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let lines = pairs(&out);
        assert_eq!(lines[0], "left_id,right_id,score");
        let found: Vec<(&str, &str)> = lines[1..]
            .iter()
            .map(|l| {
                let mut cells = l.split(',');
                (cells.next().unwrap(), cells.next().unwrap())
            })
            .collect();
        assert_eq!(
            found,
            vec![("c1", "c2"), ("c3", "c4")],
            "{}",
            export.display()
        );
    }
}

#[test]
fn a_parquet_export_reads_and_a_wrong_id_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contact.parquet");
    let column = |k: usize| -> arrow_array::ArrayRef {
        std::sync::Arc::new(arrow_array::StringArray::from(
            ROWS.iter()
                .map(|r| Some(r[k]).filter(|v| !v.is_empty()))
                .collect::<Vec<_>>(),
        ))
    };
    let batch = arrow_array::RecordBatch::try_from_iter(
        [
            "external_id",
            "firstname",
            "lastname",
            "email",
            "phone",
            "company",
        ]
        .into_iter()
        .enumerate()
        .map(|(k, name)| (name, column(k))),
    )
    .unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let out = dir.path().join("pairs.csv");
    let ok = syncproof()
        .arg("dupes")
        .arg(&path)
        .args(["--id", "external_id", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let lines = pairs(&out);
    assert_eq!(lines[0], "left_id,right_id,score");
    assert!(
        lines[1].starts_with("c1,c2,") && lines[2].starts_with("c3,c4,"),
        "{lines:?}"
    );

    let bad = syncproof()
        .arg("dupes")
        .arg(&path)
        .args(["--id", "external_ids"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("no column \"external_ids\"") && err.contains("did you mean \"external_id\""),
        "{err}"
    );
}
