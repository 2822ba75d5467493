"""Memory: every method round-trips plain dicts on every backend; the GIL is released."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest

from conftest import BACKENDS, heavy_request, most_builds_at_once, make_scope, seed_large
from engram import (
    AsyncMemory,
    BackendUnavailableError,
    ConflictError,
    EngramError,
    InvalidInputError,
    Memory,
    NotFoundError,
)
from engram.types import EventQuery

NOW = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)


def message(scope: Dict[str, str], text: str, **extra: Any) -> Dict[str, Any]:
    return {"scope": scope, "kind": "message", "payload": {"role": "user", "text": text}, **extra}


def test_seed_quick_start_packet_has_schema_v1(mem: Memory, scope: Dict[str, str]) -> None:
    packet = mem.build_memory_packet({"scope": scope, "purpose": "planner"})
    assert packet["meta"]["schema_version"] == "v1"
    assert packet["meta"]["scope"] == scope
    assert set(packet) == {
        "meta", "short_term", "long_term", "insight", "citations", "budget_report", "explain", "rendered"
    }


def test_append_event_returns_the_stored_event(mem: Memory, scope: Dict[str, str]) -> None:
    event = mem.append_event(message(scope, "I'm vegetarian", ts=NOW, tags=["diet"], event_id="e1"))
    assert event["event_id"] == "e1"
    assert event["ts"] == "2026-05-02T18:00:00Z"
    assert (event["role"], event["text"], event["kind"]) == ("user", "I'm vegetarian", "message")
    assert event["tags"] == ["diet"] and event["token_count"] > 0
    assert mem.list_events({"scope": scope}) == [event]


def test_timestamps_accept_aware_datetimes_and_rfc3339_strings(mem: Memory, scope: Dict[str, str]) -> None:
    berlin = timezone(timedelta(hours=2))
    first = mem.append_event(message(scope, "one", ts=datetime(2026, 5, 2, 20, 0, tzinfo=berlin)))
    second = mem.append_event(message(scope, "two", ts="2026-05-02T18:30:00Z"))
    assert first["ts"] == "2026-05-02T18:00:00Z"
    assert second["ts"] == "2026-05-02T18:30:00Z"
    after = mem.list_events({"scope": scope, "after": NOW + timedelta(minutes=1)})
    assert [event["text"] for event in after] == ["two"]


def test_append_events_stores_all_or_nothing(mem: Memory, scope: Dict[str, str]) -> None:
    stored = mem.append_events([message(scope, f"turn {n}", ts=NOW + timedelta(seconds=n)) for n in range(3)])
    assert [event["text"] for event in stored] == ["turn 0", "turn 1", "turn 2"]
    with pytest.raises(InvalidInputError) as caught:
        mem.append_events([message(scope, "ok"), message({**scope, "user_id": ""}, "bad")])
    assert caught.value.field == "events[1].scope.user_id"
    assert len(mem.list_events({"scope": scope})) == 3


def test_list_events_filters_and_limits(mem: Memory, scope: Dict[str, str]) -> None:
    mem.append_events([message(scope, f"m{n}", ts=NOW + timedelta(seconds=n)) for n in range(5)])
    mem.append_event({"scope": scope, "kind": "tool_call", "payload": {"tool": "search"}, "ts": NOW})
    newest = mem.list_events({"scope": scope, "limit": 2, "kinds": ["message"]})
    assert [event["text"] for event in newest] == ["m4", "m3"]


def test_facts_supersede_and_keep_history(mem: Memory, scope: Dict[str, str]) -> None:
    created = mem.upsert_fact({"scope": scope, "fact_key": "trip.dates", "value": "12-18 May", "recorded_at": NOW})
    assert created["outcome"] == "created"
    again = mem.upsert_fact({"scope": scope, "fact_key": "trip.dates", "value": "12-18 May"})
    assert again["outcome"] == "refreshed"
    moved = mem.upsert_fact({"scope": scope, "fact_key": "trip.dates", "value": {"from": 14, "to": 20}})
    assert moved["outcome"] == "superseded"
    assert moved["superseded"] == created["fact"]["fact_id"]
    active = mem.list_facts({"scope": scope})
    assert [fact["value"] for fact in active] == [{"from": 14, "to": 20}]
    history = mem.fact_history(scope, "trip.dates")
    assert [fact["status"] for fact in history] == ["superseded", "active"]
    assert len(mem.list_facts({"scope": scope, "include_inactive": True})) == 2


def test_episodes_and_procedures_round_trip(mem: Memory, scope: Dict[str, str]) -> None:
    episode = mem.append_episode({
        "scope": scope, "start_ts": NOW - timedelta(hours=1), "end_ts": NOW,
        "summary": "Booked flights to Lisbon.", "highlights": ["TP 537"], "compression_level": "phase",
    })
    assert episode["compression_level"] == "phase" and episode["end_ts"] == "2026-05-02T18:00:00Z"
    assert mem.list_episodes({"scope": scope}) == [episode]
    procedure = mem.upsert_procedure({
        "scope": scope, "procedure_id": "p1", "task_type": "booking", "title": "Book a table",
        "steps": ["check diet", "call"],
    })
    replaced = mem.upsert_procedure({**procedure_input(scope), "title": "Book a table (v2)"})
    assert replaced["procedure_id"] == procedure["procedure_id"] == "p1"
    assert [p["title"] for p in mem.list_procedures({"scope": scope})] == ["Book a table (v2)"]


def procedure_input(scope: Dict[str, str]) -> Dict[str, Any]:
    return {"scope": scope, "procedure_id": "p1", "task_type": "booking", "title": "Book a table"}


def test_insights_update_and_not_found(mem: Memory, scope: Dict[str, str]) -> None:
    insight = mem.append_insight({"scope": scope, "text": "User prefers walking.", "insight_id": "i1"})
    assert insight["validation"] == "unvalidated"
    updated = mem.update_insight({"scope": scope, "insight_id": "i1", "validation": "validated", "confidence": 0.9})
    assert (updated["validation"], updated["confidence"]) == ("validated", 0.9)
    assert mem.list_insights({"scope": scope}) == [updated]
    with pytest.raises(NotFoundError) as caught:
        mem.update_insight({"scope": scope, "insight_id": "missing", "validation": "rejected"})
    assert isinstance(caught.value, LookupError) and "missing" in str(caught.value)


def test_working_state_patches_and_detects_stale_versions(mem: Memory, scope: Dict[str, str]) -> None:
    empty = mem.get_working_state(scope)
    assert empty["version"] == 0 and empty["goal"] is None
    state = mem.patch_working_state({
        "scope": scope, "goal": "Plan dinner", "plan": ["search", "book"], "slots": {"party": 2},
    })
    assert (state["version"], state["slots"]) == (1, {"party": 2})
    state = mem.patch_working_state({"scope": scope, "expected_version": 1, "slots": {"party": None, "time": "20:00"}})
    assert (state["version"], state["slots"], state["plan"]) == (2, {"time": "20:00"}, ["search", "book"])
    with pytest.raises(ConflictError):
        mem.patch_working_state({"scope": scope, "expected_version": 1, "goal": "lost update"})
    assert mem.get_working_state(scope) == state


def test_short_term_state_round_trips(mem: Memory, scope: Dict[str, str]) -> None:
    assert mem.get_stm(scope) == {"rolling_summary": None, "key_quotes": [], "updated_at": None,
                                  "consolidated_until": None, "consolidated_ids": [], "extracted_until": None,
                                  "extracted_ids": []}
    updated = mem.update_stm({"scope": scope, "rolling_summary": "Planning Lisbon.", "key_quotes": ["relaxed"],
                              "updated_at": NOW})
    assert updated == {"rolling_summary": "Planning Lisbon.", "key_quotes": ["relaxed"],
                       "updated_at": "2026-05-02T18:00:00Z", "consolidated_until": None, "consolidated_ids": [],
                       "extracted_until": None, "extracted_ids": []}
    assert mem.get_stm(scope) == updated


def test_stats_count_the_scope(mem: Memory, scope: Dict[str, str]) -> None:
    mem.append_events([message(scope, "a", ts=NOW), message(scope, "b", ts=NOW + timedelta(minutes=1))])
    mem.upsert_fact({"scope": scope, "fact_key": "k", "value": 1})
    mem.upsert_fact({"scope": scope, "fact_key": "k", "value": 2})
    stats = mem.stats(scope)
    assert stats["events"] == 2
    assert stats["facts"] == {"active": 1, "superseded": 1}
    assert (stats["oldest_event"], stats["newest_event"]) == ("2026-05-02T18:00:00Z", "2026-05-02T18:01:00Z")
    assert mem.stats(make_scope(user_id="someone-else"))["events"] == 0


def test_packet_carries_and_explains_written_memory(mem: Memory, scope: Dict[str, str]) -> None:
    mem.append_event(message(scope, "I'm vegetarian and I land in Lisbon on the 14th", ts=NOW))
    fact = mem.upsert_fact({"scope": scope, "fact_key": "user.diet", "value": "vegetarian",
                            "text": "The user is vegetarian.", "recorded_at": NOW})["fact"]
    mem.patch_working_state({"scope": scope, "goal": "Find a vegetarian dinner"})
    packet = mem.build_memory_packet({
        "scope": scope, "purpose": "responder", "query": "vegetarian dinner", "now": NOW + timedelta(hours=1),
        "budget": {"max_tokens": 500},
    })
    assert [item["id"] for item in packet["long_term"]["facts"]] == [fact["fact_id"]]
    selected = {item["id"]: item for item in packet["explain"]["selected"]}
    assert "vegetarian" in selected[fact["fact_id"]]["matched_terms"]
    assert "The user is vegetarian." in packet["rendered"]
    assert packet["short_term"]["working_state"]["goal"] == "Find a vegetarian dinner"
    assert packet["meta"]["tokens"] == packet["budget_report"]["used_tokens"] <= 500


def test_build_is_deterministic_given_now(mem: Memory, scope: Dict[str, str]) -> None:
    mem.append_events([message(scope, f"note {n} about lisbon", ts=NOW + timedelta(seconds=n)) for n in range(10)])
    request = {"scope": scope, "purpose": "planner", "query": "lisbon", "now": NOW + timedelta(hours=1)}

    def without_timings(packet: Dict[str, Any]) -> Dict[str, Any]:
        packet["explain"].pop("timings_us")
        return packet

    assert without_timings(mem.build_memory_packet(request)) == without_timings(mem.build_memory_packet(request))


def test_context_manager_and_close(memory_kwargs: Dict[str, Any], scope: Dict[str, str]) -> None:
    with Memory(**memory_kwargs) as mem:
        assert not mem.closed
        mem.append_event(message(scope, "hello"))
    assert mem.closed
    assert "closed" in repr(mem)
    with pytest.raises(EngramError, match="closed"):
        mem.stats(scope)
    mem.close()  # closing twice is harmless


def test_sqlite_file_keeps_memory_across_opens(tmp_path: Any, scope: Dict[str, str]) -> None:
    path = tmp_path / "nested" / "engram.db"
    with Memory(path=path) as mem:
        mem.append_event(message(scope, "remember me", event_id="keep"))
    with Memory(path=str(path)) as mem:
        assert [event["event_id"] for event in mem.list_events({"scope": scope})] == ["keep"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"backend": "oracle"}, "backend"),
        ({"backend": "postgres"}, "dsn"),
        ({"in_memory": True, "dsn": "sqlite://x"}, "dsn"),
        ({"in_memory": True, "database": "engram"}, "database"),
    ],
)
def test_constructor_rejects_inconsistent_arguments(kwargs: Dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Memory(**kwargs)
    assert caught.value.field == field


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A store with enough memory that a build takes measurable time, shared by a module's tests."""
    kwargs = BACKENDS[request.param](tmp_path_factory.mktemp(request.param))
    scope = make_scope(user_id="heavy")
    with Memory(**kwargs) as mem:
        seed_large(mem, scope)
        yield mem, scope


def test_threads_build_packets_concurrently(loaded: Any, caplog: pytest.LogCaptureFixture) -> None:
    """4 threads sharing one Memory: the GIL is released while Rust builds, so their builds run
    at the same time; one thread's builds never overlap (the control)."""
    mem, scope = loaded
    request = heavy_request(scope)
    caplog.set_level(logging.DEBUG, logger="engram_store")

    def work() -> None:
        for _ in range(3):
            mem.build_memory_packet(request)

    def run(threads: int) -> int:
        caplog.clear()
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return most_builds_at_once(caplog.records)

    assert run(1) == 1
    assert run(4) >= 2


def test_items_come_with_their_children_when_asked(mem: Memory) -> None:
    mem.put_items([{"namespace": ["cp", "t"], "key": "c1", "value": {"step": 1}},
                   {"namespace": ["w", "t", "c1"], "key": "b", "value": 2, "blob": b"\x00\xff"},
                   {"namespace": ["w", "t", "c1"], "key": "a", "value": 1}])
    [plain] = mem.list_items({"namespace": ["cp", "t"]})
    assert "children" not in plain
    [item] = mem.list_items({"namespace": ["cp", "t"], "children": ["w", "t"]})
    assert [(child["key"], child["value"], child["blob"]) for child in item["children"]] == [("a", 1, None), ("b", 2, b"\x00\xff")]
    [bare] = mem.list_items({"namespace": ["cp", "t"], "children": ["w", "t"], "without_blobs": True})
    assert [child["blob"] for child in bare["children"]] == [None, None]
    with pytest.raises(InvalidInputError) as raised:
        mem.list_items({"namespace": ["cp", "t"], "children": []})
    assert raised.value.field == "children"


def test_event_sequences_tell_what_a_listing_holds(mem: Memory, scope: Dict[str, str]) -> None:
    written = mem.append_events([
        {"scope": scope, "kind": "message", "event_id": f"m{index}", "payload": {"role": "user", "text": f"turn {index}"}}
        for index in range(5)
    ])
    assert all("sequence" not in event for event in written)
    query: EventQuery = {"scope": scope, "limit": 3}
    assert all("sequence" not in event for event in mem.list_events(query))
    listed = mem.list_events({**query, "with_sequences": True})
    assert [event["event_id"] for event in listed] == ["m4", "m3", "m2"]
    sequences = [event["sequence"] for event in listed]
    assert mem.list_event_sequences(query) == sequences == sorted(sequences, reverse=True)
    # A deleted event's sequence leaves the listing and the next older event enters it; a new
    # event gets a sequence never used before, even under a deleted event's id.
    mem.delete_event(scope, "m3")
    assert mem.list_event_sequences(query) == [sequences[0], sequences[2], sequences[2] - 1]
    mem.append_event({"scope": scope, "kind": "message", "event_id": "m3", "payload": {"role": "user", "text": "again"}})
    newest = mem.list_event_sequences(query)
    assert newest[0] > sequences[0] and newest[1:] == [sequences[0], sequences[2]]
    for method in (mem.list_events, mem.list_event_sequences):
        with pytest.raises(InvalidInputError) as caught:
            method({"scope": {**scope, "user_id": ""}})
        assert caught.value.field == "scope.user_id"


def test_async_event_sequences(memory_kwargs: Dict[str, Any], scope: Dict[str, str]) -> None:
    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            event = await memory.append_event({"scope": scope, "kind": "message", "payload": {"text": "hi"}})
            listed = await memory.list_events({"scope": scope, "with_sequences": True})
            assert [stored["event_id"] for stored in listed] == [event["event_id"]]
            assert await memory.list_event_sequences({"scope": scope}) == [listed[0]["sequence"]]

    asyncio.run(main())


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_a_dsn_alone_picks_its_server(server: str) -> None:
    from conftest import server_kwargs

    arguments = server_kwargs(server)
    backend = arguments.pop("backend")
    with Memory(**arguments) as mem:
        assert f'backend="{backend}"' in repr(mem)
        assert mem.stats(make_scope())["events"] == 0
    other = "mysql" if backend == "postgres" else "postgres"
    with pytest.raises(InvalidInputError, match=f"dsn: is a {backend} URL, but backend is \"{other}\""):
        Memory(**arguments, backend=other)
    with pytest.raises(InvalidInputError, match="dsn: names no backend"):
        Memory(dsn="host=127.0.0.1 user=postgres")
