"""Stubs of the compiled core, `engram._engram`. The public API is `engram`; the shapes of
inputs and results are the TypedDicts of `engram.types`."""

from collections.abc import Awaitable, Sequence
from os import PathLike
from types import TracebackType
from typing import Literal, final

from engram.scoped import AsyncScopedMemory, ScopedMemory
from engram.types import (
    InScope,
    BuildRequest,
    Consolidation,
    ConsolidateRequest,
    Embedder,
    Episode,
    EpisodeInput,
    Event,
    EventInput,
    EventQuery,
    Fact,
    FactInput,
    FactWrite,
    ForgetRequest,
    Insight,
    InsightInput,
    InsightUpdate,
    FoundItem,
    Item,
    ItemInput,
    ItemQuery,
    ItemSearch,
    NamespaceQuery,
    Limits,
    ListQuery,
    MemoryPacket,
    OnConflict,
    Procedure,
    ProcedureInput,
    PromoteInsight,
    Promoted,
    Receipt,
    RunEnd,
    Scope,
    ShortTermState,
    ShortTermUpdate,
    Stats,
    Summarizer,
    Defaults,
    ExtractRequest,
    Extractor,
    Extraction,
    SweepRequest,
    Synchronous,
    Timestamp,
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
    "MiniLmEmbedder",
    "NotFoundError",
    "StorageError",
    "__version__",
    "defaults",
]

__version__: str

def defaults() -> Defaults:
    """Every default engram applies: `policy`, `budget`, `limits`, `records` (importance, confidences,
    priority), `lists` (list sizes), `consolidate` and `extract` (their bounds)."""

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
class MiniLmEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) loaded from `model_path`, offline: 384-dimension unit vectors,
    mean pooled over at most 256 tokens; the zero vector for a text without word pieces. Calls
    release the GIL. Given as `Memory(embedder=...)`, it runs inside the store's calls.
    A missing or wrong file raises `InvalidInputError` on `model_path`, naming the path.
    """

    def __new__(cls, model_path: str | PathLike[str], batch_size: int = 32) -> MiniLmEmbedder: ...
    @property
    def dimensions(self) -> int:
        """Length of every vector (384)."""
    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order."""

@final
class Memory:
    """Agent memory: events, facts, episodes, procedures, insights, working and short-term
    state, and the memory packets built from them. Every call releases the GIL while it works.

    `Memory(in_memory=True)` keeps everything in process memory; `Memory(path=...)` uses an
    embedded SQLite file (created with its folder if missing); a `dsn` selects a server, the
    backend read from its scheme (`postgres://`, `mysql://`) unless `backend=` says it. A Postgres
    DSN may name several hosts (`postgres://user@primary:5432,standby:5432/engram`): the first
    that takes writes is used, and after a failover the same object carries on on the promoted
    standby (calls during the switch raise `BackendUnavailableError`). `limits` lowers or raises the size limits checked
    before every write; `synchronous="full"` fsyncs every SQLite commit (power-loss safe).
    `embedder(texts) -> vectors` fills the vectors of records written without one and the
    query vector of a packet request (see `engram.embeddings.LocalEmbedder`).
    Use as a context manager, or call `close()`.
    """

    def __new__(
        cls,
        path: str | PathLike[str] = "data/engram.db",
        in_memory: bool = False,
        backend: _Backend | None = None,
        dsn: str | None = None,
        database: str | None = None,
        limits: Limits | None = None,
        synchronous: Synchronous = "normal",
        embedder: Embedder | None = None,
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
    def list_events(self, query: EventQuery | Scope) -> list[Event]:
        """A run's events (or the session's, with `session_wide`), newest first."""
    def list_event_sequences(self, query: EventQuery | Scope) -> list[int]:
        """The sequences of the events `list_events` returns for the query, in its order, read
        from the index alone: whether a listing changed since the events were last read."""
    def upsert_fact(self, fact: FactInput) -> FactWrite:
        """Writes a fact: created, superseding the active one of its key, or refreshing it."""
    def list_facts(self, query: ListQuery | Scope) -> list[Fact]:
        """Active facts visible from the scope, newest first."""
    def fact_history(self, scope: Scope | InScope, fact_key: str) -> list[Fact]:
        """Every version of a fact key visible from the scope, oldest first."""
    def append_episode(self, episode: EpisodeInput) -> Episode:
        """Appends an episode: a summary of what happened over a time range."""
    def list_episodes(self, query: ListQuery | Scope) -> list[Episode]:
        """Episodes visible from the scope, newest first."""
    def upsert_procedure(self, procedure: ProcedureInput) -> Procedure:
        """Creates a procedure, or replaces the one with the same `procedure_id`."""
    def list_procedures(self, query: ListQuery | Scope) -> list[Procedure]:
        """Procedures visible from the scope, newest first."""
    def append_insight(self, insight: InsightInput) -> Insight:
        """Appends a run-scoped insight (hypothesis, strategy or pattern)."""
    def update_insight(self, update: InsightUpdate) -> Insight:
        """Changes an insight's validation state or confidence; `NotFoundError` outside its run."""
    def list_insights(self, query: ListQuery | Scope) -> list[Insight]:
        """The run's insights, newest first."""
    def get_working_state(self, scope: Scope | InScope) -> WorkingState:
        """The run's working state (empty, version 0, when nothing was written)."""
    def patch_working_state(self, patch: WorkingStatePatch | Scope) -> WorkingState:
        """Applies a patch atomically; a stale `expected_version` raises `ConflictError`."""
    def get_stm(self, scope: Scope | InScope) -> ShortTermState:
        """The session's short-term state: rolling summary and key quotes."""
    def update_stm(self, update: ShortTermUpdate | Scope) -> ShortTermState:
        """Replaces the given parts of the session's short-term state."""
    def build_memory_packet(self, request: BuildRequest) -> MemoryPacket:
        """Builds the memory packet for a request: the best context within the budget, explained."""
    def scope(
        self,
        user_id: str,
        session_id: str | None = None,
        agent_id: str | None = None,
        tenant_id: str | None = None,
        run_id: str | None = None,
    ) -> ScopedMemory:
        """This memory bound to one scope: every call that takes a scope, without it, plus
        `add_message(role, text)`. Tenant, agent and session default to `"default"`, the run to
        the session."""
    def stats(self, scope: Scope | InScope) -> Stats:
        """Counts of the scope's records."""
    def check_integrity(self) -> list[str]:
        """What the database's own consistency checks find wrong (empty: nothing). SQLite runs
        `PRAGMA integrity_check` and FTS5's check of each postings index; memory and the servers
        report nothing (the servers keep their own checks)."""
    def delete_event(self, scope: Scope | InScope, event_id: str) -> Receipt:
        """Deletes one event of the scope's user and agent (any session), with its index rows.
        `NotFoundError` when that user and agent have no such event. Returns the receipt."""
    def delete_fact(self, scope: Scope | InScope, fact_key: str) -> Receipt:
        """Deletes every version of a fact key the scope's user and agent wrote (history too).
        `NotFoundError` when there is none. Returns the receipt."""
    def forget(self, request: ForgetRequest) -> Receipt:
        """Deletes the scope's user and agent's records matching every filter given (`before`, `tags`,
        `kinds`); at least one filter is needed. Returns the receipt."""
    def put_items(self, items: Sequence[ItemInput], on_conflict: OnConflict | None = None) -> None:
        """Writes items (a JSON `value` and optional `blob` bytes under a namespace and key) in one
        transaction; a taken key is replaced, or kept with `on_conflict="keep"`."""
    def list_items(self, query: ItemQuery) -> list[Item]:
        """The items a query selects, in (namespace, key) order; expired items are never returned."""
    def delete_items(self, query: ItemQuery) -> Receipt:
        """Deletes every item a query selects (its `offset` and `limit` aside). Returns the receipt."""
    def search_items(self, search: ItemSearch) -> list[FoundItem]:
        """Items under a namespace prefix: ranked by BM25 over their indexed text when the search has
        a `query` (each with its `score`), else in (namespace, key) order; value filters apply."""
    def list_namespaces(self, query: NamespaceQuery) -> list[list[str]]:
        """The namespaces holding items, by prefix and suffix (`*` matches one label), cut to
        `max_depth`, each once, in label order."""
    def purge_user(self, tenant_id: str, user_id: str, compact: bool | None = None) -> Receipt:
        """Deletes everything of a user in a tenant: records of every kind, agent and session, working
        and short-term states, index rows and lexical spaces. Returns the receipt. With
        `compact=True` the receipt is compacted too (see `compact`)."""
    def compact(self, receipt: Receipt) -> Receipt:
        """Makes a deletion's receipt physical: on Postgres and MySQL the tables it counts rows of
        are rewritten without the deleted rows (`VACUUM (FULL)`, `ALTER TABLE ... FORCE`) and named
        in `erased`; SQLite erased them already, in memory nothing is on disk. Returns the receipt."""
    def sweep_expired(self, request: SweepRequest | None = None) -> Receipt:
        """Deletes expired records of every tenant, ended runs' working states and, with a retention
        policy, old events. `None` sweeps at the wall clock without retention. Returns the receipt."""
    def promote_insight(self, request: PromoteInsight) -> Promoted:
        """Promotes a run's insight to a fact or a procedure (`to`); the insight becomes validated with
        `promoted_to` set. `ConflictError` when already promoted, `NotFoundError` outside its run."""
    def end_run(self, scope: Scope | InScope, now: Timestamp | None = None) -> RunEnd:
        """Ends a run: its unpromoted insights expire at `now` (the wall clock when `None`), its working
        state is marked ended (readable until swept, no longer in packets)."""
    def consolidate_session(
        self, request: ConsolidateRequest | Scope, summarizer: Summarizer | None = None
    ) -> Consolidation:
        """Turns the session's events beyond the conversation window into an episode and refreshes the
        short-term state. `summarizer(events) -> dict | str` replaces the extractive summary; an
        exception it raises propagates unchanged, and nothing is written.

        The summarizer is called with the GIL from the thread doing the work (one of engram's,
        for `AsyncMemory`) and must be a plain function, not `async`; a result that is neither a
        `Summary` dict nor a `str` raises `InvalidInputError` with
        `field` `summarizer` (or `summarizer.<key>` for a bad key of the dict)."""
    def extract_facts(self, request: ExtractRequest | Scope, extractor: Extractor) -> Extraction:
        """Sends the session's message events not sent yet (oldest first, `max_events` at a time,
        default 50) to `extractor(events) -> list[dict]` and writes each fact it returns with
        `upsert_fact` (`sources`: the events that state it, all sent by default), so a changed value
        supersedes the old one with history. Returns the event ids sent, each write, and the
        session's short-term state with its `extracted_until` cursor moved past them.

        Bad output (not a list of fact dicts, a wrong type, more than `max_facts`, a source not
        sent) raises `InvalidInputError` with `field` `extractor...` and writes nothing; the events
        are sent again next time. A plain function, not `async`: it runs on engram's threads."""
    def export_scope(self, scope: Scope | InScope, path: str | PathLike[str]) -> Receipt:
        """Writes every record and state of the scope's user and agent to `path` as JSON Lines."""
    def import_scope(self, path: str | PathLike[str]) -> Receipt:
        """Restores an export. Every line is checked first, as the write that made it was (against this
        store's limits, unknown keys refused) and must belong to the header's tenant, user and agent:
        a bad line is an `InvalidInputError` naming it (`line 3.tags`) and nothing is written. Ids
        must be new in their tenant (`ConflictError` otherwise)."""

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
        backend: _Backend | None = None,
        dsn: str | None = None,
        database: str | None = None,
        limits: Limits | None = None,
        synchronous: Synchronous = "normal",
        embedder: Embedder | None = None,
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
    def list_events(self, query: EventQuery | Scope) -> Awaitable[list[Event]]:
        """A run's events (or the session's, with `session_wide`), newest first."""
    def list_event_sequences(self, query: EventQuery | Scope) -> Awaitable[list[int]]:
        """The sequences of the events `list_events` returns for the query, in its order, read
        from the index alone: whether a listing changed since the events were last read."""
    def upsert_fact(self, fact: FactInput) -> Awaitable[FactWrite]:
        """Writes a fact: created, superseding the active one of its key, or refreshing it."""
    def list_facts(self, query: ListQuery | Scope) -> Awaitable[list[Fact]]:
        """Active facts visible from the scope, newest first."""
    def fact_history(self, scope: Scope | InScope, fact_key: str) -> Awaitable[list[Fact]]:
        """Every version of a fact key visible from the scope, oldest first."""
    def append_episode(self, episode: EpisodeInput) -> Awaitable[Episode]:
        """Appends an episode: a summary of what happened over a time range."""
    def list_episodes(self, query: ListQuery | Scope) -> Awaitable[list[Episode]]:
        """Episodes visible from the scope, newest first."""
    def upsert_procedure(self, procedure: ProcedureInput) -> Awaitable[Procedure]:
        """Creates a procedure, or replaces the one with the same `procedure_id`."""
    def list_procedures(self, query: ListQuery | Scope) -> Awaitable[list[Procedure]]:
        """Procedures visible from the scope, newest first."""
    def append_insight(self, insight: InsightInput) -> Awaitable[Insight]:
        """Appends a run-scoped insight (hypothesis, strategy or pattern)."""
    def update_insight(self, update: InsightUpdate) -> Awaitable[Insight]:
        """Changes an insight's validation state or confidence; `NotFoundError` outside its run."""
    def list_insights(self, query: ListQuery | Scope) -> Awaitable[list[Insight]]:
        """The run's insights, newest first."""
    def get_working_state(self, scope: Scope | InScope) -> Awaitable[WorkingState]:
        """The run's working state (empty, version 0, when nothing was written)."""
    def patch_working_state(self, patch: WorkingStatePatch | Scope) -> Awaitable[WorkingState]:
        """Applies a patch atomically; a stale `expected_version` raises `ConflictError`."""
    def get_stm(self, scope: Scope | InScope) -> Awaitable[ShortTermState]:
        """The session's short-term state: rolling summary and key quotes."""
    def update_stm(self, update: ShortTermUpdate | Scope) -> Awaitable[ShortTermState]:
        """Replaces the given parts of the session's short-term state."""
    def build_memory_packet(self, request: BuildRequest) -> Awaitable[MemoryPacket]:
        """Builds the memory packet for a request: the best context within the budget, explained."""
    def scope(
        self,
        user_id: str,
        session_id: str | None = None,
        agent_id: str | None = None,
        tenant_id: str | None = None,
        run_id: str | None = None,
    ) -> AsyncScopedMemory:
        """This memory bound to one scope: every call that takes a scope, without it, plus
        `add_message(role, text)`. Tenant, agent and session default to `"default"`, the run to
        the session."""
    def stats(self, scope: Scope | InScope) -> Awaitable[Stats]:
        """Counts of the scope's records."""
    def check_integrity(self) -> Awaitable[list[str]]:
        """What the database's own consistency checks find wrong (empty: nothing). SQLite runs
        `PRAGMA integrity_check` and FTS5's check of each postings index; memory and the servers
        report nothing (the servers keep their own checks)."""
    def delete_event(self, scope: Scope | InScope, event_id: str) -> Awaitable[Receipt]:
        """Deletes one event of the scope's user and agent (any session), with its index rows.
        `NotFoundError` when that user and agent have no such event. Returns the receipt."""
    def delete_fact(self, scope: Scope | InScope, fact_key: str) -> Awaitable[Receipt]:
        """Deletes every version of a fact key the scope's user and agent wrote (history too).
        `NotFoundError` when there is none. Returns the receipt."""
    def forget(self, request: ForgetRequest) -> Awaitable[Receipt]:
        """Deletes the scope's user and agent's records matching every filter given (`before`, `tags`,
        `kinds`); at least one filter is needed. Returns the receipt."""
    def put_items(self, items: Sequence[ItemInput], on_conflict: OnConflict | None = None) -> Awaitable[None]:
        """Writes items (a JSON `value` and optional `blob` bytes under a namespace and key) in one
        transaction; a taken key is replaced, or kept with `on_conflict="keep"`."""
    def list_items(self, query: ItemQuery) -> Awaitable[list[Item]]:
        """The items a query selects, in (namespace, key) order; expired items are never returned."""
    def delete_items(self, query: ItemQuery) -> Awaitable[Receipt]:
        """Deletes every item a query selects (its `offset` and `limit` aside). Returns the receipt."""
    def search_items(self, search: ItemSearch) -> Awaitable[list[FoundItem]]:
        """Items under a namespace prefix: ranked by BM25 over their indexed text when the search has
        a `query` (each with its `score`), else in (namespace, key) order; value filters apply."""
    def list_namespaces(self, query: NamespaceQuery) -> Awaitable[list[list[str]]]:
        """The namespaces holding items, by prefix and suffix (`*` matches one label), cut to
        `max_depth`, each once, in label order."""
    def purge_user(self, tenant_id: str, user_id: str, compact: bool | None = None) -> Awaitable[Receipt]:
        """Deletes everything of a user in a tenant: records of every kind, agent and session, working
        and short-term states, index rows and lexical spaces. Returns the receipt. With
        `compact=True` the receipt is compacted too (see `compact`)."""
    def compact(self, receipt: Receipt) -> Awaitable[Receipt]:
        """Makes a deletion's receipt physical: on Postgres and MySQL the tables it counts rows of
        are rewritten without the deleted rows (`VACUUM (FULL)`, `ALTER TABLE ... FORCE`) and named
        in `erased`; SQLite erased them already, in memory nothing is on disk. Returns the receipt."""
    def sweep_expired(self, request: SweepRequest | None = None) -> Awaitable[Receipt]:
        """Deletes expired records of every tenant, ended runs' working states and, with a retention
        policy, old events. `None` sweeps at the wall clock without retention. Returns the receipt."""
    def promote_insight(self, request: PromoteInsight) -> Awaitable[Promoted]:
        """Promotes a run's insight to a fact or a procedure (`to`); the insight becomes validated with
        `promoted_to` set. `ConflictError` when already promoted, `NotFoundError` outside its run."""
    def end_run(self, scope: Scope | InScope, now: Timestamp | None = None) -> Awaitable[RunEnd]:
        """Ends a run: its unpromoted insights expire at `now` (the wall clock when `None`), its working
        state is marked ended (readable until swept, no longer in packets)."""
    def consolidate_session(
        self, request: ConsolidateRequest | Scope, summarizer: Summarizer | None = None
    ) -> Awaitable[Consolidation]:
        """Turns the session's events beyond the conversation window into an episode and refreshes the
        short-term state. `summarizer(events) -> dict | str` replaces the extractive summary; an
        exception it raises propagates unchanged, and nothing is written.

        The summarizer is called with the GIL from the thread doing the work (one of engram's,
        for `AsyncMemory`) and must be a plain function, not `async`; a result that is neither a
        `Summary` dict nor a `str` raises `InvalidInputError` with
        `field` `summarizer` (or `summarizer.<key>` for a bad key of the dict)."""
    def extract_facts(self, request: ExtractRequest | Scope, extractor: Extractor) -> Awaitable[Extraction]:
        """Sends the session's message events not sent yet (oldest first, `max_events` at a time,
        default 50) to `extractor(events) -> list[dict]` and writes each fact it returns with
        `upsert_fact` (`sources`: the events that state it, all sent by default), so a changed value
        supersedes the old one with history. Returns the event ids sent, each write, and the
        session's short-term state with its `extracted_until` cursor moved past them.

        Bad output (not a list of fact dicts, a wrong type, more than `max_facts`, a source not
        sent) raises `InvalidInputError` with `field` `extractor...` and writes nothing; the events
        are sent again next time. A plain function, not `async`: it runs on engram's threads."""
    def export_scope(self, scope: Scope | InScope, path: str | PathLike[str]) -> Awaitable[Receipt]:
        """Writes every record and state of the scope's user and agent to `path` as JSON Lines."""
    def import_scope(self, path: str | PathLike[str]) -> Awaitable[Receipt]:
        """Restores an export. Every line is checked first, as the write that made it was (against this
        store's limits, unknown keys refused) and must belong to the header's tenant, user and agent:
        a bad line is an `InvalidInputError` naming it (`line 3.tags`) and nothing is written. Ids
        must be new in their tenant (`ConflictError` otherwise)."""
