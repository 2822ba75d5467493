"""`EngramCheckpointer`: LangGraph's own conformance suite (langgraph-checkpoint-conformance,
every base and extended capability) on SQLite, Postgres and MySQL; prune keeping what a
`DeltaChannel` needs; a compiled graph resuming from engram."""

from __future__ import annotations

import asyncio
import operator
import socket
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Dict, List, TypedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("langgraph.checkpoint.conformance")

from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402
from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402

from conftest import long_tests, report_figures, server_kwargs  # noqa: E402
from engram import AsyncMemory, BackendUnavailableError, InvalidInputError, Memory  # noqa: E402
from engram.integrations.langgraph import EngramCheckpointer  # noqa: E402

BACKENDS = ["sqlite", "postgres", "mysql"]


def open_arguments(backend: str, tmp_path: Path) -> Dict[str, Any]:
    if backend == "sqlite":
        return {"path": tmp_path / "checkpoints.db"}
    return server_kwargs(backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_langgraph_conformance_suite_passes_every_capability(backend: str, tmp_path: Path) -> None:
    arguments = open_arguments(backend, tmp_path)

    @checkpointer_test(name=f"EngramCheckpointer[{backend}]")
    async def saver() -> AsyncIterator[EngramCheckpointer]:
        memory, async_memory = Memory(**arguments), AsyncMemory(**arguments)
        yield EngramCheckpointer(memory, async_memory=async_memory)
        memory.close()
        await async_memory.close()

    report = asyncio.run(validate(saver))
    results = report.to_dict()["results"]
    failures = {name: result["failures"] for name, result in results.items() if result["passed"] is not True}
    assert not failures, failures
    assert set(results) == {capability.value for capability in ALL_CAPABILITIES}, "all 8 capabilities ran"
    assert report.conformance_level() == "FULL"
    report_figures(f"langgraph checkpoint conformance ({backend})", level=report.conformance_level(),
                   **{name: f"{result['tests_passed']} passed" for name, result in sorted(results.items())})


def put_chain(saver: EngramCheckpointer, thread_id: str, delta_values: List[Any]) -> List[Dict[str, Any]]:
    """A linear thread whose channel "d" is a delta channel: `delta_values[i]` is the value
    checkpoint i holds for it (None: only the version, as DeltaChannel writes between snapshots),
    and each checkpoint has one pending write to "d"."""
    configs: List[Dict[str, Any]] = []
    parent: Dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    for index, value in enumerate(delta_values):
        checkpoint = empty_checkpoint()
        checkpoint["channel_versions"] = {"d": f"{index + 1:032}.0", "plain": f"{index + 1:032}.0"}
        checkpoint["channel_values"] = {"plain": index} if value is None else {"plain": index, "d": value}
        stored = saver.put(parent, checkpoint, {"source": "loop", "step": index}, {})
        saver.put_writes(stored, [("d", f"delta-{index}")], task_id=f"task-{index}")
        configs.append(stored)
        parent = stored
    return configs


@pytest.mark.parametrize("backend", BACKENDS)
def test_prune_keeps_the_ancestors_a_delta_channel_needs(backend: str, tmp_path: Path) -> None:
    with Memory(**open_arguments(backend, tmp_path)) as memory:
        saver = EngramCheckpointer(memory)
        # c0 and c1 hold a value of "d" (a snapshot), c2 and c3 only deltas: rebuilding "d" at c3
        # needs c2's and c1's writes and c1's value; c0 is not needed.
        configs = put_chain(saver, "delta", [["c0"], ["c0", "c1"], None, None])
        latest = configs[-1]
        before = saver.get_delta_channel_history(config=latest, channels=["d"])
        assert before["d"]["seed"] == ["c0", "c1"]
        assert [write[2] for write in before["d"]["writes"]] == ["delta-1", "delta-2"]

        put_chain(saver, "plain", [["x"], ["y"], ["z"]])
        saver.prune(["delta", "plain"], strategy="keep_latest")

        kept = [item.config["configurable"]["checkpoint_id"] for item in saver.list({"configurable": {"thread_id": "delta"}})]
        assert kept == [config["configurable"]["checkpoint_id"] for config in reversed(configs[1:])], "c0 pruned"
        assert saver.get_delta_channel_history(config=latest, channels=["d"]) == before
        assert len(list(saver.list({"configurable": {"thread_id": "plain"}}))) == 1, "no delta: latest only"
        tuple_ = saver.get_tuple(latest)
        assert tuple_ is not None and tuple_.pending_writes == [("task-3", "d", "delta-3")]


class Tally(TypedDict):
    steps: Annotated[List[str], operator.add]


def test_a_compiled_graph_resumes_its_thread_from_engram(tmp_path: Path) -> None:
    graph = StateGraph(Tally)
    graph.add_node("step", lambda state: {"steps": [f"step {len(state['steps']) + 1}"]})
    graph.add_edge(START, "step")
    graph.add_edge("step", END)
    config = {"configurable": {"thread_id": "t1"}}
    path = str(tmp_path / "graph.db")
    with EngramCheckpointer.from_conn_string(path) as saver:
        saver.setup()
        saver.setup()  # idempotent
        assert graph.compile(checkpointer=saver).invoke({"steps": []}, config)["steps"] == ["step 1"]
    with EngramCheckpointer.from_conn_string(path) as saver:  # a new process would see the same
        app = graph.compile(checkpointer=saver)
        assert app.invoke({"steps": []}, config)["steps"] == ["step 1", "step 2"]
        history = list(app.get_state_history(config))
        assert len(history) >= 4 and history[0].values["steps"] == ["step 1", "step 2"]

    async def run_async() -> List[str]:
        async with EngramCheckpointer.afrom_conn_string(path) as saver:
            result = await graph.compile(checkpointer=saver).ainvoke({"steps": []}, config)
            return list(result["steps"])

    assert asyncio.run(run_async()) == ["step 1", "step 2", "step 3"]


def test_opening_for_asyncio_leaves_the_event_loop_running() -> None:
    """`afrom_conn_string` connects on a worker thread: here to a server that accepts and never
    answers, for the whole connect timeout, while the loop keeps ticking."""
    from engram.integrations.langgraph import EngramStore

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    dsn = f"postgres://u@127.0.0.1:{silent.getsockname()[1]}/x?connect_timeout=1"

    async def main() -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        for opener in (EngramCheckpointer.afrom_conn_string, EngramStore.afrom_conn_string):
            before = ticks
            with pytest.raises(BackendUnavailableError):
                async with opener(dsn):
                    pass
            assert ticks - before >= 10, f"{opener.__qualname__}: the loop ticked {ticks - before} times in a 1 s open"
        ticker.cancel()

    try:
        asyncio.run(main())
    finally:
        silent.close()


# --- ids LangGraph accepts, differentially against InMemorySaver ------------------------------

# Strings LangGraph takes as ids and engram's id rules do not (empty, whitespace at an end, control
# characters, over 128 bytes), the escape's own characters, and look-alikes of encoded forms.
ODD_IDS = ["", " ", "a ", " a", "a\n", "\tb", "nul\x00", "del\x7f", "\x85x", "x\u3000", "~", "~a", "~a%20",
           "~#abc", "%", "#", "ns:", "ns: ", "é" * 65, "x" * 128, "x" * 129, "y" * 300, "ü" * 64 + " "]
ids = st.one_of(st.sampled_from(ODD_IDS), st.text(st.characters(codec="utf-8"), max_size=140))
# Checkpoint namespaces as nested subgraphs make them: "node:task|node:task|...", or anything.
namespaces = st.one_of(
    st.just(""), st.sampled_from(ODD_IDS),
    st.lists(st.tuples(st.text(st.characters(codec="utf-8"), min_size=1, max_size=40), st.uuids()), min_size=1,
             max_size=4).map(lambda path: "|".join(f"{node}:{task}" for node, task in path)))


def tuple_summary(found: Any) -> Any:
    """What a `CheckpointTuple` says, comparable across savers."""
    if found is None:
        return None
    return (found.config, found.checkpoint["id"], found.checkpoint["channel_values"], dict(found.metadata),
            found.parent_config, found.pending_writes)


def by_id(found: Any) -> List[Any]:
    # Across threads and namespaces LangGraph's own savers differ in order (InMemorySaver: by
    # insertion; SQL savers: by checkpoint id); compared as sets.
    return sorted((tuple_summary(item) for item in found), key=repr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ids_and_namespaces_langgraph_accepts_are_stored_as_in_memory_saver(backend: str, tmp_path: Path) -> None:
    tenants = iter(range(1_000_000))
    with Memory(**open_arguments(backend, tmp_path)) as memory:

        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                  derandomize=not long_tests())  # the same inputs on every run, unless exploring
        @given(threads=st.lists(ids, min_size=1, max_size=3), checkpoint_namespaces=st.lists(namespaces, min_size=1,
               max_size=2), task_id=ids)
        def check(threads: List[str], checkpoint_namespaces: List[str], task_id: str) -> None:
            engram_saver, reference = EngramCheckpointer(memory, tenant_id=f"t{next(tenants)}"), InMemorySaver()
            first: Dict[Any, Any] = {}
            for thread_id in threads:
                for checkpoint_ns in checkpoint_namespaces:
                    parent: Dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}}
                    for step in range(2):
                        checkpoint = empty_checkpoint()
                        checkpoint["channel_values"] = {"step": step}
                        # InMemorySaver keeps the values of the channels `new_versions` names.
                        checkpoint["channel_versions"] = versions = {"step": f"{step + 1:032}.0"}
                        metadata: Any = {"source": "loop", "step": step, "thread": thread_id}
                        stored = [saver.put(parent, checkpoint, metadata, versions)
                                  for saver in (engram_saver, reference)]
                        assert stored[0] == stored[1]
                        first.setdefault((thread_id, checkpoint_ns), stored[0])
                        for saver in (engram_saver, reference):
                            saver.put_writes(stored[0], [("step", step), ("other", task_id)], task_id, task_id)
                        parent = stored[0]
            for (thread_id, checkpoint_ns), oldest in first.items():
                latest = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}}
                for config in (latest, oldest):
                    assert tuple_summary(engram_saver.get_tuple(config)) == tuple_summary(reference.get_tuple(config))
                assert [tuple_summary(item) for item in engram_saver.list(latest, limit=1)] == [
                    tuple_summary(item) for item in reference.list(latest, limit=1)]
                assert [tuple_summary(item) for item in engram_saver.list(latest, filter={"thread": thread_id})] == [
                    tuple_summary(item) for item in reference.list(latest, filter={"thread": thread_id})]
                thread = {"configurable": {"thread_id": thread_id}}
                assert by_id(engram_saver.list(thread)) == by_id(reference.list(thread))
            assert by_id(engram_saver.list(None)) == by_id(reference.list(None))
            for saver in (engram_saver, reference):
                saver.delete_thread(threads[0])
            assert by_id(engram_saver.list(None)) == by_id(reference.list(None))

        check()


def test_look_alike_ids_keep_their_own_checkpoints(tmp_path: Path) -> None:
    """Ids engram stores as they are, ids it stores encoded, and ids that look like an encoding
    each read back their own checkpoint, exactly as given."""
    with Memory(path=tmp_path / "look-alike.db") as memory:
        saver = EngramCheckpointer(memory)
        for thread_id in ODD_IDS:
            for checkpoint_ns in ODD_IDS:
                checkpoint = empty_checkpoint()
                checkpoint["channel_values"] = {"who": [thread_id, checkpoint_ns]}
                saver.put({"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}}, checkpoint,
                          {"source": "input", "step": -1}, {})
        for thread_id in ODD_IDS:
            found = list(saver.list({"configurable": {"thread_id": thread_id}}))
            assert sorted(item.checkpoint["channel_values"]["who"][1] for item in found) == sorted(ODD_IDS)
            for item in found:
                assert item.checkpoint["channel_values"]["who"] == [thread_id, item.config["configurable"]["checkpoint_ns"]]
                assert item.config["configurable"]["thread_id"] == thread_id
        # A copy reads as its own thread, whichever of the two is stored encoded.
        for source, target in [("a\n", "plain copy"), ("x" * 128, "z" * 129), (" a", "copy ")]:
            saver.copy_thread(source, target)
            copied = list(saver.list({"configurable": {"thread_id": target}}))
            assert len(copied) == len(ODD_IDS)
            assert {item.config["configurable"]["thread_id"] for item in copied} == {target}
            assert {item.parent_config is None for item in copied} == {True}


@pytest.mark.parametrize("thread_id", ["\ud800", "\ud800 ", "\udfff" * 200])
def test_an_id_that_is_not_unicode_text_is_refused_naming_the_field(thread_id: str, tmp_path: Path) -> None:
    with Memory(path=tmp_path / "surrogates.db") as memory:
        saver = EngramCheckpointer(memory)
        with pytest.raises(InvalidInputError, match="not valid UTF-8"):
            saver.put({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}, empty_checkpoint(),
                      {"source": "input", "step": -1}, {})


def test_ordinary_ids_are_stored_as_they_always_were(tmp_path: Path) -> None:
    """Checkpoints written before encoding existed keep reading the same: ordinary ids are the
    item's labels and key, as they are."""
    with Memory(path=tmp_path / "plain.db") as memory:
        saver = EngramCheckpointer(memory)
        stored = saver.put({"configurable": {"thread_id": "thread-1", "checkpoint_ns": "outer:1|inner:2"}},
                           empty_checkpoint(), {"source": "input", "step": -1}, {})
        saver.put_writes(stored, [("x", 1)], "task-1")
        checkpoint_id = stored["configurable"]["checkpoint_id"]
        items = memory.list_items({"tenant_id": "default", "namespace": ["langgraph"], "prefix": True, "limit": 10})
        assert [(item["namespace"], item["key"]) for item in items] == [
            (["langgraph", "checkpoints", "thread-1", "ns:outer:1|inner:2"], checkpoint_id),
            (["langgraph", "writes", "thread-1", "ns:outer:1|inner:2", checkpoint_id], "task-1/0"),
        ]
        assert set(items[0]["value"]) == {"parent", "type", "metadata"}


class Nested(TypedDict):
    trail: Annotated[List[str], operator.add]


def nested_graph(depth: int) -> Any:
    """`depth` subgraphs, each the one node of its parent, named as long as real node names get;
    the innermost asks for an answer with `interrupt()`."""
    name = f"summarize_customer_request_{depth}"  # 28 characters

    def ask(state: Nested) -> Dict[str, Any]:
        return {"trail": [f"answer {interrupt('question')}"]}

    graph = StateGraph(Nested)
    graph.add_node(name, ask if depth == 0 else nested_graph(depth - 1))
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph.compile()


def test_nested_subgraphs_interrupt_and_resume_as_with_in_memory_saver(tmp_path: Path) -> None:
    outcomes = []
    with EngramCheckpointer.from_conn_string(str(tmp_path / "nested.db")) as engram_saver:
        for saver in (engram_saver, InMemorySaver()):
            graph = StateGraph(Nested)
            graph.add_node("handle_incoming_support_ticket", nested_graph(3))
            graph.add_edge(START, "handle_incoming_support_ticket")
            graph.add_edge("handle_incoming_support_ticket", END)
            app = graph.compile(checkpointer=saver)
            config: Any = {"configurable": {"thread_id": "ticket-7"}}
            interrupted = app.invoke({"trail": []}, config)
            state = app.get_state(config, subgraphs=True)
            deepest = state.tasks[0].state
            while deepest.tasks and deepest.tasks[0].state is not None:
                deepest = deepest.tasks[0].state
            resumed = app.invoke(Command(resume="yes"), config)
            outcomes.append((interrupted["__interrupt__"][0].value, len(deepest.config["configurable"]["checkpoint_ns"]),
                             resumed, [snapshot.values for snapshot in app.get_state_history(config)]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] > 128, "the innermost namespace is longer than an engram id"
    assert outcomes[0][2] == {"trail": ["answer yes"]}
