//! Bench knobs: environment variables, with defaults from `bench/engram_bench.env` (or the
//! file named by `ENGRAM_BENCH_CONFIG`). A variable set in the environment wins.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

fn file_values() -> &'static HashMap<String, String> {
    static VALUES: OnceLock<HashMap<String, String>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let path = std::env::var_os("ENGRAM_BENCH_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/engram_bench.env"));
        let Ok(text) = std::fs::read_to_string(&path) else { return HashMap::new() };
        eprintln!("engram bench: reading settings from {}", path.display());
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.trim_start_matches("export ").split_once('='))
            .map(|(key, value)| (key.trim().to_string(), value.trim().trim_matches('"').to_string()))
            .collect()
    })
}

pub fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty()).or_else(|| file_values().get(name).cloned())
}

pub fn flag(name: &str) -> bool {
    setting(name).is_some_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
}

pub fn number(name: &str, default: usize) -> usize {
    setting(name).and_then(|value| value.replace('_', "").parse().ok()).unwrap_or(default)
}

/// A comma-separated list of sizes, e.g. `ENGRAM_BENCH_EVENTS_SCALES=20000,500000`.
pub fn scales(name: &str) -> Vec<usize> {
    setting(name)
        .map(|value| value.split(',').filter_map(|part| part.trim().replace('_', "").parse().ok()).collect())
        .unwrap_or_default()
}

/// `ENGRAM_BENCH_SMOKE=1`: one small size per group, for a quick check that every bench runs
/// (`make test` runs them so, once each, with `cargo test --benches`).
pub fn smoke() -> bool {
    flag("ENGRAM_BENCH_SMOKE")
}

/// Size of every dataset in smoke mode.
pub const SMOKE_SIZE: usize = 1_000;

/// `cargo bench -- --list` only names the benchmarks: nothing is seeded then.
pub fn listing() -> bool {
    std::env::args().any(|argument| argument == "--list")
}

/// The default sizes, plus 1M with ENGRAM_BENCH_EXTENDED, 5M with ENGRAM_BENCH_EXTREME, plus
/// the sizes listed in `extra`.
pub fn sizes(defaults: &[usize], extra: &str) -> Vec<usize> {
    if smoke() {
        return vec![SMOKE_SIZE];
    }
    let mut sizes = defaults.to_vec();
    if flag("ENGRAM_BENCH_EXTENDED") || flag("ENGRAM_BENCH_EXTREME") {
        sizes.push(1_000_000);
    }
    if flag("ENGRAM_BENCH_EXTREME") {
        sizes.push(5_000_000);
    }
    sizes.extend(scales(extra));
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The default sizes plus those listed in `extra` (write benches: EXTENDED and EXTREME grow
/// the stores read from, not the ones written to).
pub fn sizes_without_extended(defaults: &[usize], extra: &str) -> Vec<usize> {
    if smoke() {
        return vec![SMOKE_SIZE];
    }
    let mut sizes = defaults.to_vec();
    sizes.extend(scales(extra));
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteMode {
    Memory,
    File,
    Auto,
}

pub fn sqlite_mode() -> SqliteMode {
    match setting("ENGRAM_BENCH_SQLITE_MODE").as_deref() {
        Some("file") => SqliteMode::File,
        Some("auto") => SqliteMode::Auto,
        _ => SqliteMode::Memory,
    }
}
