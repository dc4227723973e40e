//! A table of strings from an export (CSV with a header row, NDJSON, or Parquet), what
//! `syncproof dupes` reads. Every value is kept as text (numbers and timestamps as they print);
//! an empty cell or a JSON null is `None`. Errors name the file and the line or column.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::RecordBatchReader;
use arrow_array::cast::AsArray;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

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

/// Reads an export by its extension.
pub fn read_table(path: &Path) -> Result<Table, TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => read_csv(path),
        "ndjson" | "jsonl" | "json" => read_ndjson(path),
        "parquet" => read_parquet(path),
        _ => Err(TableError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

fn open(path: &Path) -> Result<File, TableError> {
    File::open(path).map_err(|source| TableError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_csv(path: &Path) -> Result<Table, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(open(path)?);
    let line_error = |e: csv::Error| TableError::Line {
        path: path.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        message: format!("{e} (every row needs as many cells as the header)"),
    };
    let columns: Vec<String> = reader
        .headers()
        .map_err(line_error)?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(line_error)?;
        rows.push(
            record
                .iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        );
    }
    Ok(Table { columns, rows })
}

fn read_ndjson(path: &Path) -> Result<Table, TableError> {
    let mut table = Table::default();
    for (n, line) in BufReader::new(open(path)?).lines().enumerate() {
        let line = line.map_err(|source| TableError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| TableError::Line {
            path: path.to_path_buf(),
            line: n as u64 + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("expected one JSON object per line".into()))?;
        let mut row = vec![None; table.columns.len()];
        for (key, v) in object {
            let i = match table.column(key) {
                Some(i) => i,
                None => {
                    table.columns.push(key.clone());
                    row.push(None);
                    table.columns.len() - 1
                }
            };
            row[i] = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.is_empty() => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
        }
        table.rows.push(row);
    }
    let width = table.columns.len();
    for row in &mut table.rows {
        row.resize(width, None);
    }
    Ok(table)
}

fn read_parquet(path: &Path) -> Result<Table, TableError> {
    let format = |message: String| TableError::Format {
        path: path.to_path_buf(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
        .and_then(|b| b.build())
        .map_err(|e| format(format!("not a readable Parquet file: {e}")))?;
    let mut table = Table {
        columns: reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        rows: Vec::new(),
    };
    for batch in reader {
        let batch = batch.map_err(|e| format(format!("cannot read a row group: {e}")))?;
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| {
                arrow_cast::cast(c, &arrow_schema::DataType::Utf8)
                    .map_err(|e| format(format!("a column cannot be read as text: {e}")))
            })
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            table.rows.push(
                columns
                    .iter()
                    .map(|c| {
                        let c = c.as_string::<i32>();
                        (!c.is_null(row) && !c.value(row).is_empty())
                            .then(|| c.value(row).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok(table)
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
