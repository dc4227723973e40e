//! `profile` and `compare` end to end: no planted personal value survives into the shape or into
//! 1,000,000 records generated from it; the bundled exports round-trip (profile → generate →
//! compare) with the scores written to BENCHMARKS.md; bad exports get a message naming the file
//! and line, exit 2 where refused, never a panic.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use syncproof::config::Source;
use syncproof::shape::Shape;
use syncproof::shape::profile::{ProfileOptions, compare, profile, write_shape};

use crate::support::datasets;

fn syncproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncproof"))
        .args(args)
        .output()
        .unwrap()
}

fn exports() -> [PathBuf; 2] {
    let d = datasets().join("exports");
    [d.join("contacts.csv"), d.join("companies.csv")]
}

/// The bundled contacts with a unique marker in every personal cell of every 7th row, and one
/// lifecycle stage that occurs once.
fn planted(dir: &Path) -> PathBuf {
    let mut reader = csv::Reader::from_path(&exports()[0]).unwrap();
    let headers = reader.headers().unwrap().clone();
    let personal = ["First Name", "Last Name", "Email", "Phone Number", "Notes"];
    let path = dir.join("contacts.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&headers).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut row: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        for (j, h) in headers.iter().enumerate() {
            if i % 7 == 0 && personal.contains(&h) {
                row[j] = match h {
                    "Email" => format!("zqmarker{i}x{j}@zqmarker.example"),
                    "Phone Number" => format!("+1 555 {i:03} {j:04} zqmarker"),
                    _ => format!("Zqmarker{i}x{j}"),
                };
            }
            if i == 3 && h == "Lifecycle Stage" {
                row[j] = "zqrarestage".into();
            }
        }
        writer.write_record(&row).unwrap();
    }
    writer.flush().unwrap();
    path
}

#[test]
fn no_planted_personal_value_reaches_the_shape_or_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let contacts = planted(dir.path());
    let learnt = profile(
        &[contacts.clone(), exports()[1].clone()],
        ProfileOptions::default(),
    )
    .unwrap();
    let written = write_shape(&learnt);
    assert!(
        !written.text.to_lowercase().contains("zqmarker"),
        "a marker leaked into the shape"
    );
    assert!(
        !written.text.contains("zqrarestage"),
        "a value seen once leaked into the shape"
    );
    assert!(
        written
            .withheld
            .iter()
            .any(|w| w.field == "Lifecycle Stage" && w.reason == "rare")
    );
    for field in ["First Name", "Last Name", "Email", "Phone Number", "Notes"] {
        assert!(
            written
                .withheld
                .iter()
                .any(|w| w.field == field && w.reason == "personal"),
            "{field} not reported as withheld"
        );
    }
    // The formats were learnt (generalised), not skipped: the markers' rows were outvoted.
    for key in ["templates = [", "local_parts = [", "tlds = [", "words = ["] {
        assert!(
            written.text.contains(key),
            "{key} missing:\n{}",
            written.text
        );
    }
    let shape_path = dir.path().join("shape.toml");
    std::fs::write(&shape_path, &written.text).unwrap();
    Shape::from_source(&Source::read(&shape_path).unwrap()).unwrap();
    let out = dir.path().join("synth");
    // 1 M contacts (and their companies): about 70 s in a debug build on one core.
    let run = syncproof(&[
        "generate",
        "--shape",
        shape_path.to_str().unwrap(),
        "--records",
        "1000000",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut contacts_seen = 0u64;
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let reader = BufReader::new(std::fs::File::open(&path).unwrap());
        let mut lines = 0u64;
        for line in reader.lines() {
            // std's searching is optimised even in a debug build: 300 MB in seconds.
            let line = line.unwrap().to_ascii_lowercase();
            lines += 1;
            assert!(
                !line.contains("zqmarker") && !line.contains("zqrarestage"),
                "{}:{lines}: {line}",
                path.display()
            );
        }
        if path.file_name().is_some_and(|n| n == "contact.csv") {
            contacts_seen = lines - 1;
        }
    }
    assert!(
        contacts_seen >= 1_000_000,
        "{contacts_seen} contacts scanned"
    );
}

#[test]
fn bundled_exports_round_trip_through_profile_generate_compare() {
    let dir = tempfile::tempdir().unwrap();
    let shape = dir.path().join("shape.toml");
    let [contacts, companies] = exports();
    let run = syncproof(&[
        "profile",
        contacts.to_str().unwrap(),
        companies.to_str().unwrap(),
        "--out",
        shape.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("withheld (counts, not values)") && stderr.contains("contact.Email: all"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&shape).unwrap();
    assert!(
        text.contains("kind = \"reference\"") && text.contains("per_target"),
        "{text}"
    );
    let synth = dir.path().join("synth");
    let run = syncproof(&[
        "generate",
        "--shape",
        shape.to_str().unwrap(),
        "--records",
        "3000",
        "--out",
        synth.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (real, object) in [(&contacts, "contact"), (&companies, "company")] {
        let c = compare(real, &synth.join(format!("{object}.parquet")), 5).unwrap();
        // The bar on every column, personal ones by format mask (what the shape learnt
        // as generalised patterns), and on the non-personal columns alone (its SDV reference).
        assert!(c.column_shapes >= 0.85, "{object}: {}", c.render_table());
        for s in &c.columns {
            assert!(s.score.unwrap() >= 0.75, "{object}: {}", c.render_table());
        }
        let open: Vec<f64> = c
            .columns
            .iter()
            .filter(|s| s.metric != syncproof::shape::profile::Metric::FormatTv)
            .map(|s| s.score.unwrap())
            .collect();
        let open_mean = open.iter().sum::<f64>() / open.len() as f64;
        eprintln!(
            "{object}: column shapes {:.3} (non-personal {open_mean:.3}), pair trends {:.3}",
            c.column_shapes,
            c.pair_trends.unwrap()
        );
        assert!(open_mean >= 0.85, "{object}: {}", c.render_table());
        assert!(
            c.pair_trends.unwrap() >= 0.40,
            "{object}: {}",
            c.render_table()
        );
        for s in c.columns.iter().filter_map(|s| s.k_anonymity_ceiling) {
            assert!((0.0..=1.0).contains(&s));
        }
    }
    // The generated Parquet profiles too (the Parquet reader), and compare writes JSON.
    let json = dir.path().join("c.json");
    let run = syncproof(&[
        "compare",
        contacts.to_str().unwrap(),
        synth.join("contact.parquet").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(run.status.success());
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(value["column_shapes"].as_f64().unwrap() > 0.0);
    let again = dir.path().join("again.toml");
    let run = syncproof(&[
        "profile",
        synth.join("company.parquet").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn bad_exports_are_explained_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let out = dir.path().join("s.toml");
    let out = out.to_str().unwrap();
    let cases: [(String, i32, &str); 5] = [
        (write("empty.csv", b""), 2, "empty.csv: the file is empty"),
        (
            write("header.csv", b"id,email\n"),
            2,
            "header.csv: the file has a header but no records",
        ),
        (write("x.xlsx", b"PK"), 2, "unknown export format"),
        (
            write("bad.ndjson", b"{\"id\":1}\nnot json\n"),
            2,
            "bad.ndjson: line 2",
        ),
        (
            write("ragged.csv", b"id;stage\n1;a\n2\n3;b;extra\n"),
            0,
            "lines 3, 4",
        ),
    ];
    for (path, code, message) in cases {
        let run = syncproof(&["profile", &path, "--out", out]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(code), "{path}: {stderr}");
        assert!(
            stderr.contains(message) && !stderr.contains("panicked"),
            "{path}: {stderr}"
        );
    }
    let run = syncproof(&[
        "compare",
        &dir.path().join("missing.csv").to_string_lossy(),
        out,
    ]);
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn a_latin1_semicolon_export_profiles_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let export = datasets().join("exports/accounts-de-latin1.csv");
    let run = syncproof(&[
        "profile",
        export.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("decoded as Latin-1") && stderr.contains("first at line 2"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("\"München\"") || text.contains("München"),
        "{text}"
    );
    assert!(
        text.contains("(DD.MM.YYYY)") && text.contains("kind = \"company\""),
        "{text}"
    );
}
