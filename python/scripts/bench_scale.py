#!/usr/bin/env python3
"""Does a packet cost the same however much memory has piled up? Packets on SQLite files of
10k, 1M and (with --extreme) 10M events, or with `--postgres DSN` on Postgres databases of 20k and
1M events, measured in one run.

Each store holds the dataset of `bench_backends.py`: at most 20,000 events per user, so a big
store means many users; the packets are for user 0, whose events are the same in every store
of 20k events or more. Stores are built once and kept (`--rebuild` starts over); building one
reports its ingest rate through `append_events` in batches of `--batch` (events per second, per
decade of the store's size).

- SQLite: files under `--store-dir` (default `<target>/scale-stores`), complete once a marker
  file written after the last write says so.
- Postgres (`--postgres postgres://user@host:5432`): one database per store on that server,
  `<--database-prefix>_<events>` (default `engram_scale_20000` and `engram_scale_1000000`: user 0
  alone, then 50 users of 20k events). A database is complete when it holds the dataset's event
  and fact counts, asked of the database itself (`psql`); `--rebuild` drops and builds it again.
  After its last write a database gets `VACUUM (ANALYZE)`: the state a server with autovacuum
  reaches soon after a bulk load, made the same for every run whether autovacuum is on or not.

Packets: responder, 1,024 tokens, the default policy (conversation window and lexical recall
on), a few queries in turn. The stores are measured round by round in turn, so a noisy moment
of the machine falls on all of them alike. Per store: p50, p95, p99 (ms) and the ratios to the
smallest store. Results go to `<target>/scale_bench.json` (the previous one kept as
`scale_bench_prev.json`).

Build the extension in release mode first (`make build`; for Postgres with its feature,
`maturin develop --release -m python/Cargo.toml --features postgres`, as `make bench-scale
POSTGRES=dsn` does), then:

    .venv/bin/python python/scripts/bench_scale.py [--scales 10000,1000000] [--extreme] [--packets 250]
    .venv/bin/python python/scripts/bench_scale.py --postgres postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import (  # noqa: E402  (a sibling script, not a package)
    Dataset,
    default_target_dir,
    drop_database,
    latency_summary,
    run_metadata,
    server_dsn,
    write_results,
)
from engram import Memory  # noqa: E402

QUERIES = (
    "what did we decide about the billing migration deadline and the invoice review",
    "hotel and flight budget for the lisbon trip",
    "kubernetes latency incident and the backup plan",
    "payroll taxes and the insurance contract status",
)
DEFAULT_SCALES = (10_000, 1_000_000)
# User 0 alone (the dataset puts 20,000 events on a user), then 50 users.
DEFAULT_POSTGRES_SCALES = (20_000, 1_000_000)
EXTREME_SCALE = 10_000_000
BUDGET_TOKENS = 1024


class SqliteStore:
    """A store kept as a SQLite file, complete once its marker file says so."""

    size_key = "file_mb"

    def __init__(self, store_dir: Path, events: int) -> None:
        self.events = events
        self.path = store_dir / f"scale-{events}.db"
        self.marker = store_dir / f"scale-{events}.db.complete"

    @property
    def name(self) -> str:
        return str(self.path)

    def open(self) -> Memory:
        return Memory(path=str(self.path))

    def is_complete(self) -> bool:
        return self.path.exists() and self.marker.exists() and \
            self.marker.read_text(encoding="utf-8").strip() == str(self.events)

    def remove(self) -> None:
        for leftover in self.path.parent.glob(self.path.name + "*"):
            leftover.unlink()

    def finish(self) -> None:
        self.marker.write_text(f"{self.events}\n", encoding="utf-8")

    def size_mb(self) -> float:
        return os.path.getsize(self.path) / 1e6


class PostgresStore:
    """A store kept as a database of a Postgres server, complete when the database itself holds
    the dataset's events and facts (a half-built one holds fewer: each append is a transaction)."""

    size_key = "database_mb"

    def __init__(self, dsn: str, prefix: str, events: int) -> None:
        self.events = events
        self.dsn = server_dsn(dsn)
        self.database = f"{prefix}_{events}"

    @property
    def name(self) -> str:
        return self.database

    def open(self) -> Memory:
        return Memory(backend="postgres", dsn=self.dsn, database=self.database)

    def query(self, sql: str, database: Optional[str] = None) -> Optional[str]:
        """The first row of `sql` as psql prints it unaligned, or None when it fails (no such
        database, no tables yet)."""
        url = urlsplit(self.dsn)
        command = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                   "-U", url.username or "postgres", "-d", database or self.database, "-XtAqc", sql]
        result = subprocess.run(command, env=dict(os.environ, PGPASSWORD=url.password or ""),
                                capture_output=True, text=True, timeout=600, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def is_complete(self) -> bool:
        dataset = Dataset(self.events)
        counts = self.query("SELECT (SELECT count(*) FROM events) || ',' || (SELECT count(*) FROM facts)")
        return counts == f"{self.events},{dataset.users * dataset.facts_per_user}"

    def remove(self) -> None:
        drop_database("postgres", self.dsn, self.database)

    def finish(self) -> None:
        """Leaves the database as a server with autovacuum would soon have it (statistics, the
        visibility map set), whether or not this server runs autovacuum, so that every run
        measures the same state. The packet's plans are index ranges either way."""
        if self.query("VACUUM (ANALYZE)") is None:
            raise RuntimeError(f"VACUUM (ANALYZE) failed on {self.database}")

    def size_mb(self) -> float:
        size = self.query(f"SELECT pg_database_size('{self.database}')", database="postgres")
        return int(size) / 1e6 if size else 0.0


ScaleStore = Union[SqliteStore, PostgresStore]


def build_store(store: ScaleStore, batch: int) -> Dict[str, Any]:
    """Writes the dataset into a new store; returns the ingest rate per decade of the store's size
    (events per second of `append_events` call time, the facts not counted)."""
    store.remove()
    events = store.events
    dataset = Dataset(events)
    memory = store.open()
    decades: List[Dict[str, Any]] = []
    written, seconds, decade_end, decade_written, decade_seconds = 0, 0.0, 10_000, 0, 0.0
    for chunk in dataset.event_batches(datetime.now(timezone.utc), batch=batch):
        started = time.perf_counter()
        memory.append_events(chunk)
        elapsed = time.perf_counter() - started
        written += len(chunk)
        seconds += elapsed
        decade_written += len(chunk)
        decade_seconds += elapsed
        if written >= decade_end or written == events:
            decades.append({"up_to_events": written, "events_per_second": decade_written / decade_seconds})
            print(f"  ingest into {written:>10,} events: {decade_written / decade_seconds:>9,.0f} events/s", flush=True)
            decade_end *= 10
            decade_written, decade_seconds = 0, 0.0
    for fact in dataset.facts():
        memory.upsert_fact(fact)
    memory.close()
    store.finish()
    return {"events": events, "events_per_second": written / seconds, "decades": decades}


def request_for(dataset: Dataset, query: str) -> Dict[str, Any]:
    return {"scope": dataset.target_scopes()[0], "purpose": "responder", "query": query,
            "budget": {"max_tokens": BUDGET_TOKENS}}


def measure(stores: Dict[int, Memory], packets: int, warmup: int) -> Dict[int, List[float]]:
    """Round by round: in each round every store builds one packet for the same query."""
    requests = {events: [request_for(Dataset(events), query) for query in QUERIES] for events in stores}
    for events, memory in stores.items():
        for index in range(warmup):
            memory.build_memory_packet(requests[events][index % len(QUERIES)])
    seconds: Dict[int, List[float]] = {events: [] for events in stores}
    for index in range(packets):
        for events, memory in stores.items():
            request = requests[events][index % len(QUERIES)]
            started = time.perf_counter()
            memory.build_memory_packet(request)
            seconds[events].append(time.perf_counter() - started)
    return seconds


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=None,
                        help="store sizes in events, comma-separated (default 10000,1000000; "
                             "with --postgres 20000,1000000)")
    parser.add_argument("--extreme", action="store_true", help="add the 10M-event store (about 4 GB on SQLite)")
    parser.add_argument("--packets", type=int, default=250, help="timed packets per store")
    parser.add_argument("--warmup", type=int, default=20, help="untimed packets per store first")
    parser.add_argument("--batch", type=int, default=5000, help="events per append_events call when building")
    parser.add_argument("--store-dir", type=Path, default=None, help="where the SQLite stores are kept")
    parser.add_argument("--postgres", metavar="DSN", default=None,
                        help="keep the stores as databases of this Postgres server instead of SQLite files")
    parser.add_argument("--database-prefix", default="engram_scale",
                        help="with --postgres: the stores' databases are <prefix>_<events>")
    parser.add_argument("--rebuild", action="store_true", help="build every store again")
    parser.add_argument("--target-dir", type=Path, default=None, help="where the results file goes")
    args = parser.parse_args(argv)
    defaults = DEFAULT_POSTGRES_SCALES if args.postgres else DEFAULT_SCALES
    scales = args.scales if args.scales is not None else ",".join(str(scale) for scale in defaults)
    args.scales = sorted({int(scale) for scale in scales.split(",") if scale} |
                         ({EXTREME_SCALE} if args.extreme else set()))
    if args.postgres and shutil.which("psql") is None:
        parser.error("--postgres needs psql (the stores' completeness is asked of the database)")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    target = args.target_dir or default_target_dir()
    stores: Dict[int, ScaleStore]
    if args.postgres:
        stores = {events: PostgresStore(args.postgres, args.database_prefix, events) for events in args.scales}
    else:
        store_dir = args.store_dir or target / "scale-stores"
        if args.rebuild and store_dir.exists():
            shutil.rmtree(store_dir)
        store_dir.mkdir(parents=True, exist_ok=True)
        stores = {events: SqliteStore(store_dir, events) for events in args.scales}

    ingest: Dict[int, Dict[str, Any]] = {}
    for events, store in stores.items():
        if args.rebuild or not store.is_complete():
            print(f"building the {events:,}-event store at {store.name}", flush=True)
            ingest[events] = build_store(store, args.batch)

    memories = {events: store.open() for events, store in stores.items()}
    seconds = measure(memories, args.packets, args.warmup)
    for memory in memories.values():
        memory.close()

    smallest = args.scales[0]
    summaries = {events: latency_summary(values) for events, values in seconds.items()}
    size_header = "file MB" if not args.postgres else "db MB"
    print(f"\n{'events':>12}{size_header:>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}")
    results = []
    for events, store in stores.items():
        summary, base = summaries[events], summaries[smallest]
        size_mb = store.size_mb()
        result = {"events": events, "store": store.name, store.size_key: round(size_mb, 1),
                  **{key: round(value, 4) for key, value in summary.items()},
                  "p50_ratio": summary["p50_ms"] / base["p50_ms"], "p99_ratio": summary["p99_ms"] / base["p99_ms"]}
        results.append(result)
        print(f"{events:>12,}{size_mb:>10.0f}{summary['p50_ms']:>9.3f}{summary['p95_ms']:>9.3f}"
              f"{summary['p99_ms']:>9.3f}{result['p50_ratio']:>11.2f}{result['p99_ratio']:>11.2f}")
    for events, rate in ingest.items():
        print(f"built {events:,} events at {rate['events_per_second']:,.0f} events/s")
    settings = {"backend": "postgres" if args.postgres else "sqlite", "scales": args.scales,
                "packets": args.packets, "warmup": args.warmup, "batch": args.batch,
                "budget_tokens": BUDGET_TOKENS, "queries": list(QUERIES)}
    path = write_results(target, "scale_bench", {**run_metadata("scale", settings), "packets": results,
                                                 "ingest": list(ingest.values())})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
