//! A table of strings from an export (CSV with a header row, NDJSON, or Parquet), what
//! `syncproof dupes` reads, built on the profiler's streaming reader (shape stage, to the left). Every value is kept as text (numbers and timestamps as they print);
//! an empty cell or a JSON null is `None`. Errors name the file and the line or column.

use std::path::{Path, PathBuf};

use crate::shape::profile::{ExportError, stream_export};

/// Column names and rows of text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Why an export could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: line {line}: {message}")]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error(
        "{path}: unknown export format (expected .csv, .ndjson/.jsonl or .parquet); rename the file to its format"
    )]
    UnknownFormat { path: PathBuf },
}

/// Reads an export by its extension, with the profiler's streaming reader
/// ([`crate::shape::profile::stream_export`]: sniffed CSV delimiter, BOM, Latin-1 fallback), but
/// strictly: a row with the wrong number of cells is an error naming its line, and an empty
/// string is absent (`None`), as an empty CSV cell is.
pub fn read_table(path: &Path) -> Result<Table, TableError> {
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let summary = match stream_export(path, &mut |_: &[String], cells: &[Option<String>]| {
        rows.push(
            cells
                .iter()
                .map(|c| c.clone().filter(|v| !v.is_empty()))
                .collect(),
        );
    }) {
        Ok(summary) => summary,
        // An export with a header and no rows has no duplicates: an empty table, not an error.
        Err(ExportError::Refused { message, .. }) if message.contains("header but no records") => {
            return Ok(Table {
                columns: header_of(path),
                rows,
            });
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(line) = summary.warnings.first_ragged_lines.first() {
        return Err(TableError::Line {
            path: path.to_path_buf(),
            line: *line,
            message: "this row has a different number of cells than the header (every row needs as many cells as the header)".into(),
        });
    }
    let width = summary.columns.len();
    for row in &mut rows {
        row.resize(width, None);
    }
    Ok(Table {
        columns: summary.columns,
        rows,
    })
}

/// The header row of a CSV file with no records.
fn header_of(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = text.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(&text);
    let delimiter = crate::shape::profile::sniff_delimiter(text);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text)
        .headers()
        .map(|h| h.iter().map(|c| c.trim().to_string()).collect())
        .unwrap_or_default()
}

impl From<ExportError> for TableError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Io { path, source } => TableError::Io { path, source },
            ExportError::Line {
                path,
                line,
                message,
            } => TableError::Line {
                path,
                line,
                message,
            },
            ExportError::Refused { path, message }
                if message.starts_with("unknown export format") =>
            {
                TableError::UnknownFormat { path }
            }
            ExportError::Refused { path, message } => TableError::Format { path, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_ndjson_read_to_the_same_table() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, "id,name,email\n1,\"Doe, Jane\",j@a.com\n2,Bo,\n").unwrap();
        let nd = dir.path().join("x.ndjson");
        std::fs::write(
            &nd,
            "{\"id\":\"1\",\"name\":\"Doe, Jane\",\"email\":\"j@a.com\"}\n\n{\"id\":\"2\",\"name\":\"Bo\",\"email\":null}\n",
        )
        .unwrap();
        let a = read_table(&csv).unwrap();
        let b = read_table(&nd).unwrap();
        assert_eq!(a.rows.len(), b.rows.len());
        for (i, name) in a.columns.iter().enumerate() {
            let j = b.column(name).unwrap();
            let column =
                |t: &Table, k: usize| t.rows.iter().map(|r| r[k].clone()).collect::<Vec<_>>();
            assert_eq!(column(&a, i), column(&b, j), "{name}");
        }
        assert_eq!(a.rows[1], vec![Some("2".into()), Some("Bo".into()), None]);
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let nd = dir.path().join("x.ndjson");
        std::fs::write(&nd, "{\"id\":1}\n[1,2]\n").unwrap();
        let err = read_table(&nd).unwrap_err().to_string();
        assert!(
            err.contains("x.ndjson: line 2: expected one JSON object"),
            "{err}"
        );
        let csv = dir.path().join("y.csv");
        std::fs::write(&csv, "a,b\n1,2\n3\n").unwrap();
        let err = read_table(&csv).unwrap_err().to_string();
        assert!(err.contains("y.csv: line 3"), "{err}");
        let err = read_table(&dir.path().join("z.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown export format"), "{err}");
    }
}
