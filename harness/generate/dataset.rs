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
use super::{Codec, Format, Generator, Record, RecordWriter, Version};
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
    /// Split each object's rows into files of at most this many rows, numbered `-0000`,
    /// `-0001`, …; `None` writes one file per object.
    pub max_rows_per_file: Option<u64>,
    /// Parquet page compression.
    pub compression: Codec,
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

/// Part `part` of a split file: `<object>-PPPP.<ext>`, or `<object>-KKKK-PPPP.<ext>` in shard
/// KKKK. `object` is the object's name, or `<object>-updates` for its update stream.
pub fn part_path(
    out: &Path,
    object: &str,
    shard: Option<(u64, u64)>,
    part: u32,
    format: Format,
) -> PathBuf {
    match shard {
        Some((k, _)) => out.join(format!("{object}-{k:04}-{part:04}.{}", format.extension())),
        None => out.join(format!("{object}-{part:04}.{}", format.extension())),
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

/// One file's rows of one group, as its writer takes them.
enum Made {
    /// An encoded Parquet row group, its row count, and (when files are split) the rows
    /// themselves, to re-encode in pieces when the group straddles two files.
    Chunks(Vec<ArrowColumnChunk>, u64, Option<RecordBatch>),
    Rows(Vec<Record>),
    Versions(Vec<Version>),
}

#[allow(clippy::large_enum_variant)] // one per file: a few hundred bytes do not matter
enum Sink {
    Parquet(ChunkedParquet),
    Text(Box<RecordWriter>),
    VersionText(Box<VersionTextWriter>),
}

impl Sink {
    fn close(self) -> Result<PathBuf, ParquetOutError> {
        match self {
            Sink::Parquet(file) => file.close(),
            Sink::Text(writer) => writer.finish(),
            Sink::VersionText(writer) => writer.finish(),
        }
    }
}

/// One stream of the dataset: an object's creates, or its updates.
#[derive(Debug, Clone, Copy)]
struct Output {
    object: usize,
    updates: bool,
}

/// The files of one output: the open part, its row count, and the parts already closed.
struct Parts {
    out: Output,
    /// The next part's number.
    next: u32,
    open: Option<Sink>,
    rows: u64,
    done: Vec<ObjectFile>,
}

/// Generates the dataset; returns the files in the shape's object order, each object's update
/// file(s) right after its creates.
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
    let split = options.max_rows_per_file.map(|n| n.max(1));
    let path_of = |out: Output, part: u32| {
        let o = &shape.objects[out.object].name;
        let name = if out.updates {
            format!("{o}-updates")
        } else {
            o.clone()
        };
        match split {
            Some(_) => part_path(&options.out, &name, options.shard, part, options.format),
            None => object_path(&options.out, &name, options.shard, options.format),
        }
    };
    let open = |out: Output, part: u32| -> Result<Sink, ParquetOutError> {
        let (path, o) = (path_of(out, part), &shape.objects[out.object]);
        Ok(match (options.format, out.updates) {
            (Format::Parquet, false) => Sink::Parquet(ChunkedParquet::create(
                &path,
                object_schema(o),
                parquet_properties(shape, out.object, options.seed, options.compression),
            )?),
            (Format::Parquet, true) => Sink::Parquet(ChunkedParquet::create(
                &path,
                update_schema(o),
                update_properties(shape, out.object, options.seed, options.compression),
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
        })
    };
    // Every output's first part is opened up front (an object without rows still gets its
    // file), and gives the encoder its later parts share.
    let mut parts = Vec::with_capacity(outputs.len());
    for &out in &outputs {
        parts.push(Parts {
            out,
            next: 1,
            open: Some(open(out, 0)?),
            rows: 0,
            done: Vec::new(),
        });
    }
    let encoders: Vec<Option<RowGroupEncoder>> = parts
        .iter()
        .map(|p| match &p.open {
            Some(Sink::Parquet(file)) => Some(file.encoder()),
            _ => None,
        })
        .collect();
    let encode_error = |out: Output| {
        move |source| ParquetOutError::Parquet {
            path: path_of(out, 0),
            source,
        }
    };

    // One group of blocks → per output, its rows (encoded for Parquet).
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
                        encoder.encode(&batch).map_err(encode_error(out))?
                    };
                    Ok(Made::Chunks(chunks, n, split.map(|_| batch)))
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
    let cap = split.unwrap_or(u64::MAX);
    // Closes the open part when it is full and opens the next when rows are coming.
    let roll = |p: &mut Parts| -> Result<(), ParquetOutError> {
        if p.rows >= cap
            && let Some(sink) = p.open.take()
        {
            close_part(p, sink, shape)?;
        }
        if p.open.is_none() {
            p.open = Some(open(p.out, p.next)?);
            p.next += 1;
        }
        Ok(())
    };
    let mut write = |made: Vec<Made>| -> Result<(), ParquetOutError> {
        for (k, made) in made.into_iter().enumerate() {
            let p = &mut parts[k];
            match made {
                Made::Chunks(_, 0, _) => {}
                Made::Chunks(chunks, n, _) if p.rows + n <= cap => {
                    roll(p)?;
                    let Some(Sink::Parquet(file)) = &mut p.open else {
                        unreachable!("Parquet rows go to a Parquet file")
                    };
                    file.append(chunks)?;
                    p.rows += n;
                }
                Made::Chunks(_, n, batch) => {
                    // The group straddles files: encode its pieces here (once per file cut).
                    let batch = batch.expect("split groups keep their rows");
                    let encoder = encoders[k]
                        .as_ref()
                        .expect("Parquet outputs have an encoder");
                    let mut at = 0;
                    while at < n {
                        roll(p)?;
                        let take = (cap - p.rows).min(n - at);
                        let piece = batch.slice(at as usize, take as usize);
                        let chunks = encoder.encode(&piece).map_err(encode_error(p.out))?;
                        let Some(Sink::Parquet(file)) = &mut p.open else {
                            unreachable!("Parquet rows go to a Parquet file")
                        };
                        file.append(chunks)?;
                        p.rows += take;
                        at += take;
                    }
                }
                Made::Rows(rows) => {
                    for r in &rows {
                        roll(p)?;
                        let Some(Sink::Text(writer)) = &mut p.open else {
                            unreachable!("records go to a record file")
                        };
                        writer.push(r)?;
                        p.rows += 1;
                    }
                }
                Made::Versions(versions) => {
                    for v in &versions {
                        roll(p)?;
                        let Some(Sink::VersionText(writer)) = &mut p.open else {
                            unreachable!("versions go to an update file")
                        };
                        writer.push(v)?;
                        p.rows += 1;
                    }
                }
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
    let mut files = Vec::new();
    for mut p in parts {
        if let Some(sink) = p.open.take() {
            close_part(&mut p, sink, shape)?;
        }
        files.extend(p.done);
    }
    Ok(files)
}

/// Closes one part and records it.
fn close_part(p: &mut Parts, sink: Sink, shape: &Shape) -> Result<(), ParquetOutError> {
    let path = sink.close()?;
    p.done.push(ObjectFile {
        object: shape.objects[p.out.object].name.clone(),
        updates: p.out.updates,
        path,
        rows: p.rows,
    });
    p.rows = 0;
    Ok(())
}
