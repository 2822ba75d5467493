"""`Memory.scope(...)` and `AsyncMemory.scope(...)`: a memory bound to one scope, with every
call that takes a scope, without it."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from engram import AsyncMemory, InvalidInputError, Memory
from engram.extraction import RuleExtractor
from engram.scoped import AsyncScopedMemory, ScopedMemory

# Memory's calls that take no scope: items, whole-store operations, the lifecycle of files.
UNSCOPED = {"close", "put_items", "list_items", "delete_items", "search_items", "list_namespaces", "compact",
            "sweep_expired", "import_scope", "check_integrity", "scope"}
NOW = "2026-11-05T12:00:00Z"


def public(kind: type) -> set[str]:
    return {name for name in dir(kind) if not name.startswith("_") and callable(getattr(kind, name))}


def test_the_handle_has_every_scoped_call_of_both_twins() -> None:
    expected = (public(Memory) - UNSCOPED) | {"add_message"}
    assert public(ScopedMemory) == expected
    assert public(AsyncScopedMemory) == expected
    assert public(AsyncMemory) - UNSCOPED == public(Memory) - UNSCOPED


def test_defaults_and_validation() -> None:
    with Memory(in_memory=True) as mem:
        assert mem.scope("maria").scope == {"tenant_id": "default", "user_id": "maria", "agent_id": "default",
                                            "session_id": "default", "run_id": "default"}
        assert mem.scope("maria", session_id="s2").scope["run_id"] == "s2"
        assert mem.scope("u", "s", "a", "t", "r").scope == {"tenant_id": "t", "user_id": "u", "agent_id": "a",
                                                             "session_id": "s", "run_id": "r"}
        with pytest.raises(InvalidInputError) as caught:
            mem.scope("maria", agent_id="")
        assert caught.value.field == "agent_id"
        with pytest.raises(InvalidInputError) as caught:
            mem.scope("maria").list_facts({"scope": {"tenant_id": "other"}})
        assert caught.value.field == "scope"


def every_call(handle: Any, tmp_path: Path) -> List[Callable[[], Any]]:
    """Each call of the handle once (to be made in order: each acts on what the earlier wrote)."""
    return [
        lambda: handle.add_message("user", "I moved to Berlin; Lisbon was lovely", ts="2026-11-01T10:00:00Z",
                           event_id="m1"),
        lambda: handle.append_event(kind="message", event_id="m2", ts="2026-11-01T10:01:00Z",
                            payload={"role": "assistant", "text": "Noted, Berlin it is"}),
        lambda: handle.append_events([{"kind": "message", "event_id": "m3", "ts": "2026-11-01T10:02:00Z",
                               "payload": {"role": "user", "text": "Find me a vegetarian place"}}]),
        lambda: handle.upsert_fact({"fact_key": "city", "value": "Lisbon", "recorded_at": "2026-10-01T00:00:00Z"}),
        lambda: handle.upsert_fact(fact_key="city", value="Berlin", recorded_at="2026-11-01T10:00:00Z"),
        lambda: handle.append_episode(start_ts="2026-11-01T10:00:00Z", end_ts="2026-11-01T10:02:00Z",
                              summary="Moved to Berlin", episode_id="ep1"),
        lambda: handle.upsert_procedure(task_type="booking", title="Book a table", steps=["search", "call"],
                                procedure_id="p1"),
        lambda: handle.append_insight(kind="pattern", text="prefers vegetarian food", insight_id="i1"),
        lambda: handle.update_insight(insight_id="i1", validation="validated"),
        lambda: handle.patch_working_state(goal="find dinner", plan=["search"]),
        lambda: handle.update_stm(rolling_summary="moved to Berlin"),
        lambda: handle.list_events(),
        lambda: handle.list_event_sequences(limit=2),
        lambda: handle.list_facts(include_inactive=True),
        lambda: handle.fact_history("city"),
        lambda: handle.list_episodes(),
        lambda: handle.list_procedures(),
        lambda: handle.list_insights(),
        lambda: handle.get_working_state(),
        lambda: handle.get_stm(),
        lambda: handle.build_memory_packet(purpose="responder", query="dinner in Berlin", now=NOW),
        lambda: handle.stats(),
        lambda: handle.promote_insight(insight_id="i1", to="fact", fact_key="diet"),
        lambda: handle.consolidate_session(window=1, now=NOW),
        lambda: handle.export_scope(tmp_path / "scope.jsonl"),
        lambda: handle.forget(kinds=["procedure"]),
        lambda: handle.delete_event("m3"),
        lambda: handle.delete_fact("diet"),
        lambda: handle.end_run(NOW),
        lambda: handle.extract_facts(RuleExtractor([(r"moved to (?P<value>[A-Z][a-z]+)", "city")]), now=NOW),
        lambda: handle.purge_user(),
    ]


def check(results: List[Any], memory_stats: Dict[str, Any]) -> None:
    assert results[0]["event_id"] == "m1" and results[0]["role"] == "user"
    assert results[3]["outcome"] == "created"
    assert results[4]["outcome"] == "superseded" and results[4]["fact"]["value"] == "Berlin"
    assert [fact["value"] for fact in results[14]] == ["Lisbon", "Berlin"]  # history, oldest first
    assert len(results[11]) == 3 and results[12] and results[18]["goal"] == "find dinner"
    packet = results[20]
    assert packet["meta"]["scope"]["user_id"] == "maria" and "Berlin" in packet["rendered"]
    assert results[21]["events"] == 3 and results[22]["fact"]["fact_key"] == "diet"
    assert results[24]["rows"]["events"] == 3
    assert results[25]["rows"]["procedures"] == 1 and results[26]["rows"]["events"] == 1
    assert results[27]["rows"]["facts"] == 1 and results[28]["working_state"]["ended_at"] is not None
    assert [write["outcome"] for write in results[29]["facts"]] == ["refreshed"], "m1 says Berlin again"
    assert results[30]["rows"]["events"] >= 2
    assert memory_stats["events"] == 0, "purge_user went through the handle's user"


def test_every_call_through_the_sync_handle(tmp_path: Path) -> None:
    with Memory(in_memory=True) as mem:
        results = [call() for call in every_call(mem.scope("maria", session_id="s1"), tmp_path)]
        check(results, dict(mem.stats({"tenant_id": "default", "user_id": "maria", "agent_id": "default",
                                        "session_id": "s1", "run_id": "s1"})))


def test_every_call_through_the_async_handle(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncMemory(in_memory=True) as mem:
            handle = mem.scope("maria", session_id="s1")
            results = []
            for call in every_call(handle, tmp_path):
                started = call()
                assert inspect.isawaitable(started)
                results.append(await started)
            stats = await mem.stats({"tenant_id": "default", "user_id": "maria", "agent_id": "default",
                                     "session_id": "s1", "run_id": "s1"})
            check(results, dict(stats))

    asyncio.run(main())


def test_the_readme_scope_handle_snippet_runs_as_written() -> None:
    from test_examples import readme_python_blocks

    snippet = next(block for block in readme_python_blocks() if 'mem.scope("maria"' in block)
    namespace: Dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    assert "vegetarian" in namespace["packet"]["rendered"]
    assert namespace["maria"].stats()["facts"] == {"active": 1}


def test_the_readme_agent_loop_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    from test_examples import readme_python_blocks

    snippet = next(block for block in readme_python_blocks() if "def turn(" in block)
    namespace: Dict[str, Any] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith("['Lisbon', 'Berlin']")
    facts = namespace["packet"]["long_term"]["facts"]
    assert [item["text"] for item in facts] == ["user.city: Berlin"], facts
    prompt = namespace["prompt"]
    assert re.search(r"^- \[since \d{4}-\d{2}-\d{2}; was Lisbon\] user\.city: Berlin$", prompt, re.MULTILINE), prompt
    [fact] = [item for item in namespace["packet"]["explain"]["selected"] if item["kind"] == "fact"]
    assert fact["replaced"]["value"] == "Lisbon" and fact["text"] == "user.city: Berlin"
    assert_written_for_the_model(namespace["mem"], prompt)

    # From a new chat, the turn that still says Lisbon is recalled, marked outdated and explained.
    later = namespace["mem"].scope("maria", session_id="chat-2")
    recalled = later.build_memory_packet(purpose="responder", query="Where do I live, Lisbon?",
                                         budget={"max_tokens": 500})
    assert re.search(r"^- \[[0-9: -]+ user; outdated\] Hi! I live in Lisbon\.$", recalled["rendered"],
                     re.MULTILINE), recalled["rendered"]
    [turn] = [item for item in recalled["explain"]["selected"] if item["text"] == "Hi! I live in Lisbon."]
    assert turn["outdated_by"] == fact["id"] and sorted(turn["matched_words"]) == ["Lisbon", "live"]
    assert_written_for_the_model(namespace["mem"], recalled["rendered"])


def assert_written_for_the_model(mem: Any, prompt: str) -> None:
    """No SDK method names, no internal ids: the prompt speaks to the model."""
    scope = {"tenant_id": "default", "user_id": "maria", "agent_id": "default"}
    ids = [event["event_id"] for event in mem.list_events({"scope": {**scope, "session_id": "chat-1",
                                                                       "run_id": "chat-1"}})]
    ids += [version["fact_id"] for version in mem.fact_history({**scope, "session_id": "chat-1",
                                                                "run_id": "chat-1"}, "user.city")]
    assert len(ids) == 6
    for name in ids + ["get_stm", "get_", "fetch", "evt_", "fact_", "human:", "ai:"]:
        assert name not in prompt, (name, prompt)


def test_the_prompt_names_the_two_sides_as_a_model_expects() -> None:
    with Memory(in_memory=True) as mem:
        me = mem.scope("u")
        me.add_message("human", "hello there")
        me.add_message("AI", "hi, how can I help")
        rendered = me.build_memory_packet(purpose="responder")["rendered"]
        assert "- user: hello there" in rendered and "- assistant: hi, how can I help" in rendered
        assert "human" not in rendered and "AI:" not in rendered
        assert [event["role"] for event in me.list_events()] == ["AI", "human"], "stored as written"
