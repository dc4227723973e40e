//! Throughput of `syncproof profile`: a 100,000-row contacts CSV (13 columns, generated from
//! `datasets/shapes/b2b-saas.toml`, so names, emails and phones are high-cardinality and the
//! distinct counters reach their cap) streamed into column statistics, kinds inferred; and the
//! bundled messy sample export (3,000 rows). `Throughput::Elements` is rows, so results read as
//! rows/s. Results and commands: BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncproof::config::Source;
use syncproof::generate::{DatasetOptions, Format, write_dataset};
use syncproof::shape::Shape;
use syncproof::shape::profile::{ProfileOptions, profile_file, write_shape};

const N: u64 = 100_000;

fn profiling(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let shape =
        Shape::from_source(&Source::read(&root.join("shapes/b2b-saas.toml")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = DatasetOptions {
        records: N,
        seed: 42,
        shard: None,
        format: Format::Csv,
        threads: 1,
        out: dir.path().to_path_buf(),
        max_rows_per_file: None,
        compression: syncproof::generate::Codec::Snappy,
    };
    write_dataset(&std::sync::Arc::new(shape), &options).unwrap();
    let generated = dir.path().join("contact.csv");
    let sample = root.join("exports/contacts.csv");
    let mut group = c.benchmark_group("profile");
    group.sample_size(10);
    for (name, path, rows) in [
        ("generated_contacts_csv", &generated, N),
        ("bundled_contacts_csv", &sample, 3_000),
    ] {
        let o = profile_file(path, ProfileOptions::default()).unwrap();
        assert_eq!(o.rows, rows, "{name}");
        group.throughput(Throughput::Elements(rows));
        group.bench_function(name, |b| {
            b.iter(|| black_box(profile_file(path, ProfileOptions::default()).unwrap()))
        });
    }
    // Writing the shape from the statistics (pattern learning over the reservoirs).
    let learnt = syncproof::shape::profile::profile(
        &[sample.clone(), root.join("exports/companies.csv")],
        ProfileOptions::default(),
    )
    .unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("write_shape_bundled", |b| {
        b.iter(|| black_box(write_shape(&learnt).text.len()))
    });
    group.finish();
}

criterion_group!(benches, profiling);
criterion_main!(benches);
