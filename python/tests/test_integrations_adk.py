"""Google ADK on engram: `EngramSessionService` behaves as ADK's own `InMemorySessionService` on
one list of behaviours (create, get, list, delete, events appended, state deltas with the `app:`,
`user:` and `temp:` prefixes); ADK's `Runner` with a scripted model runs two sessions on it; and
`EngramMemoryService.search_memory` finds the first session's words from the second, and deletes
leave nothing."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Dict, List

import pytest

pytest.importorskip("google.adk")

from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.errors.already_exists_error import AlreadyExistsError  # noqa: E402
from google.adk.events.event import Event  # noqa: E402
from google.adk.events.event_actions import EventActions  # noqa: E402
from google.adk.models.base_llm import BaseLlm  # noqa: E402
from google.adk.models.llm_request import LlmRequest  # noqa: E402
from google.adk.models.llm_response import LlmResponse  # noqa: E402
from google.adk.runners import Runner  # noqa: E402
from google.adk.sessions import InMemorySessionService  # noqa: E402
from google.adk.sessions.base_session_service import GetSessionConfig  # noqa: E402
from google.genai import types  # noqa: E402

from conftest import server_kwargs  # noqa: E402

from engram import AsyncMemory, Memory  # noqa: E402
from engram.integrations.adk import EngramMemoryService, EngramSessionService  # noqa: E402


def said(author: str, text: str, timestamp: float, delta: Dict[str, Any] | None = None) -> Event:
    return Event(author=author, invocation_id="inv-1", timestamp=timestamp,
                 content=types.Content(role="user" if author == "user" else "model", parts=[types.Part(text=text)]),
                 actions=EventActions(state_delta=delta or {}))


def seen(session: Any) -> Dict[str, Any]:
    """What a caller sees of a session, ids and clocks aside."""
    if session is None:
        return {}
    return {"user": session.user_id, "id": session.id, "state": dict(sorted(session.state.items())),
            "events": [(event.author, event.content.parts[0].text if event.content else None,
                        dict(event.actions.state_delta)) for event in session.events]}


async def behaviours(service: Any) -> List[Any]:
    """One list of session-service behaviours; every result a caller could compare."""
    results: List[Any] = []
    first = await service.create_session(app_name="trips", user_id="maria", session_id="s1",
                                         state={"app:currency": "EUR", "user:city": "Lisbon", "step": 1,
                                                "temp:draft": "x"})
    results.append(seen(first))
    try:
        await service.create_session(app_name="trips", user_id="maria", session_id="s1")
        results.append("created twice")
    except AlreadyExistsError:
        results.append("already exists")
    await service.create_session(app_name="trips", user_id="joao", session_id="s9", state={"step": 9})
    for index, (author, text, delta) in enumerate([
        ("user", "I moved to Berlin", {"user:city": "Berlin", "temp:scratch": 1}),
        ("planner", "Noted, Berlin.", {"step": 2, "app:currency": "CHF"}),
        ("user", "Find a hotel", {}),
    ]):
        appended = await service.append_event(first, said(author, text, 1000.0 + index, delta))
        results.append(dict(appended.actions.state_delta))
    results.append(seen(first))
    results.append(seen(await service.get_session(app_name="trips", user_id="maria", session_id="s1")))
    results.append(seen(await service.get_session(app_name="trips", user_id="maria", session_id="s1",
                                                  config=GetSessionConfig(num_recent_events=2))))
    results.append(seen(await service.get_session(app_name="trips", user_id="maria", session_id="s1",
                                                  config=GetSessionConfig(after_timestamp=1001.0))))
    results.append(seen(await service.get_session(app_name="trips", user_id="joao", session_id="s9")))
    results.append(seen(await service.get_session(app_name="trips", user_id="maria", session_id="nope")))
    results.append([seen(session) for session in (await service.list_sessions(app_name="trips")).sessions])
    results.append([seen(session) for session in (await service.list_sessions(app_name="trips", user_id="maria")).sessions])
    results.append(await service.get_user_state(app_name="trips", user_id="maria"))
    await service.delete_session(app_name="trips", user_id="maria", session_id="s1")
    results.append(seen(await service.get_session(app_name="trips", user_id="maria", session_id="s1")))
    results.append([session.id for session in (await service.list_sessions(app_name="trips")).sessions])
    return results


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgres", "mysql"])
def test_the_session_service_behaves_as_adks_own(backend: str, tmp_path: Any) -> None:
    async def main() -> None:
        if backend == "memory":
            memory: Any = AsyncMemory(in_memory=True)
        elif backend == "sqlite":
            memory = Memory(path=str(tmp_path / "adk.db"))
        else:
            memory = AsyncMemory(**server_kwargs(backend))
        ours = await behaviours(EngramSessionService(memory))
        theirs = await behaviours(InMemorySessionService())
        for index, (mine, reference) in enumerate(zip(ours, theirs)):
            assert mine == reference, (index, mine, reference)
        assert len(ours) == len(theirs)

    asyncio.run(main())


class ScriptedLlm(BaseLlm):
    """Answers from a script and keeps each request's contents."""

    answers: List[str] = []
    requests: List[Any] = []

    async def generate_content_async(self, llm_request: LlmRequest,
                                     stream: bool = False) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request.contents)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=self.answers.pop(0))]))


def test_a_runner_remembers_the_first_session_in_the_second(tmp_path: Any) -> None:
    async def main() -> None:
        memory = AsyncMemory(path=str(tmp_path / "adk.db"))
        sessions, memories = EngramSessionService(memory), EngramMemoryService(memory)
        model = ScriptedLlm(model="scripted", answers=["Lisbon is lovely.", "I will look."], requests=[])
        agent = LlmAgent(name="planner", model=model, instruction="Be brief.")
        runner = Runner(agent=agent, app_name="trips", session_service=sessions, memory_service=memories)

        async def ask(session_id: str, text: str) -> List[str]:
            message = types.Content(role="user", parts=[types.Part(text=text)])
            return [event.content.parts[0].text async for event in runner.run_async(
                user_id="maria", session_id=session_id, new_message=message) if event.content and event.content.parts]

        first = await sessions.create_session(app_name="trips", user_id="maria", session_id="s1")
        assert await ask(first.id, "I live in Lisbon near the river.") == ["Lisbon is lovely."]
        stored = await sessions.get_session(app_name="trips", user_id="maria", session_id="s1")
        assert stored is not None and [event.author for event in stored.events] == ["user", "planner"]
        await memories.add_session_to_memory(stored)  # kept already: nothing is written twice

        await sessions.create_session(app_name="trips", user_id="maria", session_id="s2")
        assert await ask("s2", "Find a hotel near where I live") == ["I will look."]
        assert "Find a hotel" in str(model.requests[1]) and "river" not in str(model.requests[1])
        found = await memories.search_memory(app_name="trips", user_id="maria", query="where do I live, the river?")
        texts = [entry.content.parts[0].text for entry in found.memories]
        assert texts[0] == "I live in Lisbon near the river.", texts
        assert found.memories[0].author == "user" and found.memories[0].id == stored.events[0].id

        await memories.delete_memory(app_name="trips", user_id="maria", memory_id=found.memories[0].id)
        again = await memories.search_memory(app_name="trips", user_id="maria", query="river")
        assert all("river" not in (entry.content.parts[0].text or "") for entry in again.memories)
        await memories.delete_memories(app_name="trips", user_id="maria")
        assert (await memories.search_memory(app_name="trips", user_id="maria", query="hotel")).memories == []
        for session_id in ("s1", "s2"):
            await sessions.delete_session(app_name="trips", user_id="maria", session_id=session_id)
        assert (await sessions.list_sessions(app_name="trips")).sessions == []
        stats = await memory.stats({"tenant_id": "trips", "user_id": "maria", "agent_id": "adk",
                                    "session_id": "s1", "run_id": "s1"})
        assert stats["events"] == 0
        assert await memory.list_items({"namespace": [], "prefix": True, "tenant_id": "trips"}) == []
        await memory.close()

    asyncio.run(main())


def test_the_readme_snippet_runs_as_written(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_examples import readme_python_blocks

    snippet = next(block for block in readme_python_blocks() if "EngramSessionService(memory)" in block)
    namespace: Dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    monkeypatch.chdir(tmp_path)

    async def main() -> None:
        model = ScriptedLlm(model="scripted", answers=["Hello Maria."], requests=[])
        runner = namespace["build_runner"](LlmAgent(name="planner", model=model))
        await runner.session_service.create_session(app_name="trips", user_id="maria", session_id="s1")
        message = types.Content(role="user", parts=[types.Part(text="Hi, I am Maria.")])
        replies = [event.content.parts[0].text async for event in runner.run_async(
            user_id="maria", session_id="s1", new_message=message) if event.content and event.content.parts]
        assert replies == ["Hello Maria."]
        found = await runner.memory_service.search_memory(app_name="trips", user_id="maria", query="Maria")
        assert {entry.content.parts[0].text for entry in found.memories} == {"Hi, I am Maria.", "Hello Maria."}

    asyncio.run(main())
    assert (tmp_path / "data" / "adk.db").is_file()
