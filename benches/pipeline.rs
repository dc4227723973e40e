//! Throughput of the stages a long run leans on: generating records, writing them to Parquet,
//! appending events to the event log, judging target copies, and finding fuzzy duplicates. Each bench declares its
//! `Throughput` so results read as records/s or events/s. Results and commands: BENCHMARKS.md.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncproof::config::Source;
use syncproof::generate::{Generator, RecordWriter};
use syncproof::measure::{Event, EventKind, EventLog, Message, Micros, RunClock};
use syncproof::quality::Scorecard;
use syncproof::quality::fuzzy::{DEFAULT_THRESHOLD, Person, Roles, find_pairs};
use syncproof::replay::TargetCopy;
use syncproof::shape::Shape;

const N: u64 = 10_000;

fn generate(c: &mut Criterion) {
    let generator = Generator::new(Arc::new(Shape::demo()), 42);
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(N));
    group.bench_function("contact_records", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(generator.record(i));
            }
        })
    });
    group.bench_function("contact_records_to_parquet", |b| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contact.parquet");
        b.iter(|| {
            let mut writer = RecordWriter::create(&path, generator.shape(), 42).unwrap();
            for i in 0..N {
                writer.push(&generator.record(i)).unwrap();
            }
            writer.finish().unwrap()
        })
    });
    group.finish();
}

fn event_log(c: &mut Criterion) {
    let mut group = c.benchmark_group("measure");
    let events: Vec<Message> = (0..N)
        .map(|i| {
            let mut e = Event::new(
                EventKind::Attempt,
                i,
                format!("sp-0000002a-{i}"),
                Micros(i * 5000),
            );
            e.call_id = Some(i / 100);
            e.attempt = Some(1);
            e.status = Some(200);
            e.sent_at = Some(Micros(i * 5000 + 10));
            e.done_at = Some(Micros(i * 5000 + 20_000));
            Message::Event(e)
        })
        .collect();
    group.throughput(Throughput::Elements(N));
    group.bench_function("event_log_append", |b| {
        let dir = tempfile::tempdir().unwrap();
        b.iter(|| {
            let mut log = EventLog::create(dir.path(), RunClock::start(), 1_000_000);
            for e in &events {
                log.append(e).unwrap();
            }
            log.finish().unwrap()
        })
    });
    group.finish();
}

fn quality(c: &mut Criterion) {
    let shape = Shape::demo();
    let generator = Generator::new(Arc::new(shape.clone()), 42);
    let pairs: Vec<_> = (0..N)
        .map(|i| {
            let r = generator.record(i);
            let properties: BTreeMap<String, Option<String>> = shape
                .fields()
                .iter()
                .zip(&r.values)
                .map(|(f, v)| (f.name.clone(), v.clone()))
                .collect();
            let copy = TargetCopy {
                object_id: i,
                properties,
            };
            (r, vec![copy])
        })
        .collect();
    let mut group = c.benchmark_group("quality");
    group.throughput(Throughput::Elements(N));
    group.bench_function("scorecard_add", |b| {
        b.iter(|| {
            let mut card = Scorecard::new(&shape);
            for (r, copies) in &pairs {
                card.add(&shape, r, copies, true);
            }
            black_box(card)
        })
    });
    group.finish();
}

/// Near-duplicate pairs of the 200,000-record labelled table (`benches/peers/dupes-200k.toml`,
/// seed 42: the table the peer scripts read as CSV): blocking and scoring on every core. The
/// records are made and normalised outside the timing; precision and recall against the
/// generator's `dup_of` labels are printed once.
fn fuzzy(c: &mut Criterion) {
    const PEOPLE: u64 = 200_000;
    let shape = Shape::from_source(&Source::embedded(
        "benches/peers/dupes-200k.toml",
        include_str!("peers/dupes-200k.toml"),
    ))
    .unwrap();
    let generator = Generator::new(Arc::new(shape.clone()), 42);
    let roles = Roles::guess(&shape.field_names());
    let records: Vec<_> = (0..PEOPLE).map(|i| generator.record(i)).collect();
    let people: Vec<Person> = records
        .iter()
        .map(|r| Person::from_row(&r.values, &roles))
        .collect();
    let index: HashMap<&str, u32> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.external_id.as_str(), i as u32))
        .collect();
    // True pairs: every two records of one cluster, a row that is not itself a near-duplicate
    // and the rows whose `dup_of` names it (as benches/peers/dupes_prep.py counts them). A
    // near-duplicate copies its original's clean values, so one naming another near-duplicate
    // resembles no row of the table and is left out.
    let near = |r: &syncproof::generate::Record| {
        r.defects.iter().any(|d| d.starts_with("near_duplicate:"))
    };
    let mut clusters: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(&j) = r.dup_of.as_deref().and_then(|d| index.get(d))
            && !near(&records[j as usize])
        {
            clusters.entry(j).or_insert_with(|| vec![j]).push(i as u32);
        }
    }
    let truth: HashSet<(u32, u32)> = clusters
        .values()
        .flat_map(|m| {
            m.iter()
                .flat_map(move |&a| m.iter().filter(move |&&b| a < b).map(move |&b| (a, b)))
        })
        .collect();
    let found = find_pairs(&people, DEFAULT_THRESHOLD);
    let hits = found
        .iter()
        .filter(|p| truth.contains(&(p.left, p.right)))
        .count() as f64;
    let (precision, recall) = (
        hits / found.len().max(1) as f64,
        hits / truth.len().max(1) as f64,
    );
    eprintln!(
        "fuzzy/find_pairs_200k: {} labelled pairs, {} found, precision {precision:.4}, recall {recall:.4}, F1 {:.4}",
        truth.len(),
        found.len(),
        2.0 * precision * recall / (precision + recall)
    );
    let mut group = c.benchmark_group("fuzzy");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PEOPLE));
    group.bench_function("find_pairs_200k", |b| {
        b.iter(|| black_box(find_pairs(&people, DEFAULT_THRESHOLD)))
    });
    group.finish();
}

criterion_group!(benches, generate, event_log, quality, fuzzy);
criterion_main!(benches);
