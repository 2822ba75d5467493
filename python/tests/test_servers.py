"""Postgres and MySQL: databases created on first connect, outages surfaced as
BackendUnavailableError within the timeout and survived by the same Memory object."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from conftest import CREATED, SERVER_DSNS, fresh_database, report_figures, server_kwargs, servers_required
from engram import AsyncMemory, BackendUnavailableError, InvalidInputError, Memory

SERVERS = ["postgres", "mysql"]


def database_exists(backend: str, name: str) -> bool:
    if backend == "postgres":
        command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
                   f"SELECT 1 FROM pg_database WHERE datname = '{name}'"]
    else:
        command = [shutil.which("mariadb") or "mysql", "-h", "127.0.0.1", "-u", "root", "-N", "-e",
                   f"SELECT 1 FROM information_schema.schemata WHERE schema_name = '{name}'"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip() == "1"


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    server_kwargs(request.param)  # skips (or fails) when the server is unreachable
    if "127.0.0.1" not in SERVER_DSNS[request.param]:
        pytest.skip("database checks use the local server's command-line client")
    return str(request.param)


def test_a_database_named_in_the_dsn_is_created(server: str, scope: Dict[str, str]) -> None:
    name = fresh_database(server)
    assert not database_exists(server, name)
    with Memory(backend=server, dsn=f"{SERVER_DSNS[server]}/{name}") as mem:  # type: ignore[arg-type]
        mem.append_event({"scope": scope, "kind": "message", "payload": {"role": "user", "text": "hi"}})
    assert database_exists(server, name)


def test_the_database_argument_is_appended_to_the_dsn(server: str) -> None:
    name = fresh_database(server)
    Memory(backend=server, dsn=SERVER_DSNS[server], database=name).close()  # type: ignore[arg-type]
    assert database_exists(server, name)
    with pytest.raises(InvalidInputError) as caught:
        Memory(backend=server, dsn=f"{SERVER_DSNS[server]}/other", database=name)  # type: ignore[arg-type]
    assert caught.value.field == "database"


def test_no_database_name_means_engram(server: str) -> None:
    # `engram` is the real default database: it is used, never dropped, by this test.
    Memory(backend=server, dsn=SERVER_DSNS[server]).close()  # type: ignore[arg-type]
    assert database_exists(server, "engram")


@pytest.mark.parametrize("backend", SERVERS)
def test_an_unreachable_server_is_unavailable_within_the_connect_timeout(backend: str) -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError):
        Memory(backend=backend, dsn=f"{backend}://user@127.0.0.1:9?connect_timeout=1")  # type: ignore[arg-type]
    assert time.monotonic() - started < 5


def postgres_control(action: str) -> None:
    """Stops or starts the local cluster; starting a running one does nothing."""
    version = sorted(os.listdir("/etc/postgresql"))[0]
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    running = subprocess.run([*cluster, "status"], capture_output=True, timeout=60).returncode == 0
    if action == "start" and running:
        return
    extra = ["-m", "fast"] if action == "stop" else []
    subprocess.run([*cluster, action, *extra], check=True, capture_output=True, timeout=60)


def mysql_control(action: str) -> None:
    """Stops or starts the local server; starting a running one does nothing."""
    admin = shutil.which("mariadb-admin") or "mysqladmin"
    if action == "stop":
        subprocess.run([admin, "-h", "127.0.0.1", "-u", "root", "shutdown"], check=True, capture_output=True, timeout=60)
        return
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"],
                   check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 60
    while subprocess.run([admin, "-h", "127.0.0.1", "-u", "root", "ping"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("mariadbd did not come back")
        time.sleep(0.2)


CONTROLS: Dict[str, Callable[[str], None]] = {"postgres": postgres_control, "mysql": mysql_control}


@pytest.fixture(params=SERVERS)
def restartable(request: pytest.FixtureRequest) -> Iterator[str]:
    """A local server this test may stop and start (root on the machine that runs it)."""
    backend = str(request.param)
    server_kwargs(backend)
    local = "127.0.0.1" in SERVER_DSNS[backend]
    tools = shutil.which("pg_ctlcluster") if backend == "postgres" else shutil.which("start-stop-daemon")
    if not (local and tools and os.geteuid() == 0):
        message = f"stopping {backend} needs root and the local server's control tools"
        if servers_required():
            pytest.fail(message)
        pytest.skip(message)
    yield backend
    CONTROLS[backend]("start")  # whatever happened in the test, leave the server running


def test_writes_survive_a_server_restart(restartable: str, scope: Dict[str, str]) -> None:
    """A loop of writes while the server stops and comes back: calls fail fast with
    BackendUnavailableError, none hangs past the timeout, the same object carries on after the
    restart, and every acknowledged write is stored."""
    backend, query_timeout = restartable, 4.0
    name = fresh_database(backend)
    dsn = f"{SERVER_DSNS[backend]}?connect_timeout=1&query_timeout={query_timeout}"
    mem = Memory(backend=backend, dsn=dsn, database=name)  # type: ignore[arg-type]
    acknowledged: List[str] = []
    failures: List[float] = []
    stopped_at, restarted = 10, False
    for index in range(400):
        if index == stopped_at:
            CONTROLS[backend]("stop")
        if len(failures) == 3 and not restarted:
            CONTROLS[backend]("start")
            restarted = True
        event_id = f"e{index}"
        started = time.monotonic()
        try:
            mem.append_event({"scope": scope, "event_id": event_id, "kind": "message",
                              "payload": {"role": "user", "text": f"write {index}"}})
            acknowledged.append(event_id)
        except BackendUnavailableError:
            failures.append(time.monotonic() - started)
        elapsed = time.monotonic() - started
        assert elapsed < query_timeout + 1.0, f"call {index} took {elapsed:.1f}s"
        if restarted and len(acknowledged) >= stopped_at + 10:
            break
    assert len(failures) >= 3, "the outage was never seen"
    assert restarted and len(acknowledged) >= stopped_at + 10, "writes did not resume after the restart"
    stored = {event["event_id"] for event in mem.list_events({"scope": scope, "limit": 1000})}
    assert set(acknowledged) <= stored
    mem.close()


# Load during a restart: each worker runs its own mix on one shared Memory (and one AsyncMemory).
LOAD_WORKERS = 4
LOAD_OPS = ("single", "bulk", "fact", "state", "packet")


class LoadWorker:
    """One worker's calls against a shared store, and what came back: acknowledged writes,
    exceptions by type, the slowest call and the calls that succeeded after the restart."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scope: Dict[str, str] = {"tenant_id": "load", "user_id": "u", "agent_id": "a",
                                      "session_id": name, "run_id": name}
        self.events: List[str] = []
        self.fact_value: Any = None
        self.state_acknowledged = 0
        self.unexpected: List[str] = []
        self.unavailable = 0
        self.calls = 0
        self.slowest = 0.0
        self.successes_after_restart = 0

    def request(self, index: int, op: str) -> tuple[str, Any]:
        """The method and argument of call `index`."""
        payload = {"role": "user", "text": f"{self.name} says hello number {index}"}
        if op == "single":
            return "append_event", {"scope": self.scope, "event_id": f"{self.name}-{index}", "kind": "message",
                                    "payload": payload}
        if op == "bulk":
            return "append_events", [{"scope": self.scope, "event_id": f"{self.name}-{index}-{part}",
                                      "kind": "message", "payload": payload} for part in range(5)]
        if op == "fact":
            return "upsert_fact", {"scope": self.scope, "fact_key": f"{self.name}.counter", "value": index}
        if op == "state":
            return "patch_working_state", {"scope": self.scope, "slots": {"last": index}}
        return "build_memory_packet", {"scope": self.scope, "purpose": "responder", "query": "hello"}

    def record(self, op: str, index: int, result: Any) -> None:
        if op == "single":
            self.events.append(f"{self.name}-{index}")
        elif op == "bulk":
            self.events.extend(f"{self.name}-{index}-{part}" for part in range(5))
        elif op == "fact":
            self.fact_value = index
        elif op == "state":
            self.state_acknowledged += 1
        else:
            assert result["budget_report"]["used_tokens"] <= result["budget_report"]["max_tokens"]


def run_load_worker(worker: LoadWorker, call: Callable[[str, Any], Any], stop: threading.Event,
                    restarted: threading.Event, seconds_limit: float) -> None:
    index = 0
    while not stop.is_set():
        index += 1
        op = LOAD_OPS[index % len(LOAD_OPS)]
        method, argument = worker.request(index, op)
        started = time.monotonic()
        try:
            result = call(method, argument)
            worker.record(op, index, result)
            if restarted.is_set():
                worker.successes_after_restart += 1
        except BackendUnavailableError:
            worker.unavailable += 1
            time.sleep(0.05)
        except Exception as error:  # noqa: BLE001 - anything else is what the test looks for
            worker.unexpected.append(f"{method}: {type(error).__name__}: {error}")
        worker.calls += 1
        elapsed = time.monotonic() - started
        worker.slowest = max(worker.slowest, elapsed)
        if elapsed > seconds_limit:
            worker.unexpected.append(f"{method} took {elapsed:.1f}s")


def test_load_survives_a_server_restart(restartable: str) -> None:
    """Four threads on one Memory and two tasks on one AsyncMemory append (single and bulk), upsert
    facts, patch working state and build packets while the server stops and starts again. Every
    failure is BackendUnavailableError within the timeouts, never anything else and never a hang;
    the same objects carry on once the server is back; every acknowledged write is stored."""
    backend, query_timeout = restartable, 4.0
    name = fresh_database(backend)
    dsn = f"{SERVER_DSNS[backend]}?connect_timeout=1&query_timeout={query_timeout}"
    limit = query_timeout + 1.5
    mem = Memory(backend=backend, dsn=dsn, database=name)  # type: ignore[arg-type]
    stop, restarted = threading.Event(), threading.Event()
    workers = [LoadWorker(f"thread-{index}") for index in range(LOAD_WORKERS)]
    threads = [threading.Thread(target=run_load_worker,
                                args=(worker, lambda method, argument: getattr(mem, method)(argument), stop,
                                      restarted, limit))
               for worker in workers]
    async_workers = [LoadWorker(f"task-{index}") for index in range(2)]

    async def drive_async() -> None:
        async with AsyncMemory(backend=backend, dsn=dsn, database=name) as amem:  # type: ignore[arg-type]
            loop = asyncio.get_running_loop()

            async def invoke(method: str, argument: Any) -> Any:
                return await getattr(amem, method)(argument)

            def call(method: str, argument: Any) -> Any:
                return asyncio.run_coroutine_threadsafe(invoke(method, argument), loop).result()

            await asyncio.gather(*(asyncio.to_thread(run_load_worker, worker, call, stop, restarted, limit)
                                   for worker in async_workers))

    async_thread = threading.Thread(target=lambda: asyncio.run(drive_async()))
    for thread in [*threads, async_thread]:
        thread.start()
    everyone = workers + async_workers
    try:
        time.sleep(1.5)
        CONTROLS[backend]("stop")
        outage_started = time.monotonic()
        time.sleep(2.0)
        CONTROLS[backend]("start")
        restarted.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(worker.successes_after_restart < 5 for worker in everyone):
            time.sleep(0.2)
        recovered_after = time.monotonic() - outage_started
    finally:
        stop.set()
        for thread in [*threads, async_thread]:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in [*threads, async_thread]), "a call hung"
    unexpected = [problem for worker in everyone for problem in worker.unexpected]
    assert not unexpected, unexpected[:5]
    assert sum(worker.unavailable for worker in everyone) > 0, "the outage was never seen"
    assert all(worker.successes_after_restart >= 5 for worker in everyone), "a worker did not recover"
    for worker in everyone:
        stored = {event["event_id"] for event in mem.list_events({"scope": worker.scope, "limit": 100000})}
        missing = set(worker.events) - stored
        assert not missing, f"{worker.name} lost {len(missing)} acknowledged events"
        if worker.fact_value is not None:
            [fact] = [fact for fact in mem.list_facts({"scope": worker.scope, "limit": 100})
                      if fact["fact_key"] == f"{worker.name}.counter"]
            # A call that failed may still have committed (the reply was lost): newer is fine.
            assert fact["value"] >= worker.fact_value
        assert mem.get_working_state(worker.scope)["version"] >= worker.state_acknowledged
    mem.close()
    report_figures(f"server restart under load ({backend})", workers=len(everyone),
                   calls=sum(worker.calls for worker in everyone),
                   unavailable=sum(worker.unavailable for worker in everyone),
                   acknowledged_events=sum(len(worker.events) for worker in everyone),
                   slowest_call_s=round(max(worker.slowest for worker in everyone), 2),
                   recovered_s=round(recovered_after, 1))
