#!/usr/bin/env python3
"""Times engram operations through the Python SDK on every backend available.

What criterion measures in Rust, measured here as an application sees it: dicts in, dicts out,
the GIL released around each call. Backends: in-memory, SQLite (a file in a temporary directory),
and Postgres / MySQL when `ENGRAM_BENCH_POSTGRES_DSN` / `ENGRAM_BENCH_MYSQL_DSN` are set (each run
uses a database of its own, `engram_pybench_<pid>_<time>`, dropped at the end with the server's
command-line client when it is installed; nothing else on the server is touched).

Operations, each on a store seeded with the same deterministic multi-user, multi-session dataset:
`list_events` (32 newest of a session), `build_memory_packet` (planner, a realistic query),
`upsert_fact` (alternately superseding a key and writing a new one), `append_event`, and
`append_events` (bulk, 500 per call). Reads run first, so they see the seeded size.

Per backend and operation: p50, p95, p99 (ms), ops/s (calls per second of call time) and items/s.
Writes `<target>/python_bench.json` (the previous one moved to `python_bench_prev.json`; the change
of each p50 against it is recorded) and `<target>/python_bench.html`. The target directory is
`--target-dir`, else `$CARGO_TARGET_DIR`, else the repository's `target/`.

    python python/scripts/bench_backends.py [--events 20000] [--iterations 200] [--quick]

This module also holds what `load_test.py` and `soak_test.py` share: backends, the dataset,
percentiles and the output files.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

import engram
from engram import EngramError, Memory
from engram.types import BuildRequest, EventInput, FactInput, Scope

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKEND_ORDER: Tuple[str, ...] = ("inmemory", "sqlite", "postgres", "mysql")
SERVER_BACKENDS: Tuple[str, ...] = ("postgres", "mysql")
SEED = 7
BULK_SIZE = 500
OPS: Tuple[str, ...] = ("append_event", "append_events", "upsert_fact", "list_events", "build_memory_packet")
QUERY = "what did we decide about the billing migration deadline and the invoice review"

TOPICS = (
    "billing migration deployment database invoice refund travel flight hotel budget roadmap onboarding "
    "kubernetes latency incident backup pricing contract newsletter analytics dashboard security password "
    "compliance audit vendor shipping warehouse inventory support ticket escalation marketing campaign "
    "webinar recipe garden fitness marathon vacation lisbon tokyo berlin mortgage insurance taxes payroll"
).split()
WORDS = (
    "need plan check update review schedule confirm send draft fix team week monday friday deadline customer "
    "report meeting note issue change request cost time version service server account order email call "
    "document summary step option problem question answer result detail priority status progress estimate "
    "approval manager client project release test error alert metric goal risk"
).split()
OPENERS = ("Can you", "Please", "I think we should", "Let's", "Remember to", "We decided to", "Could you", "I want to")


# --- percentiles and summaries --------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's and criterion's default), so
    p50 <= p95 <= p99 always holds for the same samples."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> Dict[str, float]:
    """p50/p95/p99/mean in milliseconds of call latencies given in seconds."""
    if not seconds:
        return {}
    return {
        "p50_ms": percentile(seconds, 0.50) * 1e3,
        "p95_ms": percentile(seconds, 0.95) * 1e3,
        "p99_ms": percentile(seconds, 0.99) * 1e3,
        "mean_ms": sum(seconds) / len(seconds) * 1e3,
    }


# --- the dataset ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """The layout of the Rust benches' dataset (`benches/shared/dataset.rs`): at most 20,000
    events per user, so a big store means many users; sessions of 40 turns; 50 facts per user.
    Content comes from a fixed seed; timestamps end at the moment the store is seeded."""

    events: int
    seed: int = SEED
    turns_per_session: int = 40
    facts_per_user: int = 50

    @property
    def users(self) -> int:
        return max(1, math.ceil(self.events / 20_000))

    @property
    def events_per_user(self) -> int:
        return math.ceil(self.events / self.users)

    def scope(self, user: int, session: int) -> Scope:
        return {
            "tenant_id": "bench",
            "user_id": f"user-{user:04d}",
            "agent_id": "assistant",
            "session_id": f"user-{user:04d}-session-{session:05d}",
            "run_id": f"user-{user:04d}-session-{session:05d}-run",
        }

    def target_scopes(self) -> List[Scope]:
        """Each user's latest session: where an agent would be talking now."""
        scopes = []
        for user in range(self.users):
            events = min(self.events_per_user, self.events - user * self.events_per_user)
            scopes.append(self.scope(user, max(0, events - 1) // self.turns_per_session))
        return scopes

    def event_batches(self, end: datetime, batch: int = 1000) -> Iterator[List[EventInput]]:
        """The events, user by user and session by session, 30 s apart, in append batches."""
        rng = random.Random(self.seed)
        start = end - timedelta(seconds=30 * self.events_per_user)
        chunk: List[EventInput] = []
        for index in range(self.events):
            user, turn = divmod(index, self.events_per_user)
            chunk.append(self.event(rng, user, turn, start + timedelta(seconds=30 * turn)))
            if len(chunk) == batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def event(self, rng: random.Random, user: int, turn: int, ts: datetime) -> EventInput:
        scope = self.scope(user, turn // self.turns_per_session)
        if turn % 10 == 7:
            return {"scope": scope, "kind": "tool_call", "ts": iso(ts),
                    "payload": {"tool": "search", "text": sentence(rng, 6)}, "tags": ["tool"]}
        return {"scope": scope, "kind": "message", "ts": iso(ts),
                "payload": {"role": "user" if turn % 2 == 0 else "assistant", "text": sentence(rng, 18)},
                "importance": round(rng.random(), 2)}

    def facts(self) -> Iterator[FactInput]:
        rng = random.Random(self.seed + 1)
        for scope in self.target_scopes():
            for index in range(self.facts_per_user):
                yield {"scope": scope, "fact_key": f"{TOPICS[index % len(TOPICS)]}.note{index}",
                       "value": sentence(rng, 10), "confidence": round(0.5 + rng.random() / 2, 2)}


def zipf(rng: random.Random, bound: int) -> int:
    """Low indexes far more often, like words in real text (the Rust dataset's pick)."""
    return int(bound ** rng.random() - 1) % bound


def sentence(rng: random.Random, words: int) -> str:
    parts = [OPENERS[rng.randrange(len(OPENERS))]]
    for position in range(words):
        parts.append(TOPICS[zipf(rng, len(TOPICS))] if position % 4 == 1 else WORDS[zipf(rng, len(WORDS))])
    return " ".join(parts) + "."


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def seed_store(memory: Memory, dataset: Dataset) -> float:
    """Writes the dataset with bulk appends; returns the seconds it took."""
    started = time.perf_counter()
    for batch in dataset.event_batches(datetime.now(timezone.utc)):
        memory.append_events(batch)
    for fact in dataset.facts():
        memory.upsert_fact(fact)
    return time.perf_counter() - started


def packet_request(scope: Scope, query: str = QUERY) -> BuildRequest:
    """A planner packet with the conversation window and lexical recall, default policy."""
    return {"scope": scope, "purpose": "planner", "query": query}


# --- backends -------------------------------------------------------------------------------


@dataclass
class Backend:
    """A backend to run on: how to open it, and what to clean up afterwards."""

    name: str
    kwargs: Dict[str, Any]
    database: Optional[str] = None
    dsn: Optional[str] = None
    cleanup: List[Callable[[], None]] = field(default_factory=list)

    def open(self) -> Memory:
        return Memory(**self.kwargs)

    def close(self, keep_databases: bool = False) -> None:
        """Drops the server database this run created (unless kept) and removes temp files."""
        if self.database and self.dsn and not keep_databases:
            drop_database(self.name, self.dsn, self.database)
        for step in self.cleanup:
            step()


def run_database_name(prefix: str) -> str:
    """A database name no other run uses (and that engram accepts: letters, digits, `_`)."""
    return f"engram_{prefix}_{os.getpid()}_{int(time.time())}"


def server_dsn(dsn: str) -> str:
    """The DSN without a database path: the run's own database is given as `database=`."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "", parts.query, ""))


def drop_database(backend: str, dsn: str, name: str) -> None:
    """Drops the run's database with psql / mariadb (best effort: says so when it cannot)."""
    url = urlsplit(dsn)
    environment = dict(os.environ, PGPASSWORD=url.password or "", MYSQL_PWD=url.password or "")
    if backend == "postgres":
        client = shutil.which("psql")
        command = [client or "psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                   "-U", url.username or "postgres", "-d", "postgres", "-qc",
                   f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)']
    else:
        client = shutil.which("mariadb") or shutil.which("mysql")
        command = [client or "mysql", "-h", url.hostname or "127.0.0.1", "-P", str(url.port or 3306),
                   "-u", url.username or "root", "-e", f"DROP DATABASE IF EXISTS `{name}`"]
    if client is None:
        print(f"note: {backend} database {name} left on the server (no command-line client to drop it)")
        return
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        print(f"note: could not drop {backend} database {name}: {result.stderr.strip()}")


def select_backends(
    env_prefix: str, db_prefix: str, only: Optional[Sequence[str]]
) -> Tuple[List[Backend], Dict[str, str]]:
    """The backends to run on (in-memory, a SQLite file, and servers whose DSN variable
    `ENGRAM_<env_prefix>_<SERVER>_DSN` is set), and why the others are skipped."""
    chosen: List[Backend] = []
    skipped: Dict[str, str] = {}
    for name in BACKEND_ORDER:
        if only and name not in only:
            continue
        if name == "inmemory":
            chosen.append(Backend(name, {"in_memory": True}))
        elif name == "sqlite":
            directory = tempfile.mkdtemp(prefix="engram-pybench-")
            backend = Backend(name, {"path": str(Path(directory) / "bench.db")})
            backend.cleanup.append(functools.partial(shutil.rmtree, directory, ignore_errors=True))
            chosen.append(backend)
        else:
            variable = f"ENGRAM_{env_prefix}_{name.upper()}_DSN"
            dsn = os.environ.get(variable)
            if not dsn:
                skipped[name] = f"{variable} is not set"
                continue
            database = run_database_name(f"{db_prefix}_{name[:2]}")
            chosen.append(Backend(name, {"backend": name, "dsn": server_dsn(dsn), "database": database},
                                  database=database, dsn=server_dsn(dsn)))
    return chosen, skipped


def parse_backends(value: Optional[str]) -> Optional[List[str]]:
    """`--backends inmemory,sqlite` -> the list (checked), None for every backend."""
    if not value:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKEND_ORDER]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown backends {unknown}; choose from {', '.join(BACKEND_ORDER)}")
    return names


# --- output files ---------------------------------------------------------------------------


def default_target_dir() -> Path:
    """`$CARGO_TARGET_DIR` when set (where cargo and the report look), else the repo's target/."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return Path(configured) if configured else REPO_ROOT / "target"


def read_previous(path: Path) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_results(target: Path, stem: str, data: Dict[str, Any]) -> Path:
    """Moves `<stem>.json` to `<stem>_prev.json`, then writes the new one (via a temp file, so a
    crash never leaves half a JSON behind)."""
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{stem}.json"
    if path.exists():
        os.replace(path, target / f"{stem}_prev.json")
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def run_metadata(kind: str, settings: Dict[str, Any]) -> Dict[str, Any]:
    """What every results file starts with: which run, which build, which machine."""
    return {
        "kind": kind,
        "schema_version": 1,
        "generated_at": iso(datetime.now(timezone.utc)),
        "engram_version": engram.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "settings": settings,
    }


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class OpPlan:
    """How one operation is timed: the call, how many items each call handles, how often."""

    op: str
    call: Callable[[int], object]
    items_per_call: int
    iterations: int
    warmup: int


def plans(memory: Memory, dataset: Dataset, iterations: int, bulk_iterations: int, warmup: int) -> List[OpPlan]:
    """Reads first (they then see the seeded store), writes after."""
    target = dataset.target_scopes()[0]
    rng = random.Random(SEED + 2)

    def append_event(index: int) -> object:
        return memory.append_event({"scope": target, "kind": "message",
                                    "payload": {"role": "user", "text": f"{sentence(rng, 18)} #{index}"}})

    def append_events(index: int) -> object:
        scope: Scope = {**target, "session_id": f"bulk-{index}", "run_id": f"bulk-{index}-run"}
        return memory.append_events([{"scope": scope, "kind": "message",
                                      "payload": {"role": "user", "text": sentence(rng, 18)}}
                                     for _ in range(BULK_SIZE)])

    def upsert_fact(index: int) -> object:
        key = f"{TOPICS[index % 10]}.note{index % 10}" if index % 2 == 0 else f"bench.new.{index}"
        return memory.upsert_fact({"scope": target, "fact_key": key, "value": sentence(rng, 10)})

    return [
        OpPlan("list_events", lambda _: memory.list_events({"scope": target, "limit": 32}), 1, iterations, warmup),
        OpPlan("build_memory_packet", lambda _: memory.build_memory_packet(packet_request(target)), 1,
               iterations, warmup),
        OpPlan("upsert_fact", upsert_fact, 1, iterations, warmup),
        OpPlan("append_event", append_event, 1, iterations, warmup),
        OpPlan("append_events", append_events, BULK_SIZE, bulk_iterations, min(warmup, 1)),
    ]


def time_plan(plan: OpPlan) -> List[float]:
    """Latencies in seconds of `plan.iterations` calls, after `plan.warmup` untimed ones."""
    for index in range(plan.warmup):
        plan.call(-1 - index)
    latencies = []
    for index in range(plan.iterations):
        started = time.perf_counter()
        plan.call(index)
        latencies.append(time.perf_counter() - started)
    return latencies


def op_result(
    backend: str, plan: OpPlan, latencies: Sequence[float], previous: Dict[Tuple[str, str], float]
) -> Dict[str, Any]:
    total = sum(latencies)
    ops_per_s = len(latencies) / total if total > 0 else 0.0
    result: Dict[str, Any] = {"backend": backend, "op": plan.op, "calls": len(latencies),
                              "items_per_call": plan.items_per_call}
    result.update(latency_summary(latencies))
    result["ops_per_s"] = ops_per_s
    result["items_per_s"] = ops_per_s * plan.items_per_call
    before = previous.get((backend, plan.op))
    result["prev_p50_ms"] = before
    result["change_p50"] = result["p50_ms"] / before - 1.0 if before else None
    return result


def previous_p50s(data: Optional[Dict[str, Any]]) -> Dict[Tuple[str, str], float]:
    found: Dict[Tuple[str, str], float] = {}
    for result in (data or {}).get("results", []):
        if isinstance(result, dict) and isinstance(result.get("p50_ms"), (int, float)):
            found[(str(result.get("backend")), str(result.get("op")))] = float(result["p50_ms"])
    return found


def bench_backend(backend: Backend, dataset: Dataset, args: argparse.Namespace,
                  previous: Dict[Tuple[str, str], float]) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Seeds one backend and times every operation on it."""
    with backend.open() as memory:
        seed_seconds = seed_store(memory, dataset)
        print(f"{backend.name}: seeded {dataset.events} events in {seed_seconds:.1f} s")
        results = []
        for plan in plans(memory, dataset, args.iterations, args.bulk_iterations, args.warmup):
            results.append(op_result(backend.name, plan, time_plan(plan), previous))
    results.sort(key=lambda result: OPS.index(result["op"]))
    info = {"seed_s": seed_seconds, "events": dataset.events, "users": dataset.users,
            "facts": dataset.users * dataset.facts_per_user, "database": backend.database}
    return info, results


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=None, help="seeded events per backend (default 20000)")
    parser.add_argument("--iterations", type=int, default=None, help="timed calls per operation (default 200)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--backends", type=parse_backends, default=None,
                        help="comma-separated subset of inmemory,sqlite,postgres,mysql")
    parser.add_argument("--target-dir", type=Path, default=None,
                        help="where results go (default: $CARGO_TARGET_DIR, else the repo's target/)")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop the run's server databases")
    args = parser.parse_args(argv)
    args.events = args.events if args.events is not None else (400 if args.quick else 20_000)
    args.iterations = args.iterations if args.iterations is not None else (10 if args.quick else 200)
    if args.events < 1 or args.iterations < 1:
        parser.error("--events and --iterations must be at least 1")
    # Every bulk call writes 500 events: a tenth as many calls keeps the stores comparable.
    args.bulk_iterations = 2 if args.quick else max(3, args.iterations // 10)
    args.warmup = 1 if args.quick else max(2, args.iterations // 20)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    target: Path = args.target_dir or default_target_dir()
    previous = previous_p50s(read_previous(target / "python_bench.json"))
    backends, skipped = select_backends("BENCH", "pybench", args.backends)
    dataset = Dataset(args.events)
    results: List[Dict[str, Any]] = []
    infos: Dict[str, Any] = {}
    failed: Dict[str, str] = {}
    for backend in backends:
        try:
            infos[backend.name], found = bench_backend(backend, dataset, args, previous)
            results += found
        except EngramError as error:
            failed[backend.name] = f"{type(error).__name__}: {error}"
            print(f"{backend.name}: failed: {failed[backend.name]}", file=sys.stderr)
        finally:
            backend.close(args.keep_databases)
    settings = {"events": args.events, "iterations": args.iterations, "bulk_iterations": args.bulk_iterations,
                "bulk_size": BULK_SIZE, "warmup": args.warmup, "seed": SEED, "quick": args.quick}
    data = run_metadata("engram_python_bench", settings)
    data.update({"backends": infos, "skipped": skipped, "failed": failed, "results": results})
    path = write_results(target, "python_bench", data)
    html_path = target / "python_bench.html"
    html_path.write_text(render_html(data), encoding="utf-8")
    print_summary(results, skipped, path, html_path)
    return 1 if failed or not results else 0


def print_summary(results: Sequence[Dict[str, Any]], skipped: Dict[str, str], path: Path, html_path: Path) -> None:
    print(f"{'backend':<10}{'op':<21}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'ops/s':>11}{'vs prev':>10}")
    for r in results:
        change = "" if r["change_p50"] is None else f"{r['change_p50'] * 100:+.1f}%"
        print(f"{r['backend']:<10}{r['op']:<21}{r['p50_ms']:>10.3f}{r['p95_ms']:>10.3f}{r['p99_ms']:>10.3f}"
              f"{r['ops_per_s']:>11.1f}{change:>10}")
    for name, reason in skipped.items():
        print(f"{name}: skipped ({reason})")
    print(f"wrote {path} and {html_path}")


def render_html(data: Dict[str, Any]) -> str:
    """A plain, self-contained table of the results (the combined report is criterion_report.py)."""
    rows = []
    for r in data["results"]:
        change = r["change_p50"]
        css = "" if change is None else ("worse" if change > 0.05 else "better" if change < -0.05 else "")
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (r["backend"], r["op"], r["calls"]))
            + "".join(f'<td class="num">{r[k]:.3f}</td>' for k in ("p50_ms", "p95_ms", "p99_ms"))
            + f'<td class="num">{r["ops_per_s"]:.1f}</td><td class="num">{r["items_per_s"]:.1f}</td>'
            + f'<td class="num {css}">{"—" if change is None else f"{change * 100:+.1f}%"}</td></tr>'
        )
    settings = ", ".join(f"{k}={v}" for k, v in data["settings"].items())
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in data["skipped"].items())
    headers = ("backend", "op", "calls", "p50 (ms)", "p95 (ms)", "p99 (ms)", "ops/s", "items/s", "p50 vs previous")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>engram Python SDK benchmark</title>'
        "<style>body{font:14px system-ui,sans-serif;margin:24px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ddd;padding:3px 8px}th{background:#f3f3f3}.num{text-align:right}"
        ".worse{color:#b00020}.better{color:#1b7f2a}</style></head><body>"
        f"<h1>engram Python SDK benchmark</h1><p>{html.escape(data['generated_at'])}; engram "
        f"{html.escape(data['engram_version'])}; {html.escape(settings)}</p>"
        + (f"<p>Skipped:</p><ul>{skipped}</ul>" if skipped else "")
        + "<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in headers) + "</tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></body></html>\n"
    )


if __name__ == "__main__":
    sys.exit(main())
