"""`engram mcp` driven as a subprocess through the MCP SDK's stdio client, as an MCP client
(a desktop assistant, an IDE agent) drives it: tools listed, memories added, searched, packed,
updated, deleted and purged; hostile arguments come back as tool errors naming the field, and the
server keeps serving."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from conftest import server_kwargs  # noqa: E402

from engram import Memory  # noqa: E402

TOOLS = {"add_memory", "remember", "search_memories", "get_context", "list_memories", "update_memory",
         "delete_memory", "delete_all_memories", "forget"}

Call = Callable[[str, Dict[str, Any]], Awaitable[Any]]


def serve(arguments: List[str], scenario: Callable[[ClientSession, Call], Awaitable[None]],
          command: str = sys.executable, prefix: List[str] = ["-m", "engram.cli"]) -> None:
    async def main() -> None:
        parameters = StdioServerParameters(command=command, args=[*prefix, "mcp", *arguments])
        async with stdio_client(parameters) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()

                async def call(name: str, given: Dict[str, Any]) -> Any:
                    result = await session.call_tool(name, given)
                    if result.is_error:
                        return ToolFailed(result.content[0].text)
                    return result.structured_content["result"]

                await scenario(session, call)

    asyncio.run(asyncio.wait_for(main(), timeout=120))


class ToolFailed:
    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"ToolFailed({self.message!r})"


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_an_mcp_client_adds_searches_packs_updates_deletes_and_purges(backend: str, tmp_path: Path) -> None:
    database = tmp_path / "memory.db"
    if backend == "sqlite":
        where, opened = ["--db", str(database)], {"path": str(database)}
    else:
        opened = server_kwargs(backend)
        where = ["--dsn", opened["dsn"], "--database", opened["database"]]

    async def scenario(session: ClientSession, call: Call) -> None:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        for tool in listed.tools:
            assert tool.description and len(tool.description) > 40, tool.name
            schema = tool.input_schema
            for name, field in schema["properties"].items():
                assert field.get("description"), (tool.name, name)

        said = await call("add_memory", {"text": "I live in Lisbon and love grilled sardines", "tags": ["food"]})
        await call("add_memory", {"text": "Noted: sardines in Lisbon.", "role": "assistant"})
        await call("add_memory", {"text": "Meeting notes: ship the billing migration", "session_id": "work"})
        first = await call("remember", {"fact_key": "user.city", "value": "Lisbon"})
        moved = await call("remember", {"fact_key": "user.city", "value": "Berlin"})
        assert (first["outcome"], moved["outcome"], moved["replaced"]) == ("created", "superseded", first["id"])

        found = (await call("search_memories", {"query": "grilled sardines", "session_id": "later"}))["results"]
        assert found[0]["id"] == said["id"] and sorted(found[0]["matched"]) == ["grilled", "sardines"]
        assert found[0]["found_by"] == ["lexical"] and found[0]["score"] > 0
        assert found[0]["outdated_by"] == moved["id"], "the turn that says Lisbon is outdated by the move"

        context = await call("get_context", {"query": "where do I live?", "max_tokens": 300, "session_id": "later"})
        assert "[since " in context["context"] and "; was Lisbon] user.city: Berlin" in context["context"]
        assert context["tokens"] <= 300 and any(item["id"] == moved["id"] for item in context["selected"])

        facts = (await call("list_memories", {"kind": "facts", "include_history": True}))["items"]
        assert [(fact["value"], fact["status"]) for fact in facts] == [("Berlin", "active"), ("Lisbon", "superseded")]
        updated = await call("update_memory", {"memory_id": moved["id"], "value": "Porto"})
        assert updated["outcome"] == "superseded"
        events = (await call("list_memories", {"kind": "events"}))["items"]
        assert [event["role"] for event in events] == ["assistant", "user"]

        deleted = await call("delete_memory", {"memory_id": said["id"]})
        assert deleted["rows"]["events"] == 1
        gone = await call("delete_memory", {"memory_id": said["id"]})
        assert isinstance(gone, ToolFailed) and "not found" in gone.message
        forgotten = await call("forget", {"kinds": ["fact"]})
        assert forgotten["rows"]["facts"] == 3

        refused = await call("delete_all_memories", {"confirm": False})
        assert isinstance(refused, ToolFailed) and "confirm" in refused.message
        purged = await call("delete_all_memories", {"confirm": True})
        assert purged["rows"]["events"] == 2
        assert (await call("list_memories", {"kind": "events", "session_id": "work"}))["items"] == []

    serve([*where, "--user", "maria"], scenario)
    with Memory(**opened) as mem:
        assert mem.stats({"tenant_id": "default", "user_id": "maria", "agent_id": "default",
                          "session_id": "default", "run_id": "default"})["events"] == 0


HOSTILE = [
    ("add_memory", {"text": 5}, "text"),
    ("add_memory", {}, "text"),
    ("add_memory", {"text": "x" * 300_000}, "payload"),
    ("add_memory", {"text": "hi", "user_id": ""}, "scope.user_id"),
    ("add_memory", {"text": "hi", "session_id": "s\u0000"}, "scope.session_id"),
    ("add_memory", {"text": "hi", "importance": 7}, "importance"),
    ("remember", {"fact_key": "", "value": 1}, "fact_key"),
    ("remember", {"fact_key": "k", "value": 1, "confidence": "high"}, "confidence"),
    ("remember", {"fact_key": "k", "value": {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}, "value"),
    ("search_memories", {"query": "x", "limit": 0}, "limit"),
    ("get_context", {"purpose": "chat"}, "purpose"),
    ("get_context", {"max_tokens": -1}, "max_tokens"),
    ("list_memories", {"kind": "secrets"}, "kind"),
    ("update_memory", {"memory_id": "nope", "value": 1}, "memory_id"),
    ("forget", {}, "forget"),
    ("forget", {"before": "yesterday"}, "before"),
    ("delete_all_memories", {"confirm": "yes please"}, "confirm"),
]


def test_hostile_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path: Path) -> None:
    async def scenario(session: ClientSession, call: Call) -> None:
        # No --user: a call without user_id is refused, naming it.
        missing = await call("add_memory", {"text": "hi"})
        assert isinstance(missing, ToolFailed) and "user_id: required" in missing.message
        for tool, arguments, field in HOSTILE:
            failed = await call(tool, {**arguments, "user_id": arguments.get("user_id", "maria")})
            assert isinstance(failed, ToolFailed), (tool, arguments, failed)
            assert re.search(rf"\b{re.escape(field)}\b", failed.message), (tool, field, failed.message)
            # Still serving, and nothing half-written.
            assert (await call("list_memories", {"kind": "events", "user_id": "maria"}))["items"] == []

    serve(["--db", str(tmp_path / "memory.db")], scenario)


def test_the_readme_desktop_config_starts_the_server(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(text for text in re.findall(r"```json\n(.*?)```", readme, flags=re.S) if "mcpServers" in text)
    server = json.loads(block)["mcpServers"]["engram"]
    arguments = list(server["args"])
    arguments[arguments.index("--db") + 1] = str(tmp_path / "memory.db")
    # The `engram` script pip installed next to this interpreter, as the client would run it.
    command = str(Path(sys.executable).with_name(server["command"]))

    async def scenario(session: ClientSession, call: Call) -> None:
        await call("remember", {"fact_key": "user.city", "value": "Lisbon"})
        context = await call("get_context", {"query": "where do I live?"})
        assert "user.city: Lisbon" in context["context"]

    assert arguments[0] == "mcp"
    serve(arguments[1:], scenario, command=command, prefix=[])
