"""Fixtures shared by the tests: every store-touching test runs once per backend.

Postgres and MySQL tests each get a fresh database on the server of `ENGRAM_TEST_POSTGRES_DSN` /
`ENGRAM_TEST_MYSQL_DSN` (default: the local servers), dropped when the session ends. A server
that cannot be reached (or a build without its feature) skips its tests, or fails them when
`ENGRAM_REQUIRE_SERVERS=1` (as `.ci/run` sets).

`ENGRAM_LONG_TESTS=1` runs the long variants of the reliability tests (crash safety,
concurrency); their figures are printed in an "engram figures" section at the end of the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest

from engram import AsyncMemory, BackendUnavailableError, Memory
from engram.types import BuildRequest, Scope

SERVER_DSNS = {
    "postgres": os.environ.get("ENGRAM_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432"),
    "mysql": os.environ.get("ENGRAM_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306"),
}
# Databases this session created, dropped at its end.
CREATED: Dict[str, List[str]] = {"postgres": [], "mysql": []}
_UNREACHABLE: Dict[str, str] = {}


# Lines of figures the tests report (`report_figures`), printed at the end of the run.
FIGURES: List[str] = []


def long_tests() -> bool:
    """`ENGRAM_LONG_TESTS=1`: run the long variants of the reliability tests."""
    return os.environ.get("ENGRAM_LONG_TESTS") == "1"


def report_figures(test: str, **figures: Any) -> None:
    """Records a test's figures for the "engram figures" section of the terminal summary."""
    FIGURES.append(f"{test}: " + ", ".join(f"{name}={value}" for name, value in figures.items()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("engram figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def sqlite_integrity_check(path: Path) -> str:
    """`PRAGMA integrity_check` on the SQLite file `path`, run in a child process (the `sqlite3`
    tool, or Python's sqlite3 module): a second SQLite library in this process, next to
    engram's, can read stale data from a file engram has open."""
    if shutil.which("sqlite3"):
        command = ["sqlite3", str(path), "PRAGMA integrity_check"]
    else:
        command = [sys.executable, "-c",
                   "import sqlite3, sys; connection = sqlite3.connect(sys.argv[1]); "
                   "print('\\n'.join(row[0] for row in connection.execute('PRAGMA integrity_check'))); "
                   "connection.close()", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"integrity check failed to run: {result.stderr}"
    return result.stdout.strip()


def servers_required() -> bool:
    return os.environ.get("ENGRAM_REQUIRE_SERVERS") == "1"


def fresh_database(backend: str) -> str:
    name = f"engram_pytest_{os.getpid()}_{len(CREATED[backend])}"
    CREATED[backend].append(name)
    return name


def server_kwargs(backend: str) -> Dict[str, Any]:
    """Arguments for a store on a fresh database of `backend`'s server; skips (or, when servers
    are required, fails) if the server or the build's feature is missing."""
    if backend not in _UNREACHABLE:
        try:
            Memory(backend=backend, dsn=SERVER_DSNS[backend], database=fresh_database(backend)).close()  # type: ignore[arg-type]
            _UNREACHABLE[backend] = ""
        except BackendUnavailableError as error:
            _UNREACHABLE[backend] = str(error)
    if _UNREACHABLE[backend]:
        message = f"{backend} unavailable: {_UNREACHABLE[backend]}"
        if servers_required():
            pytest.fail(message)
        pytest.skip(message)
    return {"backend": backend, "dsn": SERVER_DSNS[backend], "database": fresh_database(backend)}


def drop_database(backend: str, name: str) -> None:
    """Drops a test database with the server's command-line client."""
    url = urlsplit(SERVER_DSNS[backend])
    environment = dict(os.environ, PGPASSWORD=url.password or "", MYSQL_PWD=url.password or "")
    if backend == "postgres":
        command = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
                   "-U", url.username or "postgres", "-d", "postgres", "-qc",
                   f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)']
    else:
        client = shutil.which("mariadb") or "mysql"
        command = [client, "-h", url.hostname or "127.0.0.1", "-P", str(url.port or 3306),
                   "-u", url.username or "root", "-e", f"DROP DATABASE IF EXISTS `{name}`"]
    subprocess.run(command, env=environment, check=False, capture_output=True, timeout=60)


@pytest.fixture(scope="session", autouse=True)
def drop_created_databases() -> Iterator[None]:
    yield
    # A few at a time: each drop mostly waits on the server (files removed, fsync).
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda created: drop_database(*created),
                      [(backend, name) for backend, names in CREATED.items() for name in names]))


BACKENDS: Dict[str, Callable[[Path], Dict[str, Any]]] = {
    "memory": lambda tmp: {"in_memory": True},
    "sqlite": lambda tmp: {"path": tmp / "engram.db"},
    "postgres": lambda tmp: server_kwargs("postgres"),
    "mysql": lambda tmp: server_kwargs("mysql"),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def memory_kwargs(backend: str, tmp_path: Path) -> Dict[str, Any]:
    """Constructor arguments of `Memory`/`AsyncMemory` for a fresh, empty store."""
    return BACKENDS[backend](tmp_path)


@pytest.fixture
def mem(memory_kwargs: Dict[str, Any]) -> Iterator[Memory]:
    with Memory(**memory_kwargs) as memory:
        yield memory


@pytest.fixture
def scope() -> Scope:
    return make_scope()


def make_scope(**overrides: str) -> Scope:
    scope: Dict[str, str] = {
        "tenant_id": "default",
        "user_id": "u1",
        "agent_id": "a1",
        "session_id": "s1",
        "run_id": "r1",
    }
    scope.update(overrides)
    return scope


WORDS = (
    "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset viewpoint fado beach train "
    "ticket booking seat window invoice refund schedule meeting deadline report customer"
).split()


def large_dataset(scope: Scope, events: int = 2000, facts: int = 200) -> Tuple[List[List[Any]], List[Any]]:
    """Enough memory that one packet build takes measurable time (tens of ms in a debug build):
    event batches of 500 over 10 sessions, and facts."""
    words = random.Random(7)
    messages = [
        {
            "scope": {**scope, "session_id": f"s{index % 10}"},
            "kind": "message",
            "payload": {"role": "user" if index % 2 else "assistant",
                        "text": " ".join(words.choice(WORDS) for _ in range(25))},
        }
        for index in range(events)
    ]
    batches = [messages[start:start + 500] for start in range(0, events, 500)]
    notes = [
        {"scope": scope, "fact_key": f"note.{index}", "value": " ".join(words.choice(WORDS) for _ in range(12))}
        for index in range(facts)
    ]
    return batches, notes


def seed_large(mem: Memory, scope: Scope) -> None:
    batches, facts = large_dataset(scope)
    for batch in batches:
        mem.append_events(batch)
    for fact in facts:
        mem.upsert_fact(fact)


async def seed_large_async(mem: AsyncMemory, scope: Scope) -> None:
    batches, facts = large_dataset(scope)
    for batch in batches:
        await mem.append_events(batch)
    await asyncio.gather(*(mem.upsert_fact(fact) for fact in facts))


def most_builds_at_once(records: List[logging.LogRecord]) -> int:
    """The most packet builds that were running at the same moment, read off engram's DEBUG log:
    each build logs "build started" first and "built" last, from the thread it runs on. Builds
    run one after another never overlap; builds on threads that really run together interleave
    (on one core too, as the OS time-slices them), so this holds however busy the machine is."""
    running: Set[int] = set()
    most = 0
    for record in records:
        message = record.getMessage()
        if message.startswith("memory packet build started"):
            running.add(record.thread or 0)
            most = max(most, len(running))
        elif message.startswith("memory packet built"):
            running.discard(record.thread or 0)
    return most


def heavy_request(scope: Scope) -> BuildRequest:
    """A build that reads many candidates and trims to a large budget."""
    return {
        "scope": scope,
        "purpose": "planner",
        "query": "vegetarian dinner near the hotel in lisbon with a sunset viewpoint",
        "policy": {
            "max_total_candidates": 1000,
            "candidates_per_source": 256,
            "postings_per_term": 1024,
            "max_recall": 50,
            "max_facts": 100,
        },
        "budget": {"max_tokens": 8000},
    }


class InstalledWheel:
    """The package as a user installs it: the wheel and sdist `make wheel` builds (debug here,
    so the build reuses compiled crates), `pip install`ed with `[embeddings]` into a new venv
    outside the repository."""

    def __init__(self, wheel: Path, sdist: Path, venv: Path) -> None:
        self.wheel, self.sdist, self.venv = wheel, sdist, venv
        self.python = venv / "bin" / "python"
        # Nothing of the repository's environment leaks in.
        self.environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    if not Path(sys.executable).with_name("maturin").exists():
        pytest.skip("maturin is a dev dependency (make venv)")
    root = tmp_path_factory.mktemp("wheel")
    script = Path(__file__).resolve().parents[1] / "scripts" / "build_wheel.py"
    built = subprocess.run([sys.executable, str(script), "--out", str(root / "dist"), "--dev"],
                           capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    (wheel,) = (root / "dist").glob("engram_context-*.whl")
    (sdist,) = (root / "dist").glob("engram_context-*.tar.gz")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{wheel}[embeddings]"],
        capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-4000:]
    return InstalledWheel(wheel, sdist, venv)


def chromium(purpose: str) -> str:
    """The headless Chromium a test needs to `purpose`: skipped without one, failed when
    ENGRAM_REQUIRE_CHROMIUM=1 (`make test-python` installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = f"headless Chromium is needed to {purpose}: `apt-get install -y chromium`"
    if os.environ.get("ENGRAM_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"chromium is not on PATH and ENGRAM_REQUIRE_CHROMIUM=1: {message}")
    pytest.skip(f"chromium is not on PATH ({message})")
