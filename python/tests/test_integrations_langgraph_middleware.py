"""engram.integrations.langgraph.EngramNodeMiddleware in compiled StateGraphs: memory before the
node, the turn recorded after it, and a later session remembering an earlier one."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402
from langgraph.types import Command  # noqa: E402
from pydantic import Field  # noqa: E402

from conftest import make_scope  # noqa: E402
from engram import AsyncMemory, Memory  # noqa: E402
from engram.integrations.langchain import MEMORY_CONTEXT_MESSAGE_ID, EngramChatMessageHistory, scope_from_config  # noqa: E402
from engram.integrations.langgraph import EngramNodeMiddleware  # noqa: E402
from engram.types import Scope  # noqa: E402


class ScriptedChatModel(BaseChatModel):
    """Answers with its `script` in turn (then "answer N") and keeps every prompt it was given."""

    prompts: List[List[BaseMessage]] = Field(default_factory=list)
    script: List[AIMessage] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: List[BaseMessage], stop: Optional[List[str]] = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.prompts.append(list(messages))
        reply = self.script.pop(0) if self.script else AIMessage(content=f"answer {len(self.prompts)}")
        return ChatResult(generations=[ChatGeneration(message=reply)])


def session(user: str, thread: str) -> RunnableConfig:
    return {"configurable": {"user_id": user, "thread_id": thread}}


def chat_graph(memory: Any, model: ScriptedChatModel, **options: Any) -> Any:
    """START -> agent -> END over MessagesState, the agent wrapped by the middleware, with a
    checkpointer (each thread keeps its messages)."""
    remember = EngramNodeMiddleware(memory, scope_from_config(tenant_id="default", agent_id="a1"), **options)

    @remember
    def agent(state: MessagesState) -> Dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=InMemorySaver())


def system_texts(prompt: List[BaseMessage]) -> str:
    return "\n".join(str(message.content) for message in prompt if isinstance(message, SystemMessage))


def test_a_second_session_is_prompted_with_what_the_first_said(mem: Memory) -> None:
    model = ScriptedChatModel()
    graph = chat_graph(mem, model)
    graph.invoke({"messages": [HumanMessage(content="My favourite city is Lisbon")]}, session("u1", "s1"))
    graph.invoke({"messages": [HumanMessage(content="Which city is my favourite?")]}, session("u1", "s2"))

    first, second = model.prompts
    assert first == [HumanMessage(content="My favourite city is Lisbon", id=first[0].id)]  # nothing remembered yet
    assert "Lisbon" in system_texts(second)
    assert second[0].id == MEMORY_CONTEXT_MESSAGE_ID and second[-1].content == "Which city is my favourite?"
    # The memory context stayed out of the graph's state: only the turn's messages are there.
    state = graph.get_state(session("u1", "s2")).values
    assert [message.content for message in state["messages"]] == ["Which city is my favourite?", "answer 2"]
    # Another user's session remembers nothing of it.
    graph.invoke({"messages": [HumanMessage(content="Which city is my favourite?")]}, session("u2", "s3"))
    assert "Lisbon" not in system_texts(model.prompts[2])


def test_each_turn_is_recorded_in_order_in_the_session(mem: Memory) -> None:
    model = ScriptedChatModel()
    graph = chat_graph(mem, model)
    config = session("u1", "s1")
    graph.invoke({"messages": [HumanMessage(content="hello")]}, config)
    graph.invoke({"messages": [HumanMessage(content="book a table")]}, config)
    history = EngramChatMessageHistory(mem, make_scope(agent_id="a1", session_id="s1", run_id="s1"))
    assert [(type(message), message.content) for message in history.messages] == [
        (HumanMessage, "hello"), (AIMessage, "answer 1"), (HumanMessage, "book a table"), (AIMessage, "answer 2"),
    ]
    # The graph's message ids are kept, so the record can be matched to the state.
    state_ids = [message.id for message in graph.get_state(config).values["messages"]]
    assert [message.id for message in history.messages] == state_ids


def test_tool_calls_and_results_are_recorded_once(mem: Memory) -> None:
    model = ScriptedChatModel(script=[
        AIMessage(content="", tool_calls=[{"name": "weather", "args": {"city": "Lisbon"}, "id": "call-1"}]),
        AIMessage(content="It is sunny in Lisbon."),
    ])
    remember = EngramNodeMiddleware(mem, scope_from_config(agent_id="a1"))

    @remember
    def agent(state: MessagesState) -> Dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def tools(state: MessagesState) -> Dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        call = last.tool_calls[0]
        return {"messages": [ToolMessage(content="sunny, 24C", tool_call_id=call["id"], name=call["name"])]}

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    graph = builder.compile()
    graph.invoke({"messages": [HumanMessage(content="Weather in Lisbon?")]}, session("u1", "s1"))

    events = mem.list_events({"scope": make_scope(agent_id="a1", session_id="s1", run_id="s1"), "limit": 10})
    assert [(event["kind"], event["text"]) for event in reversed(events)] == [
        ("message", "Weather in Lisbon?"),
        ("tool_call", 'weather {"city": "Lisbon"}'),
        ("tool_result", "sunny, 24C"),
        ("message", "It is sunny in Lisbon."),
    ]


def test_nodes_reading_the_context_key_and_returning_commands(mem: Memory, scope: Scope) -> None:
    mem.upsert_fact({"scope": scope, "fact_key": "user.diet", "value": "vegetarian"})
    seen: List[Dict[str, Any]] = []

    def agent(state: MessagesState, config: RunnableConfig) -> Command[Any]:
        seen.append({"context": state["memory_context"], "messages": state["messages"],  # type: ignore[typeddict-item]
                     "thread": config["configurable"]["thread_id"]})
        return Command(update={"messages": [AIMessage(content="Noted, vegetarian.")]}, goto=END)

    remember = EngramNodeMiddleware(mem, scope, system_message=False, context_key="memory_context")
    builder = StateGraph(MessagesState)
    builder.add_node("agent", remember(agent))
    builder.add_edge(START, "agent")
    graph = builder.compile()
    graph.invoke({"messages": [HumanMessage(content="what do I eat?")]}, {"configurable": {"thread_id": "t1"}})

    (call,) = seen
    assert "vegetarian" in call["context"] and call["thread"] == "t1"
    assert [message.content for message in call["messages"]] == ["what do I eat?"]  # no system message added
    assert [event["text"] for event in mem.list_events({"scope": scope})] == ["Noted, vegetarian.", "what do I eat?"]


def test_the_wrapper_keeps_the_nodes_name_and_recording_can_be_off(mem: Memory, scope: Scope) -> None:
    model = ScriptedChatModel()
    remember = EngramNodeMiddleware(mem, scope, record=False)

    def agent(state: MessagesState) -> Dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    wrapped = remember(agent)
    assert wrapped.__name__ == "agent"
    graph = StateGraph(MessagesState).add_node(wrapped).add_edge(START, "agent").compile()
    graph.invoke({"messages": [HumanMessage(content="hello")]})
    assert mem.list_events({"scope": scope}) == []


def test_async_nodes_with_async_memory(memory_kwargs: Dict[str, Any]) -> None:
    async def main() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            model = ScriptedChatModel()
            remember = EngramNodeMiddleware(memory, scope_from_config(agent_id="a1"))

            @remember
            async def agent(state: MessagesState) -> Dict[str, Any]:
                return {"messages": [await model.ainvoke(state["messages"])]}

            graph = StateGraph(MessagesState).add_node("agent", agent).add_edge(START, "agent").compile()
            await graph.ainvoke({"messages": [HumanMessage(content="My favourite city is Lisbon")]},
                                session("u1", "s1"))
            await graph.ainvoke({"messages": [HumanMessage(content="Which city is my favourite?")]},
                                session("u1", "s2"))
            assert "Lisbon" in system_texts(model.prompts[1])
            history = EngramChatMessageHistory(memory, make_scope(agent_id="a1", session_id="s1", run_id="s1"))
            assert [message.content for message in await history.aget_messages()] == [
                "My favourite city is Lisbon", "answer 1"]

    asyncio.run(main())


def test_sync_nodes_with_async_memory(memory_kwargs: Dict[str, Any]) -> None:
    memory = AsyncMemory(**memory_kwargs)
    model = ScriptedChatModel()
    graph = chat_graph(memory, model)
    graph.invoke({"messages": [HumanMessage(content="My favourite city is Lisbon")]}, session("u1", "s1"))
    graph.invoke({"messages": [HumanMessage(content="Which city is my favourite?")]}, session("u1", "s2"))
    assert "Lisbon" in system_texts(model.prompts[1])

    async def close() -> None:
        await memory.close()

    asyncio.run(close())


def test_a_non_mapping_state_is_refused(scope: Scope) -> None:
    remember = EngramNodeMiddleware(Memory(in_memory=True), scope)
    with pytest.raises(TypeError, match="mapping state"):
        remember(lambda state: state)(["not", "a", "mapping"])
