//! The packet builder against the store size (events scale), the candidate-set size
//! (candidate scale) and a query vector (vectors). Latency must follow the candidate set, not
//! the store.

mod shared;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use engram_store::build_memory_packet;
use engram_types::{BuildRequest, Purpose};

use shared::dataset::{Layout, QUERY, epoch_end, target_scope};
use shared::{backends, config, seed, seed_with_vectors};

/// Conversation window and lexical recall on, a realistic query, default policy and budget.
fn request(layout: &Layout) -> BuildRequest {
    BuildRequest::new(target_scope(layout), Purpose::Planner).with_query(QUERY).with_now(epoch_end())
}

fn events_scale(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("build_memory_packet_events_scale");
    group.sample_size(50);
    for events in config::sizes(&[10_000, 100_000], "ENGRAM_BENCH_EVENTS_SCALES") {
        let layout = Layout::for_events(events);
        for backend in backends(events, "events_scale") {
            seed(backend.store.as_ref(), layout, 200);
            let request = request(&layout);
            group.bench_with_input(BenchmarkId::new(backend.name, events), &request, |bencher, request| {
                bencher.iter(|| build_memory_packet(backend.store.as_ref(), request.clone()))
            });
        }
    }
    group.finish();
}

fn candidate_scale(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("build_memory_packet_candidate_scale");
    group.sample_size(30);
    let (events, candidate_sizes): (usize, &[usize]) =
        if config::smoke() { (config::SMOKE_SIZE, &[100, 500]) } else { (20_000, &[100, 500, 1_000, 5_000]) };
    let layout = Layout::for_events(events);
    for backend in backends(layout.events, "candidate_scale") {
        seed(backend.store.as_ref(), layout, 2_000);
        for &candidates in candidate_sizes {
            let mut request = request(&layout);
            request.policy.max_total_candidates = candidates as u32;
            request.policy.candidates_per_source = (candidates / 4) as u32;
            request.policy.max_facts = candidates as u32;
            group.bench_with_input(BenchmarkId::new(backend.name, candidates), &request, |bencher, request| {
                bencher.iter(|| build_memory_packet(backend.store.as_ref(), request.clone()))
            });
        }
    }
    group.finish();
}

/// The same packet with and without a query vector over one store whose events all carry a
/// 256-value vector: the vector source's cost (`policy.vector_candidates` vectors compared per
/// section) next to the lexical build's.
fn vectors(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("build_memory_packet_vectors");
    group.sample_size(50);
    let events = if config::smoke() { config::SMOKE_SIZE } else { 100_000 };
    let layout = Layout::for_events(events);
    let mut random = shared::dataset::Random::new(7);
    let lexical = request(&layout);
    let with_vector = request(&layout).with_query_embedding(random.unit_vector(256));
    for backend in backends(events, "vectors") {
        seed_with_vectors(backend.store.as_ref(), layout, 200, 256);
        for (mode, request) in [("lexical", &lexical), ("vector", &with_vector)] {
            let id = BenchmarkId::new(format!("{}/{mode}", backend.name), events);
            group.bench_with_input(id, request, |bencher, request| {
                bencher.iter(|| build_memory_packet(backend.store.as_ref(), request.clone()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, events_scale, candidate_scale, vectors);
criterion_main!(benches);
