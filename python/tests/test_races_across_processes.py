"""The "once" rules across real processes: worker processes, each with its own `Memory` on one
database, race round after round (a barrier starts each round), then the parent checks what
they left.

- One active fact per key: every worker upserts the same key with its own value.
- An insight is promoted once: every worker promotes the same insight.
- A session is consolidated once: every worker consolidates the same session.
- A purge through a long-lived handle leaves no index row of the user (SQLite): workers purge
  the user and write again while the parent's handle keeps its own view of the spaces.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from conftest import BACKENDS, make_scope
from engram import ConflictError, Memory

WORKERS = 3
ROUNDS = 8
# Process-shared backends: the in-memory store lives in one process.
SHARED_BACKENDS = ["mysql", "postgres", "sqlite"]


def race_worker(kwargs: Dict[str, Any], operation: str, rounds: int, barrier: Any, results: Any) -> None:
    """One worker: for each round, waits for the others, then makes its call. Reports, per round,
    `ok`, `conflict` or the name and text of any other exception."""
    outcomes: List[str] = []
    try:
        # Every worker opens the (new) database at once: creating and migrating it races too.
        mem = Memory(**kwargs)
    except Exception as error:
        barrier.abort()
        results.put([f"open: {type(error).__name__}: {error}"])
        return
    with mem:
        for round_number in range(rounds):
            scope = make_scope(session_id=f"s{round_number}", run_id=f"r{round_number}")
            barrier.wait(timeout=60)
            try:
                if operation == "fact":
                    mem.upsert_fact({"scope": scope, "fact_key": f"race.{round_number}",
                                     "value": f"{multiprocessing.current_process().name}"})
                elif operation == "promote":
                    mem.promote_insight({"scope": scope, "insight_id": f"ins-{round_number}", "to": "fact",
                                         "fact_key": f"promoted.{round_number}"})
                elif operation == "consolidate":
                    mem.consolidate_session({"scope": scope, "window": 2, "min_events": 1})
                outcomes.append("ok")
            except ConflictError:
                outcomes.append("conflict")
            except Exception as error:  # reported to the parent, which fails the test with it
                outcomes.append(f"{type(error).__name__}: {error}")
    results.put(outcomes)


def race(kwargs: Dict[str, Any], operation: str) -> List[List[str]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [context.Process(target=race_worker, args=(kwargs, operation, ROUNDS, barrier, results))
               for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    for outcome in outcomes:
        assert set(outcome) <= {"ok", "conflict"}, outcome
    return outcomes


@pytest.fixture(params=SHARED_BACKENDS)
def shared_kwargs(request: pytest.FixtureRequest, tmp_path: Path) -> Dict[str, Any]:
    return BACKENDS[str(request.param)](tmp_path)


def test_one_active_fact_per_key_across_processes(shared_kwargs: Dict[str, Any]) -> None:
    race(shared_kwargs, "fact")
    with Memory(**shared_kwargs) as mem:
        facts = mem.list_facts({"scope": make_scope(), "limit": 1000})
        keys = [fact["fact_key"] for fact in facts]
        assert sorted(keys) == sorted(f"race.{number}" for number in range(ROUNDS))
        for number in range(ROUNDS):
            history = mem.fact_history(make_scope(), f"race.{number}")
            assert [fact["status"] for fact in history].count("active") == 1, history


def test_an_insight_is_promoted_once_across_processes(shared_kwargs: Dict[str, Any]) -> None:
    with Memory(**shared_kwargs) as mem:
        for number in range(ROUNDS):
            scope = make_scope(session_id=f"s{number}", run_id=f"r{number}")
            mem.append_insight({"scope": scope, "insight_id": f"ins-{number}", "kind": "pattern",
                                "text": f"pattern {number}"})
    outcomes = race(shared_kwargs, "promote")
    for number in range(ROUNDS):
        assert [worker[number] for worker in outcomes].count("ok") == 1, outcomes
    with Memory(**shared_kwargs) as mem:
        facts = mem.list_facts({"scope": make_scope(), "limit": 1000})
        assert sorted(fact["fact_key"] for fact in facts) == sorted(f"promoted.{n}" for n in range(ROUNDS))


def test_a_session_is_consolidated_once_across_processes(shared_kwargs: Dict[str, Any]) -> None:
    with Memory(**shared_kwargs) as mem:
        for number in range(ROUNDS):
            scope = make_scope(session_id=f"s{number}", run_id=f"r{number}")
            mem.append_events([{"scope": scope, "kind": "message", "event_id": f"e{number}-{turn}",
                                "ts": f"2026-11-01T12:{turn:02d}:00Z",
                                "payload": {"role": "user", "text": f"turn {turn}"}} for turn in range(10)])
    outcomes = race(shared_kwargs, "consolidate")
    with Memory(**shared_kwargs) as mem:
        episodes = mem.list_episodes({"scope": make_scope(), "limit": 1000})
        sources = [source for episode in episodes for source in episode["sources"]]
        assert len(episodes) == ROUNDS, (outcomes, episodes)
        assert len(sources) == len(set(sources)) == ROUNDS * 8, "an event was consolidated twice"


def purge_worker(path: str, role: str, rounds: int, barrier: Any) -> None:
    """Writers write the user's turns; purgers purge the user; both each round."""
    scope = make_scope()
    with Memory(path=path) as mem:
        for round_number in range(rounds):
            barrier.wait(timeout=60)
            if role == "writer":
                mem.append_events([{"scope": scope, "kind": "message",
                                    "payload": {"role": "user", "text": f"wombat numbat {round_number} {turn}"}}
                                   for turn in range(5)])
            else:
                mem.purge_user(scope["tenant_id"], scope["user_id"])


def index_rows(path: Path) -> Tuple[int, int, int]:
    """Rows of the lexical index's own tables (plain tables: any sqlite3 reads them)."""
    with sqlite3.connect(path) as raw:
        return tuple(raw.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                     for table in ("lexical_spaces", "lexical_terms", "lexical_totals"))


def test_a_long_lived_handle_purges_what_other_processes_wrote(tmp_path: Path) -> None:
    path = tmp_path / "engram.db"
    scope = make_scope()
    with Memory(path=path) as long_lived:
        for _ in range(3):
            long_lived.append_event({"scope": scope, "kind": "message", "payload": {"text": "quokka"}})
            context = multiprocessing.get_context("spawn")
            roles = ["writer", "writer", "purger", "purger"]
            barrier = context.Barrier(len(roles))
            workers = [context.Process(target=purge_worker, args=(str(path), role, ROUNDS, barrier))
                       for role in roles]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=300)
                assert worker.exitcode == 0
            receipt = long_lived.purge_user(scope["tenant_id"], scope["user_id"])
            left = long_lived.stats(scope)["events"]
            # On failure, a second purge tells a stale read (it finds the rest) from a leak.
            assert (left, index_rows(path)) == (0, (0, 0, 0)), (receipt, long_lived.purge_user(
                scope["tenant_id"], scope["user_id"]), index_rows(path))
