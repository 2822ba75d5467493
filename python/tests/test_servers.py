"""Postgres and MySQL: databases created on first connect, outages surfaced as
BackendUnavailableError within the timeout and survived by the same Memory object."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from conftest import CREATED, SERVER_DSNS, fresh_database, server_kwargs, servers_required
from engram import BackendUnavailableError, InvalidInputError, Memory

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
