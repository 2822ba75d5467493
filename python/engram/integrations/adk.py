"""Google ADK's session and memory services on engram (`pip install 'engram-context[adk]'`).

    from google.adk.runners import Runner
    from engram import AsyncMemory
    from engram.integrations.adk import EngramMemoryService, EngramSessionService

    memory = AsyncMemory(path="data/adk.db")
    runner = Runner(agent=agent, app_name="travel", session_service=EngramSessionService(memory),
                    memory_service=EngramMemoryService(memory))

An ADK app is an engram tenant (`app_name`); a session's events are engram events of the scope
(`tenant_id` = app, `user_id`, `agent_id` "adk", `session_id` = `run_id` = the session), each
keeping the whole ADK event; state lives in engram items, one item per key, so concurrent writes to
different keys never lose one another: `app:` keys are shared by the app's users, `user:` keys by a
user's sessions, plain keys belong to the session, `temp:` keys are never stored (as ADK's own
services do). The memory service searches those same events with engram's retrieval, and
deletes: one memory (`delete_memory`), or all of a user's (`delete_memories`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence

from engram import ConflictError, NotFoundError
from engram.integrations._calls import AnyMemory, acall_memory, all_events
from engram.types import BuildRequest, EventInput, ForgetRequest, ItemInput, ItemQuery, Scope

try:
    from google.adk.errors.already_exists_error import AlreadyExistsError
    from google.adk.errors.session_not_found_error import SessionNotFoundError
    from google.adk.events.event import Event
    from google.adk.memory.base_memory_service import BaseMemoryService, SearchMemoryResponse
    from google.adk.memory.memory_entry import MemoryEntry
    from google.adk.sessions import _session_util
    from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig, ListSessionsResponse
    from google.adk.sessions.session import Session
    from google.adk.sessions.state import State
    from google.genai import types
except ImportError as missing:  # pragma: no cover - the extra is missing
    raise ImportError("the ADK services need Google ADK: pip install 'engram-context[adk]'") from missing

__all__ = ["EngramMemoryService", "EngramSessionService"]

AGENT = "adk"
"""The engram agent every ADK scope names."""


def _scope(app_name: str, user_id: str, session_id: str) -> Scope:
    return {"tenant_id": app_name, "user_id": user_id, "agent_id": AGENT, "session_id": session_id,
            "run_id": session_id}


def _sessions_namespace(user_id: Optional[str] = None) -> List[str]:
    return ["adk", "sessions"] + ([user_id] if user_id is not None else [])


def _state_namespace(kind: str, *parts: str) -> List[str]:
    return ["adk", f"{kind}_state", *parts]


def _spoken_text(event: Event) -> str:
    parts = event.content.parts if event.content and event.content.parts else []
    return "\n".join(part.text for part in parts if part.text)


def _event_input(app_name: str, user_id: str, session_id: str, event: Event) -> EventInput:
    """An ADK event as an engram event: its words searchable, the whole event kept beside them."""
    return {"scope": _scope(app_name, user_id, session_id), "kind": "message", "event_id": event.id,
            "ts": datetime.fromtimestamp(event.timestamp, tz=timezone.utc).isoformat(),
            "payload": {"role": "user" if event.author == "user" else "assistant", "text": _spoken_text(event),
                        "adk_event": event.model_dump(mode="json", exclude_none=True)}}


class _Items:
    """State and session records of one app, as engram items."""

    def __init__(self, memory: AnyMemory, app_name: str) -> None:
        self.memory, self.app_name = memory, app_name

    async def read(self, namespace: List[str], keys: Optional[List[str]] = None, prefix: bool = False) -> List[Any]:
        query: ItemQuery = {"namespace": namespace, "tenant_id": self.app_name, "limit": 10_000, "prefix": prefix}
        if keys is not None:
            query["keys"] = keys
        return list(await acall_memory(self.memory, lambda mem: mem.list_items(query)))

    async def state(self, namespace: List[str]) -> Dict[str, Any]:
        return {item["key"]: item["value"]["value"] for item in await self.read(namespace)}

    async def write(self, items: List[ItemInput]) -> None:
        if items:
            await acall_memory(self.memory, lambda mem: mem.put_items(items))

    def entries(self, namespace: List[str], values: Mapping[str, Any]) -> List[ItemInput]:
        return [{"tenant_id": self.app_name, "namespace": namespace, "key": key, "value": {"value": value}}
                for key, value in values.items()]

    async def delete(self, namespace: List[str], keys: Optional[List[str]] = None) -> None:
        query: ItemQuery = {"namespace": namespace, "tenant_id": self.app_name}
        if keys is not None:
            query["keys"] = keys
        await acall_memory(self.memory, lambda mem: mem.delete_items(query))


class EngramSessionService(BaseSessionService):
    """ADK's `BaseSessionService` over a `Memory` or an `AsyncMemory`."""

    def __init__(self, memory: AnyMemory) -> None:
        self.memory = memory

    async def _merged(self, items: _Items, session: Session) -> Session:
        for key, value in (await items.state(_state_namespace("app"))).items():
            session.state[State.APP_PREFIX + key] = value
        for key, value in (await items.state(_state_namespace("user", session.user_id))).items():
            session.state[State.USER_PREFIX + key] = value
        return session

    async def _store_deltas(self, items: _Items, user_id: str, session_id: str, state: Mapping[str, Any]) -> None:
        deltas = _session_util.extract_state_delta(dict(state))
        await items.write(items.entries(_state_namespace("app"), deltas["app"])
                          + items.entries(_state_namespace("user", user_id), deltas["user"])
                          + items.entries(_state_namespace("session", user_id, session_id), deltas["session"]))

    async def create_session(self, *, app_name: str, user_id: str, state: Optional[Dict[str, Any]] = None,
                             session_id: Optional[str] = None) -> Session:
        items = _Items(self.memory, app_name)
        session_id = session_id.strip() if session_id else str(uuid.uuid4())
        now = datetime.now(timezone.utc).timestamp()
        # Written with "keep", then read back: of creators racing on one id, the one whose mark
        # is stored made the session; the others meet AlreadyExistsError, as a taken id does.
        mark = uuid.uuid4().hex
        record: ItemInput = {"tenant_id": app_name, "namespace": _sessions_namespace(user_id), "key": session_id,
                             "value": {"last_update_time": now, "created_by": mark}}
        await acall_memory(self.memory, lambda mem: mem.put_items([record], "keep"))
        stored = await items.read(_sessions_namespace(user_id), keys=[session_id])
        if not stored or stored[0]["value"].get("created_by") != mark:
            raise AlreadyExistsError(f"Session with id {session_id} already exists.")
        await self._store_deltas(items, user_id, session_id, state or {})
        session_state = _session_util.extract_state_delta(state or {})["session"]
        session = Session(app_name=app_name, user_id=user_id, id=session_id, state=session_state,
                          last_update_time=now)
        return await self._merged(items, session)

    async def get_session(self, *, app_name: str, user_id: str, session_id: str,
                          config: Optional[GetSessionConfig] = None) -> Optional[Session]:
        items = _Items(self.memory, app_name)
        found = await items.read(_sessions_namespace(user_id), keys=[session_id])
        if not found:
            return None
        events = [Event.model_validate(event["payload"]["adk_event"])
                  for event in await all_events(self.memory, {"scope": _scope(app_name, user_id, session_id)})]
        if config is not None:
            if config.num_recent_events is not None:
                events = events[-config.num_recent_events:] if config.num_recent_events else []
            if config.after_timestamp is not None:
                newer = [index for index, event in enumerate(events) if event.timestamp < config.after_timestamp]
                if newer:
                    events = events[newer[-1] + 1:]
        state = await items.state(_state_namespace("session", user_id, session_id))
        session = Session(app_name=app_name, user_id=user_id, id=session_id, state=state, events=events,
                          last_update_time=found[0]["value"]["last_update_time"])
        return await self._merged(items, session)

    async def list_sessions(self, *, app_name: str, user_id: Optional[str] = None) -> ListSessionsResponse:
        items = _Items(self.memory, app_name)
        sessions = []
        for record in await items.read(_sessions_namespace(user_id), prefix=user_id is None):
            owner = record["namespace"][-1]
            state = await items.state(_state_namespace("session", owner, record["key"]))
            session = Session(app_name=app_name, user_id=owner, id=record["key"], state=state,
                              last_update_time=record["value"]["last_update_time"])
            sessions.append(await self._merged(items, session))
        sessions.sort(key=lambda session: (session.last_update_time, session.user_id, session.id))
        return ListSessionsResponse(sessions=sessions)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        items = _Items(self.memory, app_name)
        scope = _scope(app_name, user_id, session_id)
        await acall_memory(self.memory,
                           lambda mem: mem.forget({"scope": scope, "session_only": True, "kinds": ["event"]}))
        await items.delete(_state_namespace("session", user_id, session_id))
        await items.delete(_sessions_namespace(user_id), keys=[session_id])

    async def get_user_state(self, *, app_name: str, user_id: str) -> Dict[str, Any]:
        return await _Items(self.memory, app_name).state(_state_namespace("user", user_id))

    async def append_event(self, session: Session, event: Event) -> Event:
        if event.partial:
            return event
        items = _Items(self.memory, session.app_name)
        stored = await items.read(_sessions_namespace(session.user_id), keys=[session.id])
        if not stored:
            raise SessionNotFoundError(f"Session {session.id} not found.")
        event = await super().append_event(session=session, event=event)
        session.last_update_time = event.timestamp
        written = _event_input(session.app_name, session.user_id, session.id, event)
        try:
            await acall_memory(self.memory, lambda mem: mem.append_event(written))
        except ConflictError:
            return event  # appended before: an event is stored once
        if event.actions and event.actions.state_delta:
            await self._store_deltas(items, session.user_id, session.id, event.actions.state_delta)
        await items.write([{"tenant_id": session.app_name, "namespace": _sessions_namespace(session.user_id),
                            "key": session.id, "value": {**stored[0]["value"], "last_update_time": event.timestamp}}])
        return event


class EngramMemoryService(BaseMemoryService):
    """ADK's `BaseMemoryService` over a `Memory` or an `AsyncMemory`: a session's events become
    searchable memories (with `EngramSessionService` on the same memory they already are), and
    `search_memory` ranks them with engram's retrieval across the user's sessions."""

    def __init__(self, memory: AnyMemory, *, max_results: int = 10) -> None:
        self.memory = memory
        self.max_results = max_results

    async def add_session_to_memory(self, session: Session) -> None:
        await self.add_events_to_memory(app_name=session.app_name, user_id=session.user_id,
                                        events=session.events, session_id=session.id)

    async def add_events_to_memory(self, *, app_name: str, user_id: str, events: Sequence[Event],
                                   session_id: Optional[str] = None,
                                   custom_metadata: Optional[Mapping[str, object]] = None) -> None:
        for event in events:
            if event.partial or not _spoken_text(event):
                continue
            written = _event_input(app_name, user_id, session_id or "memory", event)
            try:
                await acall_memory(self.memory, lambda mem: mem.append_event(written))
            except ConflictError:
                continue  # kept already (by the session service, or an earlier call)

    async def search_memory(self, *, app_name: str, user_id: str, query: str) -> SearchMemoryResponse:
        request: BuildRequest = {
            "scope": _scope(app_name, user_id, "memory-search"), "purpose": "responder", "query": query,
            "budget": {"max_tokens": 8000},
            "policy": {"conversation_window": 0, "context_turns": 0, "max_recall": self.max_results}}
        packet = await acall_memory(self.memory, lambda mem: mem.build_memory_packet(request))
        memories = []
        for item in packet["long_term"]["recall"]:
            author = "user" if item.get("role") == "user" else "model"
            memories.append(MemoryEntry(id=item["id"], author=item.get("role"), timestamp=item["ts"],
                                        content=types.Content(role=author, parts=[types.Part(text=item["text"])])))
        return SearchMemoryResponse(memories=memories)

    async def delete_memory(self, *, app_name: str, user_id: str, memory_id: Optional[str] = None) -> None:
        """Deletes one memory (the event `search_memory` returned as `id`): it leaves the session's
        history too, as everything engram deletes is gone."""
        if memory_id is None:
            return
        scope = _scope(app_name, user_id, "memory")
        try:
            await acall_memory(self.memory, lambda mem: mem.delete_event(scope, memory_id))
        except NotFoundError:
            return

    async def delete_memories(self, *, app_name: str, user_id: str) -> None:
        """Deletes every memory of the user in the app: every event of every session."""
        request: ForgetRequest = {"scope": _scope(app_name, user_id, "memory"), "kinds": ["event"]}
        await acall_memory(self.memory, lambda mem: mem.forget(request))
