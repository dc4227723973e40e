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

/// A register of people in the FEBRL style (names, street address, suburb, postcode, state,
/// birth date, social security number; no email, phone or company): `n` people and a labelled
/// corrupted copy of every third, with FEBRL's kinds of corruption (a typo, a missing value,
/// swapped names, a mistyped digit in the birth date or the number, another street number).
/// Namesakes (same given name and surname, nothing else in common) are the hard negatives.
fn register(n: usize) -> (String, std::collections::BTreeSet<(String, String)>) {
    use rand::{Rng, SeedableRng};
    const GIVEN: [&str; 12] = [
        "mitchell", "harley", "madeline", "isabella", "joshua", "chloe", "liam", "emily", "jack",
        "ruby", "thomas", "grace",
    ];
    const SURNAME: [&str; 12] = [
        "green", "mccarthy", "mason", "white", "campbell", "ryan", "kelly", "brown", "nguyen",
        "taylor", "walker", "morrison",
    ];
    const STREET: [&str; 8] = [
        "wallaby place",
        "hoseason street",
        "stanley street",
        "pinkerton circuit",
        "moresby crescent",
        "tulloch street",
        "florey avenue",
        "kitchener road",
    ];
    const SUBURB: [&str; 6] = [
        "cleveland",
        "marsden",
        "granville",
        "richlands",
        "winston hills",
        "toowoomba",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let typo = |rng: &mut rand_chacha::ChaCha8Rng, s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        let i = rng.random_range(1..c.len());
        c.swap(i - 1, i);
        c.into_iter().collect::<String>()
    };
    let mut people: Vec<[String; 9]> = Vec::new();
    for _ in 0..n {
        people.push([
            GIVEN[rng.random_range(0..12)].into(),
            SURNAME[rng.random_range(0..12)].into(),
            rng.random_range(1..300).to_string(),
            STREET[rng.random_range(0..8)].into(),
            SUBURB[rng.random_range(0..6)].into(),
            rng.random_range(2000..7000).to_string(),
            ["nsw", "vic", "qld"][rng.random_range(0..3)].into(),
            format!(
                "19{:02}{:02}{:02}",
                rng.random_range(10..99),
                rng.random_range(1..13),
                rng.random_range(1..29)
            ),
            rng.random_range(1_000_000..9_999_999).to_string(),
        ]);
    }
    let mut text = String::from(
        "rec_id,given_name,surname,street_number,address_1,suburb,postcode,state,date_of_birth,soc_sec_id\n",
    );
    let mut truth = std::collections::BTreeSet::new();
    let row = |id: String, p: &[String; 9], text: &mut String| {
        text.push_str(&format!("{id},{}\n", p.join(",")));
    };
    for (i, p) in people.iter().enumerate() {
        row(format!("rec-{i}-org"), p, &mut text);
    }
    for (i, p) in people.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let mut d = p.clone();
        match (i / 3) % 6 {
            0 => d[1] = typo(&mut rng, &d[1]),
            1 => d[0] = String::new(),
            2 => d.swap(0, 1),
            3 => d[7] = typo(&mut rng, &d[7]),
            4 => d[8] = typo(&mut rng, &d[8]),
            _ => d[2] = (d[2].parse::<u32>().unwrap() + 1).to_string(),
        }
        // A second corruption on every other duplicate: a suburb or postcode typo.
        if i % 2 == 0 {
            d[4] = typo(&mut rng, &d[4]);
        } else {
            d[5] = typo(&mut rng, &d[5]);
        }
        row(format!("rec-{i}-dup-0"), &d, &mut text);
        truth.insert((format!("rec-{i}-org"), format!("rec-{i}-dup-0")));
    }
    for (i, p) in people.iter().enumerate().filter(|(i, _)| i % 5 == 1) {
        // Same names, everything else another person's (drawn afresh, not copied).
        let namesake = [
            p[0].clone(),
            p[1].clone(),
            rng.random_range(300..600).to_string(),
            STREET[rng.random_range(0..8)].into(),
            SUBURB[rng.random_range(0..6)].into(),
            rng.random_range(2000..7000).to_string(),
            p[6].clone(),
            format!(
                "19{:02}0{}15",
                rng.random_range(10..99),
                rng.random_range(1..10)
            ),
            rng.random_range(1_000_000..9_999_999).to_string(),
        ];
        row(format!("rec-{i}-namesake"), &namesake, &mut text);
    }
    (text, truth)
}

#[test]
fn a_register_without_crm_columns_is_deduplicated_through_a_role_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("register.csv");
    let (text, truth) = register(600);
    std::fs::write(&csv, text).unwrap();
    let run = |extra: &[&str]| {
        let out = dir.path().join("pairs.csv");
        let done = syncproof()
            .arg("dupes")
            .arg(&csv)
            .args(["--id", "rec_id", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let found: std::collections::BTreeSet<(String, String)> = pairs(&out)[1..]
            .iter()
            .map(|l| {
                let mut cells = l.split(',');
                let (a, b) = (cells.next().unwrap(), cells.next().unwrap());
                // The original's id sorts first in the truth: rec-N-org < rec-N-dup-0 is not
                // guaranteed lexically, so order each pair as the truth does.
                if a.ends_with("-org") {
                    (a.to_string(), b.to_string())
                } else {
                    (b.to_string(), a.to_string())
                }
            })
            .collect();
        let hits = found.intersection(&truth).count() as f64;
        (
            hits / found.len().max(1) as f64,
            hits / truth.len() as f64,
            found,
        )
    };
    let roles = dir.path().join("roles.toml");
    std::fs::write(
        &roles,
        "[fields]\ngiven_name = \"first_name\"\nsurname = \"last_name\"\nstreet_number = \"address\"\naddress_1 = \"address\"\n",
    )
    .unwrap();
    let (precision, recall, found) = run(&[
        "--roles",
        roles.to_str().unwrap(),
        "--field",
        "suburb=city",
        "--field",
        "postcode=postcode",
        "--field",
        "date_of_birth=birth_date",
        "--field",
        "soc_sec_id=id_number",
    ]);
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision}, recall {recall}: {} pairs, missed {:?}, wrong {:?}",
        found.len(),
        truth.difference(&found).take(5).collect::<Vec<_>>(),
        found.difference(&truth).take(5).collect::<Vec<_>>()
    );
    // Recognised by name alone, only the two name columns count: namesakes pass as duplicates
    // and duplicates with a name typo are missed.
    let (guessed_precision, _, _) = run(&[]);
    assert!(
        guessed_precision < 0.9,
        "names alone should not separate namesakes: precision {guessed_precision}"
    );
}

#[test]
fn a_bad_role_mapping_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("register.csv");
    std::fs::write(&csv, "rec_id,given_name,surname,dob\n1,ann,lee,19560124\n").unwrap();
    for (args, expected) in [
        (
            vec!["--field", "given_name=forename"],
            "unknown role \"forename\"",
        ),
        (
            vec!["--field", "birth=birth_date"],
            "no column \"birth\" for --field (columns: rec_id, given_name, surname, dob)",
        ),
        (
            vec![
                "--field",
                "given_name=first_name",
                "--field",
                "surname=first_name",
            ],
            "role first_name is given to two columns",
        ),
        (vec!["--roles", "missing.toml"], "--roles missing.toml"),
    ] {
        let done = syncproof()
            .arg("dupes")
            .arg(&csv)
            .args(["--id", "rec_id"])
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(done.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
