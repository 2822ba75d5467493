"""Shapes of what goes in and out of engram, as TypedDicts.

Every input and result is a plain ``dict``; these types describe them for type checkers and
readers. They mirror the serde form of the Rust types in ``engram-types`` key for key. Keys
marked ``NotRequired`` may be left out (a default applies); unknown keys are rejected.
Timestamps are RFC 3339 strings in results and may be given as strings or timezone-aware
``datetime`` objects in inputs.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Union

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover
    from typing_extensions import NotRequired, TypedDict

__all__ = [
    "InScope",
    "Json",
    "Timestamp",
    "EventKind",
    "Purpose",
    "ScopeLevel",
    "FactStatus",
    "FactWriteOutcome",
    "CompressionLevel",
    "InsightKind",
    "ValidationState",
    "Section",
    "OmissionReason",
    "ItemForm",
    "OutputFormat",
    "Tokenizer",
    "Scope",
    "ItemInput",
    "Item",
    "ItemQuery",
    "ItemSearch",
    "FoundItem",
    "NamespaceQuery",
    "OnConflict",
    "Limits",
    "Synchronous",
    "EventInput",
    "Event",
    "EventQuery",
    "ListQuery",
    "FactInput",
    "Fact",
    "FactWrite",
    "EpisodeInput",
    "Episode",
    "ProcedureInput",
    "Procedure",
    "InsightInput",
    "InsightUpdate",
    "Insight",
    "WorkingState",
    "WorkingStatePatch",
    "ShortTermState",
    "ShortTermUpdate",
    "TimeRange",
    "Cues",
    "Weights",
    "HalfLives",
    "Fusion",
    "Policy",
    "Budget",
    "BuildRequest",
    "PacketMeta",
    "PacketItem",
    "ShortTermMemory",
    "LongTermMemory",
    "Citation",
    "Degradation",
    "BudgetReport",
    "Signals",
    "SelectedItem",
    "ReplacedVersion",
    "OmittedItem",
    "ExplainCounts",
    "StageTimings",
    "Explain",
    "MemoryPacket",
    "Stats",
    "RecordKind",
    "Receipt",
    "ForgetRequest",
    "RetentionPolicy",
    "SweepRequest",
    "PromoteInsightToFact",
    "PromoteInsightToProcedure",
    "PromoteInsight",
    "Promoted",
    "RunEnd",
    "ConsolidateRequest",
    "Summary",
    "Summarizer",
    "ExtractRequest",
    "Defaults",
    "ExtractedFact",
    "Extractor",
    "Extraction",
    "Embedder",
    "Consolidation",
]

Json = Any
"""Any JSON value: dict, list, str, int, float (finite), bool or None."""

Timestamp = Union[str, datetime]
"""An instant: an RFC 3339 string, or a timezone-aware ``datetime`` (inputs only)."""

EventKind = Literal["message", "tool_call", "tool_result", "state_patch", "observation", "system"]
Purpose = Literal["planner", "tool", "responder"]
ScopeLevel = Literal["user", "agent", "tenant"]
FactStatus = Literal["active", "superseded", "disputed", "deprecated"]
FactWriteOutcome = Literal["created", "superseded", "refreshed"]
CompressionLevel = Literal["raw", "phase", "milestone", "theme"]
InsightKind = Literal["hypothesis", "strategy", "pattern"]
ValidationState = Literal["unvalidated", "testing", "validated", "rejected"]
Section = Literal[
    "working_state",
    "conversation_window",
    "rolling_summary",
    "key_quotes",
    "facts",
    "episodes",
    "procedures",
    "recall",
    "insights",
]
OmissionReason = Literal[
    "section_budget",
    "total_budget",
    "policy_cap",
    "purpose_gate",
    "expired",
    "superseded",
    "duplicate",
    "time_window",
    "low_score",
    "weak_cue",
]
ItemForm = Literal["full", "compact", "reference"]
OutputFormat = Literal["markdown", "xml"]
Tokenizer = Literal["o200k_base", "cl100k_base"]


class ItemInput(TypedDict):
    """A namespaced document beside agent memory (a LangGraph checkpoint, a store item)."""

    namespace: List[str]
    """Labels (each non-empty, at most 128 bytes, no control characters; at most 16, 384 bytes joined)."""
    key: str
    value: NotRequired[Json]
    blob: NotRequired[Optional[bytes]]
    """Opaque bytes stored beside the value (at most `limits.max_blob_bytes`)."""
    tenant_id: NotRequired[str]
    """Default ``"default"``."""
    expires_at: NotRequired[Optional[Timestamp]]
    """After this instant the item is gone for every read; the next sweep deletes it."""
    ttl_seconds: NotRequired[Optional[float]]
    """The item expires this long after the write (not with ``expires_at``); reads with
    ``refresh_ttl`` start the time again. Above 0, at most a century."""
    index: NotRequired[Optional[List[str]]]
    """Paths into ``value`` whose text ``search_items`` matches: ``"$"`` the whole value,
    ``"a.b"`` a field, ``"a[*]"``/``"a[2]"``/``"a[-1]"`` list elements (lists on the way are walked
    into). Strings and numbers are the text. Not indexed (listed, never matched) without it."""


class Item(TypedDict):
    tenant_id: str
    namespace: List[str]
    key: str
    value: Json
    blob: Optional[bytes]
    created_at: str
    updated_at: str
    expires_at: Optional[str]
    ttl_seconds: Optional[float]
    children: NotRequired[List["Item"]]
    """Only when the query named ``children``: the items of that namespace plus this key."""


class FoundItem(Item):
    """An item ``search_items`` returned."""

    score: Optional[float]
    """BM25 over the indexed text; ``None`` without a query."""


class ItemQuery(TypedDict):
    """Which items a read or delete selects; results are in (namespace, key) order."""

    namespace: List[str]
    tenant_id: NotRequired[str]
    prefix: NotRequired[bool]
    """Every namespace that starts with ``namespace`` too (all of the tenant's when it is empty)."""
    keys: NotRequired[List[str]]
    before_key: NotRequired[Optional[str]]
    after_key: NotRequired[Optional[str]]
    descending: NotRequired[bool]
    filter: NotRequired[Dict[str, Json]]
    """Dotted paths into the value, each equal to a value or meeting operators (``$eq``, ``$ne``,
    ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$in``)."""
    without_blobs: NotRequired[bool]
    refresh_ttl: NotRequired[bool]
    """The returned items that have a ``ttl_seconds`` expire that long after this read."""
    offset: NotRequired[int]
    limit: NotRequired[int]
    """Default 100."""
    children: NotRequired[Optional[List[str]]]
    """With each item, every live item of the namespace ``children + [item key]`` (keys ascending),
    as its ``children``: a checkpoint and its pending writes in one read. Deletes ignore it."""


class ItemSearch(TypedDict):
    """A search of the items under a namespace prefix."""

    namespace: NotRequired[List[str]]
    """A prefix; every namespace of the tenant when empty (the default)."""
    tenant_id: NotRequired[str]
    query: NotRequired[Optional[str]]
    """Ranks indexed items by BM25 over their indexed text, leaving out those matching none of its
    words; without one, items come in (namespace, key) order."""
    filter: NotRequired[Dict[str, Json]]
    """As in ``ItemQuery``."""
    offset: NotRequired[int]
    limit: NotRequired[int]
    """Default 10."""
    without_blobs: NotRequired[bool]
    refresh_ttl: NotRequired[bool]


class NamespaceQuery(TypedDict):
    """Which namespaces ``list_namespaces`` returns; ``"*"`` in a pattern matches any one label."""

    tenant_id: NotRequired[str]
    prefix: NotRequired[List[str]]
    suffix: NotRequired[List[str]]
    max_depth: NotRequired[Optional[int]]
    """Namespaces are cut to this many labels, each listed once."""
    offset: NotRequired[int]
    limit: NotRequired[int]
    """Default 100."""


OnConflict = Literal["replace", "keep"]
"""What a write does with a taken key: replace the item (keeping ``created_at``) or keep it."""


class Limits(TypedDict, total=False):
    """Size limits every write is checked against before anything is stored
    (`Memory(limits=...)`); each key left out keeps its default, and each must be at least 1."""

    max_id_bytes: int
    """Longest id (scope parts, record ids, tags, entities, fact keys), in bytes: 128 (at most
    128 on Postgres and MySQL, the size of their key columns and index rows)."""
    max_payload_bytes: int
    """Largest payload or value, serialized as JSON: 262144 (256 KiB)."""
    max_payload_depth: int
    """Deepest nesting of lists and dicts in a payload or value: 32 (at most 48)."""
    max_labels: int
    """Most tags (and most entities) on one record: 64."""
    max_text_bytes: int
    """Longest free text (summaries, fact text, procedure content): 65536 (64 KiB)."""
    max_batch: int
    """Most events in one `append_events`: 10000."""
    max_sources: int
    """Most source links on one record: 10000."""
    max_blob_bytes: int
    """Largest item blob: 16777216 (16 MiB)."""


Synchronous = Literal["normal", "full"]
"""When a SQLite commit reaches the disk: `"normal"` (default) survives any crash of the process,
`"full"` fsyncs every commit so it also survives power loss."""


class Scope(TypedDict):
    """Who and where: every part non-empty, at most 128 bytes, no control characters."""

    tenant_id: str
    user_id: str
    agent_id: str
    session_id: str
    run_id: str


class InScope(TypedDict):
    """A scope held under ``"scope"``: every call that takes a scope takes this shape too."""

    scope: Scope


# --- events ---------------------------------------------------------------------------


class EventInput(TypedDict):
    """An event to append. ``payload.text`` (or ``content``) and ``payload.role`` give its text and role."""

    scope: Scope
    kind: EventKind
    event_id: NotRequired[Optional[str]]
    ts: NotRequired[Optional[Timestamp]]
    payload: NotRequired[Json]
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]
    importance: NotRequired[Optional[float]]
    expires_at: NotRequired[Optional[Timestamp]]
    embedding: NotRequired[Optional[List[float]]]
    """A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as long as
    every other vector of the tenant. Stored as float32."""


class Event(TypedDict):
    event_id: str
    scope: Scope
    ts: str
    kind: EventKind
    payload: Json
    role: str
    text: str
    tags: List[str]
    entities: List[str]
    importance: float
    token_count: int
    expires_at: Optional[str]
    embedding: NotRequired[List[float]]
    """The record's vector as stored, in float32 (``0.1`` reads back as ``0.10000000149011612``);
    absent when it has none."""
    sequence: NotRequired[int]
    """The event's sequence number in its store, present when the listing asked
    ``with_sequences``. Unique in the store and never reused, and events never change, so it
    names this event's content: keep what you built from an event under it, and
    ``list_event_sequences`` tells which events a listing holds now."""


class EventQuery(TypedDict):
    """Newest-first listing of a run's events (the session's with ``session_wide``)."""

    scope: Scope
    limit: NotRequired[int]
    before: NotRequired[Optional[Timestamp]]
    after: NotRequired[Optional[Timestamp]]
    kinds: NotRequired[List[EventKind]]
    session_wide: NotRequired[bool]
    with_sequences: NotRequired[bool]
    """Give each event its ``sequence``."""


class ListQuery(TypedDict):
    """Newest-first listing of facts, episodes, procedures or insights (limit defaults to 100)."""

    scope: Scope
    limit: NotRequired[int]
    include_inactive: NotRequired[bool]


# --- facts ----------------------------------------------------------------------------


class FactInput(TypedDict):
    scope: Scope
    fact_key: str
    value: Json
    text: NotRequired[Optional[str]]
    fact_id: NotRequired[Optional[str]]
    confidence: NotRequired[Optional[float]]
    importance: NotRequired[Optional[float]]
    sources: NotRequired[List[str]]
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]
    valid_from: NotRequired[Optional[Timestamp]]
    expires_at: NotRequired[Optional[Timestamp]]
    scope_level: NotRequired[ScopeLevel]
    recorded_at: NotRequired[Optional[Timestamp]]
    embedding: NotRequired[Optional[List[float]]]
    """A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as long as
    every other vector of the tenant. Stored as float32."""


class Fact(TypedDict):
    fact_id: str
    scope: Scope
    scope_level: ScopeLevel
    fact_key: str
    value: Json
    text: str
    status: FactStatus
    valid_from: str
    valid_to: Optional[str]
    recorded_at: str
    confidence: float
    importance: float
    sources: List[str]
    tags: List[str]
    entities: List[str]
    expires_at: Optional[str]
    superseded_by: Optional[str]
    supersedes: Optional[str]
    """The fact_id of the version this one replaced."""
    token_count: int
    embedding: NotRequired[List[float]]
    """The record's vector as stored, in float32 (``0.1`` reads back as ``0.10000000149011612``);
    absent when it has none."""


class FactWrite(TypedDict):
    fact: Fact
    outcome: FactWriteOutcome
    superseded: Optional[str]


# --- episodes, procedures, insights ---------------------------------------------------


class EpisodeInput(TypedDict):
    scope: Scope
    start_ts: Timestamp
    end_ts: Timestamp
    summary: str
    episode_id: NotRequired[Optional[str]]
    highlights: NotRequired[List[str]]
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]
    sources: NotRequired[List[str]]
    compression_level: NotRequired[CompressionLevel]
    importance: NotRequired[Optional[float]]
    scope_level: NotRequired[ScopeLevel]
    expires_at: NotRequired[Optional[Timestamp]]
    embedding: NotRequired[Optional[List[float]]]
    """A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as long as
    every other vector of the tenant. Stored as float32."""


class Episode(TypedDict):
    episode_id: str
    scope: Scope
    scope_level: ScopeLevel
    start_ts: str
    end_ts: str
    summary: str
    highlights: List[str]
    tags: List[str]
    entities: List[str]
    sources: List[str]
    compression_level: CompressionLevel
    importance: float
    token_count: int
    expires_at: Optional[str]
    embedding: NotRequired[List[float]]
    """The record's vector as stored, in float32 (``0.1`` reads back as ``0.10000000149011612``);
    absent when it has none."""


class ProcedureInput(TypedDict):
    scope: Scope
    task_type: str
    title: str
    procedure_id: NotRequired[Optional[str]]
    steps: NotRequired[List[str]]
    content: NotRequired[Optional[str]]
    priority: NotRequired[Optional[float]]
    applicability: NotRequired[Optional[str]]
    """When the procedure applies, in words (free text: at most ``limits.max_text_bytes``)."""
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]
    scope_level: NotRequired[ScopeLevel]
    updated_at: NotRequired[Optional[Timestamp]]
    expires_at: NotRequired[Optional[Timestamp]]
    embedding: NotRequired[Optional[List[float]]]
    """A vector of the record (an embedding of its text, say): 1 to 4096 finite numbers, as long as
    every other vector of the tenant. Stored as float32."""


class Procedure(TypedDict):
    procedure_id: str
    scope: Scope
    scope_level: ScopeLevel
    task_type: str
    title: str
    steps: List[str]
    content: Optional[str]
    text: str
    priority: float
    applicability: Optional[str]
    tags: List[str]
    entities: List[str]
    use_count: int
    updated_at: str
    token_count: int
    expires_at: Optional[str]
    embedding: NotRequired[List[float]]
    """The record's vector as stored, in float32 (``0.1`` reads back as ``0.10000000149011612``);
    absent when it has none."""


class InsightInput(TypedDict):
    scope: Scope
    text: str
    insight_id: NotRequired[Optional[str]]
    kind: NotRequired[InsightKind]
    confidence: NotRequired[Optional[float]]
    validation: NotRequired[ValidationState]
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]
    sources: NotRequired[List[str]]
    created_at: NotRequired[Optional[Timestamp]]
    expires_at: NotRequired[Optional[Timestamp]]


class InsightUpdate(TypedDict):
    scope: Scope
    insight_id: str
    validation: NotRequired[Optional[ValidationState]]
    confidence: NotRequired[Optional[float]]
    expires_at: NotRequired[Optional[Timestamp]]
    promoted_to: NotRequired[Optional[str]]


class Insight(TypedDict):
    insight_id: str
    scope: Scope
    kind: InsightKind
    text: str
    confidence: float
    validation: ValidationState
    tags: List[str]
    entities: List[str]
    sources: List[str]
    created_at: str
    expires_at: Optional[str]
    token_count: int
    promoted_to: Optional[str]
    """What the insight became when promoted: ``fact:<fact_id>`` or ``procedure:<procedure_id>``."""


# --- working and short-term state -----------------------------------------------------


class WorkingState(TypedDict):
    goal: Optional[str]
    plan: List[str]
    slots: Dict[str, Json]
    constraints: List[str]
    decisions: List[str]
    risks: List[str]
    open_loops: List[str]
    tool_evidence: List[str]
    version: int
    updated_at: Optional[str]
    ended_at: Optional[str]
    """Set by ``end_run``: readable until swept, no longer in packets."""


class WorkingStatePatch(TypedDict):
    """Fields left out are kept; lists given replace; ``slots`` merge (``None`` removes a key)."""

    scope: Scope
    expected_version: NotRequired[Optional[int]]
    goal: NotRequired[Optional[str]]
    plan: NotRequired[Optional[List[str]]]
    slots: NotRequired[Optional[Dict[str, Json]]]
    constraints: NotRequired[Optional[List[str]]]
    decisions: NotRequired[Optional[List[str]]]
    risks: NotRequired[Optional[List[str]]]
    open_loops: NotRequired[Optional[List[str]]]
    tool_evidence: NotRequired[Optional[List[str]]]
    updated_at: NotRequired[Optional[Timestamp]]
    ended_at: NotRequired[Optional[Timestamp]]


class ShortTermState(TypedDict):
    rolling_summary: Optional[str]
    key_quotes: List[str]
    updated_at: Optional[str]
    consolidated_until: Optional[str]
    """The time of the newest event ``consolidate_session`` has turned into an episode."""
    extracted_until: Optional[str]
    """The time of the newest message event ``extract_facts`` has sent to an extractor."""


class ShortTermUpdate(TypedDict):
    scope: Scope
    rolling_summary: NotRequired[Optional[str]]
    key_quotes: NotRequired[Optional[List[str]]]
    updated_at: NotRequired[Optional[Timestamp]]
    consolidated_until: NotRequired[Optional[Timestamp]]
    extracted_until: NotRequired[Optional[Timestamp]]


# --- build requests -------------------------------------------------------------------


class TimeRange(TypedDict, total=False):
    start: Optional[Timestamp]
    end: Optional[Timestamp]


class Cues(TypedDict, total=False):
    tags: List[str]
    entities: List[str]
    keywords: List[str]
    time_range: Optional[TimeRange]


class Weights(TypedDict):
    """Signal weights; all five are needed when given, each from 0 to 1000 (only their ratios
    matter), at least one above 0."""

    relevance: float
    recency: float
    importance: float
    confidence: float
    cue: float


class HalfLives(TypedDict, total=False):
    """Recency half-lives per section, in hours."""

    facts: float
    episodes: float
    procedures: float
    recall: float
    insights: float


class Fusion(TypedDict, total=False):
    """How BM25 and vector similarity combine into relevance (with ``query_embedding``):
    ``scores`` (default, weighted mean of scaled scores) or ``ranks`` (reciprocal-rank fusion)."""

    method: Literal["scores", "ranks"]
    lexical: float
    vector: float
    rank_constant: float


class Policy(TypedDict, total=False):
    """What may enter a packet and how candidates are found and scored. Every key has a default."""

    policy_id: Optional[str]
    max_total_candidates: int
    max_facts: int
    max_episodes: int
    max_procedures: int
    max_insights: int
    max_recall: int
    recall_fills_budget: Optional[bool]
    """With a query, recalled events past ``max_recall`` use the tokens the other sections left;
    ``None``: on for responder and planner, off for tool."""
    context_turns: int
    session_support: float
    """Share (0..1) of a recalled event's relevance that comes from its session's best matches."""
    conversation_window: int
    candidates_per_source: int
    postings_per_term: int
    vector_candidates: int
    fusion: Fusion
    min_score: float
    half_life_hours: HalfLives
    weights: Optional[Weights]
    max_active_facts: int
    replaced_within_days: int
    """A fact that replaced a value this many days ago or less says ``was ...`` and outdates recalled
    turns that still state the old value (default 90; 0 turns both off)."""


class Budget(TypedDict, total=False):
    """Token limits: ``max_tokens`` (default 2000) is hard; ``per_section`` counts headings."""

    max_tokens: int
    per_section: Dict[Section, int]
    tokenizer: Tokenizer


class BuildRequest(TypedDict):
    scope: Scope
    purpose: Purpose
    task_type: NotRequired[Optional[str]]
    query: NotRequired[Optional[str]]
    query_embedding: NotRequired[Optional[List[float]]]
    cues: NotRequired[Cues]
    policy: NotRequired[Policy]
    budget: NotRequired[Budget]
    now: NotRequired[Optional[Timestamp]]
    format: NotRequired[OutputFormat]
    show_ids: NotRequired[bool]
    """Name record ids in ``rendered`` (reference lines, xml ``id`` attributes), for tools."""


# --- the memory packet ----------------------------------------------------------------


class PacketMeta(TypedDict):
    schema_version: str
    scope: Scope
    purpose: Purpose
    task_type: Optional[str]
    generated_at: str
    tokens: int
    tokenizer: str
    policy_id: Optional[str]
    format: OutputFormat


class PacketItem(TypedDict):
    id: str
    form: ItemForm
    text: str
    score: float
    ts: str
    role: NotRequired[str]
    session_id: NotRequired[str]
    fact_key: NotRequired[str]
    value: NotRequired[Json]
    confidence: NotRequired[float]
    validation: NotRequired[ValidationState]
    title: NotRequired[str]
    sources: NotRequired[List[str]]


class ShortTermMemory(TypedDict):
    working_state: Optional[WorkingState]
    conversation_window: List[PacketItem]
    rolling_summary: Optional[str]
    key_quotes: List[str]
    open_loops: List[str]


class LongTermMemory(TypedDict):
    facts: List[PacketItem]
    episodes: List[PacketItem]
    procedures: List[PacketItem]
    recall: List[PacketItem]


class Citation(TypedDict):
    id: str
    section: Section
    sources: List[str]


# `from` is a keyword, hence the functional form.
Degradation = TypedDict(
    "Degradation",
    {"id": str, "section": Section, "from": ItemForm, "to": ItemForm, "tokens_saved": int},
)


class BudgetReport(TypedDict):
    max_tokens: int
    used_tokens: int
    section_usage: Dict[Section, int]
    omissions: Dict[OmissionReason, int]
    degradations: List[Degradation]


class Signals(TypedDict):
    relevance: float
    recency: float
    importance: float
    confidence: float
    cue: float
    vector: float


class SelectedItem(TypedDict):
    id: str
    section: Section
    rank: int
    score: float
    signals: Signals
    matched_terms: List[str]
    cue_hits: List[str]
    source: str
    sources: List[str]
    form: ItemForm
    tokens: int
    context_of: NotRequired[str]
    kind: str
    """``event``, ``fact``, ``episode``, ``procedure``, ``insight``, or the state shown."""
    text: str
    """The item's text in the form it was placed in."""
    time: NotRequired[str]
    matched_words: List[str]
    """The query's own words behind ``matched_terms`` (index terms, i.e. stems)."""
    evidence: List[str]
    """The records the item rests on (a fact's, episode's or insight's ``sources``), as in ``citations``."""
    replaced: NotRequired[ReplacedVersion]
    """A fact that changed lately: the version it replaced."""
    outdated_by: NotRequired[str]
    """A recalled turn stating what this newer fact replaced: marked outdated, score halved."""


class ReplacedVersion(TypedDict):
    fact_id: str
    value: Json
    text: str
    valid_from: str
    valid_to: Optional[str]


class OmittedItem(TypedDict):
    id: str
    section: Section
    reason: OmissionReason
    score: Optional[float]


class ExplainCounts(TypedDict):
    candidates: Dict[Section, int]
    selected: Dict[Section, int]
    omitted: Dict[Section, int]
    degraded: int


class StageTimings(TypedDict):
    """Microseconds per build stage."""

    candidates: int
    score: int
    assemble: int
    render: int
    total: int


class Explain(TypedDict):
    selected: List[SelectedItem]
    omitted: List[OmittedItem]
    counts: ExplainCounts
    timings_us: StageTimings
    query_terms: List[str]
    capped_terms: List[str]
    warnings: List[str]


class MemoryPacket(TypedDict):
    meta: PacketMeta
    short_term: ShortTermMemory
    long_term: LongTermMemory
    insight: List[PacketItem]
    citations: List[Citation]
    budget_report: BudgetReport
    explain: Explain
    rendered: str


class Stats(TypedDict):
    events: int
    facts: Dict[str, int]
    episodes: int
    procedures: int
    insights: Dict[str, int]
    oldest_event: Optional[str]
    newest_event: Optional[str]
    working_state_version: int
    episode_levels: Dict[str, int]
    """Episodes by compression level."""
    database_bytes: Optional[int]
    """Size of the whole database, where the backend can tell (``None`` in memory)."""


# --- the lifecycle --------------------------------------------------------------------


RecordKind = Literal["event", "fact", "episode", "procedure", "insight"]


class Receipt(TypedDict):
    """Rows an operation deleted (or wrote, for export and import), per table. Tables are the
    SQL backends' (``events``, ``event_postings``, ``lexical_terms``, ...); only tables with
    rows appear. Record and state counts agree across backends; index rows are physical.
    ``erased`` says where the bytes of what was deleted are gone too. SQLite, as it deletes:
    ``pages`` (overwritten with zeros), a postings table (its index rewritten without them),
    ``wal`` (checkpointed and truncated); Postgres and MySQL, once ``Memory.compact`` ran on the
    receipt: the tables rewritten without the deleted rows. Absent when empty."""

    rows: Dict[str, int]
    erased: NotRequired[List[str]]


class ForgetRequest(TypedDict):
    """The scope's user and agent's records (every session and run) matching every filter
    given; at least one of ``before``, ``tags``, ``kinds`` or ``session_only``."""

    scope: Scope
    before: NotRequired[Optional[Timestamp]]
    """Records strictly older than this (event ts, fact recorded_at, episode end_ts, ...)."""
    tags: NotRequired[List[str]]
    """Records carrying at least one of these tags."""
    kinds: NotRequired[List[RecordKind]]
    """Only these kinds (every kind when empty)."""
    session_only: NotRequired[bool]
    """Only records written in the scope's session."""


class RetentionPolicy(TypedDict, total=False):
    """How long raw events are kept (other records expire through ``expires_at``)."""

    max_event_age_days: Optional[int]
    """Delete events older than this many days (at least 1)."""
    max_events_per_session: Optional[int]
    """Keep only the newest this many events of each session (at least 1: a sweep covers every
    tenant, so 0 would delete all their events; leave it out to keep every event)."""


class SweepRequest(TypedDict, total=False):
    now: Optional[Timestamp]
    """The sweep's clock (the wall clock when absent): records with ``expires_at <= now`` go."""
    retention: RetentionPolicy


class PromoteInsightToFact(TypedDict):
    """A fact under ``fact_key``: its value is the insight's text unless given, its sources the
    insight's plus ``insight:<insight_id>``."""

    scope: Scope
    insight_id: str
    to: Literal["fact"]
    fact_key: str
    value: NotRequired[Json]
    scope_level: NotRequired[ScopeLevel]


class PromoteInsightToProcedure(TypedDict):
    """A procedure for ``task_type``: its steps are the insight's text unless given."""

    scope: Scope
    insight_id: str
    to: Literal["procedure"]
    task_type: str
    title: NotRequired[Optional[str]]
    steps: NotRequired[List[str]]
    scope_level: NotRequired[ScopeLevel]


PromoteInsight = Union[PromoteInsightToFact, PromoteInsightToProcedure]
"""Promote a run's insight to long-term memory; ``to`` says into what."""


class Promoted(TypedDict):
    """The insight (validated, ``promoted_to`` set) and what it became."""

    insight: Insight
    fact: Optional[Fact]
    procedure: Optional[Procedure]


class RunEnd(TypedDict):
    expired_insights: List[str]
    """Ids of the insights that expired with the run (unpromoted, not already expired)."""
    working_state: WorkingState
    """The run's working state, ended (readable until swept)."""


class ConsolidateRequest(TypedDict):
    scope: Scope
    window: NotRequired[int]
    """Newest message events left out of the episode (the conversation window); default 12."""
    max_events: NotRequired[int]
    """Most events one consolidation reads (default 5000); older ones wait for the next call."""
    min_events: NotRequired[int]
    """Fewer events than this beyond the window: nothing is consolidated (default 1)."""
    now: NotRequired[Optional[Timestamp]]


class Summary(TypedDict):
    """What a summarizer returns for the events of one consolidation."""

    summary: str
    highlights: NotRequired[List[str]]
    key_quotes: NotRequired[List[str]]
    """Quotes worth keeping verbatim in the session's short-term state."""
    tags: NotRequired[List[str]]
    entities: NotRequired[List[str]]


Summarizer = Callable[[List[Event]], Union[Summary, str]]
"""Called with the consumed events (oldest first, as ``list_events`` returns them); returns a
``Summary`` or just its text. A plain function: it runs on engram's threads."""

Embedder = Callable[[List[str]], Sequence[Sequence[float]]]
"""``Memory(embedder=...)``: texts in, one vector per text out, all of one length (lists, or
anything with ``tolist()``, like a numpy array). A plain function: it runs on engram's threads."""


class Defaults(TypedDict):
    """``engram.defaults()``: what a call without a field gets."""

    policy: Policy
    budget: Budget
    limits: Limits
    records: Dict[str, float]
    """``importance``, ``fact_confidence``, ``insight_confidence``, ``procedure_priority``."""
    lists: Dict[str, int]
    """``limit`` of the record lists, ``events_limit`` of ``list_events``."""
    consolidate: Dict[str, int]
    extract: Dict[str, int]


class ExtractRequest(TypedDict):
    scope: Scope
    max_events: NotRequired[int]
    """Most message events sent in one call (default 50, at most 1000); later ones wait."""
    max_facts: NotRequired[int]
    """Most facts the extractor may return for them (default 20, at most 100); more is an error."""
    now: NotRequired[Optional[Timestamp]]


class ExtractedFact(TypedDict):
    """One fact an extractor returns."""

    fact_key: str
    value: Json
    text: NotRequired[Optional[str]]
    confidence: NotRequired[Optional[float]]
    tags: NotRequired[List[str]]
    sources: NotRequired[List[str]]
    """Ids of the events given that state the fact (default: all of them)."""


Extractor = Callable[[List[Event]], List[ExtractedFact]]
"""Called with a session's new message events (oldest first, as ``list_events`` returns them);
returns the facts they state. A plain function: it runs on engram's threads."""


class Extraction(TypedDict):
    """The event ids sent (empty: nothing new, the extractor was not called), each fact written
    and what its upsert did, and the session's short-term state with the cursor moved."""

    events: List[str]
    facts: List[FactWrite]
    short_term: ShortTermState


class Consolidation(TypedDict):
    """The episode (``None`` when too few events lay beyond the window), how many events it
    consumed, and the session's refreshed short-term state."""

    episode: Optional[Episode]
    consumed: int
    short_term: ShortTermState
