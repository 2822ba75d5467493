"""`EngramSession`, the OpenAI Agents SDK's `Session` on engram: the same operations give the same
results as the SDK's own `SQLiteSession` (generated sequences), `pop_item` pops each item once
when callers race, and an Agent run with a scripted model keeps its history across runs."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

import pytest

pytest.importorskip("agents")

from agents import Agent, Runner, SQLiteSession, set_tracing_disabled  # noqa: E402
from agents.items import ModelResponse  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from openai.types.responses import ResponseOutputMessage, ResponseOutputText  # noqa: E402

from conftest import server_kwargs  # noqa: E402

from engram import AsyncMemory, InvalidInputError, Memory  # noqa: E402
from engram.integrations.openai_agents import EngramSession  # noqa: E402

set_tracing_disabled(True)

# engram refuses NUL and lone surrogates in any text (InvalidInputError naming the field, checked
# below), where SQLiteSession stores them: the comparison runs on the texts both accept.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)
ITEMS = st.one_of(
    st.builds(lambda role, text: {"role": role, "content": text}, st.sampled_from(["user", "assistant", "system"]), TEXT),
    st.builds(lambda text: {"type": "function_call_output", "call_id": "call_1", "output": text}, TEXT),
)
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.lists(ITEMS, max_size=4)),
    st.tuples(st.just("get"), st.one_of(st.none(), st.integers(-1, 6))),
    st.tuples(st.just("pop"), st.none()),
    st.tuples(st.just("clear"), st.none()),
), max_size=25)


async def apply(session: Any, operations: List[Tuple[str, Any]]) -> List[Any]:
    results: List[Any] = []
    for operation, argument in operations:
        if operation == "add":
            results.append(await session.add_items(argument))
        elif operation == "get":
            results.append(await session.get_items(argument))
        elif operation == "pop":
            results.append(await session.pop_item())
        else:
            results.append(await session.clear_session())
    results.append(await session.get_items())
    return results


@settings(max_examples=60, deadline=None)
@given(OPERATIONS, st.sampled_from(["sync", "async"]))
def test_the_same_operations_give_what_sqlite_session_gives(operations: List[Tuple[str, Any]], flavour: str) -> None:
    async def main() -> None:
        reference = SQLiteSession("s1")
        memory: Any = Memory(in_memory=True) if flavour == "sync" else AsyncMemory(in_memory=True)
        engram_session = EngramSession("s1", memory, user_id="maria")
        assert await apply(engram_session, operations) == await apply(reference, operations)
        reference.close()

    asyncio.run(main())


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("text", ["nul \x00 inside", "lone \ud800 surrogate"])
def test_a_text_engram_cannot_store_is_refused_naming_the_field(flavour: str, text: str) -> None:
    async def main() -> None:
        memory: Any = Memory(in_memory=True) if flavour == "sync" else AsyncMemory(in_memory=True)
        session = EngramSession("s1", memory, user_id="maria")
        await session.add_items([{"role": "user", "content": "kept"}])
        with pytest.raises(InvalidInputError) as refused:
            await session.add_items([{"role": "user", "content": text}])
        assert refused.value.field == "events[0].payload.content"
        assert await session.get_items() == [{"role": "user", "content": "kept"}]

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_session_settings_limit_and_other_sessions_stay_apart(backend: str, tmp_path: Any) -> None:
    async def main() -> None:
        memory = Memory(path=str(tmp_path / "a.db")) if backend == "sqlite" else Memory(**server_kwargs(backend))
        limited = EngramSession("s1", memory, user_id="maria", session_settings={"limit": 2})
        other = EngramSession("s2", memory, user_id="maria")
        await limited.add_items([{"role": "user", "content": str(index)} for index in range(5)])
        await other.add_items([{"role": "user", "content": "elsewhere"}])
        assert [item["content"] for item in await limited.get_items()] == ["3", "4"]
        assert [item["content"] for item in await limited.get_items(limit=3)] == ["2", "3", "4"]
        await limited.clear_session()
        assert await limited.get_items() == [] and len(await other.get_items()) == 1

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["memory", "postgres", "mysql"])
def test_racing_pops_take_each_item_once(backend: str) -> None:
    async def main() -> None:
        memory = AsyncMemory(in_memory=True) if backend == "memory" else AsyncMemory(**server_kwargs(backend))
        session = EngramSession("s1", memory, user_id="maria")
        await session.add_items([{"role": "user", "content": str(index)} for index in range(20)])
        popped = await asyncio.gather(*(session.pop_item() for _ in range(25)))
        taken = [item["content"] for item in popped if item is not None]
        assert sorted(taken, key=int) == [str(index) for index in range(20)]
        assert popped.count(None) == 5 and await session.get_items() == []

    asyncio.run(main())


class ScriptedModel(Model):
    """Answers from a script, and keeps the input of every call."""

    def __init__(self, answers: List[str]) -> None:
        self.answers = list(answers)
        self.inputs: List[Any] = []

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        text = self.answers.pop(0)
        message = ResponseOutputMessage(id=f"msg_{len(self.inputs)}", type="message", role="assistant",
                                        status="completed",
                                        content=[ResponseOutputText(type="output_text", text=text, annotations=[])])
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_an_agent_keeps_its_history_across_runs(tmp_path: Any) -> None:
    async def main() -> None:
        model = ScriptedModel(["Lisbon is lovely.", "You said you live in Lisbon."])
        agent = Agent(name="assistant", instructions="Be brief.", model=model)
        path = str(tmp_path / "memory.db")
        first = EngramSession.from_conn_string(path, "chat-1", user_id="maria")
        result = await Runner.run(agent, "I live in Lisbon.", session=first)
        assert result.final_output == "Lisbon is lovely."
        first.memory.close()
        # A new process would open the file again: the history is there.
        again = EngramSession.from_conn_string(path, "chat-1", user_id="maria")
        result = await Runner.run(agent, "Where do I live?", session=again)
        assert result.final_output == "You said you live in Lisbon."
        second_input = model.inputs[1]
        texts = [item.get("content") for item in second_input if isinstance(item, dict)]
        assert "I live in Lisbon." in texts and "Where do I live?" in str(second_input)
        items = await again.get_items()
        assert [item.get("role") for item in items] == ["user", "assistant", "user", "assistant"]
        # The same memory answers packets: the turn is recalled from another session.
        with_memory: Dict[str, Any] = dict(again.memory.build_memory_packet(
            {"scope": {**again.scope, "session_id": "chat-2", "run_id": "chat-2"}, "purpose": "responder",
             "query": "where does the user live"}))
        assert "I live in Lisbon." in with_memory["rendered"]
        again.memory.close()

    asyncio.run(main())


def test_the_readme_snippet_runs_as_written(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from test_examples import readme_python_blocks

    snippet = next(block for block in readme_python_blocks() if "EngramSession(" in block)
    namespace: Dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    monkeypatch.chdir(tmp_path)
    model = ScriptedModel(["Noted.", "In Lisbon."])
    asyncio.run(namespace["chat"](Agent(name="assistant", model=model)))
    assert capsys.readouterr().out == "In Lisbon.\n"
    assert "I live in Lisbon." in str(model.inputs[1])
    assert (tmp_path / "data" / "agents.db").is_file()
