"""Every call that needs a scope takes it in two shapes: the scope itself, or a dict holding it
under "scope"; a dict of neither shape gets an error that names both."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from conftest import make_scope
from engram import InvalidInputError, Memory

SCOPE = make_scope(user_id="shapes")


def seeded() -> Memory:
    mem = Memory(in_memory=True)
    mem.append_events([{"scope": SCOPE, "kind": "message", "event_id": f"e{n}",
                        "payload": {"role": "user", "text": f"dinner in Lisbon {n}"}} for n in range(3)])
    mem.upsert_fact({"scope": SCOPE, "fact_key": "city", "value": "Lisbon"})
    mem.patch_working_state({"scope": SCOPE, "goal": "book dinner"})
    mem.append_episode({"scope": SCOPE, "start_ts": "2026-11-01T10:00:00Z", "end_ts": "2026-11-01T11:00:00Z",
                        "summary": "Planned dinner"})
    mem.upsert_procedure({"scope": SCOPE, "task_type": "booking", "title": "Book", "steps": ["call"]})
    mem.append_insight({"scope": SCOPE, "kind": "pattern", "text": "likes fish"})
    return mem


# Reads whose only required input is the scope: the same answer in both shapes.
READS: Dict[str, Callable[[Memory, Any], Any]] = {
    "list_events": lambda mem, given: mem.list_events(given),
    "list_event_sequences": lambda mem, given: mem.list_event_sequences(given),
    "list_facts": lambda mem, given: mem.list_facts(given),
    "list_episodes": lambda mem, given: mem.list_episodes(given),
    "list_procedures": lambda mem, given: mem.list_procedures(given),
    "list_insights": lambda mem, given: mem.list_insights(given),
    "get_working_state": lambda mem, given: mem.get_working_state(given),
    "get_stm": lambda mem, given: mem.get_stm(given),
    "stats": lambda mem, given: mem.stats(given),
    "fact_history": lambda mem, given: mem.fact_history(given, "city"),
}
# Writes whose only required input is the scope, each on a store of its own.
WRITES: Dict[str, Callable[[Memory, Any], Any]] = {
    "patch_working_state": lambda mem, given: mem.patch_working_state(given)["goal"],
    "update_stm": lambda mem, given: mem.update_stm(given)["key_quotes"],
    "consolidate_session": lambda mem, given: mem.consolidate_session(given)["consumed"],
    "extract_facts": lambda mem, given: len(mem.extract_facts(given, lambda events: [])["events"]),
}


@pytest.mark.parametrize("method", sorted(READS))
def test_reads_take_the_scope_alone_or_in_a_dict(method: str) -> None:
    with seeded() as mem:
        alone = READS[method](mem, dict(SCOPE))
        assert alone and alone == READS[method](mem, {"scope": dict(SCOPE)})


@pytest.mark.parametrize("method", sorted(WRITES))
def test_writes_take_the_scope_alone_or_in_a_dict(method: str) -> None:
    with seeded() as bare, seeded() as wrapped:
        assert WRITES[method](bare, dict(SCOPE)) == WRITES[method](wrapped, {"scope": dict(SCOPE)})


def test_deletions_and_exports_take_both_shapes(tmp_path: Path) -> None:
    for shape in (dict(SCOPE), {"scope": dict(SCOPE)}):
        with seeded() as mem:
            assert mem.delete_event(shape, "e0")["rows"]["events"] == 1  # type: ignore[arg-type]
            assert mem.delete_fact(shape, "city")["rows"]["facts"] == 1  # type: ignore[arg-type]
            assert mem.export_scope(shape, tmp_path / "out.jsonl")["rows"]["events"] == 2  # type: ignore[arg-type]
            assert mem.end_run(shape)["working_state"]["ended_at"] is not None  # type: ignore[arg-type]


SHAPES = 'pass the scope itself ({"tenant_id": ...'


def test_a_dict_of_neither_shape_is_told_both() -> None:
    with seeded() as mem:
        with pytest.raises(InvalidInputError, match="scope: missing; " + SHAPES.replace("(", r"\(")):
            mem.list_facts({"limit": 5})  # type: ignore[typeddict-item]
        with pytest.raises(InvalidInputError) as caught:
            mem.list_facts({**SCOPE, "limit": 5})  # type: ignore[typeddict-unknown-key]
        assert caught.value.field == "scope.limit" and SHAPES in str(caught.value)
        with pytest.raises(InvalidInputError, match="scope: takes the scope alone here"):
            mem.stats({"scope": SCOPE, "limit": 5})  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError) as caught:
            mem.stats({"user": "u"})  # type: ignore[typeddict-unknown-key]
        assert caught.value.field == "scope.user" and SHAPES in str(caught.value)
        # A scope with a wrong key inside the right shape is told only that.
        with pytest.raises(InvalidInputError) as caught:
            mem.stats({**SCOPE, "org_id": "x"})  # type: ignore[typeddict-unknown-key]
        assert str(caught.value) == "scope.org_id: unknown key"
