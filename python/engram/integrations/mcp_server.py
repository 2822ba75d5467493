"""`engram mcp`: engram as a Model Context Protocol server over stdio, one memory per process.

Any MCP client (desktop assistants, IDE agents, frameworks with an MCP tool adapter) gets tools to
write what it learns, search it, and ask for a memory packet: the best context for a purpose within
a token budget, explained. Needs the `mcp` extra (`pip install engram-context[mcp]`).

    engram mcp --db data/engram.db --user maria          # SQLite; --dsn URL for Postgres or MySQL

Every tool takes the scope parts it needs (`user_id`, `session_id`, `agent_id`, `tenant_id`,
`run_id`) and falls back on the server's flags. A bad argument comes back as a tool error that
names the field (`text: is 70000 bytes, the limit is 65536`); the server keeps serving.
"""

from __future__ import annotations

import argparse
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, AsyncIterator, Dict, List, Literal, Optional, TypeVar

from pydantic import Field

from engram import AsyncMemory, EngramError
from engram.integrations._calls import AnyMemory, MemoryCall, acall_memory, open_arguments
from engram.types import BuildRequest, EventInput, FactInput, ForgetRequest, Json, ListQuery, Scope

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError as missing:  # pragma: no cover - the extra is missing
    raise ImportError("engram mcp needs the MCP SDK: pip install 'engram-context[mcp]'") from missing

__all__ = ["ScopeDefaults", "build_server"]

INSTRUCTIONS = (
    "Long-term memory for this user. Before answering, call get_context with the user's message as the "
    "query: it returns what you know about the user (facts, earlier conversations, procedures) within a "
    "token budget. Store each exchange with add_memory, and durable facts about the user with remember "
    "(a stable fact_key such as user.city; a new value replaces the old and keeps its history)."
)

_Result = TypeVar("_Result")

UserId = Annotated[Optional[str], Field(description="whose memory (default: the server's --user)")]
SessionId = Annotated[Optional[str], Field(description="the conversation (default: the server's --session)")]
AgentId = Annotated[Optional[str], Field(description="the agent (default: the server's --agent)")]
TenantId = Annotated[Optional[str], Field(description="the tenant (default: the server's --tenant)")]
RunId = Annotated[Optional[str], Field(description="the run (default: the session)")]


@dataclass(frozen=True)
class ScopeDefaults:
    """The scope parts a tool call leaves out."""

    tenant_id: str = "default"
    user_id: Optional[str] = None
    agent_id: str = "default"
    session_id: str = "default"

    def scope(self, user_id: Optional[str], session_id: Optional[str], agent_id: Optional[str],
              tenant_id: Optional[str], run_id: Optional[str]) -> Scope:
        user = user_id if user_id is not None else self.user_id
        if user is None:
            raise ToolError("user_id: required (the server was started without --user)")
        session = session_id if session_id is not None else self.session_id
        return {"tenant_id": tenant_id if tenant_id is not None else self.tenant_id, "user_id": user,
                "agent_id": agent_id if agent_id is not None else self.agent_id, "session_id": session,
                "run_id": run_id if run_id is not None else session}


class _Tools:
    """The tools, over one `AsyncMemory` (engram's threads do the work; the event loop never waits)."""

    def __init__(self, memory: AnyMemory, defaults: ScopeDefaults) -> None:
        self.memory = memory
        self.defaults = defaults

    async def call(self, call: MemoryCall[_Result]) -> _Result:
        """Runs an engram call (`acall_memory`); its errors become tool errors naming the field."""
        try:
            return await acall_memory(self.memory, call)
        except EngramError as error:
            raise ToolError(f"{type(error).__name__}: {error}") from error


def _why(item: Dict[str, Any]) -> Dict[str, Any]:
    """One selected item as a search hit: what it says, why it was chosen."""
    hit = {"id": item["id"], "kind": item["kind"], "text": item["text"], "score": item["score"],
           "section": item["section"], "found_by": item["sources"], "matched": item["matched_words"]}
    for optional in ("time", "evidence", "replaced", "outdated_by"):
        if item.get(optional):
            hit[optional] = item[optional]
    return hit


def build_server(memory_factory: Any, defaults: ScopeDefaults) -> MCPServer[Any]:
    """The MCP server; `memory_factory()` opens the `AsyncMemory` when the server starts (and it is
    closed when the server stops)."""
    state: Dict[str, _Tools] = {}

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[None]:
        memory = memory_factory()
        state["tools"] = _Tools(memory, defaults)
        try:
            yield None
        finally:
            await memory.close()

    server: MCPServer[Any] = MCPServer("engram", instructions=INSTRUCTIONS, lifespan=lifespan)

    def tools() -> _Tools:
        return state["tools"]

    @server.tool()
    async def add_memory(
        text: Annotated[str, Field(description="what was said or noted")],
        role: Annotated[str, Field(description="who said it: user, assistant, or note")] = "user",
        tags: Annotated[Optional[List[str]], Field(description="labels to find it by")] = None,
        importance: Annotated[Optional[float], Field(description="0..1 (default 0.5)")] = None,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Stores one message of the conversation (or a note) in the user's memory."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        event: EventInput = {"scope": scope, "kind": "message", "payload": {"role": role, "text": text},
                             "tags": tags or []}
        if importance is not None:
            event["importance"] = importance
        written = await tools().call(lambda memory: memory.append_event(event))
        return {"id": written["event_id"], "ts": written["ts"]}

    @server.tool()
    async def remember(
        fact_key: Annotated[str, Field(description="a stable dotted name, e.g. user.city")],
        value: Annotated[Json, Field(description="the value: text, number, boolean, list or object")],
        text: Annotated[Optional[str], Field(description="how it reads (default: 'fact_key: value')")] = None,
        confidence: Annotated[Optional[float], Field(description="0..1 (default 0.8)")] = None,
        tags: Annotated[Optional[List[str]], Field(description="labels to find it by")] = None,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Writes a fact about the user. A new value for a known fact_key replaces the old one, which
        stays in its history; the same value only refreshes it."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        fact: FactInput = {"scope": scope, "fact_key": fact_key, "value": value, "tags": tags or []}
        if text is not None:
            fact["text"] = text
        if confidence is not None:
            fact["confidence"] = confidence
        written = await tools().call(lambda memory: memory.upsert_fact(fact))
        return {"id": written["fact"]["fact_id"], "outcome": written["outcome"], "replaced": written["superseded"]}

    @server.tool()
    async def search_memories(
        query: Annotated[str, Field(description="what to look for")],
        limit: Annotated[int, Field(description="most results (1..50)", ge=1, le=50)] = 10,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Finds the memories that best match the query (facts, earlier turns, episodes, procedures),
        best first, each with why: the query words it matched, how it was found, its score."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        request: BuildRequest = {
            "scope": scope, "purpose": "responder", "query": query, "budget": {"max_tokens": 8000},
            "policy": {"conversation_window": 0, "context_turns": 0, "max_recall": limit, "max_facts": limit}}
        packet = await tools().call(lambda memory: memory.build_memory_packet(request))
        hits = [_why(dict(item)) for item in packet["explain"]["selected"]
                if item["kind"] in ("event", "fact", "episode", "procedure", "insight")]
        hits.sort(key=lambda hit: (-hit["score"], hit["id"]))
        return {"results": hits[:limit]}

    @server.tool()
    async def get_context(
        query: Annotated[Optional[str], Field(description="the message about to be answered")] = None,
        purpose: Annotated[Literal["responder", "planner", "tool"], Field(description="what the context is for")] = "responder",
        max_tokens: Annotated[int, Field(description="the packet's token budget", ge=1, le=200_000)] = 1000,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """The memory packet: what to know before answering, as text ready for the prompt, within
        max_tokens, with a short explanation of what was chosen and what was left out."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        request: BuildRequest = {"scope": scope, "purpose": purpose, "budget": {"max_tokens": max_tokens}}
        if query:
            request["query"] = query
        packet = await tools().call(lambda memory: memory.build_memory_packet(request))
        explain = packet["explain"]
        return {"context": packet["rendered"], "tokens": packet["meta"]["tokens"],
                "selected": [{"id": item["id"], "section": item["section"], "score": item["score"],
                              "matched": item["matched_words"]} for item in explain["selected"]],
                "left_out": dict(packet["budget_report"]["omissions"])}

    @server.tool()
    async def list_memories(
        kind: Annotated[Literal["facts", "events", "episodes", "procedures"], Field(description="what to list")] = "facts",
        limit: Annotated[int, Field(description="most results (1..1000)", ge=1, le=1000)] = 50,
        include_history: Annotated[bool, Field(description="facts: replaced versions too")] = False,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Lists the user's memories of one kind, newest first: facts (current ones, or all versions),
        the session's events, episodes or procedures."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        query: ListQuery = {"scope": scope, "limit": limit}
        items: List[Dict[str, Any]]
        if kind == "facts":
            facts_query: ListQuery = {**query, "include_inactive": include_history}
            facts = await tools().call(lambda memory: memory.list_facts(facts_query))
            items = [{"id": row["fact_id"], "fact_key": row["fact_key"], "value": row["value"], "text": row["text"],
                      "status": row["status"], "since": row["valid_from"]} for row in facts]
        elif kind == "events":
            events = await tools().call(lambda memory: memory.list_events({"scope": scope, "limit": limit}))
            items = [{"id": row["event_id"], "role": row["role"], "text": row["text"], "ts": row["ts"]}
                     for row in events]
        elif kind == "episodes":
            episodes = await tools().call(lambda memory: memory.list_episodes(query))
            items = [{"id": row["episode_id"], "summary": row["summary"], "start": row["start_ts"], "end": row["end_ts"]}
                     for row in episodes]
        else:
            procedures = await tools().call(lambda memory: memory.list_procedures(query))
            items = [{"id": row["procedure_id"], "title": row["title"], "steps": row["steps"]} for row in procedures]
        return {"kind": kind, "items": items}

    @server.tool()
    async def update_memory(
        memory_id: Annotated[str, Field(description="the id of a fact (from remember or list_memories)")],
        value: Annotated[Json, Field(description="its new value")],
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Gives a fact a new value: the current version is replaced and kept in its history. Messages
        are a record of what was said and are not edited: delete one, or add a new one."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        fact = await _fact(tools(), scope, memory_id)
        if fact is None:
            raise ToolError(f"memory_id: no fact {memory_id!r} of this user (messages are not edited)")
        update: FactInput = {"scope": scope, "fact_key": fact["fact_key"], "value": value}
        written = await tools().call(lambda memory: memory.upsert_fact(update))
        return {"id": written["fact"]["fact_id"], "outcome": written["outcome"], "replaced": written["superseded"]}

    @server.tool()
    async def delete_memory(
        memory_id: Annotated[str, Field(description="the id of a message or a fact")],
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Deletes one memory: a message, or a fact with every version of its key. Returns what was
        deleted, table by table."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        fact = await _fact(tools(), scope, memory_id)
        if fact is not None:
            receipt = await tools().call(lambda memory: memory.delete_fact(scope, fact["fact_key"]))
        else:
            receipt = await tools().call(lambda memory: memory.delete_event(scope, memory_id))
        return dict(receipt)

    @server.tool()
    async def delete_all_memories(
        confirm: Annotated[bool, Field(description="must be true: everything of the user is deleted")],
        user_id: UserId = None, tenant_id: TenantId = None,
    ) -> Dict[str, Any]:
        """Deletes everything of the user in every session and agent (records, state, indexes) and
        returns the receipt, table by table. Not undoable."""
        if not confirm:
            raise ToolError("confirm: must be true to delete every memory of the user")
        scope = tools().defaults.scope(user_id, None, None, tenant_id, None)
        receipt = await tools().call(lambda memory: memory.purge_user(scope["tenant_id"], scope["user_id"]))
        return dict(receipt)

    @server.tool()
    async def forget(
        tags: Annotated[Optional[List[str]], Field(description="memories carrying all of these tags")] = None,
        before: Annotated[Optional[str], Field(description="memories older than this time (RFC 3339)")] = None,
        kinds: Annotated[Optional[List[Literal["event", "fact", "episode", "procedure", "insight"]]],
                         Field(description="only these kinds")] = None,
        session_only: Annotated[bool, Field(description="only the session's")] = False,
        user_id: UserId = None, session_id: SessionId = None, agent_id: AgentId = None,
        tenant_id: TenantId = None, run_id: RunId = None,
    ) -> Dict[str, Any]:
        """Deletes the user's memories matching every filter given (at least one of tags, before,
        kinds) and returns the receipt."""
        scope = tools().defaults.scope(user_id, session_id, agent_id, tenant_id, run_id)
        request: ForgetRequest = {"scope": scope, "session_only": session_only}
        if tags is not None:
            request["tags"] = tags
        if before is not None:
            request["before"] = before
        if kinds is not None:
            request["kinds"] = kinds
        return dict(await tools().call(lambda memory: memory.forget(request)))

    return server


async def _fact(tools: _Tools, scope: Scope, fact_id: str) -> Optional[Dict[str, Any]]:
    """The user's fact version with this id, if there is one (a bounded read: facts are few)."""
    query: ListQuery = {"scope": scope, "limit": 10_000, "include_inactive": True}
    facts = await tools.call(lambda memory: memory.list_facts(query))
    return next((dict(fact) for fact in facts if fact["fact_id"] == fact_id), None)


def run(args: argparse.Namespace) -> int:
    """`engram mcp`: serves over stdio until the client closes it."""
    defaults = ScopeDefaults(tenant_id=args.tenant, user_id=args.user, agent_id=args.agent, session_id=args.session)

    def open_memory() -> AsyncMemory:
        if args.dsn is not None:
            return AsyncMemory(dsn=args.dsn, database=args.database)
        return AsyncMemory(**open_arguments(args.db))

    build_server(open_memory, defaults).run("stdio")
    return 0
