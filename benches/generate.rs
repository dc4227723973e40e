//! Throughput of `syncproof generate`: 262,144 of the demo's contacts (every field, 4 locales,
//! labelled defects) written to Parquet on one thread and on all cores, and the row maker alone.
//! Each bench declares `Throughput::Elements`, so results read as rows/s; one more writes
//! without compression, to weigh snappy's cost. Results and commands: BENCHMARKS.md; the Python
//! peers (Faker, Mimesis) are in benches/peers/.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncproof::generate::{
    BLOCK, Codec, DatasetOptions, Format, GROUP_BLOCKS, Generator, write_dataset,
};
use syncproof::shape::Shape;

/// Eight whole row groups (262,144 rows): a thread makes one group at a time, so a count that
/// is not a multiple of the groups two threads share leaves a core idle at the end (100,000
/// rows, 3.05 groups, capped two threads at 1.5× one) and would hide how generation scales.
const N: u64 = 8 * GROUP_BLOCKS * BLOCK;

fn contacts(c: &mut Criterion) {
    let shape = Arc::new(Shape::demo());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    let generator = Generator::new(Arc::clone(&shape), 42);
    group.bench_function("contact_rows", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(generator.record(i));
            }
        })
    });
    for (name, threads, compression) in [
        ("contacts_to_parquet_1_thread", 1, Codec::Snappy),
        ("contacts_to_parquet_all_threads", cores, Codec::Snappy),
        ("contacts_to_parquet_1_thread_uncompressed", 1, Codec::None),
    ] {
        group.bench_function(name, |b| {
            let dir = tempfile::tempdir().unwrap();
            let options = DatasetOptions {
                records: N,
                seed: 42,
                shard: None,
                format: Format::Parquet,
                threads,
                out: dir.path().to_path_buf(),
                max_rows_per_file: None,
                compression,
            };
            b.iter(|| write_dataset(&shape, &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, contacts);
criterion_main!(benches);
