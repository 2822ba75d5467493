#!/usr/bin/env python3
"""Does a packet cost the same however much memory has piled up? Packets on SQLite files of
10k, 1M and (with --extreme) 10M events, measured in one run.

Each store holds the dataset of `bench_backends.py`: at most 20,000 events per user, so a big
store means many users; the packets are for user 0, whose events are the same in every store
of 20k events or more. Stores are built once and kept under `--store-dir` (default
`<target>/scale-stores`; `--rebuild` starts over); building one reports its ingest rate through
`append_events` in batches of `--batch` (events per second, per decade of the store's size).

Packets: responder, 1,024 tokens, the default policy (conversation window and lexical recall
on), a few queries in turn. The stores are measured round by round in turn, so a noisy moment
of the machine falls on all of them alike. Per store: p50, p95, p99 (ms) and the ratios to the
smallest store. Results go to `<target>/scale_bench.json` (the previous one kept as
`scale_bench_prev.json`).

Build the extension in release mode first (`make build`), then:

    .venv/bin/python python/scripts/bench_scale.py [--scales 10000,1000000] [--extreme] [--packets 250]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backends import (  # noqa: E402  (a sibling script, not a package)
    Dataset,
    default_target_dir,
    latency_summary,
    run_metadata,
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
EXTREME_SCALE = 10_000_000
BUDGET_TOKENS = 1024


def store_path(store_dir: Path, events: int) -> Path:
    return store_dir / f"scale-{events}.db"


def build_store(path: Path, events: int, batch: int) -> Dict[str, Any]:
    """Writes the dataset into a new file; returns the ingest rate per decade of the store's size
    (events per second of `append_events` call time, the facts not counted)."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    dataset = Dataset(events)
    memory = Memory(path=str(path))
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
    (path.parent / (path.name + ".complete")).write_text(f"{events}\n", encoding="utf-8")
    return {"events": events, "events_per_second": written / seconds, "decades": decades}


def is_complete(path: Path, events: int) -> bool:
    marker = path.parent / (path.name + ".complete")
    return path.exists() and marker.exists() and marker.read_text(encoding="utf-8").strip() == str(events)


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
    parser.add_argument("--scales", default=",".join(str(scale) for scale in DEFAULT_SCALES),
                        help="store sizes in events, comma-separated (default 10000,1000000)")
    parser.add_argument("--extreme", action="store_true", help="add the 10M-event store (about 4 GB)")
    parser.add_argument("--packets", type=int, default=250, help="timed packets per store")
    parser.add_argument("--warmup", type=int, default=20, help="untimed packets per store first")
    parser.add_argument("--batch", type=int, default=5000, help="events per append_events call when building")
    parser.add_argument("--store-dir", type=Path, default=None, help="where the stores are kept")
    parser.add_argument("--rebuild", action="store_true", help="build every store again")
    parser.add_argument("--target-dir", type=Path, default=None, help="where the results file goes")
    args = parser.parse_args(argv)
    args.scales = sorted({int(scale) for scale in args.scales.split(",") if scale} |
                         ({EXTREME_SCALE} if args.extreme else set()))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    target = args.target_dir or default_target_dir()
    store_dir = args.store_dir or target / "scale-stores"
    if args.rebuild and store_dir.exists():
        shutil.rmtree(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)

    ingest: Dict[int, Dict[str, Any]] = {}
    for events in args.scales:
        path = store_path(store_dir, events)
        if not is_complete(path, events):
            print(f"building the {events:,}-event store at {path}", flush=True)
            ingest[events] = build_store(path, events, args.batch)

    stores = {events: Memory(path=str(store_path(store_dir, events))) for events in args.scales}
    seconds = measure(stores, args.packets, args.warmup)
    for memory in stores.values():
        memory.close()

    smallest = args.scales[0]
    summaries = {events: latency_summary(values) for events, values in seconds.items()}
    print(f"\n{'events':>12}{'file MB':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}")
    results = []
    for events in args.scales:
        summary, base = summaries[events], summaries[smallest]
        size_mb = os.path.getsize(store_path(store_dir, events)) / 1e6
        result = {"events": events, "file_mb": round(size_mb, 1), **{key: round(value, 4) for key, value in summary.items()},
                  "p50_ratio": summary["p50_ms"] / base["p50_ms"], "p99_ratio": summary["p99_ms"] / base["p99_ms"]}
        results.append(result)
        print(f"{events:>12,}{size_mb:>10.0f}{summary['p50_ms']:>9.3f}{summary['p95_ms']:>9.3f}"
              f"{summary['p99_ms']:>9.3f}{result['p50_ratio']:>11.2f}{result['p99_ratio']:>11.2f}")
    for events, rate in ingest.items():
        print(f"built {events:,} events at {rate['events_per_second']:,.0f} events/s")
    settings = {"scales": args.scales, "packets": args.packets, "warmup": args.warmup, "batch": args.batch,
                "budget_tokens": BUDGET_TOKENS, "queries": list(QUERIES)}
    path = write_results(target, "scale_bench", {**run_metadata("scale", settings), "packets": results,
                                                 "ingest": list(ingest.values())})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
