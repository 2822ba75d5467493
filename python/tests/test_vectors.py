"""Record vectors (``embedding``): stored as float32 on events, facts, episodes and procedures and
read back with the record, on every backend; one length per tenant, a wrong one refused naming
the field."""

from __future__ import annotations

import asyncio
import struct
from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest

from engram import AsyncMemory, InvalidInputError, Memory

NOW = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)
VECTOR = [0.1, -1 / 3, 0.001, 12.5]


def float32(values: List[float]) -> List[float]:
    """What a float32 store gives back for `values`."""
    return [struct.unpack("f", struct.pack("f", value))[0] for value in values]


def message(scope: Dict[str, str], event_id: str, **extra: Any) -> Dict[str, Any]:
    payload = {"role": "user", "text": f"turn {event_id}"}
    return {"scope": scope, "kind": "message", "event_id": event_id, "ts": NOW, "payload": payload, **extra}


def episode(scope: Dict[str, str], episode_id: str, **extra: Any) -> Dict[str, Any]:
    return {"scope": scope, "episode_id": episode_id, "start_ts": NOW, "end_ts": NOW, "summary": "a summary", **extra}


def procedure(scope: Dict[str, str], procedure_id: str, **extra: Any) -> Dict[str, Any]:
    return {"scope": scope, "procedure_id": procedure_id, "task_type": "deploy", "title": "Deploy", **extra}


def test_each_kind_reads_its_vector_back_as_float32(mem: Memory, scope: Dict[str, str]) -> None:
    stored = float32(VECTOR)
    assert stored[0] == 0.10000000149011612

    events = mem.append_events([message(scope, "e1", embedding=VECTOR), message(scope, "e2")])
    assert events[0]["embedding"] == stored and "embedding" not in events[1]
    fact = mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegan", "embedding": VECTOR})
    assert fact["fact"]["embedding"] == stored
    mem.upsert_fact({"scope": scope, "fact_key": "city", "value": "Porto", "embedding": None})
    assert mem.append_episode(episode(scope, "ep1", embedding=VECTOR))["embedding"] == stored
    mem.append_episode(episode(scope, "ep2"))
    assert mem.upsert_procedure(procedure(scope, "p1", embedding=VECTOR))["embedding"] == stored
    mem.upsert_procedure(procedure(scope, "p2"))

    listed = {event["event_id"]: event for event in mem.list_events({"scope": scope})}
    assert listed["e1"]["embedding"] == stored and "embedding" not in listed["e2"]
    facts = {fact["fact_key"]: fact for fact in mem.list_facts({"scope": scope})}
    assert facts["diet"]["embedding"] == stored and "embedding" not in facts["city"]
    episodes = {item["episode_id"]: item for item in mem.list_episodes({"scope": scope})}
    assert episodes["ep1"]["embedding"] == stored and "embedding" not in episodes["ep2"]
    procedures = {item["procedure_id"]: item for item in mem.list_procedures({"scope": scope})}
    assert procedures["p1"]["embedding"] == stored and "embedding" not in procedures["p2"]
    assert mem.fact_history(scope, "diet")[0]["embedding"] == stored


def test_a_vector_of_another_length_is_refused_naming_the_field(mem: Memory, scope: Dict[str, str]) -> None:
    mem.append_event(message(scope, "e1", embedding=VECTOR))

    with pytest.raises(InvalidInputError) as caught:
        mem.upsert_fact({"scope": scope, "fact_key": "diet", "value": "vegan", "embedding": [1.0, 0.0, 0.0]})
    assert "embedding" in str(caught.value) and "has 3 dimensions; vectors in this tenant have 4" in str(caught.value)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidInputError, match="embedding"):
        mem.append_episode(episode(scope, "ep1", embedding=[1.0]))
    with pytest.raises(InvalidInputError, match="embedding"):
        mem.upsert_procedure(procedure(scope, "p1", embedding=[1.0] * 5))
    with pytest.raises(InvalidInputError, match=r"events\[1\]\.embedding"):
        mem.append_events([message(scope, "b0", embedding=VECTOR), message(scope, "b1", embedding=[1.0, 2.0])])

    # Nothing of a refused write is stored.
    assert [event["event_id"] for event in mem.list_events({"scope": scope})] == ["e1"]
    assert mem.list_facts({"scope": scope}) == []
    assert mem.list_episodes({"scope": scope}) == []
    assert mem.list_procedures({"scope": scope}) == []
    # Another tenant has its own length.
    other = {**scope, "tenant_id": "other"}
    assert len(mem.append_event(message(other, "o1", embedding=[1.0, 0.0]))["embedding"]) == 2


@pytest.mark.parametrize(
    ("embedding", "field"),
    [([], "embedding"), ([0.5, float("nan")], r"embedding\[1\]"), ([float("inf")], r"embedding\[0\]"),
     ([0.0] * 4097, "embedding")],
)
def test_bad_vectors_are_refused(mem: Memory, scope: Dict[str, str], embedding: List[float], field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        mem.append_event(message(scope, "e1", embedding=embedding))
    assert mem.list_events({"scope": scope}) == []


def test_async_memory_round_trips_vectors_too(memory_kwargs: Dict[str, Any], scope: Dict[str, str]) -> None:
    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            event = await memory.append_event(message(scope, "e1", embedding=VECTOR))
            assert event["embedding"] == float32(VECTOR)
            with pytest.raises(InvalidInputError, match="embedding"):
                await memory.upsert_fact({"scope": scope, "fact_key": "k", "value": 1, "embedding": [1.0]})

    asyncio.run(main())
