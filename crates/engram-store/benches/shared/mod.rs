//! What every bench shares: knobs, the dataset, and the backends to run on.

#![allow(dead_code, reason = "each bench binary uses a different part of the harness")]

mod allocator;
pub mod config;
pub mod dataset;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use engram_store::{InMemoryStore, SqliteStore, Store, StoreExt};

use config::{SqliteMode, number, setting, sqlite_mode};
use dataset::{EventStream, Layout, long_term};

pub const SEED: u64 = 0x5eed_e17a;

/// A backend under bench with a name for criterion ids.
pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
}

/// The backends that can hold `events` events under the configured caps.
pub fn backends(events: usize, label: &str) -> Vec<Backend> {
    let mut backends = Vec::new();
    if events <= number("ENGRAM_BENCH_INMEMORY_MAX_EVENTS", 300_000) {
        backends.push(Backend { name: "inmemory", store: Arc::new(InMemoryStore::new()) });
    }
    let in_memory_cap = number("ENGRAM_BENCH_SQLITE_MAX_EVENTS", 1_000_000);
    let use_file = match sqlite_mode() {
        SqliteMode::File => true,
        SqliteMode::Auto => events > in_memory_cap,
        SqliteMode::Memory => false,
    };
    let sqlite = if use_file {
        let path = sqlite_path(events, label);
        if config::flag("ENGRAM_BENCH_RESET_DB") {
            remove_database(&path);
        }
        SqliteStore::new(&path).map(|store| Arc::new(store) as Arc<dyn Store>)
    } else if events <= in_memory_cap {
        SqliteStore::in_memory().map(|store| Arc::new(store) as Arc<dyn Store>)
    } else {
        eprintln!(
            "engram bench: skipping SQLite at {events} events (above ENGRAM_BENCH_SQLITE_MAX_EVENTS; set ENGRAM_BENCH_SQLITE_MODE=file or auto)"
        );
        backends.extend(servers(events, label));
        return backends;
    };
    match sqlite {
        Ok(store) => backends.push(Backend { name: "sqlite", store }),
        Err(error) => eprintln!("engram bench: SQLite unavailable: {error}"),
    }
    backends.extend(servers(events, label));
    backends
}

/// Postgres and MySQL, when built with their feature and given a DSN: one database per dataset
/// (`engram_bench_{label}_{events}`), kept between runs unless `ENGRAM_BENCH_RESET_DB=1`.
#[allow(unused_mut, unused_variables, reason = "what is added depends on the features")]
fn servers(events: usize, label: &str) -> Vec<Backend> {
    let mut backends = Vec::new();
    #[cfg(feature = "postgres")]
    if let Some(dsn) = server_dsn("POSTGRES", events) {
        let database = format!("engram_bench_{label}_{events}");
        let options = || engram_store::ServerOptions::default().with_database(&database);
        if config::flag("ENGRAM_BENCH_RESET_DB") {
            let _ = engram_store::PostgresStore::drop_database(&dsn, options());
        }
        match engram_store::PostgresStore::with_options(&dsn, options()) {
            Ok(store) => backends.push(Backend { name: "postgres", store: Arc::new(store) }),
            Err(error) => eprintln!("engram bench: Postgres unavailable: {error}"),
        }
    }
    #[cfg(feature = "mysql")]
    if let Some(dsn) = server_dsn("MYSQL", events) {
        let database = format!("engram_bench_{label}_{events}");
        let options = || engram_store::ServerOptions::default().with_database(&database);
        if config::flag("ENGRAM_BENCH_RESET_DB") {
            let _ = engram_store::MySqlStore::drop_database(&dsn, options());
        }
        match engram_store::MySqlStore::with_options(&dsn, options()) {
            Ok(store) => backends.push(Backend { name: "mysql", store: Arc::new(store) }),
            Err(error) => eprintln!("engram bench: MySQL unavailable: {error}"),
        }
    }
    backends
}

/// `ENGRAM_BENCH_{server}_DSN` without its database path (each dataset gets its own database),
/// when set and `events` is within `ENGRAM_BENCH_{server}_MAX_EVENTS` (default 200000).
fn server_dsn(server: &str, events: usize) -> Option<String> {
    let dsn = setting(&format!("ENGRAM_BENCH_{server}_DSN"))?;
    if events > number(&format!("ENGRAM_BENCH_{server}_MAX_EVENTS"), 200_000) {
        eprintln!("engram bench: skipping {server} at {events} events (above ENGRAM_BENCH_{server}_MAX_EVENTS)");
        return None;
    }
    let (address, query) = dsn.split_once('?').map_or((dsn.as_str(), None), |(address, query)| (address, Some(query)));
    let authority_end = address.find("://").map_or(0, |scheme| scheme + 3);
    let base = match address[authority_end..].find('/') {
        Some(slash) => &address[..authority_end + slash],
        None => address,
    };
    Some(query.map_or_else(|| base.to_string(), |query| format!("{base}?{query}")))
}

fn sqlite_path(events: usize, label: &str) -> PathBuf {
    if let Some(file) = setting("ENGRAM_BENCH_SQLITE_FILE") {
        return PathBuf::from(file);
    }
    let directory = setting("ENGRAM_BENCH_SQLITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"));
    directory.join(format!("{label}-{events}.db"))
}

fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Fills a store with the dataset (bulk appends, progress on stderr) unless a reused file
/// already holds it.
pub fn seed(store: &dyn Store, layout: Layout, facts_per_user: usize) {
    seed_stream(store, layout, facts_per_user, EventStream::new(layout, SEED));
}

/// [`seed`], every event carrying a vector of `dimensions` values.
pub fn seed_with_vectors(store: &dyn Store, layout: Layout, facts_per_user: usize, dimensions: usize) {
    seed_stream(store, layout, facts_per_user, EventStream::with_vectors(layout, SEED, dimensions));
}

fn seed_stream(store: &dyn Store, layout: Layout, facts_per_user: usize, mut stream: EventStream) {
    if config::listing() {
        return;
    }
    let target = dataset::target_scope(&layout);
    let already = store.stats(&target).map(|stats| stats.events).unwrap_or(0);
    if already > 0 {
        eprintln!("engram bench: reusing a store that already holds data for {}", target.user_id);
        return;
    }
    let chunk = number("ENGRAM_BENCH_SQLITE_EVENT_CHUNK", 10_000);
    let started = Instant::now();
    let mut written = 0usize;
    let mut next_report = 100_000;
    while stream.remaining() > 0 {
        let events = stream.next_chunk(chunk);
        written += events.len();
        if let Err(error) = store.append_events(events) {
            eprintln!("engram bench: seeding failed: {error}");
            return;
        }
        if written >= next_report {
            let rate = written as f64 / started.elapsed().as_secs_f64();
            eprintln!("engram bench: seeded {written}/{} events ({rate:.0} events/s)", layout.events);
            next_report += 100_000;
        }
    }
    for user in 0..layout.users.min(50) {
        let (facts, episodes, procedures) = long_term(user, facts_per_user, SEED);
        for fact in facts {
            let _ = store.upsert_fact(fact);
        }
        for episode in episodes {
            let _ = store.append_episode(episode);
        }
        for procedure in procedures {
            let _ = store.upsert_procedure(procedure);
        }
    }
    eprintln!("engram bench: seeded {} events in {:.1}s", layout.events, started.elapsed().as_secs_f64());
}
