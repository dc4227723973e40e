//! Streaming reader of an export (CSV, NDJSON, Parquet) for the profiler and `compare`: rows are
//! handed to a callback one at a time, so memory does not grow with the file. CSV is sniffed (BOM,
//! delimiter among `, ; \t |`, quoted newlines), cells that are not UTF-8 are decoded as Latin-1
//! with a warning, ragged rows are padded or cut with a warning naming the line. Every value is
//! text; an empty CSV cell, a JSON null and a Parquet null are `None` (absent), an empty JSON or
//! Parquet string is `Some("")` (blank).
//! `quality::fuzzy::table` (what `dupes` reads) is built on this reader.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Why an export could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
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
    Refused { path: PathBuf, message: String },
    #[error(
        "{path}: unknown export format (expected .csv, .ndjson/.jsonl or .parquet); rename the file to its format"
    )]
    UnknownFormat { path: PathBuf },
    #[error("{path}: the file is empty; export at least a header row and some records")]
    Empty { path: PathBuf },
    /// A header and no rows; the header's columns are kept for readers that accept that.
    #[error("{path}: the file has a header but no records; export some rows to profile")]
    NoRecords { path: PathBuf, columns: Vec<String> },
}

/// Something the reader repaired or decoded, to tell the user (at most a few per file are kept;
/// `count` says how many there were).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warnings {
    pub ragged_rows: u64,
    pub first_ragged_lines: Vec<u64>,
    pub latin1_cells: u64,
    pub first_latin1_line: Option<u64>,
}

impl Warnings {
    /// Human-readable lines, each naming the file and a line.
    pub fn lines(&self, path: &Path) -> Vec<String> {
        let mut out = Vec::new();
        if self.ragged_rows > 0 {
            out.push(format!(
                "{}: {} row(s) with a different number of cells than the header (lines {}); padded with blanks or cut",
                path.display(),
                self.ragged_rows,
                self.first_ragged_lines
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(line) = self.first_latin1_line {
            out.push(format!(
                "{}: {} cell(s) are not UTF-8 (first at line {line}); decoded as Latin-1 — re-export as UTF-8 to be sure",
                path.display(),
                self.latin1_cells
            ));
        }
        out
    }
}

/// The columns seen so far (NDJSON may add columns as it goes) and one row of cells aligned with
/// them (shorter when later rows add columns).
pub trait RowSink {
    fn row(&mut self, columns: &[String], cells: &[Option<String>]);
}

impl<F: FnMut(&[String], &[Option<String>])> RowSink for F {
    fn row(&mut self, columns: &[String], cells: &[Option<String>]) {
        self(columns, cells)
    }
}

/// What was read: the columns, the row count and the warnings.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    pub columns: Vec<String>,
    pub rows: u64,
    pub warnings: Warnings,
}

/// Streams an export by its extension. Refuses an empty file and a file with a header and no row.
pub fn stream_export(path: &Path, sink: &mut dyn RowSink) -> Result<ReadSummary, ExportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let summary = match ext.as_str() {
        "csv" | "tsv" | "txt" => stream_csv(path, sink)?,
        "ndjson" | "jsonl" | "json" => stream_ndjson(path, sink)?,
        "parquet" => stream_parquet(path, sink)?,
        _ => {
            return Err(ExportError::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
    };
    if summary.rows == 0 {
        let path = path.to_path_buf();
        return Err(if summary.columns.is_empty() {
            ExportError::Empty { path }
        } else {
            ExportError::NoRecords {
                path,
                columns: summary.columns,
            }
        });
    }
    Ok(summary)
}

fn open(path: &Path) -> Result<File, ExportError> {
    File::open(path).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The delimiter among `, ; \t |` that occurs most often outside quotes in the first line.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let candidates = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = candidates.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|i| (counts[*i], 4 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

fn decode(bytes: &[u8], line: u64, warnings: &mut Warnings) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            warnings.latin1_cells += 1;
            warnings.first_latin1_line.get_or_insert(line);
            bytes.iter().map(|b| char::from(*b)).collect()
        }
    }
}

fn stream_csv(path: &Path, sink: &mut dyn RowSink) -> Result<ReadSummary, ExportError> {
    let mut file = BufReader::with_capacity(1 << 16, open(path)?);
    let head = file.fill_buf().map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let delimiter = sniff_delimiter(if bom { &head[3..] } else { head });
    if bom {
        file.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        // `\n` alone ends a record, so line numbers stay right in CRLF files; the `\r` left on
        // the last cell is cut below.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(file);
    let mut summary = ReadSummary::default();
    let mut record = csv::ByteRecord::new();
    let mut cells: Vec<Option<String>> = Vec::new();
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| ExportError::Line {
                path: path.to_path_buf(),
                line: e.position().map_or(0, |p| p.line()),
                message: format!("{e}; fix the quoting on that line"),
            })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.as_slice().ends_with(b"\r") {
            let mut fields: Vec<Vec<u8>> = record.iter().map(<[u8]>::to_vec).collect();
            if let Some(last) = fields.last_mut() {
                last.pop();
            }
            let position = record.position().cloned();
            record = csv::ByteRecord::from(fields);
            record.set_position(position);
        }
        if summary.columns.is_empty() {
            summary.columns = record
                .iter()
                .map(|c| decode(c, line, &mut summary.warnings).trim().to_string())
                .collect();
            continue;
        }
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        if record.len() != summary.columns.len() {
            summary.warnings.ragged_rows += 1;
            if summary.warnings.first_ragged_lines.len() < 5 {
                summary.warnings.first_ragged_lines.push(line);
            }
        }
        cells.clear();
        for i in 0..summary.columns.len() {
            // A CSV cannot tell absent from blank: an empty cell is absent.
            cells.push(
                record
                    .get(i)
                    .filter(|c| !c.is_empty())
                    .map(|c| decode(c, line, &mut summary.warnings)),
            );
        }
        summary.rows += 1;
        sink.row(&summary.columns, &cells);
    }
    Ok(summary)
}

fn stream_ndjson(path: &Path, sink: &mut dyn RowSink) -> Result<ReadSummary, ExportError> {
    let mut summary = ReadSummary::default();
    let mut reader = BufReader::new(open(path)?);
    let mut bytes = Vec::new();
    let mut n = 0u64;
    loop {
        bytes.clear();
        let read = reader
            .by_ref()
            .read_until(b'\n', &mut bytes)
            .map_err(|source| ExportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        n += 1;
        let line = decode(&bytes, n, &mut summary.warnings);
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ExportError::Line {
            path: path.to_path_buf(),
            line: n,
            message,
        };
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| bad(format!("not JSON: {e}; one JSON object per line")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("expected one JSON object per line".into()))?;
        let mut cells = vec![None; summary.columns.len()];
        for (key, v) in object {
            let i = match summary.columns.iter().position(|c| c == key) {
                Some(i) => i,
                None => {
                    summary.columns.push(key.clone());
                    cells.push(None);
                    summary.columns.len() - 1
                }
            };
            cells[i] = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
        }
        summary.rows += 1;
        sink.row(&summary.columns, &cells);
    }
    Ok(summary)
}

fn stream_parquet(path: &Path, sink: &mut dyn RowSink) -> Result<ReadSummary, ExportError> {
    let format = |message: String| ExportError::Refused {
        path: path.to_path_buf(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
        .and_then(|b| b.build())
        .map_err(|e| format(format!("not a readable Parquet file: {e}")))?;
    let mut summary = ReadSummary {
        columns: reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        ..ReadSummary::default()
    };
    let mut cells = Vec::with_capacity(summary.columns.len());
    for batch in reader {
        let batch = batch.map_err(|e| format(format!("cannot read a row group: {e}")))?;
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| {
                // A zoned timestamp holds UTC instants: read them as naive UTC (casting a named
                // zone to text would need a time-zone database).
                let c = match c.data_type() {
                    arrow_schema::DataType::Timestamp(unit, Some(_)) => arrow_array::make_array(
                        c.to_data()
                            .into_builder()
                            .data_type(arrow_schema::DataType::Timestamp(*unit, None))
                            .build()
                            .map_err(|e| format(format!("a timestamp column: {e}")))?,
                    ),
                    _ => c.clone(),
                };
                arrow_cast::cast(&c, &arrow_schema::DataType::Utf8)
                    .map_err(|e| format(format!("a column cannot be read as text: {e}")))
            })
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            cells.clear();
            cells.extend(columns.iter().map(|c| {
                let c = c.as_string::<i32>();
                (!c.is_null(row)).then(|| c.value(row).to_string())
            }));
            summary.rows += 1;
            sink.row(&summary.columns, &cells);
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = Vec<Vec<Option<String>>>;

    fn read(name: &str, bytes: &[u8]) -> Result<(ReadSummary, Rows), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut rows = Vec::new();
        let summary = stream_export(&path, &mut |_: &[String], cells: &[Option<String>]| {
            rows.push(cells.to_vec())
        })
        .map_err(|e| e.to_string())?;
        Ok((summary, rows))
    }

    #[test]
    fn csv_is_sniffed_bom_stripped_latin1_decoded_ragged_padded() {
        let (s, rows) = read(
            "x.csv",
            b"\xEF\xBB\xBFid;name;note\n1;\"M\xFCller; Jo\";\"two\nlines\"\n2;Bo\n",
        )
        .unwrap();
        assert_eq!(s.columns, ["id", "name", "note"]);
        assert_eq!(rows[0][1].as_deref(), Some("Müller; Jo"));
        assert_eq!(rows[0][2].as_deref(), Some("two\nlines"));
        assert_eq!(rows[1][2], None);
        assert_eq!(s.warnings.latin1_cells, 1);
        assert_eq!(s.warnings.first_ragged_lines, [4]);
        let lines = s.warnings.lines(Path::new("x.csv")).join("\n");
        assert!(
            lines.contains("lines 4") && lines.contains("Latin-1"),
            "{lines}"
        );
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter(b"a\tb\tc\n1,2\t3"), b'\t');
        assert_eq!(sniff_delimiter(b"a|b|\"c,d,e\"\n"), b'|');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
    }

    #[test]
    fn empty_and_header_only_files_are_refused() {
        let e = read("e.csv", b"").unwrap_err();
        assert!(e.contains("e.csv: the file is empty"), "{e}");
        let e = read("h.csv", b"a,b\n").unwrap_err();
        assert!(
            e.contains("h.csv: the file has a header but no records"),
            "{e}"
        );
        let e = read("n.ndjson", b"{\"a\":1}\n[2]\n").unwrap_err();
        assert!(e.contains("n.ndjson: line 2"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Whatever the bytes, a CSV is read or refused with a message, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::Just(b','), proptest::prelude::Just(b';'),
                proptest::prelude::Just(b'"'), proptest::prelude::Just(b'\n'),
                proptest::prelude::Just(b'\r'), proptest::prelude::Just(0xFCu8),
                proptest::prelude::any::<u8>(),
            ],
            0..300,
        )) {
            let _ = read("p.csv", &bytes);
            let _ = read("p.ndjson", &bytes);
        }
    }
}
