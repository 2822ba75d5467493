"""engram.integrations.langchain: EngramChatMessageHistory over a session's events (on every
backend) and EngramContextInjector in LCEL chains; and the peer comparison script's smoke run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, cast

import pytest

pytest.importorskip("langchain_core")

from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import (  # noqa: E402
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from pydantic import Field  # noqa: E402

from conftest import make_scope  # noqa: E402
from engram import AsyncMemory, InvalidInputError, Memory  # noqa: E402
from engram.integrations import langchain as langchain_integration  # noqa: E402
from engram.integrations.langchain import (  # noqa: E402
    MEMORY_CONTEXT_MESSAGE_ID,
    EngramChatMessageHistory,
    EngramContextInjector,
    event_to_message,
    message_to_event,
    scope_from_config,
)
from engram.types import EventInput, Scope  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class RecordingChatModel(BaseChatModel):
    """A chat model that answers "answer N" and keeps every prompt it was given."""

    prompts: List[List[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: List[BaseMessage], stop: Optional[List[str]] = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=f"answer {len(self.prompts)}"))])


def every_kind_of_message() -> List[BaseMessage]:
    return [
        SystemMessage(content="You are a travel agent."),
        HumanMessage(content="Find me a vegetarian dinner in Lisbon", id="human-1",
                     additional_kwargs={"channel": "web"}),
        AIMessage(content="", tool_calls=[{"name": "search", "args": {"query": "vegetarian lisbon"}, "id": "call-1"}],
                  response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
                  usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}),
        ToolMessage(content="Ao 26 Vegan Food Project", tool_call_id="call-1", name="search",
                    artifact={"rank": 1}),
        ToolMessage(content="timeout", tool_call_id="call-2", status="error"),
        FunctionMessage(content="42", name="legacy_function"),
        AIMessage(content=[{"type": "text", "text": "Try Ao 26."}, {"type": "text", "text": "Book ahead."}],
                  name="planner"),
        ChatMessage(role="critic", content="Too short."),
        HumanMessage(content=[{"type": "text", "text": "What about this place?"},
                              {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]),
        AIMessage(content="Looks good, and I will book it.",
                  tool_calls=[{"name": "book", "args": {"place": "Ao 26", "people": 2}, "id": "call-3"}]),
    ]


# --- the codec ----------------------------------------------------------------------------


def test_events_carry_role_text_and_kind_for_the_packet_builder() -> None:
    scope = make_scope()
    events = [message_to_event(message, scope) for message in every_kind_of_message()]
    assert [event["kind"] for event in events] == [
        "system", "message", "tool_call", "tool_result", "tool_result", "tool_result", "message", "message",
        "message", "message",
    ]
    assert [event["payload"]["role"] for event in events] == [
        "system", "user", "assistant", "tool", "tool", "function", "assistant", "critic", "user", "assistant",
    ]
    texts = [event["payload"]["text"] for event in events]
    assert texts[1] == "Find me a vegetarian dinner in Lisbon"
    assert texts[2] == 'search {"query": "vegetarian lisbon"}'  # a call without words: its calls
    assert texts[6] == "Try Ao 26.\nBook ahead."
    assert texts[8] == "What about this place?"
    # Content is stored apart only when it is not just the text; defaults are left out.
    assert "content" not in events[1]["payload"] and events[2]["payload"]["content"] == ""
    assert set(events[1]["payload"]) == {"role", "text", "type", "id", "additional_kwargs"}


def test_the_history_reads_events_other_writers_made(mem: Memory, scope: Scope) -> None:
    mem.append_events([
        {"scope": scope, "kind": "message", "payload": {"role": "user", "text": "hello"}},
        {"scope": scope, "kind": "message", "payload": {"role": "assistant", "content": "hi there"}},
        {"scope": scope, "kind": "system", "payload": {"text": "be brief"}},
        {"scope": scope, "kind": "tool_result", "payload": {"role": "tool", "text": "sunny", "tool_call_id": "c9"}},
        {"scope": scope, "kind": "message", "payload": {"role": "moderator", "text": "ok"}},
        {"scope": scope, "kind": "observation", "payload": {"text": "not a message"}},
    ])
    assert EngramChatMessageHistory(mem, scope).messages == [
        HumanMessage(content="hello"),
        AIMessage(content="hi there"),
        SystemMessage(content="be brief"),
        ToolMessage(content="sunny", tool_call_id="c9"),
        ChatMessage(role="moderator", content="ok"),
    ]


# --- the history, on every backend ----------------------------------------------------------


def test_every_kind_of_message_round_trips(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope)
    messages = every_kind_of_message()
    history.add_messages(messages)
    assert history.messages == messages
    assert [event["text"] for event in mem.list_events({"scope": scope})][-2] == "Find me a vegetarian dinner in Lisbon"


def test_order_is_exact_for_messages_added_in_one_millisecond(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope, window=1000)
    bulk = [HumanMessage(content=f"bulk {index}") if index % 2 else AIMessage(content=f"bulk {index}")
            for index in range(300)]
    history.add_messages(bulk)  # one write: every event has the same timestamp
    for index in range(100):
        history.add_user_message(f"single {index}")
    expected = [message.content for message in bulk] + [f"single {index}" for index in range(100)]
    assert [message.content for message in history.messages] == expected
    timestamps = [event["ts"] for event in mem.list_events({"scope": scope, "limit": 1000})]
    assert len(set(timestamps)) < len(timestamps) / 2  # the test does exercise equal timestamps


def test_messages_are_the_latest_window_of_the_session_across_runs(mem: Memory, scope: Scope) -> None:
    EngramChatMessageHistory(mem, scope).add_messages([HumanMessage(content=f"first run {index}") for index in range(6)])
    second_run = EngramChatMessageHistory(mem, {**scope, "run_id": "r2"}, window=5)
    second_run.add_messages([AIMessage(content=f"second run {index}") for index in range(3)])
    EngramChatMessageHistory(mem, {**scope, "session_id": "other"}).add_user_message("another session")
    assert [message.content for message in second_run.messages] == [
        "first run 4", "first run 5", "second run 0", "second run 1", "second run 2",
    ]


def test_add_messages_writes_all_or_nothing(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope)
    oversized = HumanMessage(content="x", additional_kwargs={"blob": "y" * 300_000})
    with pytest.raises(InvalidInputError):
        history.add_messages([HumanMessage(content="kept?"), oversized])
    assert history.messages == []


def test_clear_deletes_the_sessions_events_only(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope)
    other = EngramChatMessageHistory(mem, {**scope, "session_id": "s2"})
    history.add_messages(every_kind_of_message())
    other.add_user_message("keep me")
    mem.upsert_fact({"scope": scope, "fact_key": "user.city", "value": "Lisbon"})
    history.clear()
    assert history.messages == []
    assert other.messages == [HumanMessage(content="keep me")]
    assert [fact["fact_key"] for fact in mem.list_facts({"scope": scope})] == ["user.city"]


def test_stored_messages_reach_later_sessions_packets(mem: Memory, scope: Scope) -> None:
    EngramChatMessageHistory(mem, scope).add_messages(
        [HumanMessage(content="My favourite city is Lisbon"), AIMessage(content="Noted.")])
    packet = mem.build_memory_packet({"scope": {**scope, "session_id": "s2"}, "purpose": "responder",
                                      "query": "which city is my favourite?"})
    assert "My favourite city is Lisbon" in packet["rendered"]


class CountingBuilds:
    """Counts the messages the history module builds from events."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        build = langchain_integration.event_to_message

        def counted(event: Any) -> BaseMessage:
            self.count += 1
            return build(event)

        monkeypatch.setattr(langchain_integration, "event_to_message", counted)

    def taken(self) -> int:
        count, self.count = self.count, 0
        return count


def test_a_read_builds_only_the_messages_it_has_not_seen(mem: Memory, scope: Scope,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    builds = CountingBuilds(monkeypatch)
    start = datetime(2026, 5, 2, 18, 0, tzinfo=timezone.utc)

    def add(message: BaseMessage, second: float) -> str:
        event = {**message_to_event(message, scope), "ts": (start + timedelta(seconds=second)).isoformat()}
        return mem.append_event(cast(EventInput, event))["event_id"]

    history = EngramChatMessageHistory(mem, scope, window=4)
    for index in range(6):
        add(HumanMessage(content=f"turn {index}"), index)
    first = history.messages
    assert [message.content for message in first] == ["turn 2", "turn 3", "turn 4", "turn 5"]
    assert builds.taken() == 4
    again = history.messages
    assert again == first and all(left is right for left, right in zip(again, first)) and builds.taken() == 0
    assert again is not first  # a new list each read

    answer = add(AIMessage(content="answer 6"), 6)
    add(HumanMessage(content="turn 7"), 7)
    assert [message.content for message in history.messages] == ["turn 4", "turn 5", "answer 6", "turn 7"]
    assert builds.taken() == 2

    # Other writers: a delete inside the window lets an older message back in, a back-dated
    # event lands in its place in time, and another history's clear empties the window.
    mem.delete_event(scope, answer)
    assert [message.content for message in history.messages] == ["turn 3", "turn 4", "turn 5", "turn 7"]
    assert builds.taken() == 0  # "turn 3" was built by the first read, and kept
    add(AIMessage(content="late answer"), 5.5)
    assert [message.content for message in history.messages] == ["turn 4", "turn 5", "late answer", "turn 7"]
    assert builds.taken() == 1
    EngramChatMessageHistory(mem, scope).clear()
    assert history.messages == [] and builds.taken() == 0
    history.add_user_message("after the clear")
    assert [message.content for message in history.messages] == ["after the clear"]


def test_histories_over_one_memory_share_the_messages_they_built(mem: Memory, scope: Scope,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    builds = CountingBuilds(monkeypatch)
    EngramChatMessageHistory(mem, scope).add_messages([HumanMessage(content=f"turn {index}") for index in range(10)])
    first = EngramChatMessageHistory(mem, scope, window=10).messages
    assert builds.taken() == 10
    # A history made per request, as RunnableWithMessageHistory makes them, builds nothing again.
    again = EngramChatMessageHistory(mem, scope, window=5).messages
    assert builds.taken() == 0 and all(message is first[5 + index] for index, message in enumerate(again))
    # Past the capacity, the first built go first, and are built again when a window holds them.
    monkeypatch.setattr(langchain_integration, "MESSAGE_CACHE_CAPACITY", 4)
    other_scope = {**scope, "session_id": "small"}
    with Memory(in_memory=True) as small:
        EngramChatMessageHistory(small, other_scope).add_messages([AIMessage(content=f"m{index}") for index in range(6)])
        window = EngramChatMessageHistory(small, other_scope, window=6)
        assert [message.content for message in window.messages] == [f"m{index}" for index in range(6)]
        assert builds.taken() == 6
        sequences = small.list_event_sequences({"scope": other_scope, "session_wide": True})
        assert sorted(langchain_integration.built_messages(small).messages) == sorted(sequences[:4])  # the newest
        assert [message.content for message in window.messages] == [f"m{index}" for index in range(6)]
        assert builds.taken() == 2  # m0 and m1 were dropped
    assert builds.taken() == 0 and EngramChatMessageHistory(mem, scope, window=10).messages == first


def test_a_window_that_changes_between_the_two_reads_is_read_whole(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope, window=3)
    history.add_messages([HumanMessage(content=f"turn {index}") for index in range(3)])
    history.messages
    history.add_user_message("turn 3")
    plan = history._read()
    method, query = next(plan)
    sequences = getattr(mem, method)(query)
    method, query = plan.send(sequences)
    assert method == "list_events" and query["limit"] == 1  # only the new event
    history.add_user_message("turn 4")  # another writer, between the two reads
    method, query = plan.send(getattr(mem, method)(query))
    assert method == "list_events" and query["limit"] == 3  # the head moved: the whole window
    with pytest.raises(StopIteration) as done:
        plan.send(getattr(mem, method)(query))
    assert [message.content for message in done.value.value] == ["turn 2", "turn 3", "turn 4"]
    assert [message.content for message in history.messages] == ["turn 2", "turn 3", "turn 4"]


def test_async_history_on_async_memory(memory_kwargs: Dict[str, Any]) -> None:
    scope = make_scope()

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            history = EngramChatMessageHistory(memory, scope)
            messages = every_kind_of_message()
            await history.aadd_messages(messages)
            await history.aadd_messages([HumanMessage(content="and one more")])
            assert await history.aget_messages() == [*messages, HumanMessage(content="and one more")]
            with pytest.raises(RuntimeError, match="async method"):
                history.messages  # a sync read cannot wait for an AsyncMemory inside the event loop
            await history.aclear()
            assert await history.aget_messages() == []

    asyncio.run(main())


def test_sync_history_on_async_memory_outside_an_event_loop(memory_kwargs: Dict[str, Any]) -> None:
    memory = AsyncMemory(**memory_kwargs)
    history = EngramChatMessageHistory(memory, make_scope())
    history.add_messages([HumanMessage(content="hi"), AIMessage(content="hello")])
    assert [message.content for message in history.messages] == ["hi", "hello"]
    history.clear()
    assert history.messages == []

    async def close() -> None:
        await memory.close()

    asyncio.run(close())


def test_async_methods_on_a_sync_memory(mem: Memory, scope: Scope) -> None:
    history = EngramChatMessageHistory(mem, scope)

    async def main() -> List[BaseMessage]:
        await history.aadd_messages([HumanMessage(content="from a worker thread")])
        return await history.aget_messages()

    assert asyncio.run(main()) == [HumanMessage(content="from a worker thread")]


def test_window_must_be_positive(scope: Scope) -> None:
    with pytest.raises(ValueError, match="window"):
        EngramChatMessageHistory(Memory(in_memory=True), scope, window=0)


def test_event_to_message_inverts_message_to_event() -> None:
    scope = make_scope()
    memory = Memory(in_memory=True)
    for message in every_kind_of_message():
        (event,) = memory.append_events([message_to_event(message, scope)])
        assert event_to_message(event) == message


# --- the context injector -------------------------------------------------------------------


@pytest.fixture
def remembered(scope: Scope) -> Memory:
    """An in-memory store that knows the user's diet (a fact) and, from an earlier session,
    their favourite city."""
    memory = Memory(in_memory=True)
    memory.upsert_fact({"scope": scope, "fact_key": "user.diet", "value": "vegetarian"})
    EngramChatMessageHistory(memory, {**scope, "session_id": "earlier"}).add_messages(
        [HumanMessage(content="My favourite city is Lisbon"), AIMessage(content="Noted.")])
    return memory


def memory_message(messages: List[BaseMessage]) -> BaseMessage:
    (found,) = [message for message in messages if message.id == MEMORY_CONTEXT_MESSAGE_ID]
    assert isinstance(found, SystemMessage)
    return found


def test_injector_puts_memory_before_the_model_in_an_lcel_chain(remembered: Memory, scope: Scope) -> None:
    model = RecordingChatModel()
    chain = EngramContextInjector(remembered, scope) | model
    reply = chain.invoke("Which city is my favourite?")
    assert reply.content == "answer 1"
    (prompt,) = model.prompts
    assert isinstance(prompt[0], SystemMessage) and prompt[1] == HumanMessage(content="Which city is my favourite?")
    assert "Lisbon" in prompt[0].content and "vegetarian" in prompt[0].content


def test_injector_reads_every_input_form(remembered: Memory, scope: Scope) -> None:
    injector = EngramContextInjector(remembered, scope)
    question = HumanMessage(content="Which city is my favourite?")
    for value in ("Which city is my favourite?", [question], [("user", "Which city is my favourite?")],
                  {"messages": [question]}, {"input": "Which city is my favourite?"}, question):
        messages = injector.invoke(value)
        assert len(messages) == 2 and messages[1].content == question.content
        assert "Lisbon" in memory_message(messages).content
        assert injector.last_packet is not None and injector.last_packet["explain"]["query_terms"]


def test_injector_goes_after_a_leading_system_message(remembered: Memory, scope: Scope) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "{question}")])
    model = RecordingChatModel()
    chain = prompt | EngramContextInjector(remembered, scope) | model
    chain.invoke({"question": "Which city is my favourite?"})
    (sent,) = model.prompts
    assert [type(message) for message in sent] == [SystemMessage, SystemMessage, HumanMessage]
    assert sent[0].content == "You are terse." and "Lisbon" in sent[1].content


def test_injector_leaves_messages_alone_when_memory_is_empty(scope: Scope) -> None:
    injector = EngramContextInjector(Memory(in_memory=True), scope)
    assert injector.invoke("hello") == [HumanMessage(content="hello")]


def test_injector_budget_and_policy_reach_the_packet(remembered: Memory, scope: Scope) -> None:
    injector = EngramContextInjector(remembered, scope, purpose="planner", budget={"max_tokens": 40},
                                     policy={"policy_id": "tight", "max_recall": 0})
    messages = injector.invoke("Which city is my favourite?")
    packet = injector.last_packet
    assert packet is not None
    assert packet["meta"]["purpose"] == "planner" and packet["meta"]["policy_id"] == "tight"
    assert packet["meta"]["tokens"] <= 40
    assert "Lisbon" not in memory_message(messages).content


def test_injector_takes_its_scope_from_the_config(remembered: Memory, scope: Scope) -> None:
    injector = EngramContextInjector(remembered, scope_from_config(tenant_id="default", agent_id="a1"))
    config = {"configurable": {"user_id": "u1", "thread_id": "s9"}}
    assert "Lisbon" in memory_message(injector.invoke("Which city is my favourite?", config)).content  # type: ignore[arg-type]
    stranger = {"configurable": {"user_id": "someone-else", "thread_id": "s9"}}
    assert injector.invoke("Which city is my favourite?", stranger) == [  # type: ignore[arg-type]
        HumanMessage(content="Which city is my favourite?")]
    with pytest.raises(ValueError, match="user_id"):
        injector.invoke("hi", {"configurable": {"thread_id": "s9"}})


def test_injector_ainvoke_on_async_memory(memory_kwargs: Dict[str, Any]) -> None:
    scope = make_scope()

    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            await memory.upsert_fact({"scope": scope, "fact_key": "user.city", "value": "Lisbon"})
            model = RecordingChatModel()
            chain = EngramContextInjector(memory, scope) | model
            await chain.ainvoke([HumanMessage(content="Which city do I like?")])
            assert "Lisbon" in memory_message(model.prompts[0]).content

    asyncio.run(main())


# --- packaging and scripts -------------------------------------------------------------------


def test_importing_engram_imports_no_framework() -> None:
    code = ("import sys, engram, engram.integrations; "
            "print(sorted(name for name in sys.modules if name.startswith(('langchain', 'langgraph'))))")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"


def test_compare_peers_history_smoke() -> None:
    pytest.importorskip("langchain_community")
    pytest.importorskip("sqlalchemy")
    finished = subprocess.run(
        [sys.executable, str(REPO / "python" / "scripts" / "compare_peers.py"), "--smoke", "--only", "history"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    first, new = [line for line in finished.stdout.splitlines() if line.startswith("history")]
    assert "read 50 messages, first read" in first and "read 50 messages, new history" in new
    assert all("SQLChatMessageHistory" in row and row.endswith("x") for row in (first, new))
