"""Packet latency with vectors on every event against the lexical-only build, at scale.

The goal this checks: with an embedder configured, p50 packet latency at 100k stored events
stays within 2x of the lexical-only build (embedding the query aside).

    .venv/bin/python python/scripts/bench_vectors.py                      # 100,000 events, 200 builds
    .venv/bin/python python/scripts/bench_vectors.py --events 20000 --builds 100
    .venv/bin/python python/scripts/bench_vectors.py --embedder local     # real vectors (slow to embed)

One user's events (short, varied messages from a small generator, spread over sessions of 50,
appended 1,000 at a time) go into two temporary SQLite files: one lexical-only, one with a
256-dimension vector on every event. By default the vectors are synthetic: deterministic
pseudo-random unit vectors seeded by a hash of the text (the build's cost does not depend on
what the vectors mean); ``--embedder local`` embeds with ``engram.embeddings.LocalEmbedder``.
Then the same random queries are asked of both stores from a fresh session of the user,
alternating which store goes first, each ``build_memory_packet`` timed from Python; the vector
store's requests carry a precomputed ``query_embedding``, so embedding the query is not timed.

Prints p50/p95 for both and their ratio, and writes ``<target>/python_vectors.json``
(``--target-dir``, else ``$CARGO_TARGET_DIR``, else the repository's ``target/``). An extension
that does not take vectors yet runs the lexical store only and says so (``--lexical-only``
asks for that).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import engram
from engram import InvalidInputError, Memory

REPO_ROOT = Path(__file__).resolve().parents[2]
DIMENSIONS = 256
SESSION_EVENTS = 50
BULK = 1000
WARMUP = 10
START = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
SCOPE = {"tenant_id": "bench", "user_id": "u1", "agent_id": "a1", "session_id": "s0", "run_id": "r0"}

SUBJECTS = ("I", "We", "My sister", "The team", "Our manager", "The client", "My landlord", "The doctor")
VERBS = ("booked", "cancelled", "moved", "asked about", "paid for", "forgot", "confirmed", "complained about",
         "recommended", "reviewed")
OBJECTS = ("the flight to Lisbon", "a table for four", "the quarterly report", "the dentist appointment",
           "the hotel near the station", "a vegetarian menu", "the invoice from March", "the train tickets",
           "the kitchen repair", "the marketing budget", "a yoga class", "the museum tour", "the car rental",
           "the onboarding plan", "the birthday present", "the insurance claim", "the conference talk",
           "a window seat", "the database migration", "the piano lessons")
WHENS = ("yesterday", "this morning", "for next Tuesday", "last week", "before the holidays", "on Friday",
         "after lunch", "for the weekend", "again", "twice this month")
EXTRAS = ("", "", "", " because the price went up", " and it was fine", ", which took forever",
          " but nobody replied", " with a 10% discount", " and I want a reminder", " since plans changed")

Vectorizer = Callable[[List[str]], List[List[float]]]


def message(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHENS)}{rng.choice(EXTRAS)}."


def query(rng: random.Random) -> str:
    return f"what about {rng.choice(OBJECTS)} {rng.choice(WHENS)}?"


def synthetic_vectors(texts: List[str]) -> List[List[float]]:
    """A unit vector per text, pseudo-random but fixed by the text's hash."""
    vectors = []
    for text in texts:
        rng = random.Random(hashlib.sha256(text.encode()).digest())
        vector = [rng.gauss(0.0, 1.0) for _ in range(DIMENSIONS)]
        norm = math.sqrt(sum(value * value for value in vector))
        vectors.append([value / norm for value in vector])
    return vectors


def cached(vectorize: Vectorizer) -> Vectorizer:
    """The generator repeats texts: each distinct one is embedded once."""
    cache: Dict[str, List[float]] = {}

    def embed(texts: List[str]) -> List[List[float]]:
        fresh = list(dict.fromkeys(text for text in texts if text not in cache))
        if fresh:
            cache.update(zip(fresh, vectorize(fresh)))
        return [cache[text] for text in texts]

    return embed


def vectors_supported() -> bool:
    """Whether this extension takes an `embedding` on events (it rejects unknown keys)."""
    probe: Dict[str, Any] = {"scope": SCOPE, "kind": "message", "payload": {"text": "probe"},
                             "embedding": [1.0] + [0.0] * (DIMENSIONS - 1)}
    with Memory(in_memory=True) as memory:
        try:
            memory.append_events([probe])  # type: ignore[list-item]
        except InvalidInputError as error:
            if "embedding: unknown key" in str(error):
                return False
            raise
    return True


def ingest(memory: Memory, count: int, seed: int, vectorize: Optional[Vectorizer]) -> float:
    """Appends `count` events in bulk; returns the seconds spent in `append_events`."""
    rng = random.Random(seed)
    spent = 0.0
    for start in range(0, count, BULK):
        events: List[Dict[str, Any]] = []
        for index in range(start, min(start + BULK, count)):
            events.append({"scope": {**SCOPE, "session_id": f"s{index // SESSION_EVENTS}"}, "kind": "message",
                           "ts": (START + timedelta(seconds=37 * index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "payload": {"role": "user" if index % 2 else "assistant", "text": message(rng)}})
        if vectorize is not None:
            for event, vector in zip(events, vectorize([event["payload"]["text"] for event in events])):
                event["embedding"] = vector
        started = time.perf_counter()
        memory.append_events(events)  # type: ignore[arg-type]
        spent += time.perf_counter() - started
    return spent


def percentile(values: Sequence[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def summary(python_ms: List[float], rust_us: List[int], ingest_s: float, events: int) -> Dict[str, Any]:
    return {"p50_ms": round(percentile(python_ms, 50), 3), "p95_ms": round(percentile(python_ms, 95), 3),
            "mean_ms": round(statistics.fmean(python_ms), 3),
            "rust_p50_ms": round(percentile([value / 1e3 for value in rust_us], 50), 3),
            "builds": len(python_ms), "ingest_s": round(ingest_s, 2),
            "ingest_events_per_s": round(events / ingest_s) if ingest_s > 0 else None}


def default_target_dir() -> Path:
    configured = os.environ.get("CARGO_TARGET_DIR")
    return Path(configured) if configured else REPO_ROOT / "target"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="events per store")
    parser.add_argument("--builds", type=int, default=200, help="timed packets per store")
    parser.add_argument("--budget", type=int, default=1024, help="max_tokens of each packet")
    parser.add_argument("--embedder", choices=("synthetic", "local"), default="synthetic",
                        help="synthetic: hash-seeded unit vectors (default, fast); local: LocalEmbedder (slow)")
    parser.add_argument("--lexical-only", action="store_true", help="time the lexical store only")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--target-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.events < 1 or args.builds < 1:
        parser.error("--events and --builds must be at least 1")

    with_vectors = not args.lexical_only
    skipped = None
    if with_vectors and not vectors_supported():
        with_vectors, skipped = False, "this engram extension does not take `embedding` on events yet"
        print(f"vectors skipped: {skipped}")
    vectorize: Optional[Vectorizer] = None
    if with_vectors:
        if args.embedder == "local":
            from engram.embeddings import LocalEmbedder

            vectorize = cached(LocalEmbedder())
        else:
            vectorize = cached(synthetic_vectors)

    rng = random.Random(args.seed + 1)
    queries = [query(rng) for _ in range(args.builds + WARMUP)]
    query_vectors = vectorize(queries) if vectorize is not None else []  # embedded aside, not timed
    now = (START + timedelta(seconds=37 * args.events + 3600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    asking = {**SCOPE, "session_id": "bench-questions", "run_id": "bench-questions"}

    with tempfile.TemporaryDirectory(prefix="engram-vectors-") as directory:
        stores: Dict[str, Memory] = {"lexical": Memory(path=str(Path(directory) / "lexical.db"))}
        ingest_s = {"lexical": ingest(stores["lexical"], args.events, args.seed, None)}
        print(f"lexical: {args.events} events in {ingest_s['lexical']:.1f} s")
        if vectorize is not None:
            stores["vectors"] = Memory(path=str(Path(directory) / "vectors.db"))
            started = time.perf_counter()
            ingest_s["vectors"] = ingest(stores["vectors"], args.events, args.seed, vectorize)
            print(f"vectors ({args.embedder}): {args.events} events in {ingest_s['vectors']:.1f} s appending "
                  f"({time.perf_counter() - started:.1f} s with embedding)")
        python_ms: Dict[str, List[float]] = {name: [] for name in stores}
        rust_us: Dict[str, List[int]] = {name: [] for name in stores}
        for number, text in enumerate(queries):
            names = list(stores) if number % 2 == 0 else list(reversed(stores))  # neither always goes first
            for name in names:
                request: Dict[str, Any] = {"scope": asking, "purpose": "responder", "query": text, "now": now,
                                           "budget": {"max_tokens": args.budget}}
                if name == "vectors":
                    request["query_embedding"] = query_vectors[number]
                started = time.perf_counter()
                packet = stores[name].build_memory_packet(request)  # type: ignore[arg-type]
                elapsed_ms = (time.perf_counter() - started) * 1e3
                if number >= WARMUP:
                    python_ms[name].append(elapsed_ms)
                    rust_us[name].append(packet["explain"]["timings_us"]["total"])
        for memory in stores.values():
            memory.close()

    results = {name: summary(python_ms[name], rust_us[name], ingest_s[name], args.events) for name in stores}
    ratio = results["vectors"]["p50_ms"] / results["lexical"]["p50_ms"] if "vectors" in results else None
    print(f"{args.events} events, {args.builds} packets each ({args.budget} tokens), {platform.python_version()}")
    print(f"{'store':<10}{'p50 ms':>9}{'p95 ms':>9}{'rust p50':>10}")
    for name, result in results.items():
        print(f"{name:<10}{result['p50_ms']:>9.2f}{result['p95_ms']:>9.2f}{result['rust_p50_ms']:>10.2f}")
    if ratio is not None:
        print(f"p50 ratio vectors / lexical: {ratio:.2f} (goal: at most 2.0) -> {'ok' if ratio <= 2 else 'MISSED'}")

    target: Path = args.target_dir or default_target_dir()
    target.mkdir(parents=True, exist_ok=True)
    path = target / "python_vectors.json"
    data = {"kind": "engram_vectors_bench", "schema_version": 1,
            "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "engram_version": engram.__version__, "python": platform.python_version(),
            "settings": {"events": args.events, "builds": args.builds, "budget": args.budget,
                         "embedder": args.embedder if with_vectors else None, "dimensions": DIMENSIONS,
                         "seed": args.seed, "lexical_only": args.lexical_only},
            "skipped": skipped, "results": results, "p50_ratio": round(ratio, 3) if ratio is not None else None}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
