//! A Parquet file written from row groups encoded elsewhere: worker threads encode whole row
//! groups ([`encode`]) in parallel and the writer only appends their bytes in order, so Parquet
//! encoding (dictionaries, snappy) scales with the cores instead of bounding the generator. The
//! file appears under its final name only when closed, like every Parquet file syncproof writes.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::parquet_out::ParquetOutError;

/// Encodes row groups of one schema; cheap to share between threads.
#[derive(Debug, Clone)]
pub struct RowGroupEncoder {
    factory: Arc<ArrowRowGroupWriterFactory>,
    schema: SchemaRef,
}

impl RowGroupEncoder {
    /// `batch` as one row group's column chunks.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<ArrowColumnChunk>, ParquetError> {
        // The index only matters to encryption, which syncproof does not use.
        let mut writers = self.factory.create_column_writers(0)?;
        let mut next = writers.iter_mut();
        for (array, field) in batch.columns().iter().zip(self.schema.fields()) {
            for leaf in compute_leaves(field, array)? {
                next.next()
                    .expect("one writer per leaf by construction")
                    .write(&leaf)?;
            }
        }
        writers.into_iter().map(|w| w.close()).collect()
    }
}

/// An open Parquet file taking pre-encoded row groups.
pub struct ChunkedParquet {
    writer: SerializedFileWriter<BufWriter<File>>,
    encoder: RowGroupEncoder,
    tmp: PathBuf,
    path: PathBuf,
}

impl std::fmt::Debug for ChunkedParquet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkedParquet")
            .field("path", &self.path)
            .finish()
    }
}

impl ChunkedParquet {
    pub fn create(
        path: &Path,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<ChunkedParquet, ParquetOutError> {
        let io = |source| ParquetOutError::Io {
            path: path.to_path_buf(),
            source,
        };
        let pq = |source| ParquetOutError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("parquet.tmp");
        let file = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
        // ArrowWriter sets up the schema conversion and the embedded Arrow schema; then we take
        // its lower half and feed it row groups ourselves.
        let (writer, factory) = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(pq)?;
        Ok(ChunkedParquet {
            writer,
            encoder: RowGroupEncoder {
                factory: Arc::new(factory),
                schema,
            },
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The encoder for this file's row groups.
    pub fn encoder(&self) -> RowGroupEncoder {
        self.encoder.clone()
    }

    /// Appends one encoded row group.
    pub fn append(&mut self, chunks: Vec<ArrowColumnChunk>) -> Result<(), ParquetOutError> {
        let pq = |source| ParquetOutError::Parquet {
            path: self.path.clone(),
            source,
        };
        let mut group = self.writer.next_row_group().map_err(pq)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group).map_err(pq)?;
        }
        group.close().map_err(pq)?;
        Ok(())
    }

    /// Finishes the file and renames it into place.
    pub fn close(self) -> Result<PathBuf, ParquetOutError> {
        let ChunkedParquet {
            writer, tmp, path, ..
        } = self;
        let pq = |source| ParquetOutError::Parquet {
            path: path.clone(),
            source,
        };
        let io = |source| ParquetOutError::Io {
            path: path.clone(),
            source,
        };
        let file = writer.into_inner().map_err(pq)?;
        file.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }
}
