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

/// `syncproof generate` of `records` root rows from the shape file into `out`, which must succeed.
fn generate(shape: &Path, records: u64, extra: &[&str], out: &Path) {
    let records = records.to_string();
    let mut args = vec![
        "generate",
        "--shape",
        shape.to_str().unwrap(),
        "--records",
        &records,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = syncproof(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
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
    generate(&shape_path, 1_000_000, &["--format", "csv"], &out);
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
    assert!(
        stderr.contains("near-duplicates (fuzzy engine, 3000 rows paired): 259 extra records"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&shape).unwrap();
    assert!(
        text.contains("kind = \"reference\"") && text.contains("per_target"),
        "{text}"
    );
    let synth = dir.path().join("synth");
    generate(&shape, 3000, &[], &synth);
    // Whitespace habits: 63 of the 3,000 first names are padded both sides ("  Emma ").
    assert!(
        text.contains("# 63 of 3000 sampled values start with a space\nleading_space_rate = 0.021"),
        "{text}"
    );
    let twin = syncproof::quality::fuzzy::read_table(&synth.join("contact.parquet")).unwrap();
    let first = twin.column("First Name").unwrap();
    let names: Vec<&str> = twin
        .rows
        .iter()
        .filter_map(|r| r[first].as_deref())
        .collect();
    for (what, flag) in [("leading", 0), ("trailing", 1)] {
        let share = names
            .iter()
            .filter(|v| syncproof::shape::profile::spacing_of(v)[flag])
            .count() as f64
            / names.len() as f64;
        assert!((share - 0.021).abs() < 0.012, "{what} spaces: {share}");
    }
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

/// A small deterministic stream for the planted samples (xorshift).
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn profile_text(path: &Path) -> String {
    let p = profile(&[path.to_path_buf()], ProfileOptions::default()).unwrap();
    write_shape(&p).text
}

/// The `key = x` number written in `text` (the first one).
fn number_after(text: &str, key: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in\n{text}"));
    line.split_once('=').unwrap().1.trim().parse().unwrap()
}

/// A sample of 2,000 distinct people and 200 planted near-duplicates of some of them (a typo in
/// the last name, the same email and phone): `profile` measures the sample's own rate with the
/// fuzzy engine, writes it as the `near_duplicate` defect rate, and the twin carries it.
#[test]
fn the_sample_near_duplicate_rate_is_learnt_and_reproduced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.csv");
    let syllables = [
        "ber", "mon", "tal", "vik", "sor", "lan", "dre", "kus", "pel", "mar", "zen", "fog", "hil",
        "rud",
    ];
    let firsts = [
        "Anna", "Boris", "Clara", "Dmitri", "Elena", "Felix", "Greta", "Hugo",
    ];
    let mut d = Draws(0x5eed);
    let mut rows: Vec<[String; 5]> = Vec::new();
    for i in 0..2_000usize {
        let s = |k: usize| syllables[(i / 14usize.pow(k as u32)) % 14];
        let last = format!("{}{}{}", s(0).to_uppercase(), s(1), s(2));
        let last = last[..1].to_string() + &last[1..].to_lowercase();
        let first = firsts[d.below(8) as usize];
        rows.push([
            first.to_string(),
            last.clone(),
            format!(
                "{}.{}@firm{}.com",
                first.to_lowercase(),
                last.to_lowercase(),
                i % 40
            ),
            format!("+1 415 {:07}", i * 37 + 11),
            ["lead", "customer"][d.below(2) as usize].to_string(),
        ]);
    }
    for j in 0..200usize {
        let mut dup = rows[j * 9].clone();
        let mut chars: Vec<char> = dup[1].chars().collect();
        chars.swap(2, 3);
        dup[1] = chars.into_iter().collect();
        rows.push(dup);
    }
    let mut text = String::from("id,First Name,Last Name,Email,Phone,Stage\n");
    for (i, r) in rows.iter().enumerate() {
        text.push_str(&format!("{i},{}\n", r.join(",")));
    }
    std::fs::write(&path, text).unwrap();
    let shape_text = profile_text(&path);
    let planted = 200.0 / 2_200.0;
    let learnt = number_after(&shape_text, "near_duplicate");
    assert!(
        (learnt - planted).abs() < 0.01,
        "learnt {learnt}, planted {planted}:\n{shape_text}"
    );
    assert!(
        shape_text.contains("the fuzzy near-duplicate engine"),
        "{shape_text}"
    );
    // The twin carries the same share of (labelled) near-duplicates.
    let shape = Shape::from_source(&Source::embedded("learnt.toml", &shape_text)).unwrap();
    let g = syncproof::generate::Generator::new(std::sync::Arc::new(shape), 5);
    let n = 10_000;
    let dups = (0..n)
        .filter(|i| {
            g.record(*i)
                .defects
                .iter()
                .any(|l| l.starts_with("near_duplicate:"))
        })
        .count();
    let share = dups as f64 / n as f64;
    assert!((share - learnt).abs() < 0.015, "{share} vs {learnt}");
}

/// A planted sample where the stage depends on the country and the phone spelling and postal
/// code format are the country's: `profile` keeps them as conditional distributions, and the
/// twin's pair trend for country × stage (and country × phone spelling, × postal code format) is
/// far closer than with the same shape
/// generated column by column. A combination seen fewer than k times stays out.
#[test]
fn strong_pairs_are_kept_as_conditional_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("leads.csv");
    let countries = [
        "US", "US", "US", "US", "US", "DE", "DE", "FR", "FR", "JP", "GB",
    ];
    let zip = |c: &str, d: &mut Draws| match c {
        "US" if d.below(3) == 0 => "#####-####",
        "US" | "DE" | "FR" => "#####",
        "JP" => "###-####",
        _ => "@@# #@@",
    };
    let phone = |c: &str| match c {
        "US" => "+1 (###) ###-####",
        "DE" => "+49 ## #######",
        "FR" => "+33 # ## ## ## ##",
        "JP" => "+81 #-####-####",
        _ => "+44 #### ######",
    };
    let stages = |c: &str| -> &[&str] {
        match c {
            "US" => &[
                "lead",
                "lead",
                "lead",
                "customer",
                "customer",
                "opportunity",
            ],
            "DE" => &["customer", "customer", "customer", "lead"],
            "FR" => &["opportunity", "opportunity", "lead"],
            _ => &["lead", "customer"],
        }
    };
    let mut d = Draws(0xabcd);
    let mut text = String::from("id,Phone,Country,Stage,Plan,Zip\n");
    let fill = |template: &str, d: &mut Draws| -> String {
        template
            .chars()
            .map(|ch| match ch {
                '#' => char::from(b'0' + d.below(10) as u8),
                '@' => char::from(b'A' + d.below(26) as u8),
                ch => ch,
            })
            .collect()
    };
    for i in 0..3_000 {
        let c = countries[d.below(11) as usize];
        let digits = fill(phone(c), &mut d);
        let z = zip(c, &mut d);
        let postal = fill(z, &mut d);
        let s = stages(c);
        // Three Japanese "churned" rows: a combination under k = 5.
        let stage = if c == "JP" && i < 1_000 && text.matches("churned").count() < 3 {
            "churned"
        } else {
            s[d.below(s.len() as u64) as usize]
        };
        let plan = ["free", "pro", "team"][d.below(3) as usize];
        text.push_str(&format!("{i},{digits},{c},{stage},{plan},{postal}\n"));
    }
    assert_eq!(text.matches("churned").count(), 3);
    std::fs::write(&real, text).unwrap();
    let learnt = profile_text(&real);
    assert!(
        learnt.contains("given = \"Country\"") && learnt.contains("Cramér's V"),
        "{learnt}"
    );
    assert!(
        learnt.contains("{ when = \"DE\", value = \"+## ## #######\""),
        "{learnt}"
    );
    assert!(
        learnt.contains("{ when = \"FR\", value = \"opportunity\""),
        "{learnt}"
    );
    assert!(
        learnt.contains("{ when = \"GB\", value = \"@@# #@@\", weight = 1 }")
            && learnt.contains("{ when = \"JP\", value = \"###-####\", weight = 1 }"),
        "{learnt}"
    );
    assert!(!learnt.contains("churned"), "{learnt}");
    assert!(
        !learnt.contains("given = \"Plan\"") && !learnt.contains("when = \"free\""),
        "an independent column was associated:\n{learnt}"
    );
    // The same shape without its conditional distributions: independent generation.
    let mut independent = String::new();
    let mut skipping = false;
    for line in learnt.lines() {
        if line.starts_with("given_values = [") {
            skipping = true;
        } else if skipping {
            skipping = line != "]";
        } else if !line.starts_with("given = ") {
            independent.push_str(line);
            independent.push('\n');
        }
    }
    let score = |shape_text: &str, tag: &str| {
        let shape = dir.path().join(format!("{tag}.toml"));
        std::fs::write(&shape, shape_text).unwrap();
        let out = dir.path().join(tag);
        generate(&shape, 3000, &[], &out);
        let synth = out.join("lead.parquet");
        let c = compare(&real, &synth, 5).unwrap();
        let pair = c
            .pairs
            .iter()
            .find(|p| p.columns == ["Country", "Stage"])
            .unwrap_or_else(|| panic!("{}", c.render_table()))
            .score;
        // Country × phone spelling, scored as compare scores category pairs (1 − TVD of the
        // joint distribution).
        let joint = |path: &Path, column: &str| {
            let t = syncproof::quality::fuzzy::read_table(path).unwrap();
            let (p, k) = (t.column(column).unwrap(), t.column("Country").unwrap());
            let mut m = std::collections::HashMap::new();
            for row in &t.rows {
                if let (Some(p), Some(k)) = (&row[p], &row[k]) {
                    let format: String = p
                        .chars()
                        .map(|c| match c {
                            '0'..='9' => '#',
                            c if c.is_ascii_alphabetic() => '@',
                            c => c,
                        })
                        .collect();
                    *m.entry((format, k.clone())).or_insert(0u64) += 1;
                }
            }
            m
        };
        let similarity = |column: &str| {
            1.0 - syncproof::shape::profile::tvd(&joint(&real, column), &joint(&synth, column))
        };
        (pair, similarity("Phone"), similarity("Zip"), c)
    };
    let (kept, kept_spelling, kept_zip, c) = score(&learnt, "kept");
    let (apart, apart_spelling, apart_zip, _) = score(&independent, "apart");
    eprintln!(
        "country × stage: {apart:.3} independent → {kept:.3} kept; country × phone spelling: {apart_spelling:.3} → {kept_spelling:.3}; country × postal code format: {apart_zip:.3} → {kept_zip:.3}"
    );
    assert!(
        kept_zip >= 0.9 && kept_zip - apart_zip >= 0.2,
        "{apart_zip} → {kept_zip}"
    );
    assert!(
        kept >= 0.9 && kept - apart >= 0.1,
        "{apart} → {kept}\n{}",
        c.render_table()
    );
    assert!(
        kept_spelling >= 0.9 && kept_spelling - apart_spelling >= 0.3,
        "{apart_spelling} → {kept_spelling}"
    );
    assert!(c.pair_trends.unwrap() >= 0.9, "{}", c.render_table());
}

/// A FEBRL-style register whose street lines carry a house number in a planted 30% of rows (the
/// rest, as in FEBRL, keep the number in a column of its own): `profile` learns the share, the
/// twin writes numbers in as many lines, and the street column's format masks then match; the
/// one-word suburbs are a city column whose word count the twin keeps.
#[test]
fn the_share_of_street_lines_with_a_house_number_is_learnt_and_reproduced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    let streets = [
        "rees street",
        "wylly place",
        "mcevoy crescent",
        "burnie road",
        "ellery circuit",
        "carnegie avenue",
    ];
    // Suburbs of three syllables: 512 names, too many for an enum, so the city kind.
    let syllables = ["ber", "mon", "tal", "vik", "sor", "lan", "dre", "kus"];
    let mut d = Draws(0x57ee7);
    let mut text = String::from("rec_id,given_name,street_number,address_1,suburb,state\n");
    let rows = 2_000;
    let numbered = rows * 3 / 10;
    for i in 0..rows {
        let street = streets[d.below(6) as usize];
        let number = 1 + d.below(300);
        let line = if i % 10 < 3 {
            format!("{number} {street}")
        } else {
            street.to_string()
        };
        let suburb: String = (0..3).map(|_| syllables[d.below(8) as usize]).collect();
        text.push_str(&format!("rec-{i}-org,anna,{number},{line},{suburb},nsw\n"));
    }
    std::fs::write(&path, text).unwrap();
    let shape_text = profile_text(&path);
    let planted = numbered as f64 / rows as f64;
    let learnt = number_after(&shape_text, "house_number_rate");
    assert!(
        (learnt - planted).abs() < 1e-9,
        "learnt {learnt}, planted {planted}:\n{shape_text}"
    );

    let shape = Shape::from_source(&Source::embedded("learnt.toml", &shape_text)).unwrap();
    let column = shape
        .fields()
        .iter()
        .position(|f| f.kind == syncproof::shape::FieldKind::Street)
        .unwrap_or_else(|| panic!("no street field in\n{shape_text}"));
    let g = syncproof::generate::Generator::new(std::sync::Arc::new(shape), 9);
    let n = 10_000;
    let with_number = (0..n)
        .filter_map(|i| g.record(i).values[column].clone())
        .filter(|v| v.bytes().any(|b| b.is_ascii_digit()))
        .count();
    let share = with_number as f64 / n as f64;
    assert!((share - planted).abs() < 0.02, "{share} vs {planted}");

    // `compare` scores the street lines by format mask: the twin's now match the export's.
    let synth = dir.path().join("synth");
    let shape_path = dir.path().join("shape.toml");
    std::fs::write(&shape_path, &shape_text).unwrap();
    generate(&shape_path, 2000, &["--format", "csv"], &synth);
    let twin = std::fs::read_dir(&synth)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("a CSV twin");
    let c = compare(&path, &twin, 5).unwrap();
    let street = c
        .columns
        .iter()
        .find(|s| s.column == "address_1")
        .unwrap_or_else(|| panic!("{}", c.render_table()));
    assert!(street.score.unwrap() >= 0.9, "{}", c.render_table());
    // Suburbs are city columns, named in one word like these: the twin's city names are too.
    let suburb = c.columns.iter().find(|s| s.column == "suburb").unwrap();
    assert_eq!(suburb.kind, "City", "{}", c.render_table());
    assert!(suburb.score.unwrap() >= 0.9, "{}", c.render_table());
}
