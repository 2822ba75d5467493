"""`Memory(embedder=...)`: a Python callable fills the vectors engram needs.

Records written without `embedding` get one from the embedder (a bulk append in one call),
given vectors are kept, the query of a packet request is embedded, and the vector source then
finds turns that share no word with the question. The embedder's own failures surface as
themselves or as `InvalidInputError(field="embedder")`; nothing is written then.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any, Dict, List, Sequence

import pytest

from engram import AsyncMemory, InvalidInputError, Memory
from engram.types import EventInput, Scope

TOPICS = {
    "travel": ["train", "porto", "holiday", "journey", "travelling", "trip"],
    "food": ["dinner", "sardines", "lunch", "meal", "cooking"],
    "code": ["parser", "crashed", "bug", "configuration"],
}


class TopicEmbedder:
    """A 3-d embedder that knows three topics: words of a topic pull toward its axis. Keeps
    every batch it was called with."""

    def __init__(self) -> None:
        self.calls: List[List[str]] = []

    def __call__(self, texts: List[str]) -> List[List[float]]:
        self.calls.append(list(texts))
        vectors = []
        for text in texts:
            words = text.lower().replace(".", " ").replace("?", " ").split()
            vectors.append([float(sum(word in words for word in TOPICS[topic])) for topic in TOPICS])
        return vectors


def float32(values: Sequence[float]) -> List[float]:
    return [struct.unpack("f", struct.pack("f", value))[0] for value in values]


def turn(scope: Scope, event_id: str, text: str, minute: int) -> EventInput:
    return {
        "scope": scope,
        "kind": "message",
        "event_id": event_id,
        "ts": f"2026-11-01T10:{minute:02d}:00Z",
        "payload": {"role": "user", "text": text},
    }


def earlier(scope: Scope) -> Scope:
    return {**scope, "session_id": "earlier", "run_id": "earlier"}


def test_writes_and_queries_are_embedded(memory_kwargs: Dict[str, Any], scope: Scope) -> None:
    embedder = TopicEmbedder()
    with Memory(**memory_kwargs, embedder=embedder) as mem:
        past = earlier(scope)
        given = turn(past, "given", "Kept as given.", 3)
        given["embedding"] = [0.0, 0.0, 2.0]
        stored = mem.append_events([
            turn(past, "trip", "We booked the train to Porto for the holiday.", 0),
            turn(past, "meal", "Dinner was grilled sardines.", 1),
            given,
        ])
        assert embedder.calls == [["We booked the train to Porto for the holiday.", "Dinner was grilled sardines."]]
        assert [event.get("embedding") for event in stored] == [[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]

        fact = mem.upsert_fact({"scope": scope, "fact_key": "user.favourite_meal", "value": "sardines dinner"})
        assert fact["fact"].get("embedding") == float32([0.0, 2.0, 0.0])
        episode = mem.append_episode({
            "scope": scope, "start_ts": "2026-11-01T09:00:00Z", "end_ts": "2026-11-01T09:30:00Z",
            "summary": "Fixed the parser bug", "highlights": ["configuration crashed"],
        })
        assert episode.get("embedding") == [0.0, 0.0, 4.0]
        procedure = mem.upsert_procedure({"scope": scope, "task_type": "travel", "title": "Book a train journey"})
        assert procedure.get("embedding") == [2.0, 0.0, 0.0]

        calls_before = len(embedder.calls)
        packet = mem.build_memory_packet({
            "scope": scope, "purpose": "responder", "query": "where is our trip going",
            "now": "2026-11-02T10:00:00Z",
        })
        assert embedder.calls[calls_before:] == [["where is our trip going"]]
        trip = next(item for item in packet["explain"]["selected"] if item["id"] == "trip")
        assert "vector" in trip["sources"] and trip["matched_terms"] == []
        assert trip["signals"]["vector"] == pytest.approx(1.0)
        assert packet["long_term"]["recall"][0]["id"] == "trip"

        # A request with its own vector is not embedded again.
        mem.build_memory_packet({"scope": scope, "purpose": "responder", "query": "x", "query_embedding": [0, 1, 0]})
        assert len(embedder.calls) == calls_before + 1


def test_without_an_embedder_nothing_is_embedded(memory_kwargs: Dict[str, Any], scope: Scope) -> None:
    with Memory(**memory_kwargs) as mem:
        stored = mem.append_event(turn(earlier(scope), "plain", "No vector here.", 0))
        assert "embedding" not in stored
        packet = mem.build_memory_packet({"scope": scope, "purpose": "responder", "query": "vector"})
        assert all(item["signals"]["vector"] == 0.0 for item in packet["explain"]["selected"])


def test_embedder_errors_write_nothing(memory_kwargs: Dict[str, Any], scope: Scope) -> None:
    def failing(texts: List[str]) -> List[List[float]]:
        raise RuntimeError("model not loaded")

    with Memory(**memory_kwargs, embedder=failing) as mem:
        with pytest.raises(RuntimeError, match="model not loaded"):
            mem.append_event(turn(earlier(scope), "lost", "Never stored.", 0))
        assert mem.list_events({"scope": earlier(scope)}) == []

    def too_few(texts: List[str]) -> List[List[float]]:
        return [[1.0, 0.0]]

    with Memory(**memory_kwargs, embedder=too_few) as mem:
        with pytest.raises(InvalidInputError) as invalid:
            mem.append_events([turn(earlier(scope), "a", "one", 0), turn(earlier(scope), "b", "two", 1)])
        assert invalid.value.field == "embedder"
        assert "returned 1 vectors for 2 texts" in invalid.value.problem

    def not_numbers(texts: List[str]) -> Any:
        return [["high", "low"] for _ in texts]

    with Memory(**memory_kwargs, embedder=not_numbers) as mem:
        with pytest.raises(InvalidInputError) as invalid:
            mem.append_event(turn(earlier(scope), "c", "three", 0))
        assert invalid.value.field.startswith("embedder")

    async def coroutine_embedder(texts: List[str]) -> List[List[float]]:
        return [[1.0] for _ in texts]

    with Memory(**memory_kwargs, embedder=coroutine_embedder) as mem:  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError) as invalid:
            mem.append_event(turn(earlier(scope), "d", "four", 0))
        assert invalid.value.field == "embedder" and "awaitable" in invalid.value.problem
        assert mem.list_events({"scope": earlier(scope)}) == []

    with pytest.raises(InvalidInputError) as invalid:
        Memory(in_memory=True, embedder="not callable")  # type: ignore[arg-type]
    assert invalid.value.field == "embedder"


def test_anything_with_tolist_is_read_through_it(scope: Scope) -> None:
    class Array:
        def __init__(self, rows: List[List[float]]) -> None:
            self.rows = rows

        def tolist(self) -> List[List[float]]:
            return self.rows

    def embedder(texts: List[str]) -> Any:
        return Array([[0.5, 0.5] for _ in texts])

    with Memory(in_memory=True, embedder=embedder) as mem:
        stored = mem.append_event(turn(earlier(scope), "a", "array", 0))
        assert stored.get("embedding") == [0.5, 0.5]


def test_async_memory_embeds_on_its_threads(scope: Scope) -> None:
    embedder = TopicEmbedder()

    async def run() -> Dict[str, Any]:
        async with AsyncMemory(in_memory=True, embedder=embedder) as mem:
            await mem.append_events([turn(earlier(scope), "trip", "A train journey to Porto.", 0)])
            packet = await mem.build_memory_packet({
                "scope": scope, "purpose": "responder", "query": "our holiday", "now": "2026-11-02T10:00:00Z",
            })
            return dict(packet)

    packet = asyncio.run(run())
    assert [item["id"] for item in packet["long_term"]["recall"]] == ["trip"]
    assert embedder.calls == [["A train journey to Porto."], ["our holiday"]]
