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

use arrow_array::RecordBatch;
use parquet::arrow::arrow_writer::ArrowColumnChunk;

use super::chunked::{ChunkedParquet, RowGroupEncoder};
use super::layout::{BLOCK, rows_of_block};
use super::writer::{
    BatchBuilder, VersionBatchBuilder, VersionTextWriter, object_schema, parquet_properties,
    update_properties, update_schema,
};
use super::{Format, Generator, Record, RecordWriter, Version};
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
    /// True for the object's update file (`<object>-updates.<ext>`), false for its creates.
    pub updates: bool,
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

/// The update file of `object` under `out`: `<object>-updates.<ext>` (`-NNNN` for a shard).
pub fn updates_path(
    out: &Path,
    object: &str,
    shard: Option<(u64, u64)>,
    format: Format,
) -> PathBuf {
    object_path(out, &format!("{object}-updates"), shard, format)
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

/// One file's rows of one group, as its writer takes them.
enum Made {
    /// An encoded Parquet row group and its row count.
    Chunks(Vec<ArrowColumnChunk>, u64),
    Rows(Vec<Record>),
    Versions(Vec<Version>),
}

#[allow(clippy::large_enum_variant)] // one per file: a few hundred bytes do not matter
enum Sink {
    Parquet(ChunkedParquet),
    Text(Box<RecordWriter>),
    VersionText(Box<VersionTextWriter>),
}

/// One file of the dataset: an object's creates, or its updates.
#[derive(Debug, Clone, Copy)]
struct Output {
    object: usize,
    updates: bool,
}

/// Generates the dataset; returns the files in the shape's object order, each object's update
/// file right after its creates.
pub fn write_dataset(
    shape: &Arc<Shape>,
    options: &DatasetOptions,
) -> Result<Vec<ObjectFile>, ParquetOutError> {
    let n_objects = shape.objects.len();
    let generators: Vec<Generator> = (0..n_objects)
        .map(|i| Generator::for_object(Arc::clone(shape), options.seed, i))
        .collect();
    let mut outputs = Vec::new();
    for (object, o) in shape.objects.iter().enumerate() {
        outputs.push(Output {
            object,
            updates: false,
        });
        if o.updates.is_some() {
            outputs.push(Output {
                object,
                updates: true,
            });
        }
    }
    let path_of = |out: Output| {
        let name = &shape.objects[out.object].name;
        if out.updates {
            updates_path(&options.out, name, options.shard, options.format)
        } else {
            object_path(&options.out, name, options.shard, options.format)
        }
    };
    let mut sinks = Vec::with_capacity(outputs.len());
    for &out in &outputs {
        let (path, o) = (path_of(out), &shape.objects[out.object]);
        sinks.push(match (options.format, out.updates) {
            (Format::Parquet, false) => Sink::Parquet(ChunkedParquet::create(
                &path,
                object_schema(o),
                parquet_properties(shape, out.object, options.seed),
            )?),
            (Format::Parquet, true) => Sink::Parquet(ChunkedParquet::create(
                &path,
                update_schema(o),
                update_properties(shape, out.object, options.seed),
            )?),
            (format, false) => Sink::Text(Box::new(RecordWriter::create_for(
                &path,
                shape,
                out.object,
                options.seed,
                format,
            )?)),
            (format, true) => {
                Sink::VersionText(Box::new(VersionTextWriter::create(&path, o, format)?))
            }
        });
    }
    let encoders: Vec<Option<RowGroupEncoder>> = sinks
        .iter()
        .map(|s| match s {
            Sink::Parquet(p) => Some(p.encoder()),
            _ => None,
        })
        .collect();

    // One group of blocks → per output file, its rows (encoded for Parquet).
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
        outputs
            .iter()
            .zip(&encoders)
            .map(|(&out, encoder)| {
                let (generator, rows) = (&generators[out.object], &rows[out.object]);
                let encode = |batch: RecordBatch, n: u64| -> Result<Made, ParquetOutError> {
                    let encoder = encoder.as_ref().expect("Parquet outputs have an encoder");
                    let chunks = if n == 0 {
                        Vec::new()
                    } else {
                        encoder
                            .encode(&batch)
                            .map_err(|source| ParquetOutError::Parquet {
                                path: path_of(out),
                                source,
                            })?
                    };
                    Ok(Made::Chunks(chunks, n))
                };
                match (out.updates, encoder.is_some()) {
                    (false, true) => {
                        let o = &shape.objects[out.object];
                        let mut batch = BatchBuilder::with_capacity(object_schema(o), rows.len());
                        let mut record = Record::default();
                        for &i in rows {
                            generator.record_into(i, &mut record);
                            batch.push(&record);
                        }
                        encode(batch.finish(), rows.len() as u64)
                    }
                    (false, false) => Ok(Made::Rows(
                        rows.iter().map(|&i| generator.record(i)).collect(),
                    )),
                    (true, parquet) => {
                        let mut versions = Vec::new();
                        for &i in rows {
                            generator.versions_into(i, &mut versions);
                        }
                        if !parquet {
                            return Ok(Made::Versions(versions));
                        }
                        let o = &shape.objects[out.object];
                        let mut batch =
                            VersionBatchBuilder::with_capacity(update_schema(o), versions.len());
                        for v in &versions {
                            batch.push(v);
                        }
                        encode(batch.finish(), versions.len() as u64)
                    }
                }
            })
            .collect()
    };
    let mut counts = vec![0u64; outputs.len()];
    let mut write = |made: Vec<Made>| -> Result<(), ParquetOutError> {
        for (k, made) in made.into_iter().enumerate() {
            match (made, &mut sinks[k]) {
                (Made::Chunks(chunks, n), Sink::Parquet(file)) => {
                    counts[k] += n;
                    if n > 0 {
                        file.append(chunks)?;
                    }
                }
                (Made::Rows(rows), Sink::Text(writer)) => {
                    counts[k] += rows.len() as u64;
                    for r in &rows {
                        writer.push(r)?;
                    }
                }
                (Made::Versions(versions), Sink::VersionText(writer)) => {
                    counts[k] += versions.len() as u64;
                    for v in &versions {
                        writer.push(v)?;
                    }
                }
                _ => unreachable!("each file is made for its own sink"),
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
    let mut files = Vec::with_capacity(outputs.len());
    for ((sink, out), rows) in sinks.into_iter().zip(&outputs).zip(counts) {
        let path = match sink {
            Sink::Parquet(file) => file.close()?,
            Sink::Text(writer) => writer.finish()?,
            Sink::VersionText(writer) => writer.finish()?,
        };
        files.push(ObjectFile {
            object: shape.objects[out.object].name.clone(),
            updates: out.updates,
            path,
            rows,
        });
    }
    Ok(files)
}
