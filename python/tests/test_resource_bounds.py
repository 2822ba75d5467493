"""Packet building memory does not grow with what is stored: the peak RSS of a process building
packets from a SQLite file holding 10,000 events is compared with one whose file holds 100 times
as many (100,000 by default, 1,000,000 with `ENGRAM_LONG_TESTS=1` or `ENGRAM_RSS_EVENTS`).

Every event belongs to the same user and agent, so each query term's postings list grows with
the store: the worst case for a builder that read whole lists. Each measurement runs in a fresh
process (`rss_child.py`), after warm-up, with the kernel's peak mark reset."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from engram import Memory
from conftest import WORDS, long_tests, report_figures

SMALL = 10_000
LARGE = int(os.environ.get("ENGRAM_RSS_EVENTS", 1_000_000 if long_tests() else 100_000))
SESSIONS = 1000
BATCH = 10_000
BUILDS = 60
HERE = Path(__file__).resolve().parent


def seed(path: Path, events: int) -> None:
    words = random.Random(11)
    with Memory(path=path) as mem:
        for session_block in range(0, events, BATCH):
            batch: List[Dict[str, Any]] = []
            for index in range(session_block, min(session_block + BATCH, events)):
                session = f"s{index % SESSIONS}"
                batch.append({
                    "scope": {"tenant_id": "rss", "user_id": "u", "agent_id": "a", "session_id": session,
                              "run_id": f"r{index % SESSIONS}"},
                    "kind": "message",
                    "payload": {"role": "user" if index % 2 else "assistant",
                                "text": " ".join(words.choice(WORDS) for _ in range(16))},
                })
            mem.append_events(batch)
        scope = {"tenant_id": "rss", "user_id": "u", "agent_id": "a", "session_id": "s0", "run_id": "r0"}
        for index in range(200):
            mem.upsert_fact({"scope": scope, "fact_key": f"note.{index}",
                             "value": " ".join(words.choice(WORDS) for _ in range(10))})


def measure(path: Path) -> Dict[str, int]:
    result = subprocess.run([sys.executable, str(HERE / "rss_child.py"), str(path), str(BUILDS)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    figures: Dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_packet_memory_does_not_grow_with_stored_events(tmp_path: Path) -> None:
    paths = {events: tmp_path / f"events-{events}.db" for events in (SMALL, LARGE)}
    for events, path in paths.items():
        seed(path, events)
    # Judged on anonymous memory (the heap): whole-process RSS also counts file pages of the
    # extension and the database, which a loaded machine keeps resident or not (seen: 84 or
    # 99 MiB after warm-up for the same store, from one run to the next).
    figures = {events: {**measure(path), "file_mib": path.stat().st_size // (1024 * 1024)}
               for events, path in paths.items()}
    small, large = figures[SMALL], figures[LARGE]
    report_figures("packet memory vs stored events (SQLite)",
                   **{f"{key}@{events}": value for events, row in figures.items() for key, value in row.items()})
    # Building packets adds little over the opened, warmed-up store, at either size...
    for row in (small, large):
        assert row["anon_peak_kib"] - row["anon_warm_kib"] < 16 * 1024, row
    # ...and the heap hardly moves with 100x the events: reads are index ranges with a limit,
    # so only the B-trees' depth grows (seen here: +0.2 MiB to +4.9 MiB over a 64-76 MiB heap).
    # One child's heap settles on one of two levels 8.2 MiB apart, by the interpreter's hash
    # seed and the store (seen for the 10k store with one build: 63.3 MiB under one seed, 71.5
    # under three others; the 100k store at 76.4 under all four): the bound allows that step,
    # and a builder reading whole postings lists would still cross it many times over.
    assert large["anon_peak_kib"] - small["anon_peak_kib"] < 16 * 1024, figures
