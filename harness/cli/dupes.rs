//! `syncproof dupes EXPORT --id COLUMN [--out pairs.csv] [--threshold F]`: the near-duplicate
//! pairs of any export (CSV, NDJSON, Parquet) with the engine the report uses
//! ([`crate::quality::fuzzy`]), written as CSV `left_id,right_id,score` (header first), so an
//! engineer can measure the duplicate rate of a CRM before and after the integration.
//! Identifying columns are recognised by name (`firstname`, `email`, `phone`, `company`, …), or
//! mapped explicitly (`--field COLUMN=ROLE`, `--roles roles.toml`) for exports with other columns
//! (addresses, postcodes, birth dates, other identifiers).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Exit;
use crate::config::suggest_closest;
use crate::quality::fuzzy::{FieldMap, Role, find_pairs, read_people};

pub fn dupes(
    export: &Path,
    id: &str,
    out: Option<&PathBuf>,
    threshold: f64,
    fields: Vec<(String, Role)>,
    roles: Option<&Path>,
) -> Exit {
    let mut map = match roles.map(FieldMap::read).transpose() {
        Ok(map) => map.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: --roles {e}");
            return Exit::BadInput;
        }
    };
    map.0.extend(fields);
    let table = match read_people(export, id, &map) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if !table.columns.iter().any(|c| c == id) {
        let hint = suggest_closest(id, &table.columns)
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        eprintln!(
            "error: {}: no column \"{id}\" for --id{hint}; columns: {}",
            export.display(),
            table.columns.join(", ")
        );
        return Exit::BadInput;
    }
    if table.roles.is_empty() {
        eprintln!(
            "error: {}: no identifying column (expected some of firstname, lastname, name, email, phone, company, or map columns with --field COLUMN=ROLE); columns: {}",
            export.display(),
            table.columns.join(", ")
        );
        return Exit::BadInput;
    }
    let pairs = find_pairs(&table.people, threshold);
    let mut text = String::from("left_id,right_id,score\n");
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let cell = |row: u32| table.ids[row as usize].clone().unwrap_or_default();
    for p in &pairs {
        let score = format!("{:.4}", p.score);
        if writer
            .write_record([cell(p.left), cell(p.right), score])
            .is_err()
        {
            eprintln!("error: cannot format pair ({}, {})", p.left, p.right);
            return Exit::RunFailed;
        }
    }
    text.push_str(&String::from_utf8_lossy(
        &writer.into_inner().unwrap_or_default(),
    ));
    let written = match out {
        Some(path) => std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("stdout: {e}")),
    };
    if let Err(e) = written {
        eprintln!("error: cannot write {e}");
        return Exit::RunFailed;
    }
    eprintln!(
        "{}: {} records, {} near-duplicate pairs at score >= {threshold}{}",
        export.display(),
        table.people.len(),
        pairs.len(),
        out.map(|p| format!(" → {}", p.display()))
            .unwrap_or_default()
    );
    Exit::Pass
}
