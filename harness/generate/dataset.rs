//! Writes a whole dataset: one file per object, every row of the blocks a shard owns, made in
//! parallel and written in order, so the bytes do not depend on the thread count.
//!
//! The unit of work is a group of [`GROUP_BLOCKS`] layout blocks ([`BLOCK`] root rows each, with
//! their parents and children): for Parquet, one row group per object, generated *and encoded*
//! by one worker, so the writing thread only appends bytes. Shard `k/n` owns blocks
//! `⌊k·B/n⌋ .. ⌊(k+1)·B/n⌋` of the `B` blocks, so shards are disjoint and their rows,
//! concatenated in shard order, are the whole dataset's rows in order. Workers make a wave of
//! groups while the calling thread writes the previous wave: memory holds two waves, whatever
//! `records` is.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::arrow_writer::ArrowColumnChunk;

use super::chunked::{ChunkedParquet, RowGroupEncoder};
use super::layout::{BLOCK, rows_of_block};
use super::writer::{BatchBuilder, object_schema, parquet_properties};
use super::{Format, Generator, Record, RecordWriter};
use crate::parquet_out::ParquetOutError;
use crate::shape::Shape;

/// Layout blocks per unit of work (and per Parquet row group): 32,768 root rows.
pub const GROUP_BLOCKS: u64 = 32;

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Rows of the root object (the whole dataset's, not the shard's).
    pub records: u64,
    pub seed: u64,
    /// `(k, n)`: this is shard `k` (0-based) of `n`.
    pub shard: Option<(u64, u64)>,
    pub format: Format,
    /// Worker threads; 1 generates and writes on the calling thread.
    pub threads: usize,
    pub out: PathBuf,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFile {
    pub object: String,
    pub path: PathBuf,
    pub rows: u64,
}

/// The file of `object` under `out`: `<object>.<ext>`, or `<object>-NNNN.<ext>` for shard NNNN.
pub fn object_path(out: &Path, object: &str, shard: Option<(u64, u64)>, format: Format) -> PathBuf {
    match shard {
        Some((k, _)) => out.join(format!("{object}-{k:04}.{}", format.extension())),
        None => out.join(format!("{object}.{}", format.extension())),
    }
}

/// The blocks shard `(k, n)` owns among the blocks of `records` root rows.
pub fn shard_blocks(records: u64, shard: Option<(u64, u64)>) -> Range<u64> {
    let blocks = records.div_ceil(BLOCK);
    match shard {
        None => 0..blocks,
        Some((k, n)) => {
            let at = |i: u64| ((blocks as u128 * i as u128) / n as u128) as u64;
            at(k)..at(k + 1)
        }
    }
}

/// One object's rows of one group, as its writer takes them.
enum Made {
    /// An encoded Parquet row group and its row count.
    Chunks(Vec<ArrowColumnChunk>, u64),
    Rows(Vec<Record>),
}

#[allow(clippy::large_enum_variant)] // one per object file: a few hundred bytes do not matter
enum Sink {
    Parquet(ChunkedParquet),
    Text(Box<RecordWriter>),
}

/// Generates the dataset; returns the files in the shape's object order.
pub fn write_dataset(
    shape: &Arc<Shape>,
    options: &DatasetOptions,
) -> Result<Vec<ObjectFile>, ParquetOutError> {
    let n_objects = shape.objects.len();
    let generators: Vec<Generator> = (0..n_objects)
        .map(|i| Generator::for_object(Arc::clone(shape), options.seed, i))
        .collect();
    let mut sinks = Vec::with_capacity(n_objects);
    for (i, o) in shape.objects.iter().enumerate() {
        let path = object_path(&options.out, &o.name, options.shard, options.format);
        sinks.push(match options.format {
            Format::Parquet => Sink::Parquet(ChunkedParquet::create(
                &path,
                object_schema(o),
                parquet_properties(shape, i, options.seed),
            )?),
            format => Sink::Text(Box::new(RecordWriter::create_for(
                &path,
                shape,
                i,
                options.seed,
                format,
            )?)),
        });
    }
    let encoders: Vec<Option<RowGroupEncoder>> = sinks
        .iter()
        .map(|s| match s {
            Sink::Parquet(p) => Some(p.encoder()),
            Sink::Text(_) => None,
        })
        .collect();
    let path_of = |o: usize| {
        object_path(
            &options.out,
            &shape.objects[o].name,
            options.shard,
            options.format,
        )
    };

    // One group of blocks → per object, its rows (encoded for Parquet).
    let make = |blocks: Range<u64>| -> Result<Vec<Made>, ParquetOutError> {
        let mut rows: Vec<Vec<u64>> = vec![Vec::new(); n_objects];
        for b in blocks {
            for (o, r) in rows_of_block(shape, options.seed, options.records, b)
                .into_iter()
                .enumerate()
            {
                rows[o].extend(r);
            }
        }
        rows.into_iter()
            .enumerate()
            .map(|(o, rows)| match &encoders[o] {
                Some(encoder) => {
                    let mut batch =
                        BatchBuilder::with_capacity(object_schema(&shape.objects[o]), rows.len());
                    let mut record = Record::default();
                    for &i in &rows {
                        generators[o].record_into(i, &mut record);
                        batch.push(&record);
                    }
                    let n = rows.len() as u64;
                    let chunks = if n == 0 {
                        Vec::new()
                    } else {
                        encoder.encode(&batch.finish()).map_err(|source| {
                            ParquetOutError::Parquet {
                                path: path_of(o),
                                source,
                            }
                        })?
                    };
                    Ok(Made::Chunks(chunks, n))
                }
                None => Ok(Made::Rows(
                    rows.into_iter().map(|i| generators[o].record(i)).collect(),
                )),
            })
            .collect()
    };
    let mut counts = vec![0u64; n_objects];
    let mut write = |made: Vec<Made>| -> Result<(), ParquetOutError> {
        for (o, made) in made.into_iter().enumerate() {
            match (made, &mut sinks[o]) {
                (Made::Chunks(chunks, n), Sink::Parquet(file)) => {
                    counts[o] += n;
                    if n > 0 {
                        file.append(chunks)?;
                    }
                }
                (Made::Rows(rows), Sink::Text(writer)) => {
                    counts[o] += rows.len() as u64;
                    for r in &rows {
                        writer.push(r)?;
                    }
                }
                _ => unreachable!("each object is made for its own sink"),
            }
        }
        Ok(())
    };

    let blocks = shard_blocks(options.records, options.shard);
    let groups: Vec<Range<u64>> = (blocks.start..blocks.end)
        .step_by(GROUP_BLOCKS as usize)
        .map(|s| s..(s + GROUP_BLOCKS).min(blocks.end))
        .collect();
    let threads = options.threads.max(1);
    if threads == 1 {
        for g in groups {
            write(make(g)?)?;
        }
    } else {
        // A wave is one group per thread; the next wave is made while this one is written.
        let make_wave = |wave: &[Range<u64>]| -> Result<Vec<Vec<Made>>, ParquetOutError> {
            std::thread::scope(|s| {
                let handles: Vec<_> = wave.iter().map(|g| s.spawn(|| make(g.clone()))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a generator thread panicked"))
                    .collect()
            })
        };
        let waves: Vec<&[Range<u64>]> = groups.chunks(threads).collect();
        let mut pending = match waves.first() {
            Some(w) => Some(make_wave(w)?),
            None => None,
        };
        for next in waves.iter().skip(1) {
            let current = pending.take().expect("a wave is pending");
            pending = Some(std::thread::scope(|s| {
                let made = s.spawn(|| make_wave(next));
                let written: Result<(), ParquetOutError> =
                    current.into_iter().try_for_each(&mut write);
                let made = made.join().expect("a generator thread panicked");
                written.and(made)
            })?);
        }
        if let Some(last) = pending {
            last.into_iter().try_for_each(&mut write)?;
        }
    }
    let mut files = Vec::with_capacity(n_objects);
    for ((sink, o), rows) in sinks.into_iter().zip(&shape.objects).zip(counts) {
        let path = match sink {
            Sink::Parquet(file) => file.close()?,
            Sink::Text(writer) => writer.finish()?,
        };
        files.push(ObjectFile {
            object: o.name.clone(),
            path,
            rows,
        });
    }
    Ok(files)
}
