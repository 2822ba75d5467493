#!/usr/bin/env python3
"""A steady mixed load for a long time, watching for leaks and drift.

Per backend (one after another, `--duration` seconds each, so each backend's memory is its own),
`--concurrency` threads share one `Memory` and run load_test.py's mix (packets 60%, events 30%,
facts 10%). Every `--interval` seconds the script records the interval's ops/s, p50/p95/p99 and the
process RSS (`VmRSS` of /proc/self/status). After a warm-up (the first interval, or the first 20%
of them when that is more), RSS growing by more than `--rss-growth-pct` percent *and* more than
`--rss-growth-mib` MiB sets `rss_growth_flagged` (per backend, and at the top of the JSON).

So that RSS measures engram and not the data it holds (the in-memory backend keeps every record
in the process), the writes go to a "churn" user per interval, and each interval ends by purging
the user written two intervals before (`purge_user`): stored data stays bounded, and deletion is
soaked too. `--no-purge` keeps everything instead.

Backends: in-memory, SQLite (a temporary file), and Postgres / MySQL when
`ENGRAM_SOAK_POSTGRES_DSN` / `ENGRAM_SOAK_MYSQL_DSN` are set (a database of the run's own, dropped
afterwards). Writes `<target>/python_soak.json` (the previous one moved to `python_soak_prev.json`).

    python python/scripts/soak_test.py --duration 600 --interval 60
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench_backends import (
    SEED,
    Backend,
    Dataset,
    default_target_dir,
    latency_summary,
    parse_backends,
    run_metadata,
    seed_store,
    select_backends,
    write_results,
)
from engram import EngramError, Memory
from engram.types import Scope
from load_test import MIX, Crew, Recorder, Workload, op_stats

TENANT = "bench"


def rss_mib() -> Optional[float]:
    """The process's resident set size now (None where /proc is not there)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


class Churn:
    """Which user the writes go to: a new one each interval, so old ones can be purged whole."""

    def __init__(self) -> None:
        self.generation = 0

    @staticmethod
    def user(generation: int) -> str:
        return f"soak-churn-{generation:05d}"

    def scope(self, rng: random.Random, thread: int) -> Scope:
        user = self.user(self.generation)  # one read of an int: atomic under the GIL
        return {"tenant_id": TENANT, "user_id": user, "agent_id": "assistant",
                "session_id": f"{user}-t{thread}", "run_id": f"{user}-t{thread}-run"}


@dataclass(frozen=True)
class Thresholds:
    """RSS growth that counts as a leak: both relative and absolute, so neither a small process
    growing a few MiB nor a big one growing a few percent is flagged."""

    pct: float
    mib: float


def interval_entry(index: int, elapsed: float, length: float, recorder: Recorder) -> Dict[str, Any]:
    latencies, errors = recorder.take()
    samples = [value for values in latencies.values() for value in values]
    entry: Dict[str, Any] = {"index": index, "elapsed_s": elapsed, "length_s": length, "ops": len(samples),
                             "ops_per_s": len(samples) / length if length > 0 else 0.0,
                             "errors": sum(errors.values())}
    entry.update(latency_summary(samples))
    entry["by_op"] = op_stats(latencies, errors, length)
    entry["rss_mib"] = rss_mib()
    return entry


def purge(memory: Memory, generation: int) -> Optional[float]:
    """Deletes a churn user's records; returns the milliseconds it took (None when unsupported)."""
    purge_user = getattr(memory, "purge_user", None)
    if purge_user is None or generation < 0:
        return None
    began = time.perf_counter()
    purge_user(TENANT, Churn.user(generation))
    return (time.perf_counter() - began) * 1e3


def run_intervals(memory: Memory, workload: Workload, churn: Churn, args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Runs the crew for the whole duration, closing an interval every `--interval` seconds."""
    recorder = Recorder()
    crew = Crew(workload, recorder, args.concurrency)
    count = max(1, math.ceil(args.duration / args.interval - 1e-9))
    intervals = []
    started = crew.start()
    mark = started
    try:
        for index in range(count):
            deadline = started + min((index + 1) * args.interval, args.duration)
            if not crew.wait_until(deadline):
                break  # crew.stop() below raises the failure
            now = time.perf_counter()
            entry = interval_entry(index, now - started, now - mark, recorder)
            mark = now
            churn.generation += 1
            entry["purge_ms"] = purge(memory, churn.generation - 2) if args.purge else None
            intervals.append(entry)
            print(f"  [{entry['elapsed_s']:6.1f} s] {entry['ops_per_s']:8.1f} ops/s  "
                  f"p95 {entry.get('p95_ms', 0.0):7.2f} ms  RSS {entry['rss_mib'] or 0:7.1f} MiB"
                  f"  errors {entry['errors']}")
    finally:
        crew.stop()
    return intervals


def rss_verdict(intervals: Sequence[Dict[str, Any]], thresholds: Thresholds) -> Dict[str, Any]:
    """RSS after the warm-up against the end of the run, and whether the growth is flagged."""
    warmup = max(1, math.ceil(0.2 * len(intervals)))
    values = [entry["rss_mib"] for entry in intervals]
    verdict: Dict[str, Any] = {"warmup_intervals": warmup, "rss_judged": False, "rss_growth_flagged": False,
                               "rss_baseline_mib": None, "rss_final_mib": values[-1] if values else None,
                               "rss_peak_mib": max((v for v in values if v is not None), default=None),
                               "rss_growth_mib": None, "rss_growth_pct": None}
    if len(values) <= warmup or values[warmup - 1] is None or values[-1] is None:
        return verdict  # too short (or no /proc) to tell growth from warm-up
    baseline, final = float(values[warmup - 1]), float(values[-1])
    growth = final - baseline
    percent = growth / baseline * 100 if baseline > 0 else 0.0
    verdict.update({"rss_judged": True, "rss_baseline_mib": baseline, "rss_growth_mib": growth,
                    "rss_growth_pct": percent,
                    "rss_growth_flagged": percent > thresholds.pct and growth > thresholds.mib})
    return verdict


def summary(intervals: Sequence[Dict[str, Any]], warmup: int) -> Dict[str, Any]:
    """Totals over the run; p95 as the median and the worst of the steady (post-warm-up) intervals."""
    total = sum(entry["ops"] for entry in intervals)
    elapsed = sum(entry["length_s"] for entry in intervals)
    steady = [entry["p95_ms"] for entry in intervals[warmup:] if "p95_ms" in entry] or \
        [entry["p95_ms"] for entry in intervals if "p95_ms" in entry]
    return {"total_ops": total, "elapsed_s": elapsed, "ops_per_s": total / elapsed if elapsed > 0 else 0.0,
            "errors": sum(entry["errors"] for entry in intervals),
            "p95_ms": statistics.median(steady) if steady else None,
            "p95_ms_max": max(steady) if steady else None}


def soak_backend(
    backend: Backend, dataset: Dataset, args: argparse.Namespace, thresholds: Thresholds
) -> Dict[str, Any]:
    """Seeds one backend, soaks it, and judges its RSS."""
    with backend.open() as memory:
        seconds = seed_store(memory, dataset)
        print(f"{backend.name}: seeded {dataset.events} events in {seconds:.1f} s; soaking {args.duration:g} s")
        churn = Churn()
        workload = Workload(memory, dataset.target_scopes(), churn.scope)
        workload.warm_up()
        purging = bool(args.purge and hasattr(memory, "purge_user"))
        if args.purge and not purging:
            print(f"{backend.name}: this engram has no purge_user; stored data grows during the soak")
        intervals = run_intervals(memory, workload, churn, args)
    gc.collect()
    verdict = rss_verdict(intervals, thresholds)
    entry: Dict[str, Any] = {"backend": backend.name, "purge": purging}
    entry.update(summary(intervals, verdict["warmup_intervals"]))
    entry.update(verdict)
    entry["intervals"] = intervals
    return entry


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds per backend (default 600)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per measurement (default 60)")
    parser.add_argument("--concurrency", type=int, default=2, help="threads sharing the Memory (default 2)")
    parser.add_argument("--events", type=int, default=None, help="seeded events per backend (default 20000)")
    parser.add_argument("--quick", action="store_true", help="a tiny seeded store, for smoke tests")
    parser.add_argument("--rss-growth-pct", type=float, default=20.0, help="flag above this growth in %% (default 20)")
    parser.add_argument("--rss-growth-mib", type=float, default=50.0, help="... and above this many MiB (default 50)")
    parser.add_argument("--no-purge", dest="purge", action="store_false", help="keep every record written")
    parser.add_argument("--backends", type=parse_backends, default=None,
                        help="comma-separated subset of inmemory,sqlite,postgres,mysql")
    parser.add_argument("--target-dir", type=Path, default=None,
                        help="where results go (default: $CARGO_TARGET_DIR, else the repo's target/)")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the run's server databases")
    args = parser.parse_args(argv)
    args.events = args.events if args.events is not None else (300 if args.quick else 20_000)
    if args.duration <= 0 or args.interval <= 0 or args.concurrency < 1 or args.events < 1:
        parser.error("--duration, --interval, --concurrency and --events must be positive")
    args.interval = min(args.interval, args.duration)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    target: Path = args.target_dir or default_target_dir()
    thresholds = Thresholds(args.rss_growth_pct, args.rss_growth_mib)
    backends, skipped = select_backends("SOAK", "pysoak", args.backends)
    dataset = Dataset(args.events)
    results: List[Dict[str, Any]] = []
    failed: Dict[str, str] = {}
    for backend in backends:
        try:
            results.append(soak_backend(backend, dataset, args, thresholds))
        except EngramError as error:
            failed[backend.name] = f"{type(error).__name__}: {error}"
            print(f"{backend.name}: failed: {failed[backend.name]}", file=sys.stderr)
        finally:
            backend.close(args.keep_databases)
    settings = {"duration_s": args.duration, "interval_s": args.interval, "concurrency": args.concurrency,
                "events": args.events, "quick": args.quick, "purge": args.purge, "mix": dict(MIX), "seed": SEED,
                "rss_growth_pct_threshold": thresholds.pct, "rss_growth_mib_threshold": thresholds.mib}
    data = run_metadata("engram_python_soak", settings)
    flagged = [entry["backend"] for entry in results if entry["rss_growth_flagged"]]
    data.update({"rss_growth_flagged": bool(flagged), "skipped": skipped, "failed": failed, "backends": results})
    path = write_results(target, "python_soak", data)
    print_summary(results, skipped)
    print(f"wrote {path}")
    return 1 if failed or not results else 0


def print_summary(results: Sequence[Dict[str, Any]], skipped: Dict[str, str]) -> None:
    for entry in results:
        if entry["rss_judged"]:
            rss = (f"RSS {entry['rss_baseline_mib']:.1f} -> {entry['rss_final_mib']:.1f} MiB "
                   f"({entry['rss_growth_pct']:+.1f}%){' FLAGGED' if entry['rss_growth_flagged'] else ''}")
        else:
            rss = "RSS not judged (run shorter than the warm-up)"
        p95 = "—" if entry["p95_ms"] is None else f"{entry['p95_ms']:.2f} ms"
        print(f"{entry['backend']}: {entry['ops_per_s']:.1f} ops/s, p95 {p95}, {entry['errors']} errors, {rss}")
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")


if __name__ == "__main__":
    sys.exit(main())
