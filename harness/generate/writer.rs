//! Writes generated records with their ground truth to Parquet: `record_idx`, `external_id`,
//! one UTF-8 column per shape field (null = empty in the source) and `defects` (comma-separated
//! labels). The shape and seed travel in the file's key-value metadata, so a file says how to
//! make it again. Rows are buffered into record batches: memory does not grow with the count.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::Record;
use crate::parquet_out::{ParquetOut, ParquetOutError};
use crate::shape::Shape;

const BATCH_ROWS: usize = 8192;

/// The Arrow schema of a shape's records.
pub fn record_schema(shape: &Shape) -> SchemaRef {
    let mut fields = vec![
        Field::new("record_idx", DataType::UInt64, false),
        Field::new("external_id", DataType::Utf8, false),
    ];
    fields.extend(
        shape
            .fields
            .iter()
            .map(|f| Field::new(&f.name, DataType::Utf8, true)),
    );
    fields.push(Field::new("defects", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// Streams records into one Parquet file.
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
    out: ParquetOut,
    schema: SchemaRef,
    idx: UInt64Builder,
    ids: StringBuilder,
    columns: Vec<StringBuilder>,
    defects: StringBuilder,
    buffered: usize,
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter")
            .field("out", &self.out)
            .finish()
    }
}

impl RecordWriter {
    pub fn create(path: &Path, shape: &Shape, seed: u64) -> Result<RecordWriter, ParquetOutError> {
        let schema = record_schema(shape);
        let metadata = vec![
            ("syncproof.shape".to_string(), shape.source_text.clone()),
            ("syncproof.seed".to_string(), seed.to_string()),
            ("syncproof.object".to_string(), shape.object.clone()),
        ];
        Ok(RecordWriter {
            out: ParquetOut::create(path, Arc::clone(&schema), metadata)?,
            schema,
            idx: UInt64Builder::new(),
            ids: StringBuilder::new(),
            columns: shape.fields.iter().map(|_| StringBuilder::new()).collect(),
            defects: StringBuilder::new(),
            buffered: 0,
        })
    }

    pub fn push(&mut self, record: &Record) -> Result<(), ParquetOutError> {
        self.idx.append_value(record.idx);
        self.ids.append_value(&record.external_id);
        for (column, value) in self.columns.iter_mut().zip(&record.values) {
            column.append_option(value.as_deref());
        }
        self.defects.append_value(record.defects.join(","));
        self.buffered += 1;
        if self.buffered >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParquetOutError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> =
            vec![Arc::new(self.idx.finish()), Arc::new(self.ids.finish())];
        arrays.extend(
            self.columns
                .iter_mut()
                .map(|c| Arc::new(c.finish()) as ArrayRef),
        );
        arrays.push(Arc::new(self.defects.finish()));
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .expect("builders match the schema by construction");
        self.buffered = 0;
        self.out.write(&batch)
    }

    /// Flushes, closes and renames the file into place.
    pub fn finish(mut self) -> Result<PathBuf, ParquetOutError> {
        self.flush()?;
        self.out.close()
    }
}
