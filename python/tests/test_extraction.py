"""Fact extraction from Python: a changed preference supersedes through extraction, events are
sent once, facts cite the turns they came from, bad extractor output writes nothing."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

from engram import AsyncMemory, InvalidInputError, Memory
from engram.extraction import RuleExtractor
from engram.types import Event, ExtractedFact

RULES = RuleExtractor([(r"\bI(?: am|'m) (?:a |an )?(?P<value>vegetarian|vegan|pescatarian)\b", "user.diet"),
                       (r"\bI (?:live in|moved to) (?P<value>[A-Z][a-z]+)", "user.city")])


class Counting:
    """The rules, counting the events each call saw."""

    def __init__(self) -> None:
        self.seen: List[List[str]] = []

    def __call__(self, events: List[Event]) -> List[ExtractedFact]:
        self.seen.append([event["text"] for event in events])
        return RULES(events)


def test_a_changed_preference_supersedes_through_extraction() -> None:
    with Memory(in_memory=True) as mem:
        maria = mem.scope("maria", session_id="chat-1")
        extractor = Counting()
        maria.add_message("user", "I'm vegetarian, and I live in Lisbon.")
        maria.add_message("assistant", "Noted!")
        first = maria.extract_facts(extractor)
        assert len(first["events"]) == 2
        assert sorted((write["fact"]["fact_key"], write["fact"]["value"], write["outcome"]) for write in first["facts"]) == [
            ("user.city", "Lisbon", "created"), ("user.diet", "vegetarian", "created")]
        said = first["events"][0]
        assert all(write["fact"]["sources"] == [said] for write in first["facts"])

        assert maria.extract_facts(extractor)["events"] == [], "nothing new: nothing sent"
        maria.add_message("user", "Update: I am vegan now.")
        second = maria.extract_facts(extractor)
        [write] = second["facts"]
        assert (write["fact"]["value"], write["outcome"]) == ("vegan", "superseded")
        assert [version["value"] for version in maria.fact_history("user.diet")] == ["vegetarian", "vegan"]
        assert extractor.seen == [["I'm vegetarian, and I live in Lisbon.", "Noted!"], ["Update: I am vegan now."]]
        assert second["short_term"]["extracted_until"] is not None

        packet = maria.build_memory_packet(purpose="responder", query="what should I eat?")
        [diet] = [item for item in packet["long_term"]["facts"] if item["fact_key"] == "user.diet"]
        assert diet["sources"] == second["events"], "the fact says which turn it came from"
        assert {"id": diet["id"], "section": "facts", "sources": second["events"]} in packet["citations"]
        assert "; was vegetarian] user.diet: vegan" in packet["rendered"]
        [explained] = [item for item in packet["explain"]["selected"] if item["id"] == diet["id"]]
        assert explained["evidence"] == second["events"]


def test_extraction_on_async_memory_and_the_async_scope_handle() -> None:
    async def main() -> None:
        async with AsyncMemory(in_memory=True) as mem:
            maria = mem.scope("maria", session_id="chat-1")
            await maria.add_message("user", "I live in Porto.")
            extracted = await maria.extract_facts(RULES, max_events=10)
            assert [write["fact"]["value"] for write in extracted["facts"]] == ["Porto"]
            request = {"scope": maria.scope, "max_facts": 1}
            assert (await mem.extract_facts(request, RULES))["events"] == []

    asyncio.run(main())


@pytest.mark.parametrize("returned, field", [
    ({"fact_key": "user.city", "value": "Lisbon"}, "extractor"),
    ([{"fact_key": "user.city"}], "extractor[0].value"),
    ([{"fact_key": "user.city", "value": "Lisbon", "confidence": "high"}], "extractor[0].confidence"),
    ([{"fact_key": 7, "value": "Lisbon"}], "extractor[0].fact_key"),
    ([{"fact_key": "user.city", "value": "Lisbon", "why": "said so"}], "extractor[0].why"),
    ([{"fact_key": f"k{index}", "value": index} for index in range(3)], "extractor"),
    ([{"fact_key": "user.city", "value": "Lisbon", "sources": ["made-up"]}], "extractor[0].sources[0]"),
])
def test_bad_extractor_output_names_the_extractor_and_writes_nothing(returned: Any, field: str) -> None:
    with Memory(in_memory=True) as mem:
        maria = mem.scope("maria", session_id="chat-1")
        maria.add_message("user", "I live in Lisbon.")
        with pytest.raises(InvalidInputError) as raised:
            maria.extract_facts(lambda events: returned, max_facts=2)
        assert raised.value.field == field, raised.value
        assert maria.list_facts() == []
        # Nothing moved: the same events go to the next extractor.
        assert [write["fact"]["value"] for write in maria.extract_facts(RULES)["facts"]] == ["Lisbon"]


def test_the_extractor_must_be_a_plain_callable() -> None:
    with Memory(in_memory=True) as mem:
        maria = mem.scope("maria", session_id="chat-1")
        maria.add_message("user", "I live in Lisbon.")
        with pytest.raises(InvalidInputError) as raised:
            mem.extract_facts(maria.scope, None)  # type: ignore[arg-type]
        assert raised.value.field == "extractor"

        async def in_a_hurry(events: List[Event]) -> List[ExtractedFact]:
            return []

        with pytest.raises(InvalidInputError) as raised:
            maria.extract_facts(in_a_hurry)  # type: ignore[arg-type]
        assert raised.value.field == "extractor" and "awaitable" in str(raised.value)

        def failing(events: List[Event]) -> List[ExtractedFact]:
            raise RuntimeError("model down")

        with pytest.raises(RuntimeError, match="model down"):
            maria.extract_facts(failing)
        assert maria.extract_facts(RULES)["events"], "a failed call sends the same events again"


def test_the_readme_extraction_snippet_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    from test_examples import readme_python_blocks

    snippet = next(block for block in readme_python_blocks() if "RuleExtractor(" in block)
    exec(compile(snippet, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["superseded", "['Lisbon', 'Berlin']"]
