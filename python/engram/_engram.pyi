"""Stubs of the compiled core, `engram._engram`. The public API is `engram`; the shapes of
inputs and results are the TypedDicts of `engram.types`."""

from collections.abc import Awaitable, Sequence
from os import PathLike
from types import TracebackType
from typing import Literal, final

from engram.types import (
    BuildRequest,
    Episode,
    EpisodeInput,
    Event,
    EventInput,
    EventQuery,
    Fact,
    FactInput,
    FactWrite,
    Insight,
    InsightInput,
    InsightUpdate,
    ListQuery,
    MemoryPacket,
    Procedure,
    ProcedureInput,
    Scope,
    ShortTermState,
    ShortTermUpdate,
    Stats,
    WorkingState,
    WorkingStatePatch,
)

__all__ = [
    "AsyncMemory",
    "BackendUnavailableError",
    "ConflictError",
    "EngramError",
    "InvalidInputError",
    "Memory",
    "NotFoundError",
    "StorageError",
    "__version__",
]

__version__: str

_Backend = Literal["sqlite", "postgres", "mysql"]

class EngramError(Exception):
    """Root of every error engram raises."""

class InvalidInputError(EngramError, ValueError):
    """The input was rejected before anything was written."""

    field: str
    """Dotted path of the offending field, e.g. `scope.user_id` or `events[2].kind`."""
    problem: str
    """What is wrong with it."""

class NotFoundError(EngramError, LookupError):
    """The record addressed does not exist in this scope."""

class ConflictError(EngramError):
    """The write lost a race: a stale `expected_version`, or an id already taken."""

class StorageError(EngramError):
    """The database failed or returned something engram cannot read."""

class BackendUnavailableError(EngramError):
    """The backend cannot be reached, or this build of engram does not include it."""

@final
class Memory:
    """Agent memory: events, facts, episodes, procedures, insights, working and short-term
    state, and the memory packets built from them. Every call releases the GIL while it works.

    `Memory(in_memory=True)` keeps everything in process memory; `Memory(path=...)` uses an
    embedded SQLite file (created with its folder if missing); `backend="postgres"` or
    `"mysql"` with a `dsn` selects a server. Use as a context manager, or call `close()`.
    """

    def __new__(
        cls,
        path: str | PathLike[str] = "data/engram.db",
        in_memory: bool = False,
        backend: _Backend = "sqlite",
        dsn: str | None = None,
        database: str | None = None,
    ) -> Memory: ...
    def close(self) -> None:
        """Closes the store. Later calls raise `EngramError`; closing twice is harmless."""
    @property
    def closed(self) -> bool:
        """True once `close()` has been called."""
    def __enter__(self) -> Memory: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> bool: ...
    def append_event(self, event: EventInput) -> Event:
        """Appends one event and returns it as stored (with its id, ts, role, text, token count)."""
    def append_events(self, events: Sequence[EventInput]) -> list[Event]:
        """Appends events in one transaction: all are stored, or none."""
    def list_events(self, query: EventQuery) -> list[Event]:
        """A run's events (or the session's, with `session_wide`), newest first."""
    def upsert_fact(self, fact: FactInput) -> FactWrite:
        """Writes a fact: created, superseding the active one of its key, or refreshing it."""
    def list_facts(self, query: ListQuery) -> list[Fact]:
        """Active facts visible from the scope, newest first."""
    def fact_history(self, scope: Scope, fact_key: str) -> list[Fact]:
        """Every version of a fact key visible from the scope, oldest first."""
    def append_episode(self, episode: EpisodeInput) -> Episode:
        """Appends an episode: a summary of what happened over a time range."""
    def list_episodes(self, query: ListQuery) -> list[Episode]:
        """Episodes visible from the scope, newest first."""
    def upsert_procedure(self, procedure: ProcedureInput) -> Procedure:
        """Creates a procedure, or replaces the one with the same `procedure_id`."""
    def list_procedures(self, query: ListQuery) -> list[Procedure]:
        """Procedures visible from the scope, newest first."""
    def append_insight(self, insight: InsightInput) -> Insight:
        """Appends a run-scoped insight (hypothesis, strategy or pattern)."""
    def update_insight(self, update: InsightUpdate) -> Insight:
        """Changes an insight's validation state or confidence; `NotFoundError` outside its run."""
    def list_insights(self, query: ListQuery) -> list[Insight]:
        """The run's insights, newest first."""
    def get_working_state(self, scope: Scope) -> WorkingState:
        """The run's working state (empty, version 0, when nothing was written)."""
    def patch_working_state(self, patch: WorkingStatePatch) -> WorkingState:
        """Applies a patch atomically; a stale `expected_version` raises `ConflictError`."""
    def get_stm(self, scope: Scope) -> ShortTermState:
        """The session's short-term state: rolling summary and key quotes."""
    def update_stm(self, update: ShortTermUpdate) -> ShortTermState:
        """Replaces the given parts of the session's short-term state."""
    def build_memory_packet(self, request: BuildRequest) -> MemoryPacket:
        """Builds the memory packet for a request: the best context within the budget, explained."""
    def stats(self, scope: Scope) -> Stats:
        """Counts of the scope's records."""

@final
class AsyncMemory:
    """`Memory` for asyncio: the same constructor and methods, each returning an awaitable.
    Store work runs on engram's own threads, so the event loop never blocks and many calls
    overlap. Use with `async with`, or `await close()`.
    """

    def __new__(
        cls,
        path: str | PathLike[str] = "data/engram.db",
        in_memory: bool = False,
        backend: _Backend = "sqlite",
        dsn: str | None = None,
        database: str | None = None,
    ) -> AsyncMemory: ...
    def close(self) -> Awaitable[None]:
        """Closes the store (awaitable). Later calls raise `EngramError`; closing twice is harmless."""
    @property
    def closed(self) -> bool:
        """True once `close()` has been called."""
    def __aenter__(self) -> Awaitable[AsyncMemory]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> Awaitable[bool]: ...
    def append_event(self, event: EventInput) -> Awaitable[Event]:
        """Appends one event and returns it as stored (with its id, ts, role, text, token count)."""
    def append_events(self, events: Sequence[EventInput]) -> Awaitable[list[Event]]:
        """Appends events in one transaction: all are stored, or none."""
    def list_events(self, query: EventQuery) -> Awaitable[list[Event]]:
        """A run's events (or the session's, with `session_wide`), newest first."""
    def upsert_fact(self, fact: FactInput) -> Awaitable[FactWrite]:
        """Writes a fact: created, superseding the active one of its key, or refreshing it."""
    def list_facts(self, query: ListQuery) -> Awaitable[list[Fact]]:
        """Active facts visible from the scope, newest first."""
    def fact_history(self, scope: Scope, fact_key: str) -> Awaitable[list[Fact]]:
        """Every version of a fact key visible from the scope, oldest first."""
    def append_episode(self, episode: EpisodeInput) -> Awaitable[Episode]:
        """Appends an episode: a summary of what happened over a time range."""
    def list_episodes(self, query: ListQuery) -> Awaitable[list[Episode]]:
        """Episodes visible from the scope, newest first."""
    def upsert_procedure(self, procedure: ProcedureInput) -> Awaitable[Procedure]:
        """Creates a procedure, or replaces the one with the same `procedure_id`."""
    def list_procedures(self, query: ListQuery) -> Awaitable[list[Procedure]]:
        """Procedures visible from the scope, newest first."""
    def append_insight(self, insight: InsightInput) -> Awaitable[Insight]:
        """Appends a run-scoped insight (hypothesis, strategy or pattern)."""
    def update_insight(self, update: InsightUpdate) -> Awaitable[Insight]:
        """Changes an insight's validation state or confidence; `NotFoundError` outside its run."""
    def list_insights(self, query: ListQuery) -> Awaitable[list[Insight]]:
        """The run's insights, newest first."""
    def get_working_state(self, scope: Scope) -> Awaitable[WorkingState]:
        """The run's working state (empty, version 0, when nothing was written)."""
    def patch_working_state(self, patch: WorkingStatePatch) -> Awaitable[WorkingState]:
        """Applies a patch atomically; a stale `expected_version` raises `ConflictError`."""
    def get_stm(self, scope: Scope) -> Awaitable[ShortTermState]:
        """The session's short-term state: rolling summary and key quotes."""
    def update_stm(self, update: ShortTermUpdate) -> Awaitable[ShortTermState]:
        """Replaces the given parts of the session's short-term state."""
    def build_memory_packet(self, request: BuildRequest) -> Awaitable[MemoryPacket]:
        """Builds the memory packet for a request: the best context within the budget, explained."""
    def stats(self, scope: Scope) -> Awaitable[Stats]:
        """Counts of the scope's records."""
