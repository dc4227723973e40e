//! Summary and report from a large event log, what `syncproof report RUN` and `merge` do after a
//! long run: every segment is streamed batch by batch into the chart series and the latency
//! histograms, then the HTML report is rendered. Memory must stay flat in the number of events:
//! BENCHMARKS.md compares peak RSS at two sizes. `SYNCPROOF_BENCH_EVENTS` sets the size
//! (default 1,000,000 events: a write call, an attempt and an observation per record). The log
//! is written under the system temporary directory (`TMPDIR`), and removed at the end.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncproof::measure::{
    CallRecord, Event, EventKind, EventLog, Message, Micros, Outcome, RunClock,
};
use syncproof::report::{
    CHART_BUCKETS, Summary, latencies_from_segments, read_series, render_html, segments,
};

fn write_events(dir: &std::path::Path, events: u64) {
    let mut log = EventLog::create(&dir.join("events"), RunClock::start(), 1_000_000);
    let ms = |m: u64| Micros(m * 1000);
    for i in 0..events / 3 {
        let at = i * 5; // 200 records/s
        log.append(&Message::Call(CallRecord {
            call_id: i,
            endpoint: "write:batch_upsert",
            is_write: true,
            status: if i % 50 == 0 { 429 } else { 200 },
            outcome: if i % 50 == 0 {
                Outcome::Throttled
            } else {
                Outcome::Ok
            },
            sent_at: ms(at),
            done_at: ms(at + 20 + i % 30),
            n_records: 1,
            attempt: Some(1),
            retry_after: None,
            early_retry: false,
            quota_used: Some((i % 100) as f64 / 100.0),
            daily_used: None,
            burst_per_s: Some(19.0),
        }))
        .unwrap();
        let mut e = Event::new(EventKind::Attempt, i, format!("sp-0000002a-{i}"), ms(at));
        e.call_id = Some(i);
        e.attempt = Some(1);
        e.status = Some(200);
        e.outcome = Some(Outcome::Ok);
        e.sent_at = Some(ms(at));
        e.done_at = Some(ms(at + 20));
        log.append(&Message::Event(e)).unwrap();
        let mut e = Event::new(EventKind::Observed, i, format!("sp-0000002a-{i}"), ms(at));
        e.done_at = Some(ms(at + 300 + i % 700));
        log.append(&Message::Event(e)).unwrap();
    }
    log.finish().unwrap();
}

fn report(c: &mut Criterion) {
    let events: u64 = std::env::var("SYNCPROOF_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), events);
    let summary = Summary::from_json(json!({ "sla": [] })).unwrap();
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    // Ten samples of one pass each from 20 M events up, not criterion's 1 + 2 + … + 10 passes:
    // at 100 M events a pass takes seconds.
    if events >= 20_000_000 {
        group.sampling_mode(SamplingMode::Flat);
    }
    group.throughput(Throughput::Elements(events));
    group.bench_function("from_events", |b| {
        b.iter(|| {
            let files = segments(dir.path()).unwrap();
            let latencies = latencies_from_segments(&files).unwrap();
            let series = read_series(dir.path(), CHART_BUCKETS).unwrap();
            black_box((latencies, render_html(&summary, &series)))
        })
    });
    group.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
