//! Writes a whole dataset: one file per object, every row of the blocks a shard owns, made in
//! parallel and written in order, so the bytes do not depend on the thread count.
//!
//! The unit of work is a layout block ([`BLOCK`] root rows with their parents and children).
//! Shard `k/n` owns blocks `⌊k·B/n⌋ .. ⌊(k+1)·B/n⌋` of the `B` blocks, so shards are disjoint and
//! their rows, concatenated in shard order, are the whole dataset's rows in order. Workers make a
//! wave of blocks while the calling thread writes the previous wave: memory holds two waves,
//! whatever `records` is.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::layout::{BLOCK, rows_of_block};
use super::{Format, Generator, Record, RecordWriter};
use crate::parquet_out::ParquetOutError;
use crate::shape::Shape;

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

/// Generates the dataset; returns the files in the shape's object order.
pub fn write_dataset(
    shape: &Arc<Shape>,
    options: &DatasetOptions,
) -> Result<Vec<ObjectFile>, ParquetOutError> {
    let generators: Vec<Generator> = (0..shape.objects.len())
        .map(|i| Generator::for_object(Arc::clone(shape), options.seed, i))
        .collect();
    let mut writers = Vec::with_capacity(shape.objects.len());
    for (i, o) in shape.objects.iter().enumerate() {
        let path = object_path(&options.out, &o.name, options.shard, options.format);
        writers.push(RecordWriter::create_for(
            &path,
            shape,
            i,
            options.seed,
            options.format,
        )?);
    }
    let mut counts = vec![0u64; shape.objects.len()];
    let make = |block: u64| -> Vec<Vec<Record>> {
        rows_of_block(shape, options.seed, options.records, block)
            .into_iter()
            .enumerate()
            .map(|(o, rows)| rows.into_iter().map(|i| generators[o].record(i)).collect())
            .collect()
    };
    let mut write = |wave: Vec<Vec<Vec<Record>>>| -> Result<(), ParquetOutError> {
        for block in wave {
            for (o, rows) in block.into_iter().enumerate() {
                counts[o] += rows.len() as u64;
                for r in &rows {
                    writers[o].push(r)?;
                }
            }
        }
        Ok(())
    };
    let blocks = shard_blocks(options.records, options.shard);
    let threads = options.threads.max(1);
    if threads == 1 {
        for b in blocks {
            write(vec![make(b)])?;
        }
    } else {
        let wave_len = threads as u64 * 4;
        let waves: Vec<Range<u64>> = (blocks.start..blocks.end)
            .step_by(wave_len as usize)
            .map(|s| s..(s + wave_len).min(blocks.end))
            .collect();
        let make_wave = |range: Range<u64>| -> Vec<Vec<Vec<Record>>> {
            let per = (range.end - range.start).div_ceil(threads as u64).max(1);
            std::thread::scope(|s| {
                let handles: Vec<_> = (range.start..range.end)
                    .step_by(per as usize)
                    .map(|start| {
                        let end = (start + per).min(range.end);
                        s.spawn(move || (start..end).map(make).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().expect("a generator thread panicked"))
                    .collect()
            })
        };
        let mut pending = waves.first().cloned().map(make_wave);
        for next in waves.into_iter().skip(1) {
            let current = pending.take().expect("a wave is pending");
            pending = Some(std::thread::scope(|s| {
                let made = s.spawn(|| make_wave(next));
                let written = write(current);
                let made = made.join().expect("a generator thread panicked");
                written.map(|()| made)
            })?);
        }
        if let Some(last) = pending {
            write(last)?;
        }
    }
    let mut files = Vec::with_capacity(writers.len());
    for ((w, o), rows) in writers.into_iter().zip(&shape.objects).zip(counts) {
        files.push(ObjectFile {
            object: o.name.clone(),
            path: w.finish()?,
            rows,
        });
    }
    Ok(files)
}
