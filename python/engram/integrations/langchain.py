"""engram for LangChain: a chat message history over a session's events, and a runnable that puts
the memory packet in front of a chat model.

    from engram import Memory
    from engram.integrations.langchain import EngramChatMessageHistory, EngramContextInjector

    memory = Memory(path="data/engram.db")
    history = EngramChatMessageHistory(memory, scope, window=50)
    # The history carries the conversation, so the packet leaves its conversation window out.
    chain = EngramContextInjector(memory, scope, policy={"conversation_window": 0}) | chat_model
    reply = chain.invoke(history.messages + [HumanMessage("Where should we eat tonight?")])
    history.add_messages([HumanMessage("Where should we eat tonight?"), reply])

Both take a `Memory` or an `AsyncMemory`; their async methods (`aget_messages`, `aadd_messages`,
`aclear`, `ainvoke`) await an `AsyncMemory` directly and run a `Memory`'s calls on a worker
thread. Their sync methods, given an `AsyncMemory`, run its call to completion on a private event
loop, which is only possible where no event loop is running (inside one, use the async methods).

Needs `langchain-core` (`pip install engram-context[langchain]`).

How a message is stored (`message_to_event`, `event_to_message`): one event in the scope's run,
kind `system` for system messages, `tool_result` for tool and function messages, `tool_call` for
an AI message that only calls tools, `message` otherwise (only these enter a packet's
conversation window). The payload holds `role` (`user`, `assistant`, `system`, `tool`, `function`,
or a `ChatMessage`'s role), `text` (the message's text, which engram indexes, counts and renders),
`type` (LangChain's message type) and every other field of the message that is not at its default:
`content` when it is not just the text (content blocks, or an empty content beside tool calls),
`tool_calls`, `tool_call_id`, `name`, `id`, `additional_kwargs`, `response_metadata`,
`usage_metadata`, `artifact`, `status`, in their JSON form. Reading the event back gives an equal
message (for fields that are JSON to begin with, as LangChain's are). Events
written by other code (a payload without a LangChain `type`) read back by their role: `user` as a
`HumanMessage`, `assistant` as an `AIMessage`, `system` as a `SystemMessage`, `tool` with a
`tool_call_id` as a `ToolMessage`, anything else as a `ChatMessage` with that role.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from typing import (
    Any, Callable, Dict, List, Mapping, Optional, Sequence, Union, cast,
)

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
    messages_from_dict,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig

from engram.integrations._calls import AnyMemory, Steps, acall_memory, arun_steps, call_memory, run_steps
from engram.types import (
    Budget,
    BuildRequest,
    Event,
    EventInput,
    EventKind,
    EventQuery,
    ForgetRequest,
    MemoryPacket,
    Policy,
    Purpose,
    Scope,
)

__all__ = [
    "AnyMemory",
    "BuiltMessages",
    "EngramChatMessageHistory",
    "EngramContextInjector",
    "HISTORY_EVENT_KINDS",
    "InjectorInput",
    "MEMORY_CONTEXT_MESSAGE_ID",
    "MESSAGE_CACHE_CAPACITY",
    "ScopeSource",
    "content_text",
    "event_to_message",
    "built_messages",
    "message_to_event",
    "scope_from_config",
]


HISTORY_EVENT_KINDS: List[EventKind] = ["message", "tool_call", "tool_result", "system"]
"""The event kinds a chat history reads back: the kinds `message_to_event` writes."""

MEMORY_CONTEXT_MESSAGE_ID = "engram-memory-context"
"""The id of the `SystemMessage` that carries a memory packet into a prompt."""

# LangChain's message types `messages_from_dict` rebuilds (`remove` is an instruction, not a message).
_MESSAGE_TYPES = frozenset(
    {
        "human",
        "ai",
        "system",
        "chat",
        "function",
        "tool",
        "HumanMessageChunk",
        "AIMessageChunk",
        "SystemMessageChunk",
        "ChatMessageChunk",
        "FunctionMessageChunk",
        "ToolMessageChunk",
    }
)
# Payload keys the codec owns; every other payload key is a field of the message.
_PAYLOAD_KEYS = frozenset({"role", "text", "type"})

# --- messages <-> events ----------------------------------------------------------------


def content_text(content: Union[str, Sequence[Union[str, Mapping[str, Any]]]]) -> str:
    """The text of a message's content: the string itself, or its text parts (plain strings and
    `{"type": "text", "text": ...}` blocks) joined by newlines; other blocks (images, ...) have none."""
    if isinstance(content, str):
        return content
    parts: List[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "\n".join(parts)


def _role_of(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return message.role
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, FunctionMessage):
        return "function"
    return message.type


def _kind_of(message: BaseMessage, text: str) -> EventKind:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, (ToolMessage, FunctionMessage)):
        return "tool_result"
    if isinstance(message, AIMessage) and message.tool_calls and not text:
        return "tool_call"
    return "message"


def message_to_event(message: BaseMessage, scope: Scope) -> EventInput:
    """The event that stores `message` in `scope`'s run (see the module's docs for the payload).
    Every field must be JSON-representable (`InvalidInputError` from engram otherwise); a
    `RemoveMessage` is an instruction, not a message, and raises `TypeError`."""
    if isinstance(message, RemoveMessage):
        raise TypeError("a RemoveMessage is not a message to store; delete events with forget or delete_event")
    fields: Dict[str, Any] = message.model_dump(mode="json", exclude_defaults=True)
    fields.pop("type", None)
    content = fields.pop("content", message.content)
    text = content_text(message.content)
    kind = _kind_of(message, text)
    if kind == "tool_call" and isinstance(message, AIMessage):
        # A call without words: the calls are the text engram indexes and renders.
        text = "; ".join(
            f"{call['name']} {json.dumps(call['args'], ensure_ascii=False, sort_keys=True)}"
            for call in message.tool_calls
        )
    payload: Dict[str, Any] = {"role": _role_of(message), "text": text, "type": message.type}
    if content != text:
        payload["content"] = content
    for key, value in fields.items():
        if key not in _PAYLOAD_KEYS:
            payload[key] = value
    return {"scope": scope, "kind": kind, "payload": payload}


def event_to_message(event: Event) -> BaseMessage:
    """The message an event stores: the one `message_to_event` was given, or, for an event
    another writer made, a message built from its role and text (see the module's docs)."""
    payload = event["payload"]
    if isinstance(payload, dict) and payload.get("type") in _MESSAGE_TYPES:
        fields = {key: value for key, value in payload.items() if key not in _PAYLOAD_KEYS}
        fields.setdefault("content", payload.get("text", event["text"]))
        if payload["type"] in ("chat", "ChatMessageChunk"):
            fields["role"] = payload.get("role", event["role"])
        return messages_from_dict([{"type": payload["type"], "data": fields}])[0]
    role, text = event["role"], event["text"]
    if role == "user":
        return HumanMessage(content=text)
    if role == "assistant":
        return AIMessage(content=text)
    if role == "system":
        return SystemMessage(content=text)
    if role == "tool" and isinstance(payload, dict) and isinstance(payload.get("tool_call_id"), str):
        return ToolMessage(content=text, tool_call_id=payload["tool_call_id"])
    return ChatMessage(role=role, content=text)


# --- scopes -----------------------------------------------------------------------------


ScopeSource = Union[Scope, Callable[[RunnableConfig], Scope]]
"""A fixed scope, or a function of the run's config that gives one (see `scope_from_config`)."""


def scope_from_config(
    *, tenant_id: str = "default", agent_id: str = "agent", user_id: Optional[str] = None
) -> Callable[..., Scope]:
    """A scope source reading `config["configurable"]`: each scope part is the configurable key of
    its name when present; otherwise `session_id` is the `thread_id`, `run_id` the session id, and
    `tenant_id`, `agent_id`, `user_id` the values given here. `ValueError` names a part that is
    still missing. The function takes `(config)` or `(config, state)`, so it fits both
    `EngramContextInjector` and `EngramNodeMiddleware`."""

    def resolve(config: Optional[RunnableConfig], state: Any = None) -> Scope:
        configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}

        def part(name: str, fallback: Optional[str]) -> str:
            value = configurable.get(name, fallback)
            if not isinstance(value, str) or not value:
                raise ValueError(f"scope.{name}: missing; set config['configurable']['{name}']")
            return value

        session_id = part("session_id", configurable.get("thread_id"))
        return {
            "tenant_id": part("tenant_id", tenant_id),
            "user_id": part("user_id", user_id),
            "agent_id": part("agent_id", agent_id),
            "session_id": session_id,
            "run_id": part("run_id", session_id),
        }

    return resolve


def resolve_scope(source: ScopeSource, config: Optional[RunnableConfig]) -> Scope:
    """The scope a source gives for a run's config."""
    if callable(source):
        return source(config or {})
    return source


# --- the chat message history -----------------------------------------------------------


MESSAGE_CACHE_CAPACITY = 20_000
"""How many built messages `BuiltMessages` keeps per memory object (read when a memory's first
history reads: set it before that)."""


class BuiltMessages:
    """The messages histories built from events, by event sequence, for one memory object (one
    store: sequences are unique in it), shared by every `EngramChatMessageHistory` over it. At
    most `capacity` are kept; past it, the first built go first (older events leave windows
    first). A message dropped while a window still holds its event is built again when read."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.messages: Dict[int, BaseMessage] = {}
        self._lock = threading.Lock()

    def add(self, built: Mapping[int, BaseMessage]) -> None:
        with self._lock:
            self.messages.update(built)
            excess = len(self.messages) - self.capacity
            if excess > 0:
                for sequence in list(itertools.islice(self.messages, excess)):
                    del self.messages[sequence]


_built_by_memory: "weakref.WeakKeyDictionary[Any, BuiltMessages]" = weakref.WeakKeyDictionary()
_built_by_memory_lock = threading.Lock()


def built_messages(memory: AnyMemory) -> BuiltMessages:
    """The `BuiltMessages` of `memory`, made on first use (with `MESSAGE_CACHE_CAPACITY`) and
    gone with it."""
    with _built_by_memory_lock:
        built = _built_by_memory.get(memory)
        if built is None:
            built = _built_by_memory[memory] = BuiltMessages(MESSAGE_CACHE_CAPACITY)
        return built


class EngramChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat message history kept as engram events of one session.

    `messages` is the session's latest `window` messages (every run of the session), oldest
    first: one indexed read of at most `window` events, however long the session. Messages are
    written to `scope`'s run, where engram's packets see them (conversation window, recall in
    later sessions). Order is exact: engram orders a session's events by time, to the
    millisecond, then by insertion, so messages added in one millisecond keep the order they
    were added in.

    `add_messages` writes all its messages in one transaction (at most the store's `max_batch`,
    10,000 by default), all or none. `clear` deletes every event of the session, of every run and
    kind, whoever wrote it, with their index rows.

    Each message is built once: built messages are kept by event sequence (events never change,
    and a sequence is never reused), shared by every history over the same memory object (see
    `BuiltMessages`), so a history made per request, as `RunnableWithMessageHistory` makes them,
    finds what the last one built. Every read still asks the store which events the window holds,
    from its index alone, so it sees what other writers added or deleted; it then reads only the
    events no history has built yet. In an agent loop that reads the history, adds a turn and
    reads again, a read costs the new messages, not the window. The messages of two reads are
    the same objects: treat them as read-only, as with LangChain's in-memory history (`copy()`
    one to change it).
    """

    def __init__(self, memory: AnyMemory, scope: Scope, *, window: int = 100) -> None:
        if window < 1:
            raise ValueError(f"window: must be at least 1, got {window}")
        self.memory = memory
        self.scope = scope
        self.window = window

    def _query(self) -> EventQuery:
        return {"scope": self.scope, "session_wide": True, "kinds": HISTORY_EVENT_KINDS, "limit": self.window}

    def _read(self) -> Steps[List[BaseMessage]]:
        """The read of `messages` and `aget_messages`, as engram calls (see `Steps`). First the
        window's sequences, newest first; then, if no history over this memory has built some of
        those events' messages yet, the newest events down to the oldest such one, in one read.
        Should the window have changed between the two reads, it is read whole, in one read."""
        query = self._query()
        sequences: List[int] = yield "list_event_sequences", query
        shared = built_messages(self.memory)
        # Looked up once: another thread's read may drop messages from the shared ones meanwhile.
        known = [shared.messages.get(sequence) for sequence in sequences]
        unknown = [index for index, message in enumerate(known) if message is None]
        if unknown:
            head = unknown[-1] + 1
            events: List[Event] = yield "list_events", {**query, "limit": head, "with_sequences": True}
            if [event.get("sequence") for event in events] != sequences[:head]:
                events = yield "list_events", {**query, "with_sequences": True}
                sequences = [event["sequence"] for event in events]
                known = [shared.messages.get(sequence) for sequence in sequences]
            # The events read are the window's newest, in the order of `known` (newest first);
            # kept oldest first, so that the oldest go first.
            fresh = {event["sequence"]: event_to_message(event)
                     for event, message in reversed(list(zip(events, known))) if message is None}
            shared.add(fresh)
            known = [message if message is not None else fresh[sequence] for sequence, message in zip(sequences, known)]
        return cast(List[BaseMessage], known[::-1])

    @property
    def messages(self) -> List[BaseMessage]:  # type: ignore[override]  # LangChain declares an attribute; here it is a read of the store
        """The session's latest `window` messages, oldest first."""
        return run_steps(self.memory, self._read())

    async def aget_messages(self) -> List[BaseMessage]:
        """`messages`, without blocking the event loop."""
        return await arun_steps(self.memory, self._read())

    def _events(self, messages: Sequence[BaseMessage]) -> List[EventInput]:
        return [message_to_event(message, self.scope) for message in messages]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Appends the messages, in order, in one transaction."""
        events = self._events(messages)
        if events:
            call_memory(self.memory, lambda memory: memory.append_events(events))

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """`add_messages`, without blocking the event loop."""
        events = self._events(messages)
        if events:
            await acall_memory(self.memory, lambda memory: memory.append_events(events))

    def _forget(self) -> ForgetRequest:
        return {"scope": self.scope, "session_only": True, "kinds": ["event"]}

    def clear(self) -> None:
        """Deletes every event of the session."""
        request = self._forget()
        call_memory(self.memory, lambda memory: memory.forget(request))

    async def aclear(self) -> None:
        """`clear`, without blocking the event loop."""
        request = self._forget()
        await acall_memory(self.memory, lambda memory: memory.forget(request))


# --- the context injector ---------------------------------------------------------------


InjectorInput = Union[str, BaseMessage, Sequence[Any], Mapping[str, Any], PromptValue]
"""What `EngramContextInjector` takes: a string (a human message), a message or a list of
message-likes, a dict with `messages` (or else `input`), or a prompt value."""


def input_messages(value: Any) -> List[BaseMessage]:
    """The messages a chain input stands for (see `InjectorInput`); `TypeError` otherwise."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, Mapping):
        for key in ("messages", "input"):
            if key in value:
                return input_messages(value[key])
        raise TypeError(f"a dict input needs a 'messages' or an 'input' key, got {sorted(value)}")
    if isinstance(value, Sequence):
        return convert_to_messages(value)
    raise TypeError(f"cannot read messages from {type(value).__name__}")


def latest_human_text(messages: Sequence[BaseMessage]) -> Optional[str]:
    """The text of the last human (or `user`-role chat) message, or `None` when there is none."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage) or (isinstance(message, ChatMessage) and message.role == "user"):
            return content_text(message.content)
    return None


def with_memory_context(messages: Sequence[BaseMessage], rendered: str) -> List[BaseMessage]:
    """`messages` with a `SystemMessage` holding `rendered` (id `MEMORY_CONTEXT_MESSAGE_ID`) first,
    or second when the first is already a system message; unchanged when `rendered` is blank."""
    result = list(messages)
    if not rendered.strip():
        return result
    position = 1 if result and isinstance(result[0], SystemMessage) else 0
    result.insert(position, SystemMessage(content=rendered, id=MEMORY_CONTEXT_MESSAGE_ID))
    return result


def packet_request(
    scope: Scope,
    purpose: Purpose,
    query: Optional[str],
    budget: Optional[Budget],
    policy: Optional[Policy],
    task_type: Optional[str],
) -> BuildRequest:
    """A build request with only the parts given."""
    request: BuildRequest = {"scope": scope, "purpose": purpose}
    if query:
        request["query"] = query
    if budget is not None:
        request["budget"] = budget
    if policy is not None:
        request["policy"] = policy
    if task_type is not None:
        request["task_type"] = task_type
    return request


class EngramContextInjector(Runnable[InjectorInput, List[BaseMessage]]):
    """A runnable that puts engram's memory in front of a chat model: `injector | chat_model`.

    It reads the chain input as messages (see `InjectorInput`), builds a memory packet for
    `purpose` with the latest human message's text as the query (within `budget`, under
    `policy`), and returns the messages with a `SystemMessage` holding `packet["rendered"]` (id
    `MEMORY_CONTEXT_MESSAGE_ID`) first, or right after a leading system message. When memory has
    nothing to say (an empty packet) the messages come back unchanged. It writes nothing.

    `scope` is a scope, or a function of the run's config giving one (`scope_from_config`). The
    responder packet includes the session's conversation window: when the chain already carries
    the conversation (a history), pass `policy={"conversation_window": 0}` to not repeat it.
    `last_packet` is the packet the latest call built (for its `explain`).
    """

    def __init__(
        self,
        memory: AnyMemory,
        scope: ScopeSource,
        purpose: Purpose = "responder",
        budget: Optional[Budget] = None,
        policy: Optional[Policy] = None,
        *,
        task_type: Optional[str] = None,
    ) -> None:
        self.memory = memory
        self.scope = scope
        self.purpose: Purpose = purpose
        self.budget = budget
        self.policy = policy
        self.task_type = task_type
        self.last_packet: Optional[MemoryPacket] = None

    def _request(self, messages: Sequence[BaseMessage], config: RunnableConfig) -> BuildRequest:
        return packet_request(resolve_scope(self.scope, config), self.purpose, latest_human_text(messages),
                              self.budget, self.policy, self.task_type)

    def _inject(
        self, value: InjectorInput, run_manager: CallbackManagerForChainRun, config: RunnableConfig
    ) -> List[BaseMessage]:
        messages = input_messages(value)
        request = self._request(messages, config)
        packet = call_memory(self.memory, lambda memory: memory.build_memory_packet(request))
        self.last_packet = packet
        return with_memory_context(messages, packet["rendered"])

    async def _ainject(
        self, value: InjectorInput, run_manager: AsyncCallbackManagerForChainRun, config: RunnableConfig
    ) -> List[BaseMessage]:
        messages = input_messages(value)
        request = self._request(messages, config)
        packet = await acall_memory(self.memory, lambda memory: memory.build_memory_packet(request))
        self.last_packet = packet
        return with_memory_context(messages, packet["rendered"])

    def invoke(self, input: InjectorInput, config: Optional[RunnableConfig] = None, **kwargs: Any) -> List[BaseMessage]:
        """The input's messages with the memory context inserted."""
        return self._call_with_config(self._inject, input, config)

    async def ainvoke(
        self, input: InjectorInput, config: Optional[RunnableConfig] = None, **kwargs: Any
    ) -> List[BaseMessage]:
        """`invoke`, without blocking the event loop."""
        return await self._acall_with_config(self._ainject, input, config)
