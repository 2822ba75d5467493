"""How every integration calls engram from sync and async code, and opens a memory from a
connection string: written once here, with no framework imported."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from operator import methodcaller
from typing import Any, Awaitable, Callable, Dict, Generator, List, Optional, Tuple, TypeVar, Union, cast

from engram import AsyncMemory, Memory
from engram.types import Event, EventQuery

__all__ = [
    "AnyMemory", "MemoryCall", "Step", "Steps", "acall_memory", "all_events", "arun_steps", "call_memory",
    "one_step", "open_arguments", "open_async", "run_steps",
]

AnyMemory = Union[Memory, AsyncMemory]
"""What the integrations accept: a `Memory` or an `AsyncMemory`."""

_Result = TypeVar("_Result")

MemoryCall = Callable[[AnyMemory], Union[Awaitable[_Result], _Result]]
"""One engram call, written once for both twins (they share names and arguments):
``lambda memory: memory.list_items(query)`` gives the result on a `Memory` and an awaitable of it
on an `AsyncMemory`."""

Step = Tuple[str, Any]
"""A call of `Steps`: the method's name and its one argument."""

Steps = Generator[Step, Any, _Result]
"""Engram calls that depend on each other's answers: the generator yields each call as a `Step`,
is sent its answer, and returns the result. Written once, run from sync or async code on either
twin (`run_steps`, `arun_steps`)."""


def call_memory(memory: AnyMemory, call: MemoryCall[_Result]) -> _Result:
    """Runs one engram call from sync code: on a `Memory` directly; on an `AsyncMemory`, awaited on
    a private event loop. `RuntimeError` when an event loop is running in this thread (an
    `AsyncMemory` cannot be waited for there without blocking it)."""
    return _run(memory, _one(call))


async def acall_memory(memory: AnyMemory, call: MemoryCall[_Result]) -> _Result:
    """Runs one engram call from async code: awaited on an `AsyncMemory`; on a `Memory`, on a
    worker thread, so the event loop never waits for the store."""
    return await _arun(memory, _one(call))


def run_steps(memory: AnyMemory, steps: Steps[_Result]) -> _Result:
    """Runs the steps from sync code, as `call_memory` runs a call (one private loop for all)."""
    return _run(memory, _by_name(steps))


async def arun_steps(memory: AnyMemory, steps: Steps[_Result]) -> _Result:
    """Runs the steps from async code, as `acall_memory` runs a call."""
    return await _arun(memory, _by_name(steps))


def one_step(method: str, argument: Any) -> Steps[Any]:
    """A single call as `Steps`."""
    return (yield method, argument)


# What the runners run: a generator of calls, each sent its answer.
_Calls = Generator[MemoryCall[Any], Any, _Result]


def _run(memory: AnyMemory, calls: _Calls[_Result]) -> _Result:
    if isinstance(memory, AsyncMemory):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # The awaitables are made inside the loop: AsyncMemory's calls need a running loop.
            return asyncio.run(_arun(memory, calls))
        raise RuntimeError(
            "an AsyncMemory cannot be called synchronously while an event loop runs in this thread; "
            "use the async method (aget_messages, aadd_messages, aclear, ainvoke, ...)"
        )
    try:
        call = next(calls)
        while True:
            call = calls.send(call(memory))
    except StopIteration as done:
        return cast(_Result, done.value)


async def _arun(memory: AnyMemory, calls: _Calls[_Result]) -> _Result:
    try:
        call = next(calls)
        while True:
            if isinstance(memory, AsyncMemory):
                answer = await cast(Awaitable[Any], call(memory))
            else:
                answer = await asyncio.to_thread(call, memory)
            call = calls.send(answer)
    except StopIteration as done:
        return cast(_Result, done.value)


def _one(call: MemoryCall[_Result]) -> _Calls[_Result]:
    return cast(_Result, (yield call))


def _by_name(steps: Steps[_Result]) -> _Calls[_Result]:
    try:
        method, argument = next(steps)
        while True:
            method, argument = steps.send((yield methodcaller(method, argument)))
    except StopIteration as done:
        return cast(_Result, done.value)


def open_arguments(conn_string: str) -> Dict[str, Any]:
    """`Memory` arguments for a connection string: a `postgres://` / `mysql://` URL, `:memory:`,
    or a SQLite path."""
    if conn_string == ":memory:":
        return {"in_memory": True}
    if "://" in conn_string:
        return {"dsn": conn_string}
    return {"path": conn_string}


async def open_async(conn_string: str) -> AsyncMemory:
    """An `AsyncMemory` on `conn_string`, opened on a worker thread: opening connects and migrates
    (a server may take its whole connect timeout), which must not block the loop."""
    arguments = open_arguments(conn_string)
    return await asyncio.to_thread(lambda: AsyncMemory(**arguments))


# Events read per page when a whole session is read.
_PAGE = 1000


async def all_events(memory: AnyMemory, query: EventQuery) -> List[Event]:
    """Every event `query` selects, oldest first: pages of the newest, walking back in time
    (events of the page's oldest millisecond are read again and deduplicated by id)."""
    found: Dict[str, Event] = {}
    before: Optional[str] = None
    while True:
        page_query: EventQuery = {**query, "limit": _PAGE}
        if before is not None:
            page_query["before"] = before
        page = await acall_memory(memory, lambda mem: mem.list_events(page_query))
        new = [event for event in page if event["event_id"] not in found]
        for event in new:
            found[event["event_id"]] = event
        if len(page) < _PAGE or not new:
            break
        before = _just_after(page[-1]["ts"])
    ordered = list(found.values())
    ordered.reverse()
    return ordered


def _just_after(instant: str) -> str:
    """The bound one millisecond after an event's time: `before` it reads that millisecond again."""
    return (datetime.fromisoformat(instant.replace("Z", "+00:00")) + timedelta(milliseconds=1)).isoformat()
