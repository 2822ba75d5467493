"""Bad input raises InvalidInputError naming the field, and leaves the store unchanged."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict

import pytest

from engram import (
    BackendUnavailableError,
    ConflictError,
    EngramError,
    InvalidInputError,
    Memory,
    NotFoundError,
    StorageError,
)

SCOPE = {"tenant_id": "default", "user_id": "u1", "agent_id": "a1", "session_id": "s1", "run_id": "r1"}


def event(**changes: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {"scope": SCOPE, "kind": "message", "payload": {"role": "user", "text": "hi"}}
    base.update(changes)
    return base


def request(**changes: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {"scope": SCOPE, "purpose": "planner"}
    base.update(changes)
    return base


WITHOUT_USER = {key: value for key, value in SCOPE.items() if key != "user_id"}


def nested(levels: int) -> Dict[str, Any]:
    value: Dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value

# (id, method, argument, field named)
CASES = [
    ("missing scope field", "append_event", event(scope=WITHOUT_USER), "scope.user_id"),
    ("missing scope field in a request", "build_memory_packet", request(scope=WITHOUT_USER), "scope.user_id"),
    ("empty scope field", "append_event", event(scope={**SCOPE, "run_id": ""}), "scope.run_id"),
    ("missing required key", "upsert_fact", {"scope": SCOPE, "value": 1}, "fact_key"),
    ("wrong type: scope is a string", "append_event", event(scope="default/u1"), "scope"),
    ("wrong type: tags is a string", "append_event", event(tags="urgent"), "tags"),
    ("wrong type: limit is a string", "list_events", {"scope": SCOPE, "limit": "ten"}, "limit"),
    ("wrong type: bool for a count", "list_facts", {"scope": SCOPE, "limit": True}, "limit"),
    ("wrong type: float for a count", "build_memory_packet", request(policy={"max_facts": 2.5}), "policy.max_facts"),
    ("wrong type: argument is a list", "append_event", [event()], "event"),
    ("wrong type: events is a dict", "append_events", event(), "events"),
    ("wrong type: fact key", "fact_history", None, "fact_key"),
    ("unknown purpose", "build_memory_packet", request(purpose="plannr"), "purpose"),
    ("unknown event kind", "append_event", event(kind="chat"), "kind"),
    ("negative budget", "build_memory_packet", request(budget={"max_tokens": -5}), "budget.max_tokens"),
    ("negative per-section budget", "build_memory_packet",
     request(budget={"per_section": {"facts": -1}}), "budget.per_section"),
    ("zero budget", "build_memory_packet", request(budget={"max_tokens": 0}), "budget.max_tokens"),
    ("negative policy cap", "build_memory_packet", request(policy={"max_facts": -1}), "policy.max_facts"),
    ("unknown section in budget", "build_memory_packet",
     request(budget={"per_section": {"factz": 10}}), "budget.per_section.factz"),
    ("non-serializable payload: object", "append_event", event(payload={"thing": object()}), "payload.thing"),
    ("non-serializable payload: set", "append_event", event(payload={"tags": {"a", "b"}}), "payload.tags"),
    ("non-serializable payload: nested", "append_event", event(payload={"a": [1, {"b": b"raw"}]}), "payload.a[1].b"),
    ("non-serializable payload: int keys", "append_event", event(payload={1: "one"}), "payload"),
    ("NaN in payload", "append_event", event(payload={"score": float("nan")}), "payload.score"),
    ("infinity in a fact value", "upsert_fact",
     {"scope": SCOPE, "fact_key": "k", "value": float("inf")}, "value"),
    ("NaN importance", "append_event", event(importance=float("nan")), "importance"),
    ("importance out of range", "append_event", event(importance=1.5), "importance"),
    ("naive datetime", "append_event", event(ts=datetime(2026, 5, 2, 18, 0)), "ts"),
    ("bad timestamp string", "append_event", event(ts="yesterday"), "ts"),
    ("time range ends before it starts", "build_memory_packet",
     request(cues={"time_range": {"start": "2026-05-02T00:00:00Z", "end": "2026-05-01T00:00:00Z"}}),
     "cues.time_range.end"),
    ("bad event in a batch", "append_events", [event(), event(kind="chat")], "events[1].kind"),
    ("NaN deep in a batch given as a tuple", "append_events",
     (event(), event(payload={"a": [1, float("nan")]})), "events[1].payload.a[1]"),
    ("integer past 64 bits", "append_event", event(payload={"n": 2**70}), "payload.n"),
    ("nested past the conversion's depth", "append_event", event(payload=nested(70)), "payload" + ".a" * 64),
]


def call(mem: Memory, method: str, argument: Any) -> Any:
    if method == "fact_history":
        return mem.fact_history(SCOPE, argument)
    return getattr(mem, method)(argument)


def snapshot(mem: Memory) -> Dict[str, Any]:
    return {
        "stats": mem.stats(SCOPE),
        "events": mem.list_events({"scope": SCOPE}),
        "facts": mem.list_facts({"scope": SCOPE, "include_inactive": True}),
        "state": mem.get_working_state(SCOPE),
    }


@pytest.mark.parametrize(("method", "argument", "field"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_bad_input_names_the_field_and_changes_nothing(mem: Memory, method: str, argument: Any, field: str) -> None:
    mem.append_event(event(payload={"text": "already here"}))
    mem.upsert_fact({"scope": SCOPE, "fact_key": "k", "value": "v"})
    before = snapshot(mem)
    with pytest.raises(InvalidInputError) as caught:
        call(mem, method, argument)
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, EngramError)
    # A bad value under a section key is reported at `budget.per_section.?` (serde's path cannot
    # name non-string map keys); an unknown section is named (`budget.per_section.factz`).
    assert error.field == field or error.field == f"{field}.?", str(error)
    assert str(error).startswith(f"{error.field}: ")
    assert error.problem and error.problem in str(error)
    assert snapshot(mem) == before


UNKNOWN_KEYS = [
    ("append_event", event(colour="blue"), "colour"),
    ("build_memory_packet", request(policy={"max_facts": 5, "max_factz": 5}), "policy.max_factz"),
    ("build_memory_packet", request(budget={"max_tokens": 5, "tokens": 5}), "budget.tokens"),
    ("list_facts", {"scope": {**SCOPE, "org_id": "x"}}, "scope.org_id"),
]


@pytest.mark.parametrize(("method", "argument", "field"), UNKNOWN_KEYS, ids=[c[2] for c in UNKNOWN_KEYS])
def test_unknown_keys_are_rejected_naming_them(mem: Memory, method: str, argument: Any, field: str) -> None:
    before = snapshot(mem)
    with pytest.raises(InvalidInputError) as caught:
        call(mem, method, argument)
    assert caught.value.field == field
    assert str(caught.value) == f"{field}: unknown key"
    assert snapshot(mem) == before


def test_unknown_key_is_named_once(mem: Memory) -> None:
    with pytest.raises(InvalidInputError) as caught:
        mem.build_memory_packet(request(policy={"max_factz": 5}))
    assert caught.value.field == "policy.max_factz"


CONVERSION_MESSAGES = [
    (event(payload={"tags": {"a"}}), "payload.tags", "a set is not JSON (it has no order); use a list"),
    (event(payload={"score": float("nan")}), "payload.score", "must be a finite number, got NaN"),
    (event(payload={"n": 2**70}), "payload.n", "integer does not fit in 64 bits"),
    (event(payload={1: "one"}), "payload", "keys must be strings, got a key of type int"),
    (event(ts=datetime(2026, 5, 2, 18, 0)), "ts",
     "datetime has no timezone; pass an aware one (e.g. datetime.now(timezone.utc)) or an RFC 3339 string"),
    (event(payload=nested(70)), "payload" + ".a" * 64, "is nested more than 64 levels deep"),
]


@pytest.mark.parametrize(("argument", "field", "problem"), CONVERSION_MESSAGES, ids=[c[2][:24] for c in CONVERSION_MESSAGES])
def test_what_is_not_json_is_told_where_and_why(mem: Memory, argument: Any, field: str, problem: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        mem.append_event(argument)
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_a_batch_reads_as_its_events_do(mem: Memory) -> None:
    """Dicts and lists are read straight into the events: what is stored is what one at a time stores."""
    aware = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)
    inputs = [
        event(ts=aware, payload={"text": "one", "n": -3, "big": 2**63, "nested": [{"x": None}, (1.5, True)]}),
        event(kind="tool_call", payload={"tool": "search", "text": "two"}, tags=("a", "b"), importance=1),
    ]
    batch = mem.append_events(tuple(inputs))
    assert [stored["payload"] for stored in batch] == [
        {"text": "one", "n": -3, "big": 2**63, "nested": [{"x": None}, [1.5, True]]},
        {"tool": "search", "text": "two"},
    ]
    assert batch[0]["ts"] == "2026-05-02T18:00:00Z" and batch[1]["tags"] == ["a", "b"]
    assert batch[1]["importance"] == 1.0


def test_messages_name_the_value_that_was_wrong(mem: Memory) -> None:
    with pytest.raises(InvalidInputError, match="plannr"):
        mem.build_memory_packet(request(purpose="plannr"))
    with pytest.raises(InvalidInputError, match="-5"):
        mem.build_memory_packet(request(budget={"max_tokens": -5}))


def test_exception_tree() -> None:
    assert issubclass(InvalidInputError, EngramError) and issubclass(InvalidInputError, ValueError)
    assert issubclass(NotFoundError, EngramError) and issubclass(NotFoundError, LookupError)
    for error in (ConflictError, StorageError, BackendUnavailableError):
        assert issubclass(error, EngramError)
    assert issubclass(EngramError, Exception)
    assert InvalidInputError.__module__ == "engram"
    assert InvalidInputError.__doc__


def test_errors_from_the_store_keep_their_kind(mem: Memory) -> None:
    mem.append_event(event(event_id="e1"))
    with pytest.raises(ConflictError, match="e1"):
        mem.append_event(event(event_id="e1"))
    with pytest.raises(NotFoundError):
        mem.update_insight({"scope": SCOPE, "insight_id": "nope", "validation": "rejected"})


@pytest.mark.parametrize("make", [lambda: Memory(in_memory=True)], ids=["memory"])
def test_failed_conversion_raises_before_any_store_work(make: Callable[[], Memory]) -> None:
    mem = make()
    mem.close()
    # Bad input is reported even on a closed memory: arguments are checked first.
    with pytest.raises(InvalidInputError):
        mem.append_event(event(kind="chat"))
    with pytest.raises(EngramError, match="closed"):
        mem.append_event(event())


# (id, constructor keyword arguments, field named)
CONSTRUCTOR_CASES = [
    ("path is an int", {"path": 3}, "path"),
    ("path is empty", {"path": ""}, "path"),
    ("in_memory is an int", {"in_memory": 1}, "in_memory"),
    ("backend is a list", {"backend": ["sqlite"]}, "backend"),
    ("unknown backend", {"backend": "oracle"}, "backend"),
    ("dsn on sqlite", {"backend": "sqlite", "dsn": "postgres://localhost"}, "dsn"),
    ("dsn of no known backend", {"dsn": "host=localhost"}, "dsn"),
    ("limits is an int", {"in_memory": True, "limits": 5}, "limits"),
    ("unknown limit", {"in_memory": True, "limits": {"max_tags": 3}}, "limits.max_tags"),
    ("zero limit", {"in_memory": True, "limits": {"max_labels": 0}}, "limits.max_labels"),
    ("negative limit", {"in_memory": True, "limits": {"max_batch": -1}}, "limits.max_batch"),
    ("payload depth past the ceiling", {"in_memory": True, "limits": {"max_payload_depth": 49}},
     "limits.max_payload_depth"),
    ("unknown synchronous", {"synchronous": "fast"}, "synchronous"),
    ("synchronous on an in-memory store", {"in_memory": True, "synchronous": "full"}, "synchronous"),
]


@pytest.mark.parametrize("kwargs, field", [case[1:] for case in CONSTRUCTOR_CASES],
                         ids=[case[0] for case in CONSTRUCTOR_CASES])
def test_bad_constructor_arguments_name_the_argument(tmp_path: Any, kwargs: Dict[str, Any], field: str) -> None:
    kwargs = {"path": tmp_path / "unused.db", **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        Memory(**kwargs)
    assert caught.value.field == field
    assert not (tmp_path / "unused.db").exists(), "arguments are checked before the file is created"


def test_configured_limits_are_enforced_before_writing(tmp_path: Any) -> None:
    with Memory(path=tmp_path / "limits.db", limits={"max_labels": 2, "max_text_bytes": 10}) as mem:
        with pytest.raises(InvalidInputError) as caught:
            mem.append_event(event(tags=["a", "b", "c"]))
        assert caught.value.field == "tags"
        with pytest.raises(InvalidInputError) as caught:
            mem.upsert_fact({"scope": SCOPE, "fact_key": "k", "value": "v", "text": "eleven bytes"})
        assert caught.value.field == "text"
        assert mem.stats(SCOPE)["events"] == 0 and mem.stats(SCOPE)["facts"] == {}
        mem.append_event(event(tags=["a", "b"]))
        assert mem.stats(SCOPE)["events"] == 1


def test_synchronous_full_is_a_sqlite_file_option(tmp_path: Any) -> None:
    with Memory(path=tmp_path / "full.db", synchronous="full") as mem:
        mem.append_event(event(event_id="durable"))
    with Memory(path=tmp_path / "full.db") as mem:
        assert [stored["event_id"] for stored in mem.list_events({"scope": SCOPE})] == ["durable"]
