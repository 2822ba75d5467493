"""Rust tracing reaches Python logging under the engram_store loggers."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Dict

import pytest

from engram import AsyncMemory, Memory


def tight_build(mem: Memory, scope: Dict[str, str]) -> Dict[str, Any]:
    mem.append_events([
        {"scope": scope, "kind": "message", "payload": {"text": f"Lisbon dinner idea {n}, vegetarian, near Alfama."}}
        for n in range(20)
    ])
    for n in range(6):
        mem.upsert_fact({"scope": scope, "fact_key": f"idea.{n}", "value": f"vegetarian tasca number {n} in Lisbon"})
    return mem.build_memory_packet({
        "scope": scope, "purpose": "planner", "query": "vegetarian dinner in Lisbon",
        "budget": {"max_tokens": 150, "per_section": {"facts": 40}},
    })


def test_debug_logs_show_candidate_counts_and_budget_trims(
    memory_kwargs: Dict[str, Any], scope: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engram_store")
    with Memory(**memory_kwargs) as mem:
        packet = tight_build(mem, scope)
    records = [record for record in caplog.records if record.name.startswith("engram_store")]
    messages = [record.getMessage() for record in records]
    assert all(record.name.startswith("engram_store.") for record in records)
    assert any("candidates gathered" in message and 'section="facts"' in message for message in messages)
    assert any("budget trim" in message for message in messages)
    assert sum(packet["budget_report"]["omissions"].values()) > 0
    assert any("memory packet built" in message for message in messages)
    # Builds log at DEBUG only (opening a server store may log a created database at INFO).
    assert {record.levelno for record in records if record.name.startswith("engram_store.packet")} == {logging.DEBUG}


def test_nothing_is_logged_above_the_configured_level(
    memory_kwargs: Dict[str, Any], scope: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engram_store")
    with Memory(**memory_kwargs) as mem:
        tight_build(mem, scope)
    records = [record for record in caplog.records if record.name.startswith("engram_store")]
    assert all(record.levelno >= logging.INFO for record in records)
    assert not [record for record in records if record.name.startswith("engram_store.packet")]


def test_logging_from_many_threads_does_not_deadlock(
    memory_kwargs: Dict[str, Any], scope: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="engram_store")
    with Memory(**memory_kwargs) as mem:
        tight_build(mem, scope)
        request = {"scope": scope, "purpose": "planner", "query": "vegetarian", "budget": {"max_tokens": 100}}
        workers = [threading.Thread(target=mem.build_memory_packet, args=(request,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not any(worker.is_alive() for worker in workers)
    built = [record for record in caplog.records if "memory packet built" in record.getMessage()]
    assert len(built) == 5


def test_a_level_set_after_opening_applies_to_the_next_call(
    memory_kwargs: Dict[str, Any], scope: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("engram_store")
    caplog.set_level(logging.DEBUG, logger="engram_store")  # the capturing handler takes everything
    logger.setLevel(logging.WARNING)  # the logger, when the store opens, does not
    request = {"scope": scope, "purpose": "planner", "query": "vegetarian dinner in Lisbon"}

    def packet_records(mem: Memory) -> list[logging.LogRecord]:
        caplog.clear()
        mem.build_memory_packet(request)
        return [record for record in caplog.records if record.name.startswith("engram_store.packet")]

    with Memory(**memory_kwargs) as mem:
        tight_build(mem, scope)
        assert packet_records(mem) == []
        logger.setLevel(logging.DEBUG)  # on the open store: the next call logs
        debug = packet_records(mem)
        assert debug and {record.levelno for record in debug} == {logging.DEBUG}
        logger.setLevel(logging.INFO)  # and stops again
        assert packet_records(mem) == []
        logging.disable(logging.CRITICAL)  # a process-wide switch is followed too
        try:
            logger.setLevel(logging.DEBUG)
            assert packet_records(mem) == []
        finally:
            logging.disable(logging.NOTSET)
        assert packet_records(mem), "enabled again once the switch is off"


def test_a_level_set_after_opening_applies_to_async_calls_too(
    memory_kwargs: Dict[str, Any], scope: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("engram_store")
    caplog.set_level(logging.DEBUG, logger="engram_store")
    logger.setLevel(logging.WARNING)
    request = {"scope": scope, "purpose": "planner", "query": "lisbon"}

    def packet_records() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name.startswith("engram_store.packet")]

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as mem:
            await mem.append_events([{"scope": scope, "kind": "message", "payload": {"text": "dinner in Lisbon"}}])
            await mem.build_memory_packet(request)
            assert packet_records() == []
            logger.setLevel(logging.DEBUG)
            await mem.build_memory_packet(request)
            assert packet_records()

    asyncio.run(main())
