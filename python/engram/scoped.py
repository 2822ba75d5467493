"""A memory bound to one scope: `mem.scope(user_id=...)`.

Every call of `Memory` (or `AsyncMemory`) that takes a scope, without it; inputs are the same
dicts minus `scope`, or their fields as keywords. The handle only fills in the scope and calls
the memory: results (and, on `AsyncMemory`, awaitables) are the memory's own. Types are in
`scoped.pyi`.
"""

from __future__ import annotations

from os import PathLike
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from engram._engram import InvalidInputError

__all__ = ["AsyncScopedMemory", "ScopedMemory"]


class _ScopeHandle:
    __slots__ = ("_memory", "_scope")

    def __init__(self, memory: Any, scope: Mapping[str, str]) -> None:
        self._memory = memory
        self._scope = dict(scope)

    @property
    def scope(self) -> Dict[str, str]:
        """The scope every call of this handle is made in (a copy)."""
        return dict(self._scope)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._memory!r}, {self._scope!r})"

    def _with_scope(self, given: Optional[Mapping[str, Any]], fields: Mapping[str, Any]) -> Dict[str, Any]:
        if "scope" in fields or (given is not None and "scope" in given):
            error = InvalidInputError("scope: is the handle's; leave it out, or call the memory itself")
            error.field, error.problem = "scope", "is the handle's; leave it out, or call the memory itself"
            raise error
        return {**(given or {}), **fields, "scope": self._scope}

    def add_message(self, role: str, text: str, **fields: Any) -> Any:
        """Appends a message event: `payload` is `{"role": role, "text": text}` (plus any
        `payload` given), other fields as for `append_event`."""
        payload = {**fields.pop("payload", {}), "role": role, "text": text}
        return self._memory.append_event(self._with_scope(None, {"kind": "message", **fields, "payload": payload}))

    def append_event(self, event: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.append_event(self._with_scope(event, fields))

    def append_events(self, events: Sequence[Mapping[str, Any]]) -> Any:
        return self._memory.append_events([self._with_scope(event, {}) for event in events])

    def list_events(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_events(self._with_scope(query, fields))

    def list_event_sequences(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_event_sequences(self._with_scope(query, fields))

    def upsert_fact(self, fact: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.upsert_fact(self._with_scope(fact, fields))

    def list_facts(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_facts(self._with_scope(query, fields))

    def fact_history(self, fact_key: str) -> Any:
        return self._memory.fact_history(self._scope, fact_key)

    def append_episode(self, episode: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.append_episode(self._with_scope(episode, fields))

    def list_episodes(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_episodes(self._with_scope(query, fields))

    def upsert_procedure(self, procedure: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.upsert_procedure(self._with_scope(procedure, fields))

    def list_procedures(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_procedures(self._with_scope(query, fields))

    def append_insight(self, insight: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.append_insight(self._with_scope(insight, fields))

    def update_insight(self, update: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.update_insight(self._with_scope(update, fields))

    def list_insights(self, query: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.list_insights(self._with_scope(query, fields))

    def get_working_state(self) -> Any:
        return self._memory.get_working_state(self._scope)

    def patch_working_state(self, patch: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.patch_working_state(self._with_scope(patch, fields))

    def get_stm(self) -> Any:
        return self._memory.get_stm(self._scope)

    def update_stm(self, update: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.update_stm(self._with_scope(update, fields))

    def build_memory_packet(self, request: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.build_memory_packet(self._with_scope(request, fields))

    def stats(self) -> Any:
        return self._memory.stats(self._scope)

    def delete_event(self, event_id: str) -> Any:
        return self._memory.delete_event(self._scope, event_id)

    def delete_fact(self, fact_key: str) -> Any:
        return self._memory.delete_fact(self._scope, fact_key)

    def forget(self, request: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.forget(self._with_scope(request, fields))

    def purge_user(self, compact: Optional[bool] = None) -> Any:
        """Everything of this scope's user in its tenant (every agent and session)."""
        return self._memory.purge_user(self._scope["tenant_id"], self._scope["user_id"], compact)

    def promote_insight(self, request: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        return self._memory.promote_insight(self._with_scope(request, fields))

    def end_run(self, now: Any = None) -> Any:
        return self._memory.end_run(self._scope, now)

    def consolidate_session(
        self, request: Optional[Mapping[str, Any]] = None, summarizer: Optional[Callable[..., Any]] = None,
        **fields: Any,
    ) -> Any:
        return self._memory.consolidate_session(self._with_scope(request, fields), summarizer)

    def extract_facts(
        self, extractor: Callable[..., Any], request: Optional[Mapping[str, Any]] = None, **fields: Any,
    ) -> Any:
        return self._memory.extract_facts(self._with_scope(request, fields), extractor)

    def export_scope(self, path: "str | PathLike[str]") -> Any:
        return self._memory.export_scope(self._scope, path)


class ScopedMemory(_ScopeHandle):
    """A `Memory` bound to one scope (`Memory.scope(...)`)."""

    __slots__ = ()


class AsyncScopedMemory(_ScopeHandle):
    """An `AsyncMemory` bound to one scope (`AsyncMemory.scope(...)`): every call an awaitable."""

    __slots__ = ()
