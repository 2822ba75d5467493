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

pytest.importorskip("langgraph.checkpoint.conformance")

from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402
from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

from conftest import report_figures, server_kwargs  # noqa: E402
from engram import AsyncMemory, BackendUnavailableError, Memory  # noqa: E402
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
