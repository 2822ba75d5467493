//! Store operations against the store size: the list reads the packet builder's candidate
//! queries rest on, and the writes agents make on every turn (single and bulk appends, fact
//! upserts). Reads must stay flat as the store grows; bulk appends report events per second.

mod shared;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engram_store::{Store, StoreExt};
use engram_types::{EventInput, EventQuery, FactInput, InsightInput, ListQuery};
use serde_json::json;

use shared::config::{self, number};
use shared::dataset::{EventStream, Layout, epoch_end, target_scope};
use shared::{Backend, backends, seed};

/// Rows each list read returns: a candidate query's size.
const LIST_LIMIT: u32 = 32;

/// Seeded backends per events scale, shared by the five list groups (seeding is the slow part).
fn seeded(events: usize, label: &str) -> Vec<(Backend, Layout)> {
    let layout = Layout::for_events(events);
    backends(events, label)
        .into_iter()
        .map(|backend| {
            seed(backend.store.as_ref(), layout, 200);
            seed_insights(backend.store.as_ref(), &layout);
            (backend, layout)
        })
        .collect()
}

/// Insights are run-scoped: the target run gets 200 (the dataset itself has none).
fn seed_insights(store: &dyn Store, layout: &Layout) {
    if config::listing() {
        return;
    }
    let scope = target_scope(layout);
    let mut query = ListQuery::new(scope.clone());
    query.limit = 1;
    if store.list_insights(&query).is_ok_and(|found| !found.is_empty()) {
        return;
    }
    for index in 0..200 {
        let insight = InsightInput {
            scope: scope.clone(),
            insight_id: Some(format!("bench-insight-{index:04}")),
            kind: engram_types::InsightKind::Hypothesis,
            text: format!("hypothesis {index}: retries fix the flaky billing export"),
            confidence: Some(f64::from(index % 10) / 10.0),
            validation: engram_types::ValidationState::Unvalidated,
            tags: Vec::new(),
            entities: Vec::new(),
            sources: Vec::new(),
            created_at: Some(epoch_end()),
            expires_at: None,
        };
        let _ = store.append_insight(insight);
    }
}

fn lists(criterion: &mut Criterion) {
    let scales = config::sizes(&[10_000, 100_000], "ENGRAM_BENCH_EVENTS_SCALES");
    for events in scales {
        let stores = seeded(events, "store_ops");
        for (group_name, read) in LIST_GROUPS {
            let mut group = criterion.benchmark_group(*group_name);
            group.sample_size(50);
            for (backend, layout) in &stores {
                let scope = target_scope(layout);
                group.bench_with_input(BenchmarkId::new(backend.name, events), &scope, |bencher, scope| {
                    bencher.iter(|| read(backend.store.as_ref(), scope))
                });
            }
            group.finish();
        }
    }
}

type ListRead = fn(&dyn Store, &engram_types::Scope) -> usize;

/// Each list group and its read: newest first, one candidate query's worth of rows.
const LIST_GROUPS: &[(&str, ListRead)] = &[
    ("store_ops_list_events", |store, scope| {
        let mut query = EventQuery::new(scope.clone());
        query.session_wide = true;
        query.limit = LIST_LIMIT;
        store.list_events(&query).map_or(0, |found| found.len())
    }),
    ("store_ops_list_facts", |store, scope| store.list_facts(&list_query(scope)).map_or(0, |found| found.len())),
    ("store_ops_list_episodes", |store, scope| store.list_episodes(&list_query(scope)).map_or(0, |found| found.len())),
    ("store_ops_list_insights", |store, scope| store.list_insights(&list_query(scope)).map_or(0, |found| found.len())),
    ("store_ops_list_procedures", |store, scope| {
        store.list_procedures(&list_query(scope)).map_or(0, |found| found.len())
    }),
];

fn list_query(scope: &engram_types::Scope) -> ListQuery {
    let mut query = ListQuery::new(scope.clone());
    query.limit = LIST_LIMIT;
    query
}

/// Fresh events for the target session: the dataset's generator, with ids of their own.
struct Fresh {
    stream: EventStream,
    layout: Layout,
    next: usize,
}

impl Fresh {
    fn new(layout: Layout) -> Self {
        Self { stream: EventStream::new(Layout::for_events(20_000), shared::SEED ^ 0xfeed), layout, next: 0 }
    }

    fn events(&mut self, count: usize) -> Vec<EventInput> {
        let scope = target_scope(&self.layout);
        let mut events = Vec::with_capacity(count);
        while events.len() < count {
            if self.stream.remaining() == 0 {
                self.stream = EventStream::new(Layout::for_events(20_000), shared::SEED ^ self.next as u64);
            }
            for mut event in self.stream.next_chunk(count - events.len()) {
                event.scope = scope.clone();
                event.event_id = Some(format!("w-{}-{:09}", std::process::id(), self.next));
                event.ts = Some(epoch_end() + chrono::Duration::milliseconds(self.next as i64));
                self.next += 1;
                events.push(event);
            }
        }
        events
    }
}

fn append_event(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("store_ops_append_event");
    group.sample_size(50);
    group.throughput(Throughput::Elements(1));
    for events in config::sizes_without_extended(&[10_000], "ENGRAM_BENCH_WRITE_EVENTS_SCALES") {
        for (backend, layout) in seeded(events, "append_event") {
            let mut fresh = Fresh::new(layout);
            group.bench_function(BenchmarkId::new(backend.name, events), |bencher| {
                bencher.iter_batched(
                    || fresh.events(1),
                    |batch| backend.store.append_events(batch),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

fn append_events_bulk(criterion: &mut Criterion) {
    let batch = number("ENGRAM_BENCH_BULK_EVENT_BATCH", 500);
    let mut group = criterion.benchmark_group("store_ops_append_events_bulk");
    group.sample_size(20);
    group.throughput(Throughput::Elements(batch as u64));
    for events in config::sizes_without_extended(&[10_000], "ENGRAM_BENCH_BULK_EVENTS_SCALES") {
        for (backend, layout) in seeded(events, "append_bulk") {
            let mut fresh = Fresh::new(layout);
            group.bench_function(BenchmarkId::new(backend.name, events), |bencher| {
                bencher.iter_batched(
                    || fresh.events(batch),
                    |events| backend.store.append_events(events),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

/// Upserts into a user holding `facts` facts: every other write supersedes an existing key,
/// the rest create new ones (the two paths agents take).
fn upsert_fact(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("store_ops_upsert_fact");
    group.sample_size(50);
    group.throughput(Throughput::Elements(1));
    for facts in config::sizes_without_extended(&[1_000, 10_000], "ENGRAM_BENCH_WRITE_FACT_SCALES") {
        for backend in backends(facts, "upsert_fact") {
            let scope = target_scope(&Layout::for_events(20_000));
            let mut list = ListQuery::new(scope.clone());
            list.limit = 1;
            if !config::listing() && backend.store.list_facts(&list).is_ok_and(|found| found.is_empty()) {
                for chunk in (0..facts).collect::<Vec<_>>().chunks(1000) {
                    for index in chunk {
                        let _ = backend.store.upsert_fact(fact(&scope, *index, 0));
                    }
                }
            }
            let mut write = 0usize;
            group.bench_function(BenchmarkId::new(backend.name, facts), |bencher| {
                bencher.iter_batched(
                    || {
                        write += 1;
                        // Odd writes supersede an existing key with a new value; even ones add a key.
                        if write % 2 == 1 { fact(&scope, write % facts, write) } else { fact(&scope, facts + write, 0) }
                    },
                    |input| backend.store.upsert_fact(input),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

fn fact(scope: &engram_types::Scope, key: usize, version: usize) -> FactInput {
    let mut fact = FactInput::new(scope.clone(), format!("bench.fact_{key:06}"), json!(format!("value {version}")));
    fact.text = Some(format!("Fact {key}: the billing review for account {key} is due, version {version}."));
    fact
}

criterion_group!(benches, lists, append_event, append_events_bulk, upsert_fact);
criterion_main!(benches);
