"""The OpenAI Agents SDK's `Session` protocol on engram: an agent's conversation history kept as
engram events, so the same memory also answers packets, search and lifecycle calls.

    from agents import Agent, Runner
    from engram import Memory
    from engram.integrations.openai_agents import EngramSession

    session = EngramSession("chat-1", Memory(path="data/engram.db"), user_id="maria")
    result = await Runner.run(agent, "Hi, I live in Lisbon.", session=session)

Each item is stored as it came (its dict is the event's payload, so `get_items` gives back equal
dicts) in the session `session_id` of the scope (`run_id` = the session). `add_items` is one
transaction; `pop_item` removes the newest item exactly once when callers race (a delete that
finds the event gone moves on to the next newest); `get_items(limit)` reads only the newest
`limit` events. Over a `Memory` the calls run on a worker thread, over an `AsyncMemory` they are
awaited: the event loop never waits for the store. Needs the `openai-agents` extra.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from engram import Memory, NotFoundError
from engram.integrations._calls import AnyMemory, acall_memory, all_events, open_arguments
from engram.types import Event, EventInput, EventQuery, ForgetRequest, Scope

try:
    from agents.memory.session import SessionABC
    from agents.memory.session_settings import SessionSettings, resolve_session_limit
except ImportError as missing:  # pragma: no cover - the extra is missing
    raise ImportError("EngramSession needs the OpenAI Agents SDK: pip install 'engram-context[openai-agents]'") from missing

__all__ = ["EngramSession"]

class EngramSession(SessionABC):
    """An Agents SDK session whose items are engram events of one session."""

    def __init__(
        self,
        session_id: str,
        memory: AnyMemory,
        *,
        user_id: str,
        agent_id: str = "default",
        tenant_id: str = "default",
        session_settings: Optional[Union[SessionSettings, Dict[str, Any]]] = None,
    ) -> None:
        self.session_id = session_id
        self.memory = memory
        self.session_settings = (
            session_settings if isinstance(session_settings, SessionSettings)
            else SessionSettings(**session_settings) if session_settings is not None else SessionSettings()
        )
        self.scope: Scope = {"tenant_id": tenant_id, "user_id": user_id, "agent_id": agent_id,
                             "session_id": session_id, "run_id": session_id}

    @classmethod
    def from_conn_string(cls, conn_string: str, session_id: str, *, user_id: str, **kwargs: Any) -> "EngramSession":
        """A session on its own `Memory`: a SQLite path, `:memory:`, or a `postgres://` / `mysql://` URL."""
        return cls(session_id, Memory(**open_arguments(conn_string)), user_id=user_id, **kwargs)

    def _query(self, limit: int) -> EventQuery:
        return {"scope": self.scope, "limit": limit, "kinds": ["message"]}

    async def _newest(self, limit: int) -> List[Event]:
        query = self._query(limit)
        return list(await acall_memory(self.memory, lambda mem: mem.list_events(query)))

    async def get_items(self, limit: Optional[int] = None) -> List[Any]:
        wanted = resolve_session_limit(limit, self.session_settings)
        # As SQLiteSession (SQL's LIMIT): 0 gives nothing, a negative limit everything.
        if wanted == 0:
            return []
        if wanted is not None and wanted > 0:
            newest = await self._newest(wanted)
            return [event["payload"] for event in reversed(newest)]
        return [event["payload"] for event in await all_events(self.memory, self._query(1))]

    async def add_items(self, items: List[Any]) -> None:
        if not items:
            return
        events: List[EventInput] = [{"scope": self.scope, "kind": "message", "payload": dict(item)} for item in items]
        await acall_memory(self.memory, lambda mem: mem.append_events(events))

    async def pop_item(self) -> Optional[Any]:
        while True:
            newest = await self._newest(8)
            if not newest:
                return None
            for event in newest:
                try:
                    await acall_memory(self.memory, lambda mem: mem.delete_event(self.scope, event["event_id"]))
                except NotFoundError:
                    continue  # another caller popped it first
                return event["payload"]

    async def clear_session(self) -> None:
        request: ForgetRequest = {"scope": self.scope, "session_only": True, "kinds": ["event"]}
        await acall_memory(self.memory, lambda mem: mem.forget(request))

