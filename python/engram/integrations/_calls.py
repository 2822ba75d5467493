"""How every integration calls engram from sync and async code, and opens a memory from a
connection string: written once here, with no framework imported."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar, Union

from engram import AsyncMemory, Memory
from engram.types import Event, EventQuery

__all__ = ["AnyMemory", "acall_memory", "all_events", "call_memory", "open_arguments", "open_async"]

AnyMemory = Union[Memory, AsyncMemory]
"""What the integrations accept: a `Memory` or an `AsyncMemory`."""

_Result = TypeVar("_Result")


def call_memory(
    memory: AnyMemory,
    sync: Callable[[Memory], _Result],
    asynchronous: Callable[[AsyncMemory], Awaitable[_Result]],
) -> _Result:
    """Runs one store call from sync code: `sync(memory)` on a `Memory`; on an `AsyncMemory`,
    `asynchronous(memory)` awaited on a private event loop. `RuntimeError` when an event loop is
    running in this thread (an `AsyncMemory` cannot be waited for there without blocking it)."""
    if isinstance(memory, Memory):
        return sync(memory)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "an AsyncMemory cannot be called synchronously while an event loop runs in this thread; "
            "use the async method (aget_messages, aadd_messages, aclear, ainvoke, ...)"
        )

    async def run() -> _Result:
        # The awaitable is made inside the loop: AsyncMemory's calls need a running loop.
        return await asynchronous(memory)

    return asyncio.run(run())


async def acall_memory(
    memory: AnyMemory,
    sync: Callable[[Memory], _Result],
    asynchronous: Callable[[AsyncMemory], Awaitable[_Result]],
) -> _Result:
    """Runs one store call from async code: awaited on an `AsyncMemory`; on a `Memory`, on a
    worker thread, so the event loop never waits for the store."""
    if isinstance(memory, AsyncMemory):
        return await asynchronous(memory)
    return await asyncio.to_thread(sync, memory)


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
        page = await acall_memory(memory, lambda mem: mem.list_events(page_query),
                                  lambda mem: mem.list_events(page_query))
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
