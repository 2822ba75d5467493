"""The memory lifecycle on every backend: purge, export and import, expiry and retention,
insight promotion, run ends, consolidation (with a Python summarizer), targeted forgetting,
and the same through AsyncMemory.

Raw checks read the database behind the store directly: SQLite with the `sqlite3` module,
Postgres and MySQL with the command-line clients conftest uses to drop databases."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import shutil
import subprocess
import sys
import threading
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple, cast
from urllib.parse import urlsplit

import pytest

from conftest import SERVER_DSNS, make_scope, server_kwargs
from engram import AsyncMemory, ConflictError, InvalidInputError, Memory, NotFoundError
from engram.types import BuildRequest, Event, EventInput, ListQuery, MemoryPacket, Scope, Summary

NOW = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def iso(instant: datetime) -> str:
    """The RFC 3339 form results use (UTC, `Z`, milliseconds only when there are any)."""
    text = instant.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def message(scope: Scope, text: str, ts: datetime, **extra: Any) -> EventInput:
    role = extra.pop("role", "user")
    event = {"scope": scope, "kind": "message", "payload": {"role": role, "text": text}, "ts": ts, **extra}
    return cast(EventInput, event)


def packet_request(scope: Scope, query: str = "lisbon vegetarian dinner email",
                   purpose: str = "planner") -> BuildRequest:
    return {"scope": scope, "purpose": purpose, "query": query, "now": NOW,  # type: ignore[typeddict-item]
            "budget": {"max_tokens": 6000}}


def comparable(packet: MemoryPacket) -> Dict[str, Any]:
    """The packet without its stage timings (the only part that differs between equal builds)."""
    copied: Dict[str, Any] = copy.deepcopy(dict(packet))
    del copied["explain"]["timings_us"]
    return copied


def seed_user(mem: Memory, scope: Scope, tag: str = "") -> Dict[str, int]:
    """Varied memory for the scope's user: events over two sessions, two fact keys (one with a
    superseded version), an episode, a procedure, two insights, working and short-term state.
    Every timestamp is fixed, so packets built at `NOW` are reproducible. Returns row counts."""
    other_session: Scope = {**scope, "session_id": scope["session_id"] + "-b"}
    events = [message(scope, f"{tag} I'm vegetarian and love lisbon dinner spots {n}", ago(120 - n)) for n in range(6)]
    events += [message(other_session, f"{tag} booked the hotel near alfama, email me {n}", ago(60 - n),
                       tags=["promo"] if n == 0 else []) for n in range(4)]
    mem.append_events(events)
    mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegetarian", "recorded_at": ago(100)})
    mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegan dinner only", "recorded_at": ago(50)})
    mem.upsert_fact({"scope": scope, "fact_key": "city", "value": "lisbon", "recorded_at": ago(40), "tags": ["trip"]})
    mem.append_episode({"scope": scope, "start_ts": ago(120), "end_ts": ago(115),
                        "summary": f"{tag} planned a vegetarian dinner in lisbon", "tags": ["trip"]})
    mem.upsert_procedure({"scope": scope, "task_type": "booking", "title": "book a lisbon dinner",
                          "steps": ["find a vegetarian place", "email the booking"], "updated_at": ago(30)})
    mem.append_insight({"scope": scope, "insight_id": f"{scope['user_id']}-i1",
                        "text": "prefers email for dinner plans",
                        "created_at": ago(20), "validation": "validated"})
    mem.append_insight({"scope": scope, "insight_id": f"{scope['user_id']}-i2", "text": "might like fado in lisbon",
                        "created_at": ago(10)})
    mem.patch_working_state({"scope": scope, "goal": "book a vegetarian dinner in lisbon", "plan": ["search", "email"],
                             "updated_at": ago(5)})
    mem.update_stm({"scope": scope, "rolling_summary": f"{tag} talked about lisbon dinners",
                    "key_quotes": ["I'm vegetarian"], "updated_at": ago(4)})
    return {"events": len(events), "facts": 3, "episodes": 1, "procedures": 1, "insights": 2,
            "working_states": 1, "short_terms": 1}


# --- raw database access ----------------------------------------------------------------


SQLITE_READER = """
import json, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
print(json.dumps([[str(value) for value in row] for row in connection.execute(sys.argv[2])]))
connection.close()
"""


def raw_query(memory_kwargs: Dict[str, Any], sql: str) -> List[Tuple[str, ...]]:
    """Rows of `sql` run directly against the database behind the store, as strings."""
    backend = memory_kwargs.get("backend", "sqlite")
    if backend == "sqlite":
        # The `sqlite3` module, in a child process: its SQLite is another copy of the library
        # than the store's, and two copies in one process break each other's POSIX locks on
        # the same file (SQLite's how-to-corrupt §2.2.1), which shows up as stale reads here.
        finished = subprocess.run([sys.executable, "-c", SQLITE_READER, str(memory_kwargs["path"]), sql],
                                  capture_output=True, text=True, timeout=60, check=True)
        return [tuple(row) for row in json.loads(finished.stdout)]
    url = urlsplit(SERVER_DSNS[backend])
    database = memory_kwargs["database"]
    if backend == "postgres":
        command = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                   "-U", url.username or "postgres", "-d", database, "-XAtF", "\t", "-c", sql]
    else:
        client = shutil.which("mariadb") or "mysql"
        command = [client, "-h", url.hostname or "127.0.0.1", "-P", str(url.port or 3306),
                   "-u", url.username or "root", "-N", "-B", "-D", database, "-e", sql]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return [tuple(line.split("\t")) for line in finished.stdout.splitlines() if line]


def raw_count(memory_kwargs: Dict[str, Any], sql: str) -> int:
    return int(raw_query(memory_kwargs, sql)[0][0])


RECORD_AND_STATE_TABLES = ["events", "facts", "episodes", "procedures", "insights", "working_states", "short_terms"]


def table_counts(memory_kwargs: Dict[str, Any]) -> Dict[str, int]:
    """Rows of every table engram created, except `engram_migrations`.

    On SQLite the postings are FTS5 tables created `contentless_delete=1`, which the SQLite
    behind Python's `sqlite3` module may be too old to open (the option is from 3.43), so each
    is counted through its `<name>_docsize` shadow table: one row per indexed document, deleted
    with the document. The other shadow tables are FTS5's storage, not rows of engram's:
    `_config` always holds FTS5's version, and `_data`/`_idx` hold b-tree segments in which a
    contentless delete leaves tombstones until segments merge, so their row counts do not follow
    the documents. `sqlite_sequence` is SQLite's own AUTOINCREMENT high-water mark (kept on
    purpose, so sequence numbers are never reused)."""
    backend = memory_kwargs.get("backend", "sqlite")
    if backend == "sqlite":
        names = [row[0] for row in raw_query(memory_kwargs, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        postings = [name for name in names if name.endswith("_postings")]
        shadows = {f"{table}_{suffix}" for table in postings for suffix in ("data", "idx", "docsize", "config")}
        skipped = shadows | {"engram_migrations", "sqlite_sequence"}
        tables = [name for name in names if name not in skipped]
        return {name: raw_count(memory_kwargs, f"SELECT count(*) FROM {name}_docsize" if name in postings
                                else f"SELECT count(*) FROM {name}") for name in tables}
    if backend == "postgres":
        listing = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        listing = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    tables = [row[0] for row in raw_query(memory_kwargs, listing) if row[0] != "engram_migrations"]
    union = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {name}" for name in tables)
    return {name: int(count) for name, count in raw_query(memory_kwargs, union)}


def fresh_kwargs(backend: str, tmp_path: Path, name: str) -> Dict[str, Any]:
    """Arguments for a second, empty store of the same backend."""
    if backend == "memory":
        return {"in_memory": True}
    if backend == "sqlite":
        return {"path": tmp_path / f"{name}.db"}
    return server_kwargs(backend)


# --- 1. purge_user --------------------------------------------------------------------------


def test_purge_user_removes_every_row_of_the_user_and_nothing_else(
    mem: Memory, backend: str, memory_kwargs: Dict[str, Any]
) -> None:
    u1, u2 = make_scope(user_id="u1"), make_scope(user_id="u2")
    written = seed_user(mem, u1, "first")
    seed_user(mem, u2, "second")
    before_u2 = comparable(mem.build_memory_packet(packet_request(u2)))
    assert before_u2["long_term"]["facts"] and before_u2["short_term"]["working_state"]

    receipt = mem.purge_user("default", "u1")

    rows = receipt["rows"]
    for table, count in written.items():
        assert rows.get(table) == count, (table, rows)
    assert rows["event_postings"] > 0 and rows["fact_postings"] > 0 and rows["insight_postings"] > 0
    assert rows["lexical_spaces"] > 0
    # SQLite also erases the bytes (zeroed pages, rewritten postings, truncated WAL) and says so.
    if backend == "sqlite":
        assert {"pages", "wal", "event_postings", "fact_postings"} <= set(receipt["erased"]), receipt
    else:
        assert "erased" not in receipt, receipt
    # Compacting rewrites the touched tables on the servers; elsewhere there is nothing left to do.
    compacted = mem.compact(receipt)
    assert compacted["rows"] == rows
    if backend in ("postgres", "mysql"):
        assert compacted["erased"] == sorted(rows), compacted
    else:
        assert compacted == receipt

    # Every read of u1 comes back empty.
    other_session: Scope = {**u1, "session_id": "s1-b"}
    assert mem.list_events({"scope": u1, "session_wide": True}) == []
    assert mem.list_events({"scope": other_session, "session_wide": True}) == []
    for listing in (mem.list_facts, mem.list_episodes, mem.list_procedures, mem.list_insights):
        assert listing({"scope": u1, "include_inactive": True}) == []
    assert mem.fact_history(u1, "diet") == []
    assert mem.get_working_state(u1)["version"] == 0
    assert mem.get_stm(u1) == {"rolling_summary": None, "key_quotes": [], "updated_at": None,
                               "consolidated_until": None, "consolidated_ids": [], "extracted_until": None,
                               "extracted_ids": []}
    gone = mem.build_memory_packet(packet_request(u1))
    assert gone["short_term"]["working_state"] is None and gone["short_term"]["conversation_window"] == []
    assert gone["short_term"]["rolling_summary"] is None and gone["short_term"]["key_quotes"] == []
    assert all(items == [] for items in gone["long_term"].values()) and gone["insight"] == []
    assert mem.stats(u1)["events"] == 0
    # u2 is untouched, to the byte.
    after_u2 = comparable(mem.build_memory_packet(packet_request(u2)))
    assert json.dumps(after_u2, sort_keys=True) == json.dumps(before_u2, sort_keys=True)

    if backend == "memory":
        return
    for table in RECORD_AND_STATE_TABLES:
        assert raw_count(memory_kwargs, f"SELECT count(*) FROM {table} WHERE user_id = 'u1'") == 0, table
        assert raw_count(memory_kwargs, f"SELECT count(*) FROM {table} WHERE user_id = 'u2'") > 0, table
    assert raw_count(memory_kwargs, "SELECT count(*) FROM lexical_spaces WHERE space LIKE '%u1%'") == 0
    assert raw_count(memory_kwargs, "SELECT count(*) FROM lexical_spaces WHERE space LIKE '%u2%'") > 0
    for table in ("lexical_terms", "lexical_totals"):
        orphans = f"SELECT count(*) FROM {table} WHERE space_id NOT IN (SELECT space_id FROM lexical_spaces)"
        assert raw_count(memory_kwargs, orphans) == 0, table
    counts = table_counts(memory_kwargs)
    assert counts["events"] == written["events"] and counts["event_postings"] > 0

    purged = mem.purge_user("default", "u2", compact=True)
    assert backend not in ("postgres", "mysql") or set(purged["erased"]) == set(purged["rows"]), purged
    counts = table_counts(memory_kwargs)
    assert {"events", "facts", "lexical_spaces", "lexical_terms", "event_postings"} <= set(counts)
    assert counts == {table: 0 for table in counts}


# --- 2. export and import -------------------------------------------------------------------


def test_export_then_import_into_a_fresh_store_gives_the_same_packet(
    mem: Memory, backend: str, tmp_path: Path
) -> None:
    scope = make_scope()
    seed_user(mem, scope, "export")
    mem.upsert_fact({"scope": make_scope(user_id="u9"), "fact_key": "diet", "value": "none"})  # not exported
    request = packet_request(scope)
    original = comparable(mem.build_memory_packet(request))
    assert original["long_term"]["facts"] and original["long_term"]["episodes"] and original["insight"]
    history = mem.fact_history(scope, "diet")
    assert [fact["status"] for fact in history] == ["superseded", "active"]

    path = tmp_path / "u1.jsonl"
    exported = mem.export_scope(scope, path)
    assert exported["rows"] == {"events": 10, "facts": 3, "episodes": 1, "procedures": 1, "insights": 2,
                                "working_states": 1, "short_terms": 1}
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["type"] == "engram_export" and len(lines) == 1 + 19

    with Memory(**fresh_kwargs(backend, tmp_path, "imported")) as imported:
        received = imported.import_scope(str(path))  # a str path works as well as a Path
        for table, count in exported["rows"].items():
            assert received["rows"][table] == count, table
        assert comparable(imported.build_memory_packet(request)) == original
        assert imported.fact_history(scope, "diet") == history
        assert imported.list_facts({"scope": make_scope(user_id="u9")}) == []
        stats = imported.stats(scope)
        assert stats["episode_levels"] == {"raw": 1}
        assert (stats["database_bytes"] is None) == (backend == "memory")

        # Importing again, here or into the original store: every id is taken, nothing changes.
        with pytest.raises(ConflictError):
            imported.import_scope(path)
        assert comparable(imported.build_memory_packet(request)) == original
        after = imported.stats(scope)
        assert {**after, "database_bytes": None} == {**stats, "database_bytes": None}
    with pytest.raises(ConflictError):
        mem.import_scope(path)
    assert comparable(mem.build_memory_packet(request)) == original
    assert len(mem.list_events({"scope": scope, "session_wide": True})) == 6


def test_import_rejects_what_is_not_an_export(mem: Memory, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jsonl"
    header = {"type": "something_else", "version": 1, "tenant_id": "t", "user_id": "u", "agent_id": "a"}
    bogus.write_text(json.dumps(header) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        mem.import_scope(bogus)
    assert caught.value.field == "path"
    bogus.write_text("not json\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        mem.import_scope(bogus)
    assert caught.value.field == "line 1"
    with pytest.raises(InvalidInputError) as caught:
        mem.import_scope(42)  # type: ignore[arg-type]
    assert caught.value.field == "path"


# --- 3. expiry and retention ----------------------------------------------------------------


def test_expired_facts_leave_packets_and_are_swept(mem: Memory) -> None:
    scope = make_scope()
    expired = mem.upsert_fact({"scope": scope, "fact_key": "hotel", "value": "hotel alfama lisbon",
                               "recorded_at": ago(120), "expires_at": ago(60)})["fact"]
    live = mem.upsert_fact({"scope": scope, "fact_key": "city", "value": "lisbon", "recorded_at": ago(120)})["fact"]

    packet = mem.build_memory_packet(packet_request(scope, "hotel alfama lisbon"))
    assert [item["id"] for item in packet["long_term"]["facts"]] == [live["fact_id"]]
    omitted = {item["id"]: item["reason"] for item in packet["explain"]["omitted"]}
    assert omitted.get(expired["fact_id"]) == "expired"
    assert expired["fact_id"] not in packet["rendered"] and "hotel alfama" not in packet["rendered"]

    receipt = mem.sweep_expired({"now": NOW})
    assert receipt["rows"]["facts"] >= 1 and receipt["rows"].get("fact_postings", 0) >= 1
    remaining = mem.list_facts({"scope": scope, "include_inactive": True})
    assert [fact["fact_id"] for fact in remaining] == [live["fact_id"]]
    assert mem.sweep_expired({"now": NOW}) == {"rows": {}}
    assert mem.sweep_expired() == {"rows": {}}  # None: the wall clock, no retention


def test_retention_keeps_the_newest_events_per_session_and_drops_old_ones(mem: Memory) -> None:
    s1, s2 = make_scope(session_id="s1"), make_scope(session_id="s2")
    long_session = mem.append_events([message(s1, f"turn {n}", ago(100 - n)) for n in range(8)])
    short_session = mem.append_events([message(s2, f"other {n}", ago(50 - n)) for n in range(3)])

    receipt = mem.sweep_expired({"now": NOW, "retention": {"max_events_per_session": 5}})
    assert receipt["rows"]["events"] == 3
    kept = mem.list_events({"scope": s1, "session_wide": True})
    assert [event["event_id"] for event in kept] == [event["event_id"] for event in reversed(long_session[3:])]
    assert len(mem.list_events({"scope": s2, "session_wide": True})) == len(short_session)

    old = mem.append_events([message(s2, f"ancient {n}", NOW - timedelta(days=10, minutes=n)) for n in range(2)])
    receipt = mem.sweep_expired({"now": NOW, "retention": {"max_event_age_days": 5}})
    assert receipt["rows"]["events"] == 2
    ids = {event["event_id"] for event in mem.list_events({"scope": s2, "session_wide": True})}
    assert ids == {event["event_id"] for event in short_session}
    assert not ids & {event["event_id"] for event in old}
    assert len(mem.list_events({"scope": s1, "session_wide": True})) == 5

    with pytest.raises(InvalidInputError) as caught:
        mem.sweep_expired({"retention": {"max_days": 5}})  # type: ignore[arg-type]
    assert caught.value.field == "retention.max_days"


# --- 4. promotion ---------------------------------------------------------------------------


def test_promote_insight_to_a_fact_and_to_a_procedure(mem: Memory) -> None:
    scope = make_scope()
    mem.append_insight({"scope": scope, "insight_id": "i1", "text": "the customer prefers email contact",
                        "created_at": ago(10)})
    mem.append_insight({"scope": scope, "insight_id": "i2", "text": "confirm the booking by email first",
                        "created_at": ago(9)})

    promoted = mem.promote_insight({"scope": scope, "insight_id": "i1", "to": "fact", "fact_key": "contact.channel"})
    fact = promoted["fact"]
    assert fact is not None and promoted["procedure"] is None
    assert fact["fact_key"] == "contact.channel" and fact["value"] == "the customer prefers email contact"
    assert fact["sources"] == ["insight:i1"]
    assert promoted["insight"]["validation"] == "validated"
    assert promoted["insight"]["promoted_to"] == f"fact:{fact['fact_id']}"
    stored = {insight["insight_id"]: insight for insight in mem.list_insights({"scope": scope})}
    assert stored["i1"]["promoted_to"] == f"fact:{fact['fact_id']}" and stored["i2"]["promoted_to"] is None
    assert mem.list_facts({"scope": scope}) == [fact]

    responder = mem.build_memory_packet(packet_request(scope, "how to contact the customer email", "responder"))
    assert fact["fact_id"] in [item["id"] for item in responder["long_term"]["facts"]]

    promoted = mem.promote_insight({"scope": scope, "insight_id": "i2", "to": "procedure", "task_type": "booking",
                                    "title": "confirm by email"})
    procedure = promoted["procedure"]
    assert procedure is not None and promoted["fact"] is None
    assert procedure["title"] == "confirm by email" and procedure["steps"] == ["confirm the booking by email first"]
    assert procedure["applicability"] == "insight:i2"
    assert promoted["insight"]["promoted_to"] == f"procedure:{procedure['procedure_id']}"
    assert mem.list_procedures({"scope": scope}) == [procedure]

    with pytest.raises(ConflictError):
        mem.promote_insight({"scope": scope, "insight_id": "i1", "to": "fact", "fact_key": "other"})
    with pytest.raises(NotFoundError):
        mem.promote_insight({"scope": scope, "insight_id": "nope", "to": "fact", "fact_key": "other"})
    with pytest.raises(NotFoundError):  # an insight belongs to its run
        mem.promote_insight({"scope": make_scope(run_id="r2"), "insight_id": "i2", "to": "fact", "fact_key": "x"})
    with pytest.raises(InvalidInputError):
        mem.promote_insight({"scope": scope, "insight_id": "i1", "to": "memory"})  # type: ignore[arg-type]
    assert len(mem.list_facts({"scope": scope, "include_inactive": True})) == 1


# --- 5. end_run -----------------------------------------------------------------------------


def test_end_run_expires_unpromoted_insights_and_ends_the_working_state(mem: Memory) -> None:
    scope = make_scope()
    mem.append_insight({"scope": scope, "insight_id": "kept", "text": "prefers email", "created_at": ago(30)})
    mem.append_insight({"scope": scope, "insight_id": "dropped", "text": "might like fado", "created_at": ago(20)})
    mem.promote_insight({"scope": scope, "insight_id": "kept", "to": "fact", "fact_key": "contact"})
    mem.patch_working_state({"scope": scope, "goal": "book dinner", "updated_at": ago(15)})
    assert mem.build_memory_packet(packet_request(scope))["short_term"]["working_state"] is not None

    ended_at = ago(10)
    ended = mem.end_run(scope, ended_at)
    assert ended["expired_insights"] == ["dropped"]
    assert ended["working_state"]["ended_at"] == iso(ended_at)
    every_insight: ListQuery = {"scope": scope, "include_inactive": True}
    insights = {insight["insight_id"]: insight for insight in mem.list_insights(every_insight)}
    assert insights["dropped"]["expires_at"] == iso(ended_at)
    assert insights["kept"]["expires_at"] is None

    state = mem.get_working_state(scope)
    assert state["goal"] == "book dinner" and state["ended_at"] == iso(ended_at) and state["version"] == 2
    packet = mem.build_memory_packet(packet_request(scope, "fado email"))
    assert packet["short_term"]["working_state"] is None
    assert all(item["id"] != "dropped" for item in packet["insight"])
    assert mem.end_run(scope)["expired_insights"] == []  # ending twice changes nothing

    receipt = mem.sweep_expired({"now": NOW})
    assert receipt["rows"]["working_states"] == 1 and receipt["rows"]["insights"] == 1
    assert mem.get_working_state(scope)["version"] == 0
    assert [insight["insight_id"] for insight in mem.list_insights(every_insight)] == ["kept"]

    with pytest.raises(InvalidInputError) as caught:
        mem.end_run(scope, datetime(2026, 5, 2, 18, 0))  # naive: refused, not guessed
    assert caught.value.field == "now"


# --- 6. consolidation -----------------------------------------------------------------------


def sixty_turns(mem: Memory, scope: Scope) -> List[Event]:
    start = ago(90)
    turns = [message(scope, f"turn {n}: we talked about lisbon dinner plan number {n}", start + timedelta(seconds=30 * n),
                     role="user" if n % 2 == 0 else "assistant") for n in range(60)]
    return mem.append_events(turns)


def test_consolidate_session_turns_the_turns_beyond_the_window_into_an_episode(mem: Memory) -> None:
    scope = make_scope()
    events = sixty_turns(mem, scope)

    done = mem.consolidate_session({"scope": scope, "window": 12, "now": NOW})
    episode = done["episode"]
    assert episode is not None and done["consumed"] == 48
    assert episode["sources"] == [event["event_id"] for event in events[:48]]
    assert (episode["start_ts"], episode["end_ts"]) == (events[0]["ts"], events[47]["ts"])
    assert episode["summary"] and episode["compression_level"] == "raw"
    assert done["short_term"]["rolling_summary"] and done["short_term"]["consolidated_until"] == events[47]["ts"]
    assert mem.get_stm(scope) == done["short_term"]
    assert mem.list_episodes({"scope": scope}) == [episode]

    again = mem.consolidate_session({"scope": scope, "window": 12, "now": NOW})
    assert again["episode"] is None and again["consumed"] == 0
    assert again["short_term"] == done["short_term"]
    assert len(mem.list_episodes({"scope": scope})) == 1


def test_consolidate_session_with_a_python_summarizer(mem: Memory) -> None:
    scope = make_scope()
    events = sixty_turns(mem, scope)
    stored = {event["event_id"]: event for event in mem.list_events({"scope": scope, "limit": 100})}

    class SummarizerFailed(RuntimeError):
        pass

    failure = SummarizerFailed("the model is down")

    def failing(consumed: List[Event]) -> Summary:
        raise failure

    with pytest.raises(SummarizerFailed) as caught:
        mem.consolidate_session({"scope": scope, "window": 12}, failing)
    assert caught.value is failure  # the same exception object, not a copy or a wrapper
    assert mem.list_episodes({"scope": scope}) == [] and mem.get_stm(scope)["consolidated_until"] is None

    with pytest.raises(InvalidInputError) as invalid:
        mem.consolidate_session({"scope": scope, "window": 12}, lambda consumed: 42)  # type: ignore[arg-type,return-value]
    assert invalid.value.field == "summarizer"
    with pytest.raises(InvalidInputError) as invalid:
        mem.consolidate_session({"scope": scope, "window": 12},
                                lambda consumed: {"text": "x"})  # type: ignore[arg-type,return-value]
    assert invalid.value.field.startswith("summarizer.")
    with pytest.raises(InvalidInputError) as invalid:
        mem.consolidate_session({"scope": scope, "window": 12}, "not callable")  # type: ignore[arg-type]
    assert invalid.value.field == "summarizer"

    async def coroutine_summarizer(consumed: List[Event]) -> str:
        return "never runs"

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coroutine is closed, not left to warn "never awaited"
        with pytest.raises(InvalidInputError) as invalid:
            mem.consolidate_session({"scope": scope, "window": 12}, coroutine_summarizer)  # type: ignore[arg-type]
        gc.collect()
    assert invalid.value.field == "summarizer" and "awaitable" in invalid.value.problem
    assert mem.list_episodes({"scope": scope}) == []

    received: List[List[Event]] = []

    def summarize(consumed: List[Event]) -> Summary:
        received.append(consumed)
        return {"summary": f"custom summary of {len(consumed)} turns", "highlights": ["booked"],
                "key_quotes": ["turn 0 said hi"], "tags": ["trip"]}

    done = mem.consolidate_session({"scope": scope, "window": 12, "now": NOW}, summarize)
    assert len(received) == 1
    assert received[0] == [stored[event["event_id"]] for event in events[:48]]  # list_events' dicts, oldest first
    episode = done["episode"]
    assert episode is not None and episode["summary"] == "custom summary of 48 turns"
    assert episode["highlights"] == ["booked"] and episode["tags"] == ["trip"]
    assert done["short_term"]["key_quotes"] == ["turn 0 said hi"]
    assert "custom summary of 48 turns" in (done["short_term"]["rolling_summary"] or "")

    # A plain string is the summary; only the new turns beyond the window are consumed.
    more = mem.append_events([message(scope, f"later turn {n}", ago(30) + timedelta(seconds=n)) for n in range(3)])
    done = mem.consolidate_session({"scope": scope, "window": 12}, lambda consumed: f"{len(consumed)} more")
    assert done["consumed"] == 3 and done["episode"] is not None and done["episode"]["summary"] == "3 more"
    assert done["episode"]["sources"] == [event["event_id"] for event in events[48:51]]
    assert done["short_term"]["consolidated_until"] == events[50]["ts"]
    assert len(more) == 3


# --- 7. targeted forgetting -----------------------------------------------------------------


def test_delete_and_forget_remove_exactly_the_matching_records(mem: Memory) -> None:
    scope, other_user = make_scope(), make_scope(user_id="u2")
    mem.append_events([
        message(scope, "old promo", ago(300), event_id="e1", tags=["promo"]),
        message(scope, "old plain", ago(200), event_id="e2"),
        message(scope, "new promo", ago(20), event_id="e3", tags=["promo"]),
        message(scope, "new plain", ago(10), event_id="e4"),
        message(other_user, "someone else's promo", ago(300), event_id="x1", tags=["promo"]),
    ])
    mem.upsert_fact({"scope": scope, "fact_key": "k1", "value": "one", "recorded_at": ago(300)})
    mem.upsert_fact({"scope": scope, "fact_key": "k1", "value": "two", "recorded_at": ago(250)})
    mem.upsert_fact({"scope": scope, "fact_key": "k2", "value": "promo fact", "recorded_at": ago(15),
                     "tags": ["promo"]})
    mem.upsert_fact({"scope": scope, "fact_key": "k3", "value": "kept", "recorded_at": ago(15)})
    mem.append_episode({"scope": scope, "start_ts": ago(400), "end_ts": ago(390), "summary": "an old episode"})
    mem.append_episode({"scope": scope, "start_ts": ago(40), "end_ts": ago(30), "summary": "a new episode"})

    def event_ids(of: Scope = scope) -> List[str]:
        return sorted(event["event_id"] for event in mem.list_events({"scope": of, "session_wide": True}))

    def fact_keys() -> List[str]:
        return sorted(fact["fact_key"] for fact in mem.list_facts({"scope": scope, "include_inactive": True}))

    receipt = mem.delete_event(scope, "e2")
    assert receipt["rows"]["events"] == 1 and receipt["rows"]["event_postings"] >= 1
    assert event_ids() == ["e1", "e3", "e4"]
    with pytest.raises(NotFoundError):
        mem.delete_event(scope, "x1")  # another user's event
    with pytest.raises(NotFoundError):
        mem.delete_event(scope, "e2")  # already gone
    assert event_ids(other_user) == ["x1"]

    receipt = mem.delete_fact(scope, "k1")
    assert receipt["rows"]["facts"] == 2  # every version
    assert mem.fact_history(scope, "k1") == [] and fact_keys() == ["k2", "k3"]
    with pytest.raises(NotFoundError):
        mem.delete_fact(scope, "k1")

    receipt = mem.forget({"scope": scope, "tags": ["promo"]})
    assert receipt["rows"]["events"] == 2 and receipt["rows"]["facts"] == 1
    assert event_ids() == ["e4"] and fact_keys() == ["k3"] and event_ids(other_user) == ["x1"]

    receipt = mem.forget({"scope": scope, "before": ago(100)})
    assert receipt["rows"]["episodes"] == 1 and not {"events", "facts"} & set(receipt["rows"])
    assert [episode["summary"] for episode in mem.list_episodes({"scope": scope})] == ["a new episode"]
    assert event_ids() == ["e4"] and fact_keys() == ["k3"]

    receipt = mem.forget({"scope": scope, "kinds": ["episode"]})
    assert receipt["rows"]["episodes"] == 1 and mem.list_episodes({"scope": scope}) == []
    assert event_ids() == ["e4"] and fact_keys() == ["k3"]

    # Every filter must match: k3 is older than the cutoff, e4 is not.
    receipt = mem.forget({"scope": scope, "kinds": ["event", "fact"], "before": ago(12)})
    assert receipt["rows"]["facts"] == 1 and "events" not in receipt["rows"]
    assert event_ids() == ["e4"] and fact_keys() == []

    with pytest.raises(InvalidInputError) as caught:
        mem.forget({"scope": scope})
    assert caught.value.field == "before"
    with pytest.raises(InvalidInputError):
        mem.forget({"scope": scope, "kinds": ["memory"]})  # type: ignore[list-item]
    assert event_ids(other_user) == ["x1"]


# --- 8. AsyncMemory -------------------------------------------------------------------------


def test_the_lifecycle_through_async_memory(memory_kwargs: Dict[str, Any], backend: str, tmp_path: Path) -> None:
    scope = make_scope()
    loop_thread = threading.get_ident()

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as mem:
            turns = [message(scope, f"turn {n} about lisbon dinner", ago(60) + timedelta(seconds=n)) for n in range(20)]
            events = await mem.append_events(turns)
            await asyncio.gather(
                mem.append_insight({"scope": scope, "insight_id": "i1", "text": "prefers email"}),
                mem.append_insight({"scope": scope, "insight_id": "i2", "text": "likes fado"}),
                mem.patch_working_state({"scope": scope, "goal": "book dinner"}),
            )

            threads: List[int] = []

            def summarize(consumed: List[Event]) -> str:
                threads.append(threading.get_ident())
                return f"summary of {len(consumed)}"

            def failing(consumed: List[Event]) -> str:
                raise KeyError("summarizer down")

            with pytest.raises(KeyError, match="summarizer down"):
                await mem.consolidate_session({"scope": scope, "window": 12}, failing)
            with pytest.raises(InvalidInputError) as caught:
                not_a_summary = lambda consumed: 42  # noqa: E731
                await mem.consolidate_session({"scope": scope, "window": 12}, not_a_summary)  # type: ignore[arg-type]
            assert caught.value.field == "summarizer"

            done = await mem.consolidate_session({"scope": scope, "window": 12}, summarize)
            assert done["consumed"] == 8 and done["episode"] is not None
            assert done["episode"]["summary"] == "summary of 8"
            assert done["episode"]["sources"] == [event["event_id"] for event in events[:8]]
            assert threads and loop_thread not in threads  # called on engram's threads, with the GIL

            promoted, missing = await asyncio.gather(
                mem.promote_insight({"scope": scope, "insight_id": "i1", "to": "fact", "fact_key": "contact"}),
                mem.promote_insight({"scope": scope, "insight_id": "none", "to": "fact", "fact_key": "x"}),
                return_exceptions=True,
            )
            assert isinstance(missing, NotFoundError)
            assert isinstance(promoted, dict) and promoted["fact"] is not None
            assert promoted["fact"]["sources"] == ["insight:i1"]

            ended = await mem.end_run(scope, ago(1))
            assert ended["expired_insights"] == ["i2"]
            swept = await mem.sweep_expired({"now": NOW})
            assert swept["rows"]["working_states"] == 1 and swept["rows"]["insights"] == 1

            assert (await mem.delete_event(scope, events[-1]["event_id"]))["rows"]["events"] == 1
            assert (await mem.forget({"scope": scope, "kinds": ["episode"]}))["rows"]["episodes"] == 1

            path = tmp_path / "async.jsonl"
            exported = await mem.export_scope(scope, path)
            assert exported["rows"]["events"] == 19 and exported["rows"]["facts"] == 1
            before = comparable(await mem.build_memory_packet(packet_request(scope)))
            purged = await mem.purge_user("default", "u1")
            assert purged["rows"]["events"] == 19 and purged["rows"]["facts"] == 1
            assert (await mem.compact(purged))["rows"] == purged["rows"]
            assert await mem.list_events({"scope": scope}) == []
            with pytest.raises(NotFoundError):
                await mem.delete_fact(scope, "contact")

            restored = await mem.import_scope(path)
            assert restored["rows"]["events"] == 19
            assert comparable(await mem.build_memory_packet(packet_request(scope))) == before

    asyncio.run(main())
