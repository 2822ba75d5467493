"""AsyncMemory: the twin of Memory whose calls never block the event loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

import pytest

from conftest import BACKENDS, heavy_request, most_builds_at_once, make_scope, seed_large_async
from engram import AsyncMemory, EngramError, InvalidInputError, Memory


def public_methods(cls: type) -> Dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(cls, name))
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }


def test_async_memory_is_the_twin_of_memory() -> None:
    sync, concurrent = public_methods(Memory), public_methods(AsyncMemory)
    assert sync == concurrent
    assert len(sync) >= 20  # the 19 store calls and close()
    assert inspect.signature(Memory) == inspect.signature(AsyncMemory)
    for name in sync:
        assert getattr(Memory, name).__doc__ == getattr(AsyncMemory, name).__doc__.replace(" (awaitable)", ""), name


def test_async_round_trip(memory_kwargs: Dict[str, Any]) -> None:
    scope = make_scope()

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as mem:
            event = await mem.append_event({"scope": scope, "kind": "message", "payload": {"text": "hi"}})
            assert await mem.list_events({"scope": scope}) == [event]
            fact = await mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegetarian"})
            assert fact["outcome"] == "created"
            assert [f["fact_key"] for f in await mem.fact_history(scope, "diet")] == ["diet"]
            state = await mem.patch_working_state({"scope": scope, "goal": "dinner"})
            assert state["version"] == 1
            assert (await mem.get_stm(scope))["key_quotes"] == []
            packet = await mem.build_memory_packet({"scope": scope, "purpose": "planner"})
            assert packet["meta"]["schema_version"] == "v1"
            assert (await mem.stats(scope))["events"] == 1
        assert mem.closed
        with pytest.raises(EngramError, match="closed"):
            await mem.stats(scope)

    asyncio.run(main())


def test_errors_are_raised_when_awaited(memory_kwargs: Dict[str, Any]) -> None:
    async def main() -> None:
        mem = AsyncMemory(**memory_kwargs)
        pending = mem.append_event({"scope": make_scope(), "kind": "chat"})  # no exception yet
        with pytest.raises(InvalidInputError) as caught:
            await pending
        assert caught.value.field == "kind"
        await mem.close()

    asyncio.run(main())


def test_gather_of_many_writes_and_reads(memory_kwargs: Dict[str, Any]) -> None:
    scope = make_scope()

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as mem:
            writes = [
                mem.append_event({"scope": scope, "kind": "message", "payload": {"text": f"note {n} about lisbon"}})
                for n in range(50)
            ]
            events = await asyncio.gather(*writes)
            assert len({event["event_id"] for event in events}) == 50
            packets = await asyncio.gather(*(
                mem.build_memory_packet({"scope": scope, "purpose": "responder", "query": "lisbon"})
                for _ in range(10)
            ))
            assert all(len(packet["long_term"]["recall"]) + len(packet["short_term"]["conversation_window"]) > 0
                       for packet in packets)
            assert (await mem.stats(scope))["events"] == 50

    asyncio.run(main())


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def heavy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One AsyncMemory with enough memory that a build takes measurable time."""
    mem = AsyncMemory(**BACKENDS[request.param](tmp_path_factory.mktemp(request.param)))
    scope = make_scope(user_id="heavy")
    asyncio.run(seed_large_async(mem, scope))
    yield mem, scope

    async def close() -> None:
        await mem.close()

    asyncio.run(close())


def test_gathered_builds_overlap(heavy: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Builds awaited together run at the same time on engram's threads; awaited one after
    another they never overlap (the control that shows the measure can tell them apart)."""
    mem, scope = heavy
    request = heavy_request(scope)
    caplog.set_level(logging.DEBUG, logger="engram_store")

    async def one_by_one() -> None:
        for _ in range(4):
            await mem.build_memory_packet(request)

    async def together() -> None:
        await asyncio.gather(*(mem.build_memory_packet(request) for _ in range(8)))

    asyncio.run(one_by_one())
    assert most_builds_at_once(caplog.records) == 1
    caplog.clear()
    asyncio.run(together())
    assert most_builds_at_once(caplog.records) >= 2


def test_event_loop_keeps_ticking_while_builds_run(heavy: Any) -> None:
    """A ticker coroutine (1 ms sleeps) keeps ticking while builds run. If builds ran on the
    loop, the ticker could tick at most once between two builds; here it ticks many times per
    build. (Gaps between ticks are not compared with a build's duration: with more runnable
    threads than cores the OS scheduler alone can delay the loop by a few time slices.)"""
    mem, scope = heavy
    request = heavy_request(scope)

    async def main() -> None:
        await mem.build_memory_packet(request)  # warm up
        ticks: List[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.001)

        builds = 6
        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started = time.perf_counter()
        await asyncio.gather(*(mem.build_memory_packet(request) for _ in range(builds)))
        elapsed = time.perf_counter() - started
        done.set()
        await ticking
        # A blocked loop: at most one tick between two builds.
        assert len(ticks) >= 3 * (builds + 1), f"{len(ticks)} ticks during {builds} builds ({elapsed * 1000:.0f} ms)"

    asyncio.run(main())


EXIT_SCRIPT = """
import asyncio
from engram import AsyncMemory

scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}

async def main():
    mem = AsyncMemory(in_memory=True)
    await asyncio.gather(*(mem.append_event({"scope": scope, "kind": "message"}) for _ in range(8)))
    await mem.build_memory_packet({"scope": scope, "purpose": "planner"})

asyncio.run(main())
"""


def test_interpreter_exits_cleanly_right_after_awaiting() -> None:
    """Results are handed to asyncio from engram's threads; the program may exit the moment
    the last one is awaited. An exit hook lets those threads leave Python first (without it,
    about one exit in four crashed)."""
    for _ in range(12):
        finished = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=60)
        assert finished.returncode == 0, finished.stderr


CLOSED_LOOP_SCRIPT = """
import asyncio, time
from engram import AsyncMemory

scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}
mem = AsyncMemory(in_memory=True)

async def start():
    return [mem.build_memory_packet({"scope": scope, "purpose": "planner"}) for _ in range(40)]

loop = asyncio.new_event_loop()
in_flight = loop.run_until_complete(start())
loop.close()
time.sleep(1.0)
print("closed with", len(in_flight), "calls in flight")
"""


def test_closing_a_loop_with_calls_in_flight_prints_nothing() -> None:
    """Results that arrive after their loop closed have nobody to go to: they are dropped, not
    reported as a "RuntimeError: Event loop is closed" traceback on stderr."""
    finished = subprocess.run([sys.executable, "-c", CLOSED_LOOP_SCRIPT], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert "closed with 40 calls in flight" in finished.stdout
    assert finished.stderr == ""


def test_awaiting_close_gives_none(memory_kwargs: Dict[str, Any]) -> None:
    async def main() -> None:
        mem = AsyncMemory(**memory_kwargs)
        assert await mem.close() is None
        assert await mem.close() is None

    asyncio.run(main())
