"""engram for LangGraph: memory around a graph's nodes.

    from engram.integrations.langchain import scope_from_config
    from engram.integrations.langgraph import EngramNodeMiddleware

    remember = EngramNodeMiddleware(memory, scope_from_config(agent_id="concierge"))

    @remember
    def agent(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("agent", agent).add_edge(START, "agent").compile()
    graph.invoke({"messages": [("user", "Where should we eat?")]},
                 {"configurable": {"user_id": "u1", "thread_id": "s1"}})

Needs `langgraph` (`pip install engram-context[langgraph]`). Messages are stored as
`engram.integrations.langchain` stores them (`message_to_event`).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union, get_type_hints

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from engram.integrations._calls import AnyMemory, acall_memory, call_memory
from engram.integrations.langchain import (
    MEMORY_CONTEXT_MESSAGE_ID,
    latest_human_text,
    message_to_event,
    packet_request,
    with_memory_context,
)
from engram.types import Budget, BuildRequest, EventInput, Policy, Purpose, Scope

from engram.integrations._checkpoint import EngramCheckpointer
from engram.integrations._store import EngramStore

__all__ = [
    "EngramCheckpointer",
    "EngramNodeMiddleware",
    "EngramStore",
    "StateScopeSource",
]

StateScopeSource = Union[Scope, Callable[[RunnableConfig, Mapping[str, Any]], Scope]]
"""A fixed scope, or a function of the run's config and the node's input state giving one
(`engram.integrations.langchain.scope_from_config` is one)."""


class EngramNodeMiddleware:
    """Wraps LangGraph node functions with engram memory: context before the node, a record after.

    Before the node: builds a memory packet for `purpose` (within `budget`, under `policy`) whose
    query is the text of the latest human message in `state[messages_key]`, then calls the node
    with a copy of the state in which
      - `state[context_key]` (`"memory_context"`) is the rendered packet (`""` when memory has
        nothing), for nodes that build their own prompt, and
      - with `system_message=True` (the default), `state[messages_key]` carries the rendered packet
        as a `SystemMessage` (id `MEMORY_CONTEXT_MESSAGE_ID`), first or right after a leading
        system message, so `model.invoke(state["messages"])` sees the memory.
    Neither reaches the graph's state: the node's return value alone updates it.

    After the node (with `record=True`): appends, in one transaction, the turn's new input (the
    input messages after the last AI message: the user's new message, tool results) and the
    messages the node returned (in a state update or a `Command`'s update; messages replacing an
    input message by id, `RemoveMessage`s and the memory context message are left out). Later
    packets see them: the conversation window of the session, recall from any later session.
    Wrap every node whose messages should be remembered; a node that raises records nothing.

    `scope` is a scope or a function `(config, state) -> Scope`. Node functions may be sync or
    async and may take `config` (or any other argument LangGraph injects: `runtime`, `store`,
    `writer`); the wrapper passes them on. An async node awaits an `AsyncMemory` directly and
    runs a `Memory`'s calls on a worker thread; a sync node with an `AsyncMemory` runs its calls
    on a private event loop. States must be mappings (TypedDict states such as `MessagesState`).
    """

    def __init__(
        self,
        memory: AnyMemory,
        scope: StateScopeSource,
        *,
        purpose: Purpose = "responder",
        budget: Optional[Budget] = None,
        policy: Optional[Policy] = None,
        task_type: Optional[str] = None,
        messages_key: str = "messages",
        context_key: str = "memory_context",
        system_message: bool = True,
        record: bool = True,
    ) -> None:
        self.memory = memory
        self.scope = scope
        self.purpose: Purpose = purpose
        self.budget = budget
        self.policy = policy
        self.task_type = task_type
        self.messages_key = messages_key
        self.context_key = context_key
        self.system_message = system_message
        self.record = record

    def __call__(self, node: Callable[..., Any]) -> Callable[..., Any]:
        """The node wrapped (usable as a decorator). LangGraph sees the node's own signature, name
        and type hints, plus a `config` argument the wrapper needs."""
        parameters = inspect.signature(node).parameters
        node_takes_config = "config" in parameters

        def prepare(state: Any, config: RunnableConfig) -> Tuple[Mapping[str, Any], Scope, List[BaseMessage]]:
            if not isinstance(state, Mapping):
                raise TypeError(f"EngramNodeMiddleware needs a mapping state, got {type(state).__name__}")
            return state, self._scope(config, state), convert_to_messages(state.get(self.messages_key) or [])

        def node_arguments(kwargs: Dict[str, Any], config: RunnableConfig) -> Dict[str, Any]:
            if node_takes_config:
                return {**kwargs, "config": config}
            return kwargs

        if inspect.iscoroutinefunction(node):

            async def wrapped_async(state: Any, config: Optional[RunnableConfig] = None, **kwargs: Any) -> Any:
                run_config: RunnableConfig = config or {}
                mapping, scope, messages = prepare(state, run_config)
                request = self._request(scope, messages)
                packet = await acall_memory(self.memory, lambda memory: memory.build_memory_packet(request))
                result = await node(self._node_state(mapping, messages, packet["rendered"]),
                                    **node_arguments(kwargs, run_config))
                events = self._events(scope, messages, result)
                if events:
                    await acall_memory(self.memory, lambda memory: memory.append_events(events))
                return result

            wrapped: Callable[..., Any] = wrapped_async
        else:

            def wrapped_sync(state: Any, config: Optional[RunnableConfig] = None, **kwargs: Any) -> Any:
                run_config: RunnableConfig = config or {}
                mapping, scope, messages = prepare(state, run_config)
                request = self._request(scope, messages)
                packet = call_memory(self.memory, lambda memory: memory.build_memory_packet(request))
                result = node(self._node_state(mapping, messages, packet["rendered"]),
                              **node_arguments(kwargs, run_config))
                events = self._events(scope, messages, result)
                if events:
                    call_memory(self.memory, lambda memory: memory.append_events(events))
                return result

            wrapped = wrapped_sync

        functools.update_wrapper(wrapped, node)
        # LangGraph injects keyword arguments by the signature it reads (`__signature__`, which
        # `inspect.signature` prefers to `__wrapped__`): the node's, with the `config` we need.
        signature_parameters = list(parameters.values())
        if not node_takes_config:
            config_parameter = inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None,
                                                 annotation=RunnableConfig)
            position = len(signature_parameters)
            if signature_parameters and signature_parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
                position -= 1
            signature_parameters.insert(position, config_parameter)
        setattr(wrapped, "__signature__", inspect.signature(node).replace(parameters=signature_parameters))
        # LangGraph reads the input schema from the first parameter's type hint; resolve the
        # node's hints in its own module (the wrapper's globals are this module's).
        try:
            wrapped.__annotations__ = dict(get_type_hints(node))
        except Exception:  # unresolvable hints: LangGraph falls back to the graph's state schema
            wrapped.__annotations__ = {}
        return wrapped

    def _scope(self, config: RunnableConfig, state: Mapping[str, Any]) -> Scope:
        if callable(self.scope):
            return self.scope(config, state)
        return self.scope

    def _request(self, scope: Scope, messages: Sequence[BaseMessage]) -> BuildRequest:
        return packet_request(scope, self.purpose, latest_human_text(messages), self.budget, self.policy,
                              self.task_type)

    def _node_state(self, state: Mapping[str, Any], messages: Sequence[BaseMessage], rendered: str) -> Dict[str, Any]:
        node_state = dict(state)
        node_state[self.context_key] = rendered
        if self.system_message and rendered.strip():
            node_state[self.messages_key] = with_memory_context(messages, rendered)
        return node_state

    def _events(self, scope: Scope, messages: Sequence[BaseMessage], result: Any) -> List[EventInput]:
        """The events recording a node call: the turn's new input, then the node's new messages."""
        if not self.record:
            return []
        last_ai = max((index for index, message in enumerate(messages) if isinstance(message, AIMessage)),
                      default=-1)
        turn_input = [message for message in messages[last_ai + 1:] if message.id != MEMORY_CONTEXT_MESSAGE_ID]
        input_ids: Set[str] = {message.id for message in messages if message.id}
        produced = [
            message
            for message in self._returned_messages(result)
            if not isinstance(message, RemoveMessage)
            and message.id != MEMORY_CONTEXT_MESSAGE_ID
            and not (message.id and message.id in input_ids)
        ]
        return [message_to_event(message, scope) for message in [*turn_input, *produced]]

    def _returned_messages(self, result: Any) -> List[BaseMessage]:
        """The messages in a node's return value: its update's `messages_key` entry, for a dict,
        a `Command` (or a list of them), or `None`."""
        if isinstance(result, Command):
            return self._returned_messages(result.update)
        if isinstance(result, (list, tuple)):
            if all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in result):
                # A Command's update may be a list of (key, value) pairs.
                return [message for key, value in result if key == self.messages_key
                        for message in _as_messages(value)]
            return [message for item in result for message in self._returned_messages(item)]
        if isinstance(result, Mapping) and self.messages_key in result:
            return _as_messages(result[self.messages_key])
        return []


def _as_messages(value: Any) -> List[BaseMessage]:
    """A state update's messages value (one message-like or a list of them) as messages."""
    if value is None:
        return []
    if isinstance(value, (BaseMessage, str, dict)) or (isinstance(value, tuple) and len(value) == 2
                                                       and isinstance(value[0], str)):
        value = [value]
    return list(convert_to_messages(value))
