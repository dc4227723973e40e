//! Writes generated rows of one object with their ground truth, as Parquet (default), CSV or
//! NDJSON: `record_idx`, `external_id`, one UTF-8 column per field (null = absent in the source),
//! `defects` (comma-separated labels) and `dup_of` (the external id a near-duplicate copies, else
//! null). A Parquet file carries the shape, seed and object in its key-value metadata, so it says
//! how to make it again. Files appear under their final name only when complete; rows are
//! buffered in record batches, so memory does not grow with the row count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{Record, Version};
use crate::parquet_out::{ParquetOut, ParquetOutError};
use crate::shape::{FieldKind, FieldSpec, ObjectShape, Params, Shape};

const BATCH_ROWS: usize = 8192;

/// The file format of generated rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Parquet,
    Csv,
    Ndjson,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "parquet" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            _ => Err(format!("{s:?}: the format is parquet, csv or ndjson")),
        }
    }
}

/// The Arrow schema of the root object's rows.
pub fn record_schema(shape: &Shape) -> SchemaRef {
    object_schema(shape.root())
}

/// The Arrow schema of one object's rows.
pub fn object_schema(object: &ObjectShape) -> SchemaRef {
    let mut fields = vec![
        Field::new("record_idx", DataType::UInt64, false),
        Field::new("external_id", DataType::Utf8, false),
    ];
    fields.extend(object.fields.iter().map(value_field));
    fields.push(Field::new("defects", DataType::Utf8, false));
    fields.push(Field::new("dup_of", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// The Parquet column of one field: integers as int64, decimals as decimal128(38, scale),
/// booleans as bool, dates as date32, timestamps as timestamp(µs, UTC), everything else as
/// UTF-8. Always nullable: a typed column holds null where the source value is blank (`""`).
fn value_field(f: &FieldSpec) -> Field {
    Field::new(&f.name, value_type(f), true)
}

fn value_type(f: &FieldSpec) -> DataType {
    match (f.kind, &f.params) {
        (FieldKind::Integer, _) => DataType::Int64,
        (FieldKind::Decimal, Params::Number { scale, .. }) => {
            DataType::Decimal128(38, *scale as i8)
        }
        (FieldKind::Boolean, _) => DataType::Boolean,
        (FieldKind::Date, _) => DataType::Date32,
        (FieldKind::Timestamp, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => DataType::Utf8,
    }
}

/// One field's column, typed as [`value_field`] says; fills from the generator's text values.
#[derive(Debug)]
enum ValueColumn {
    Text(StringBuilder),
    Int(Int64Builder),
    Decimal(Decimal128Builder, u32),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Time(TimestampMicrosecondBuilder),
}

impl ValueColumn {
    fn new(data_type: &DataType, rows: usize) -> ValueColumn {
        match data_type {
            DataType::Int64 => ValueColumn::Int(Int64Builder::with_capacity(rows)),
            DataType::Decimal128(p, s) => ValueColumn::Decimal(
                Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(*p, *s)
                    .expect("a valid decimal type"),
                *s as u32,
            ),
            DataType::Boolean => ValueColumn::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Date32 => ValueColumn::Date(Date32Builder::with_capacity(rows)),
            DataType::Timestamp(..) => ValueColumn::Time(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
            _ => ValueColumn::Text(StringBuilder::with_capacity(rows, rows * 16)),
        }
    }

    fn append(&mut self, value: Option<&str>) {
        match self {
            ValueColumn::Text(b) => b.append_option(value),
            ValueColumn::Int(b) => b.append_option(value.and_then(|v| v.parse().ok())),
            ValueColumn::Decimal(b, scale) => {
                b.append_option(value.and_then(|v| parse_decimal(v, *scale)))
            }
            ValueColumn::Bool(b) => b.append_option(value.and_then(|v| match v {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })),
            ValueColumn::Date(b) => b.append_option(value.and_then(parse_date)),
            ValueColumn::Time(b) => b.append_option(value.and_then(parse_timestamp_us)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ValueColumn::Text(b) => Arc::new(b.finish()),
            ValueColumn::Int(b) => Arc::new(b.finish()),
            ValueColumn::Decimal(b, _) => Arc::new(b.finish()),
            ValueColumn::Bool(b) => Arc::new(b.finish()),
            ValueColumn::Date(b) => Arc::new(b.finish()),
            ValueColumn::Time(b) => Arc::new(b.finish()),
        }
    }
}

/// `-12.30` at scale 2 → `-1230`; `None` when it is not a plain decimal.
fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || frac.len() > scale as usize {
        return None;
    }
    let mut n: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    n = n.checked_mul(10i128.pow(scale - frac.len() as u32))?;
    Some(if negative { -n } else { n })
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (proleptic Gregorian).
fn parse_date(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// Microseconds since the epoch of an RFC 3339 timestamp (`2024-05-01T12:00:00Z`; other
/// spellings through humantime).
fn parse_timestamp_us(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() == 20 && b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' {
        let days = i64::from(parse_date(&text[..10])?);
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
        let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h < 24 && m < 60 && s < 61 {
            return Some((days * 86_400 + h * 3_600 + m * 60 + s) * 1_000_000);
        }
        return None;
    }
    let at = humantime::parse_rfc3339_weak(text).ok()?;
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_micros()).ok()
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Arrow schema of one object's update file: `record_idx`, `external_id`, `version`, `op`
/// (`update` | `delete`), one column per field (null = unchanged) and `changed` (the names of
/// the fields the version changes, comma-separated).
pub fn update_schema(object: &ObjectShape) -> SchemaRef {
    let mut fields = vec![
        Field::new("record_idx", DataType::UInt64, false),
        Field::new("external_id", DataType::Utf8, false),
        Field::new("version", DataType::UInt32, false),
        Field::new("op", DataType::Utf8, false),
    ];
    fields.extend(object.fields.iter().map(value_field));
    fields.push(Field::new("changed", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// How generated Parquet pages are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Codec {
    /// Snappy (the default): files about half the size for little CPU; every reader has it.
    #[default]
    Snappy,
    /// No compression: the fastest to write, the largest files.
    None,
}

impl Codec {
    fn compression(self) -> Compression {
        match self {
            Codec::Snappy => Compression::SNAPPY,
            Codec::None => Compression::UNCOMPRESSED,
        }
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Codec, String> {
        match s {
            "snappy" => Ok(Codec::Snappy),
            "none" | "uncompressed" => Ok(Codec::None),
            _ => Err(format!("{s:?}: the compression is snappy or none")),
        }
    }
}

/// Streams rows of one object into one file.
///
/// ```
/// use std::sync::Arc;
/// use syncproof::generate::{Generator, RecordWriter};
/// use syncproof::shape::Shape;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("contact.parquet");
/// let generator = Generator::new(Arc::new(Shape::demo()), 42);
/// let mut writer = RecordWriter::create(&path, generator.shape(), 42).unwrap();
/// for i in 0..100 {
///     writer.push(&generator.record(i)).unwrap();
/// }
/// writer.finish().unwrap();
///
/// let file = std::fs::File::open(&path).unwrap();
/// let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
///     .unwrap()
///     .build()
///     .unwrap();
/// let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
/// assert_eq!(rows, 100);
/// ```
pub struct RecordWriter {
    sink: Sink,
    schema: SchemaRef,
    batch: BatchBuilder,
    line: String,
}

enum Sink {
    Parquet(Box<ParquetOut>),
    Text {
        out: BufWriter<File>,
        tmp: PathBuf,
        path: PathBuf,
        format: Format,
    },
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match &self.sink {
            Sink::Parquet(out) => format!("{out:?}"),
            Sink::Text { path, .. } => path.display().to_string(),
        };
        f.debug_struct("RecordWriter").field("out", &path).finish()
    }
}

impl RecordWriter {
    /// A Parquet file of the shape's root object.
    pub fn create(path: &Path, shape: &Shape, seed: u64) -> Result<RecordWriter, ParquetOutError> {
        RecordWriter::create_for(path, shape, shape.root, seed, Format::Parquet)
    }

    /// A file of object number `object`, in `format`.
    pub fn create_for(
        path: &Path,
        shape: &Shape,
        object: usize,
        seed: u64,
        format: Format,
    ) -> Result<RecordWriter, ParquetOutError> {
        let spec = &shape.objects[object];
        let schema = object_schema(spec);
        let io = |source| ParquetOutError::Io {
            path: path.to_path_buf(),
            source,
        };
        let sink = match format {
            Format::Parquet => Sink::Parquet(Box::new(ParquetOut::with_properties(
                path,
                Arc::clone(&schema),
                parquet_properties(shape, object, seed, Codec::default()),
            )?)),
            Format::Csv | Format::Ndjson => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let tmp = path.with_extension(format!("{}.tmp", format.extension()));
                let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
                if format == Format::Csv {
                    let header: Vec<String> =
                        schema.fields().iter().map(|f| csv_cell(f.name())).collect();
                    writeln!(out, "{}", header.join(",")).map_err(io)?;
                }
                Sink::Text {
                    out,
                    tmp,
                    path: path.to_path_buf(),
                    format,
                }
            }
        };
        Ok(RecordWriter {
            sink,
            batch: BatchBuilder::new(Arc::clone(&schema)),
            schema,
            line: String::new(),
        })
    }

    pub fn push(&mut self, record: &Record) -> Result<(), ParquetOutError> {
        if let Sink::Text {
            out, path, format, ..
        } = &mut self.sink
        {
            self.line.clear();
            match format {
                Format::Csv => csv_line(&mut self.line, record),
                _ => json_line(&mut self.line, &self.schema, record),
            }
            return out
                .write_all(self.line.as_bytes())
                .map_err(|source| ParquetOutError::Io {
                    path: path.clone(),
                    source,
                });
        }
        self.batch.push(record);
        if self.batch.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParquetOutError> {
        let Sink::Parquet(out) = &mut self.sink else {
            return Ok(());
        };
        if self.batch.is_empty() {
            return Ok(());
        }
        out.write(&self.batch.finish())
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(mut self) -> Result<PathBuf, ParquetOutError> {
        self.flush()?;
        match self.sink {
            Sink::Parquet(out) => out.close(),
            Sink::Text { out, tmp, path, .. } => {
                let io = |source| ParquetOutError::Io {
                    path: path.clone(),
                    source,
                };
                let file = out.into_inner().map_err(|e| io(e.into_error()))?;
                file.sync_all().map_err(io)?;
                std::fs::rename(&tmp, &path).map_err(io)?;
                Ok(path)
            }
        }
    }
}

/// Arrow columns of one object's rows, filled row by row; what a worker thread hands the writer.
#[derive(Debug)]
pub struct BatchBuilder {
    schema: SchemaRef,
    idx: UInt64Builder,
    ids: StringBuilder,
    columns: Vec<ValueColumn>,
    defects: StringBuilder,
    dup_of: StringBuilder,
    rows: usize,
    labels: String,
}

impl BatchBuilder {
    /// Columns for `schema` (from [`object_schema`]).
    pub fn new(schema: SchemaRef) -> BatchBuilder {
        BatchBuilder::with_capacity(schema, 0)
    }

    /// Columns sized for `rows` rows, so filling them never reallocates on typical values.
    pub fn with_capacity(schema: SchemaRef, rows: usize) -> BatchBuilder {
        let n_fields = schema.fields().len() - 4;
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        BatchBuilder {
            idx: UInt64Builder::with_capacity(rows),
            ids: text(24),
            columns: schema.fields()[2..2 + n_fields]
                .iter()
                .map(|f| ValueColumn::new(f.data_type(), rows))
                .collect(),
            schema,
            defects: text(4),
            dup_of: text(1),
            rows: 0,
            labels: String::new(),
        }
    }

    pub fn push(&mut self, record: &Record) {
        self.idx.append_value(record.idx);
        self.ids.append_value(&record.external_id);
        for (column, value) in self.columns.iter_mut().zip(&record.values) {
            column.append(value.as_deref());
        }
        self.labels.clear();
        for (i, label) in record.defects.iter().enumerate() {
            if i > 0 {
                self.labels.push(',');
            }
            self.labels.push_str(label);
        }
        self.defects.append_value(&self.labels);
        self.dup_of.append_option(record.dup_of.as_deref());
        self.rows += 1;
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows pushed so far, as one batch; the builder starts empty again.
    pub fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> =
            vec![Arc::new(self.idx.finish()), Arc::new(self.ids.finish())];
        arrays.extend(self.columns.iter_mut().map(ValueColumn::finish));
        arrays.push(Arc::new(self.defects.finish()));
        arrays.push(Arc::new(self.dup_of.finish()));
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .expect("builders match the schema by construction")
    }
}

/// Arrow columns of one object's versions, filled version by version.
#[derive(Debug)]
pub struct VersionBatchBuilder {
    schema: SchemaRef,
    idx: UInt64Builder,
    ids: StringBuilder,
    version: UInt32Builder,
    op: StringBuilder,
    columns: Vec<ValueColumn>,
    changed: StringBuilder,
    names: Vec<String>,
    labels: String,
}

impl VersionBatchBuilder {
    /// Columns for `schema` (from [`update_schema`]), sized for `rows` versions.
    pub fn with_capacity(schema: SchemaRef, rows: usize) -> VersionBatchBuilder {
        let value_fields = &schema.fields()[4..schema.fields().len() - 1];
        let names: Vec<String> = value_fields.iter().map(|f| f.name().clone()).collect();
        let columns = value_fields
            .iter()
            .map(|f| ValueColumn::new(f.data_type(), rows))
            .collect();
        let text = |bytes: usize| StringBuilder::with_capacity(rows, rows * bytes);
        VersionBatchBuilder {
            idx: UInt64Builder::with_capacity(rows),
            ids: text(24),
            version: UInt32Builder::with_capacity(rows),
            op: text(6),
            columns,
            changed: text(8),
            names,
            labels: String::new(),
            schema,
        }
    }

    pub fn push(&mut self, v: &Version) {
        self.idx.append_value(v.idx);
        self.ids.append_value(&v.external_id);
        self.version.append_value(v.version);
        self.op.append_value(v.op.as_str());
        for (column, value) in self.columns.iter_mut().zip(&v.values) {
            column.append(value.as_deref());
        }
        changed_names(&mut self.labels, &self.names, &v.changed);
        self.changed.append_value(&self.labels);
    }

    /// The versions pushed so far, as one batch; the builder starts empty again.
    pub fn finish(&mut self) -> RecordBatch {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.idx.finish()),
            Arc::new(self.ids.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.op.finish()),
        ];
        arrays.extend(self.columns.iter_mut().map(ValueColumn::finish));
        arrays.push(Arc::new(self.changed.finish()));
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .expect("builders match the schema by construction")
    }
}

/// `changed` as comma-separated field names, into `out`.
fn changed_names(out: &mut String, names: &[String], changed: &[usize]) {
    out.clear();
    for (k, &i) in changed.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(&names[i]);
    }
}

/// A CSV or NDJSON file of one object's versions, renamed into place when finished.
pub struct VersionTextWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    format: Format,
    names: Vec<String>,
    line: String,
    labels: String,
}

impl std::fmt::Debug for VersionTextWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionTextWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl VersionTextWriter {
    /// Opens `<path>.tmp` for `object`'s versions and writes the CSV header.
    pub fn create(
        path: &Path,
        object: &ObjectShape,
        format: Format,
    ) -> Result<VersionTextWriter, ParquetOutError> {
        let io = |source| ParquetOutError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension(format!("{}.tmp", format.extension()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
        if format == Format::Csv {
            let header: Vec<String> = update_schema(object)
                .fields()
                .iter()
                .map(|f| csv_cell(f.name()))
                .collect();
            writeln!(out, "{}", header.join(",")).map_err(io)?;
        }
        Ok(VersionTextWriter {
            out,
            tmp,
            path: path.to_path_buf(),
            format,
            names: object.fields.iter().map(|f| f.name.clone()).collect(),
            line: String::new(),
            labels: String::new(),
        })
    }

    pub fn push(&mut self, v: &Version) -> Result<(), ParquetOutError> {
        use std::fmt::Write as _;
        let line = &mut self.line;
        line.clear();
        changed_names(&mut self.labels, &self.names, &v.changed);
        if self.format == Format::Csv {
            let _ = write!(
                line,
                "{},{},{},{}",
                v.idx,
                csv_cell(&v.external_id),
                v.version,
                v.op.as_str()
            );
            for value in &v.values {
                line.push(',');
                if let Some(value) = value {
                    line.push_str(&csv_cell(value));
                }
            }
            line.push(',');
            if !self.labels.is_empty() {
                line.push_str(&csv_cell(&self.labels));
            }
        } else {
            let s = |v: &str| serde_json::to_string(v).expect("strings serialise");
            let _ = write!(
                line,
                "{{\"record_idx\":{},\"external_id\":{},\"version\":{},\"op\":\"{}\"",
                v.idx,
                s(&v.external_id),
                v.version,
                v.op.as_str()
            );
            for (name, value) in self.names.iter().zip(&v.values) {
                let _ = write!(
                    line,
                    ",{}:{}",
                    s(name),
                    value.as_deref().map_or("null".to_string(), s)
                );
            }
            let _ = write!(line, ",\"changed\":{}}}", s(&self.labels));
        }
        line.push('\n');
        self.out
            .write_all(line.as_bytes())
            .map_err(|source| ParquetOutError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Flushes, syncs and renames the file into place.
    pub fn finish(self) -> Result<PathBuf, ParquetOutError> {
        let io = |source| ParquetOutError::Io {
            path: self.path.clone(),
            source,
        };
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        Ok(self.path)
    }
}

/// How an object's update file is encoded: like its creates, with `op` and `changed` as
/// dictionaries and the stream named in the metadata.
pub(crate) fn update_properties(
    shape: &Shape,
    object: usize,
    seed: u64,
    codec: Codec,
) -> WriterProperties {
    let props = common_properties(shape, object, seed, codec, Some("updates"))
        .set_column_dictionary_enabled(ColumnPath::from("op"), true)
        .set_column_dictionary_enabled(ColumnPath::from("changed"), true);
    let props = without_unique_text_statistics(props, &shape.objects[object]);
    uncompressed_times(props, &shape.objects[object]).build()
}

/// No statistics on text columns whose values hardly repeat (ids, emails, phones, streets):
/// their min and max prune nothing (every row group spans the whole alphabet) and comparing
/// every value for them was a tenth of the encoding time. Typed and repeating columns keep theirs.
fn without_unique_text_statistics(
    mut props: parquet::file::properties::WriterPropertiesBuilder,
    object: &ObjectShape,
) -> parquet::file::properties::WriterPropertiesBuilder {
    let unique_text = object
        .fields
        .iter()
        .filter(|f| value_type(f) == DataType::Utf8 && !repeats(f.kind))
        .map(|f| f.name.as_str());
    for name in ["external_id", "dup_of"].into_iter().chain(unique_text) {
        props =
            props.set_column_statistics_enabled(ColumnPath::from(name), EnabledStatistics::None);
    }
    props
}

/// No compression on date and timestamp columns: drawn uniformly over years, their 4- and 8-byte
/// values do not shrink under snappy (1.02× on the demo's `created_at`), which only costs time.
fn uncompressed_times(
    mut props: parquet::file::properties::WriterPropertiesBuilder,
    object: &ObjectShape,
) -> parquet::file::properties::WriterPropertiesBuilder {
    for f in object
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Date | FieldKind::Timestamp))
    {
        props = props
            .set_column_compression(ColumnPath::from(f.name.as_str()), Compression::UNCOMPRESSED);
    }
    props
}

/// What every generated Parquet file shares: the codec, dictionaries off by default, `record_idx`
/// delta-encoded, statistics per column chunk (but see [`without_unique_text_statistics`]), and
/// the shape, seed, object (and stream, for updates) in its metadata.
fn common_properties(
    shape: &Shape,
    object: usize,
    seed: u64,
    codec: Codec,
    stream: Option<&str>,
) -> parquet::file::properties::WriterPropertiesBuilder {
    let mut metadata = vec![
        KeyValue::new("syncproof.shape".to_string(), shape.source_text.clone()),
        KeyValue::new("syncproof.seed".to_string(), seed.to_string()),
        KeyValue::new(
            "syncproof.object".to_string(),
            shape.objects[object].name.clone(),
        ),
    ];
    if let Some(stream) = stream {
        metadata.push(KeyValue::new(
            "syncproof.stream".to_string(),
            stream.to_string(),
        ));
    }
    WriterProperties::builder()
        .set_compression(codec.compression())
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_key_value_metadata(Some(metadata))
        // Row indices rise by one (or by small steps in a shard or an update stream): delta
        // encoding stores them in a few bits a page, where plain + snappy kept 4 bytes a row and
        // paid snappy to get there.
        .set_column_encoding(
            ColumnPath::from("record_idx"),
            Encoding::DELTA_BINARY_PACKED,
        )
        .set_column_compression(ColumnPath::from("record_idx"), Compression::UNCOMPRESSED)
}

/// How a generated object's Parquet file is encoded, with the shape, seed and object in its
/// key-value metadata. Dictionaries only where values repeat (names, cities, enums, defects): on
/// unique columns (ids, emails, phones) they cost time and fall back anyway. Statistics per
/// column chunk, not per page (readers prune by row group), and none on unique text; dates and
/// timestamps uncompressed.
pub(crate) fn parquet_properties(
    shape: &Shape,
    object: usize,
    seed: u64,
    codec: Codec,
) -> WriterProperties {
    let mut props = common_properties(shape, object, seed, codec, None)
        .set_column_dictionary_enabled(ColumnPath::from("defects"), true);
    for f in shape.objects[object]
        .fields
        .iter()
        .filter(|f| repeats(f.kind))
    {
        props = props.set_column_dictionary_enabled(ColumnPath::from(f.name.as_str()), true);
    }
    let props = without_unique_text_statistics(props, &shape.objects[object]);
    uncompressed_times(props, &shape.objects[object]).build()
}

/// Kinds whose values repeat often enough for a Parquet dictionary to pay.
fn repeats(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::FirstName
            | FieldKind::LastName
            | FieldKind::Company
            | FieldKind::JobTitle
            | FieldKind::City
            | FieldKind::Region
            | FieldKind::Country
            | FieldKind::Enum
            | FieldKind::Boolean
    )
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. An absent value
/// is an empty cell, a blank one `""`.
fn csv_cell(value: &str) -> String {
    if value.is_empty() || value.contains([',', '"', '\n', '\r']) || value.trim() != value {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn csv_line(line: &mut String, r: &Record) {
    line.push_str(&r.idx.to_string());
    line.push(',');
    line.push_str(&csv_cell(&r.external_id));
    for v in &r.values {
        line.push(',');
        if let Some(v) = v {
            line.push_str(&csv_cell(v));
        }
    }
    line.push(',');
    let defects = r.defects.join(",");
    if !defects.is_empty() {
        line.push_str(&csv_cell(&defects));
    }
    line.push(',');
    if let Some(d) = &r.dup_of {
        line.push_str(&csv_cell(d));
    }
    line.push('\n');
}

fn json_line(line: &mut String, schema: &Schema, r: &Record) {
    let s = |v: &str| serde_json::to_string(v).expect("strings serialise");
    let names = schema.fields();
    line.push_str(&format!(
        "{{\"record_idx\":{},\"external_id\":{}",
        r.idx,
        s(&r.external_id)
    ));
    for (field, v) in names[2..].iter().zip(&r.values) {
        line.push_str(&format!(
            ",{}:{}",
            s(field.name()),
            v.as_deref().map_or("null".to_string(), s)
        ));
    }
    line.push_str(&format!(
        ",\"defects\":{},\"dup_of\":{}}}\n",
        s(&r.defects.join(",")),
        r.dup_of.as_deref().map_or("null".to_string(), s)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_parse_from_the_generators_text() {
        assert_eq!(parse_decimal("-12.30", 2), Some(-1230));
        assert_eq!(parse_decimal("7", 2), Some(700));
        assert_eq!(parse_decimal("7.123", 2), None);
        assert_eq!(parse_decimal("", 2), None);
        assert_eq!(parse_decimal("1e3", 0), None);
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2024-02-30x"), None);
        assert_eq!(
            parse_timestamp_us("1970-01-02T00:00:01Z"),
            Some(86_401_000_000)
        );
        // The fast path agrees with humantime on every day of a leap-year span.
        for day in (0..20_000u64).step_by(37) {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(day * 86_400 + 3_723);
            let text = humantime::format_rfc3339_seconds(at).to_string();
            assert_eq!(
                parse_timestamp_us(&text),
                Some((day * 86_400 + 3_723) as i64 * 1_000_000),
                "{text}"
            );
            assert_eq!(parse_date(&text[..10]), Some(day as i32));
        }
    }
}
