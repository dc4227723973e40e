//! One Parquet file written atomically: rows go to `<name>.tmp`, and only a successful
//! [`ParquetOut::close`] renames it to its final name, so a reader (DuckDB, pandas, a resumed
//! run) never sees a half-written file under a final name. Shared by the record writer and the
//! event log.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Why writing Parquet failed; names the file.
#[derive(Debug, thiserror::Error)]
pub enum ParquetOutError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
}

/// An open Parquet file that becomes visible under its final name only when closed.
pub struct ParquetOut {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
}

impl std::fmt::Debug for ParquetOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetOut")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl ParquetOut {
    /// Opens `<path>.tmp` with the caller's writer properties (encodings, metadata).
    pub fn with_properties(
        path: &Path,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<ParquetOut, ParquetOutError> {
        let tmp = path.with_extension("parquet.tmp");
        let io = |source| ParquetOutError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File::create(&tmp).map_err(io)?;
        let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|source| {
            ParquetOutError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(ParquetOut {
            writer,
            tmp,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetOutError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|source| ParquetOutError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes the file and renames it into place; returns its final path.
    pub fn close(self) -> Result<PathBuf, ParquetOutError> {
        let ParquetOut {
            writer, tmp, path, ..
        } = self;
        writer.close().map_err(|source| ParquetOutError::Parquet {
            path: path.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| ParquetOutError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}
