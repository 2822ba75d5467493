#!/usr/bin/env python3
"""Concurrent load through the Python SDK: real threads sharing one `Memory` per backend.

engram releases the GIL while Rust works, so threads calling one `Memory` run in parallel; this
measures how far that carries. Each thread runs a mix for `--duration` seconds:
`build_memory_packet` 60% (planner packets for the seeded users' live sessions), `append_event`
30% and `upsert_fact` 10% (into those same sessions, so reads see writes). With `--levels 1,2,4`
each backend runs once per thread count, and the throughput of each level against the lowest is
reported (2 vs 1, 4 vs 1): it should grow with threads up to the cores the machine has.

Backends: in-memory, SQLite (a file in a temporary directory), and Postgres / MySQL when
`ENGRAM_LOAD_POSTGRES_DSN` / `ENGRAM_LOAD_MYSQL_DSN` are set (a database of the run's own, dropped
afterwards). Per backend and level: p50/p95/p99 per operation and total ops/s. Writes
`<target>/python_load.json` (the previous one moved to `python_load_prev.json`).

    python python/scripts/load_test.py --duration 60 --concurrency 8
    python python/scripts/load_test.py --duration 20 --levels 1,2,4
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bench_backends import (
    SEED,
    Backend,
    Dataset,
    default_target_dir,
    latency_summary,
    packet_request,
    parse_backends,
    run_metadata,
    seed_store,
    select_backends,
    sentence,
    write_results,
)
from engram import EngramError, Memory
from engram.types import Scope

MIX: Tuple[Tuple[str, float], ...] = (("build_memory_packet", 0.6), ("append_event", 0.3), ("upsert_fact", 0.1))
QUERIES: Tuple[str, ...] = (
    "what did we decide about the billing migration deadline and the invoice review",
    "status of the deployment incident and the latency alert",
    "hotel and flight budget for the lisbon trip",
    "who owns the security audit and the compliance report",
)
# A bounded key space: the mix supersedes facts instead of growing the active set forever.
FACT_KEYS = 50

WriteScope = Callable[[random.Random, int], Scope]


class Recorder:
    """Latencies and errors per operation, shared by the worker threads. A lock keeps `take()`
    exact; it costs far less than any engram call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latencies: Dict[str, List[float]] = {}
        self._errors: Dict[str, int] = {}

    def record(self, op: str, seconds: float, ok: bool) -> None:
        with self._lock:
            if ok:
                self._latencies.setdefault(op, []).append(seconds)
            else:
                self._errors[op] = self._errors.get(op, 0) + 1

    def take(self) -> Tuple[Dict[str, List[float]], Dict[str, int]]:
        """Everything recorded since the last call (so an interval's numbers are its own)."""
        with self._lock:
            latencies, errors = self._latencies, self._errors
            self._latencies, self._errors = {}, {}
        return latencies, errors


@dataclass
class Workload:
    """The mixed operations on one shared `Memory`: packets built for `read_scopes`, writes
    going wherever `write_scope` says."""

    memory: Memory
    read_scopes: Sequence[Scope]
    write_scope: WriteScope

    def pick(self, rng: random.Random) -> str:
        draw = rng.random()
        for op, share in MIX:
            if draw < share:
                return op
            draw -= share
        return MIX[-1][0]

    def call(self, op: str, rng: random.Random, thread: int) -> None:
        if op == "build_memory_packet":
            self.memory.build_memory_packet(packet_request(rng.choice(self.read_scopes), rng.choice(QUERIES)))
        elif op == "append_event":
            self.memory.append_event({"scope": self.write_scope(rng, thread), "kind": "message",
                                      "payload": {"role": rng.choice(("user", "assistant")),
                                                  "text": sentence(rng, 18)}})
        else:
            self.memory.upsert_fact({"scope": self.write_scope(rng, thread),
                                     "fact_key": f"load.pref{rng.randrange(FACT_KEYS)}",
                                     "value": sentence(rng, 8)})

    def warm_up(self) -> None:
        """One call of each operation: first-use costs (tokenizer tables, pools) stay out of the numbers."""
        rng = random.Random(SEED)
        for op, _ in MIX:
            self.call(op, rng, 0)


def worker(workload: Workload, recorder: Recorder, start: threading.Barrier, stop: threading.Event,
           thread: int) -> None:
    """Runs the mix until `stop`; an engram error is counted against its operation, not fatal."""
    rng = random.Random(SEED * 1000 + thread)
    start.wait()
    while not stop.is_set():
        op = workload.pick(rng)
        began = time.perf_counter()
        try:
            workload.call(op, rng, thread)
            ok = True
        except EngramError:
            ok = False
        recorder.record(op, time.perf_counter() - began, ok)


class Crew:
    """`threads` workers on one workload: started together, stopped together. A worker that dies
    of anything but an engram error (a bug here) stops the crew, and `stop()` raises it: numbers
    from fewer threads than asked would be wrong without saying so."""

    def __init__(self, workload: Workload, recorder: Recorder, threads: int) -> None:
        self._stop = threading.Event()
        self._start = threading.Barrier(threads + 1)
        self._failures: List[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, args=(workload, recorder, index), name=f"engram-load-{index}",
                             daemon=True)
            for index in range(threads)
        ]

    def _run(self, workload: Workload, recorder: Recorder, thread: int) -> None:
        try:
            worker(workload, recorder, self._start, self._stop, thread)
        except BaseException as failure:  # re-raised by stop()
            self._failures.append(failure)
            self._stop.set()
            self._start.abort()

    def wait_until(self, deadline: float) -> bool:
        """Sleeps until `deadline` (a perf_counter time); False early when a worker failed."""
        while not self._failures and time.perf_counter() < deadline:
            time.sleep(min(0.25, max(0.0, deadline - time.perf_counter())))
        return not self._failures

    def start(self) -> float:
        for thread in self._threads:
            thread.start()
        try:
            self._start.wait()
        except threading.BrokenBarrierError:
            self.stop()  # raises the failure that broke the barrier
        return time.perf_counter()

    def stop(self) -> float:
        """Stops the workers and waits for their last calls; returns when they all ended."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self._failures:
            raise RuntimeError("a load thread failed") from self._failures[0]
        return time.perf_counter()


def op_stats(latencies: Dict[str, List[float]], errors: Dict[str, int], elapsed: float) -> Dict[str, Dict[str, Any]]:
    """Per operation: count, errors, p50/p95/p99/mean (ms) and ops/s over `elapsed`."""
    stats: Dict[str, Dict[str, Any]] = {}
    for op, _ in MIX:
        samples = latencies.get(op, [])
        entry: Dict[str, Any] = {"count": len(samples), "errors": errors.get(op, 0)}
        entry.update(latency_summary(samples))
        entry["ops_per_s"] = len(samples) / elapsed if elapsed > 0 else 0.0
        stats[op] = entry
    return stats


def run_level(workload: Workload, threads: int, duration: float) -> Dict[str, Any]:
    """The mix on `threads` threads for `duration` seconds."""
    recorder = Recorder()
    crew = Crew(workload, recorder, threads)
    started = crew.start()
    crew.wait_until(started + duration)
    elapsed = crew.stop() - started
    latencies, errors = recorder.take()
    total = sum(len(samples) for samples in latencies.values())
    return {
        "concurrency": threads,
        "elapsed_s": elapsed,
        "total_ops": total,
        "ops_per_s": total / elapsed if elapsed > 0 else 0.0,
        "errors": sum(errors.values()),
        "ops": op_stats(latencies, errors, elapsed),
    }


def same_sessions(read_scopes: Sequence[Scope]) -> WriteScope:
    """Writes into the sessions the packets are built for, as a live agent would."""
    return lambda rng, thread: rng.choice(read_scopes)


def load_backend(backend: Backend, dataset: Dataset, levels: Sequence[int], duration: float) -> List[Dict[str, Any]]:
    """Seeds one backend, then runs every level on one shared `Memory`."""
    runs = []
    with backend.open() as memory:
        seconds = seed_store(memory, dataset)
        print(f"{backend.name}: seeded {dataset.events} events in {seconds:.1f} s")
        scopes = dataset.target_scopes()
        workload = Workload(memory, scopes, same_sessions(scopes))
        workload.warm_up()
        for threads in levels:
            run = {"backend": backend.name, **run_level(workload, threads, duration)}
            print(f"{backend.name}: {threads} threads: {run['ops_per_s']:.1f} ops/s ({run['errors']} errors)")
            runs.append(run)
    return runs


def scaling(runs: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Per backend, each level's throughput divided by the lowest level's."""
    result: Dict[str, Dict[str, Any]] = {}
    for backend in dict.fromkeys(run["backend"] for run in runs):
        mine = sorted((run for run in runs if run["backend"] == backend), key=lambda run: run["concurrency"])
        base = mine[0]
        if base["ops_per_s"] <= 0:
            continue
        result[backend] = {
            "base_level": base["concurrency"],
            "ratios": {str(run["concurrency"]): run["ops_per_s"] / base["ops_per_s"] for run in mine[1:]},
        }
    return result


def parse_levels(value: str) -> List[int]:
    try:
        levels = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--levels wants thread counts like 1,2,4, not {value!r}") from None
    if not levels or levels[0] < 1:
        raise argparse.ArgumentTypeError("--levels wants thread counts of at least 1")
    return levels


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per backend and level (default 30)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads, when --levels is not given (default 4)")
    parser.add_argument("--levels", type=parse_levels, default=None, help="thread counts to compare, e.g. 1,2,4")
    parser.add_argument("--events", type=int, default=None, help="seeded events per backend (default 20000)")
    parser.add_argument("--quick", action="store_true", help="a tiny seeded store, for smoke tests")
    parser.add_argument("--backends", type=parse_backends, default=None,
                        help="comma-separated subset of inmemory,sqlite,postgres,mysql")
    parser.add_argument("--target-dir", type=Path, default=None,
                        help="where results go (default: $CARGO_TARGET_DIR, else the repo's target/)")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the run's server databases")
    args = parser.parse_args(argv)
    args.levels = args.levels or [args.concurrency]
    args.events = args.events if args.events is not None else (300 if args.quick else 20_000)
    if args.duration <= 0 or args.concurrency < 1 or args.events < 1:
        parser.error("--duration, --concurrency and --events must be positive")
    return args


def print_summary(runs: Sequence[Dict[str, Any]], ratios: Dict[str, Dict[str, Any]]) -> None:
    print(f"{'backend':<10}{'threads':>8}{'ops/s':>10}  {'op':<21}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for run in runs:
        for op, stats in run["ops"].items():
            if stats["count"]:
                print(f"{run['backend']:<10}{run['concurrency']:>8}{run['ops_per_s']:>10.1f}  {op:<21}"
                      f"{stats['p50_ms']:>9.3f}{stats['p95_ms']:>9.3f}{stats['p99_ms']:>9.3f}{stats['errors']:>8}")
    for backend, entry in ratios.items():
        if entry["ratios"]:
            text = ", ".join(f"{level} threads vs {entry['base_level']}: {ratio:.2f}x"
                             for level, ratio in entry["ratios"].items())
            flat = " (no gain: is the machine busy, or short of cores?)" if min(entry["ratios"].values()) < 1.05 else ""
            print(f"{backend} throughput: {text}{flat}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    target: Path = args.target_dir or default_target_dir()
    backends, skipped = select_backends("LOAD", "pyload", args.backends)
    dataset = Dataset(args.events)
    runs: List[Dict[str, Any]] = []
    failed: Dict[str, str] = {}
    for backend in backends:
        try:
            runs += load_backend(backend, dataset, args.levels, args.duration)
        except EngramError as error:
            failed[backend.name] = f"{type(error).__name__}: {error}"
            print(f"{backend.name}: failed: {failed[backend.name]}", file=sys.stderr)
        finally:
            backend.close(args.keep_databases)
    settings = {"duration_s": args.duration, "levels": args.levels, "events": args.events, "quick": args.quick,
                "mix": dict(MIX), "seed": SEED}
    ratios = scaling(runs)
    data = run_metadata("engram_python_load", settings)
    data.update({"skipped": skipped, "failed": failed, "runs": runs, "scaling": ratios})
    path = write_results(target, "python_load", data)
    print_summary(runs, ratios)
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")
    print(f"wrote {path}")
    return 1 if failed or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
