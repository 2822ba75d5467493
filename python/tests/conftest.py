"""Fixtures shared by the tests: every store-touching test runs once per backend.

Adding a backend is one line in BACKENDS (Postgres and MySQL arrive with issue 4, e.g.
`"postgres": lambda tmp: {"backend": "postgres", "dsn": os.environ["ENGRAM_TEST_POSTGRES_DSN"]}`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest

from engram import AsyncMemory, Memory
from engram.types import BuildRequest, Scope

BACKENDS: Dict[str, Callable[[Path], Dict[str, Any]]] = {
    "memory": lambda tmp: {"in_memory": True},
    "sqlite": lambda tmp: {"path": tmp / "engram.db"},
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def memory_kwargs(backend: str, tmp_path: Path) -> Dict[str, Any]:
    """Constructor arguments of `Memory`/`AsyncMemory` for a fresh, empty store."""
    return BACKENDS[backend](tmp_path)


@pytest.fixture
def mem(memory_kwargs: Dict[str, Any]) -> Iterator[Memory]:
    with Memory(**memory_kwargs) as memory:
        yield memory


@pytest.fixture
def scope() -> Scope:
    return make_scope()


def make_scope(**overrides: str) -> Scope:
    scope: Dict[str, str] = {
        "tenant_id": "default",
        "user_id": "u1",
        "agent_id": "a1",
        "session_id": "s1",
        "run_id": "r1",
    }
    scope.update(overrides)
    return scope


WORDS = (
    "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset viewpoint fado beach train "
    "ticket booking seat window invoice refund schedule meeting deadline report customer"
).split()


def large_dataset(scope: Scope, events: int = 2000, facts: int = 200) -> Tuple[List[List[Any]], List[Any]]:
    """Enough memory that one packet build takes measurable time (tens of ms in a debug build):
    event batches of 500 over 10 sessions, and facts."""
    words = random.Random(7)
    messages = [
        {
            "scope": {**scope, "session_id": f"s{index % 10}"},
            "kind": "message",
            "payload": {"role": "user" if index % 2 else "assistant",
                        "text": " ".join(words.choice(WORDS) for _ in range(25))},
        }
        for index in range(events)
    ]
    batches = [messages[start:start + 500] for start in range(0, events, 500)]
    notes = [
        {"scope": scope, "fact_key": f"note.{index}", "value": " ".join(words.choice(WORDS) for _ in range(12))}
        for index in range(facts)
    ]
    return batches, notes


def seed_large(mem: Memory, scope: Scope) -> None:
    batches, facts = large_dataset(scope)
    for batch in batches:
        mem.append_events(batch)
    for fact in facts:
        mem.upsert_fact(fact)


async def seed_large_async(mem: AsyncMemory, scope: Scope) -> None:
    batches, facts = large_dataset(scope)
    for batch in batches:
        await mem.append_events(batch)
    await asyncio.gather(*(mem.upsert_fact(fact) for fact in facts))


def most_builds_at_once(records: List[logging.LogRecord]) -> int:
    """The most packet builds that were running at the same moment, read off engram's DEBUG log:
    each build logs "build started" first and "built" last, from the thread it runs on. Builds
    run one after another never overlap; builds on threads that really run together interleave
    (on one core too, as the OS time-slices them), so this holds however busy the machine is."""
    running: Set[int] = set()
    most = 0
    for record in records:
        message = record.getMessage()
        if message.startswith("memory packet build started"):
            running.add(record.thread or 0)
            most = max(most, len(running))
        elif message.startswith("memory packet built"):
            running.discard(record.thread or 0)
    return most


def heavy_request(scope: Scope) -> BuildRequest:
    """A build that reads many candidates and trims to a large budget."""
    return {
        "scope": scope,
        "purpose": "planner",
        "query": "vegetarian dinner near the hotel in lisbon with a sunset viewpoint",
        "policy": {
            "max_total_candidates": 1000,
            "candidates_per_source": 256,
            "postings_per_term": 1024,
            "max_recall": 50,
            "max_facts": 100,
        },
        "budget": {"max_tokens": 8000},
    }
