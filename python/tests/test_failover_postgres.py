"""Postgres failover, really run: the test starts its own primary and synchronous standby
(`initdb`, `pg_basebackup -R`, `synchronous_standby_names='*'`) on free loopback ports with
their data in a temp dir, and stops them at the end, whatever happens. Writer processes each
append on one `Memory` opened on the two-host DSN; mid-load the primary is stopped
(`pg_ctl stop -m immediate`) and the standby promoted. The same objects carry on after
`BackendUnavailableError`s during the switch, and every acknowledged write is on the new
primary. Figures: the "engram figures" section.

The server binaries come from `pg_config --bindir` (or /usr/lib/postgresql/*/bin); as root they
run as the `postgres` user. Without them the test skips, or fails with ENGRAM_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import report_figures, servers_required
import failover_child
from engram import BackendUnavailableError, Memory
from engram.types import Scope

HERE = Path(__file__).parent
WRITERS = 4
# Load once every writer is acknowledged, before the primary stops; and after every writer is
# acknowledged again.
BEFORE_STOP_S = 2.0
AFTER_RECOVERY_S = 2.0
RECOVERY_LIMIT_S = 30.0
# Fast failure while the primary is gone: each call waits at most this long for a connection.
DSN_PARAMETERS = "connect_timeout=1&query_timeout=5"


def server_binaries() -> Optional[Path]:
    """The folder of `initdb`, `pg_ctl` and `pg_basebackup`: `pg_config --bindir`, else the newest
    /usr/lib/postgresql/*/bin that has them."""
    candidates: List[str] = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=30)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)
                         if Path(path).parent.name.isdigit() else 0, reverse=True)
    for folder in candidates:
        if all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A primary and a synchronous standby in `root`, on two free loopback ports."""

    def __init__(self, binaries: Path, root: Path) -> None:
        self.binaries, self.root = binaries, root
        self.primary, self.standby = root / "primary", root / "standby"
        self.primary_port, self.standby_port = free_port(), free_port()
        # Server binaries refuse to run as root: they run as `postgres`, who owns the temp dir.
        self.as_user: List[str] = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(self, tool: str, *arguments: str, check: bool = True, timeout: float = 120) -> str:
        command = [*self.as_user, str(self.binaries / tool), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(arguments)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def sql(self, port: int, statement: str) -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                        "-Atc", statement).strip()

    def start(self) -> None:
        self.run("initdb", "-D", str(self.primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        settings = {
            "port": self.primary_port, "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'", "wal_level": "replica", "max_wal_senders": 4,
            "synchronous_standby_names": "'*'", "synchronous_commit": "on", "fsync": "on",
        }
        with open(self.primary / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self.run("pg_ctl", "-D", str(self.primary), "-l", str(self.root / "primary.log"), "-w", "start")
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                 "-D", str(self.standby), "-R", "-X", "stream", "-c", "fast")
        # Once promoted, the standby is a primary without a standby of its own: it must not wait
        # for one at every commit (what pg_auto_failover sets for a lone primary).
        with open(self.standby / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.standby_port}\nsynchronous_standby_names = ''\n")
        self.run("pg_ctl", "-D", str(self.standby), "-l", str(self.root / "standby.log"), "-w", "start")
        deadline = time.monotonic() + 60
        while self.sql(self.primary_port, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby never became synchronous")
            time.sleep(0.2)

    def stop_primary(self) -> None:
        self.run("pg_ctl", "-D", str(self.primary), "-m", "immediate", "stop")

    def promote_standby(self) -> None:
        self.run("pg_ctl", "-D", str(self.standby), "-w", "promote")

    def stop(self) -> None:
        for data in (self.primary, self.standby):
            if (data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(data), "-m", "immediate", "stop", check=False)

    def dsn(self, *ports: int, parameters: str = DSN_PARAMETERS) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
        return f"postgres://postgres@{hosts}/engram?{parameters}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binaries = server_binaries()
    runnable = binaries is not None and (os.geteuid() != 0 or shutil.which("runuser") is not None)
    if binaries is None or not runnable:
        message = "a Postgres primary and standby need initdb, pg_ctl, pg_basebackup (and runuser as root)"
        if servers_required():
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="engram-failover-"))
    started = Cluster(binaries, root)
    try:
        started.start()
        yield started
    finally:
        started.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_hosts_are_tried_in_order_and_only_a_read_write_one_takes_the_store(cluster: Cluster) -> None:
    """The standby first in the DSN: it answers but is read-only, so the store opens on the
    primary. The standby alone is `BackendUnavailableError`: read-only (said by
    `target_session_attrs=read-write`), or refusing the migrations' writes (SQLSTATE 25006)."""
    primary, standby = cluster.primary_port, cluster.standby_port
    scope: Scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}
    with Memory(dsn=cluster.dsn(standby, primary)) as mem:
        mem.append_event({"scope": scope, "event_id": "on-the-primary", "kind": "message",
                          "payload": {"role": "user", "text": "written through the second host"}})
        assert [event["event_id"] for event in mem.list_events({"scope": scope})] == ["on-the-primary"]
    with pytest.raises(BackendUnavailableError, match="read-only"):
        Memory(dsn=cluster.dsn(standby, parameters=f"{DSN_PARAMETERS}&target_session_attrs=read-write"))
    with pytest.raises(BackendUnavailableError, match="read-only"):
        Memory(dsn=cluster.dsn(standby))


class Writer:
    """A writer process and the lines it printed so far (read by a thread as they come)."""

    def __init__(self, dsn: str, name: str, stop_file: Path) -> None:
        self.log = stop_file.parent / f"{name}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, str(HERE / "failover_child.py"), dsn, name,
                                             str(stop_file)], stdout=subprocess.PIPE, stderr=log, text=True)
        self.lines: List[str] = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def acknowledged_after(self, moment: float) -> bool:
        """Whether a write started after `moment` was acknowledged."""
        return any(line.startswith("ACK ") and float(line.split()[1]) > moment for line in list(self.lines))

    def finish(self) -> str:
        """Waits for the process to end (killed if it hangs); its standard error."""
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        return self.log.read_text()


# An acknowledged write: when its call started and when it returned, and its event id.
Acknowledged = Tuple[float, float, str]


def read_outcome(lines: List[str]) -> Tuple[List[Acknowledged], List[Tuple[float, str, str]], List[str]]:
    """A writer's acknowledged writes, its failures and its other lines."""
    acknowledged: List[Acknowledged] = []
    failures: List[Tuple[float, str, str]] = []
    other: List[str] = []
    for line in lines:
        words = line.split(" ", 3)
        if words[0] == "ACK":
            started, returned, *ids = line.split()[1:]
            acknowledged += [(float(started), float(returned), event_id) for event_id in ids]
        elif words[0] == "FAIL":
            failures.append((float(words[1]), words[2], words[3] if len(words) > 3 else ""))
        else:
            other.append(line)
    return acknowledged, failures, other


def test_acknowledged_writes_survive_a_failover_to_the_synchronous_standby(cluster: Cluster) -> None:
    """Writers append through one two-host DSN each; the primary is stopped mid-load and the
    standby promoted. Each writer's `Memory` carries on (only `BackendUnavailableError` in
    between), every acknowledged write is on the new primary (lost = 0) and a packet builds."""
    dsn = cluster.dsn(cluster.primary_port, cluster.standby_port)
    Memory(dsn=dsn).close()  # the database and its tables exist before the writers start
    stop_file = cluster.root / "stop-writers"
    writers = [Writer(dsn, f"writer-{index}", stop_file) for index in range(WRITERS)]
    try:
        deadline = time.monotonic() + 60
        while not all(writer.acknowledged_after(0.0) for writer in writers) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(BEFORE_STOP_S)
        cluster.stop_primary()
        # `pg_ctl stop` waits until the primary is gone: a write that starts later can only be
        # acknowledged by the new primary.
        stopped_at = time.monotonic()
        cluster.promote_standby()
        promoted_after = time.monotonic() - stopped_at
        deadline = stopped_at + RECOVERY_LIMIT_S
        while time.monotonic() < deadline and not all(writer.acknowledged_after(stopped_at) for writer in writers):
            time.sleep(0.1)
        time.sleep(AFTER_RECOVERY_S)
    finally:
        stop_file.touch()
        errors = [writer.finish() for writer in writers]
    new_primary = Memory(dsn=cluster.dsn(cluster.standby_port))
    acknowledged: Dict[str, Tuple[float, float]] = {}
    failures: List[Tuple[float, str, str]] = []
    for writer, stderr in zip(writers, errors):
        acked, failed, other = read_outcome(writer.lines)
        assert writer.process.returncode == 0 and other[-1:] == ["DONE"], f"a writer failed: {other} {stderr[-2000:]}"
        assert any(line.startswith("PACKET ") for line in other), f"a writer built no packet: {other}"
        assert any(started > stopped_at for started, _, _ in acked), \
            f"a writer never wrote again after the failover: {failed[-3:]}"
        acknowledged.update({event_id: (started, returned) for started, returned, event_id in acked})
        failures += failed
    unexpected = [failure for failure in failures if failure[1] != "BackendUnavailableError"]
    assert not unexpected, unexpected[:5]
    assert failures, "the failover was never seen"
    stored = set()
    for index in range(WRITERS):
        scope = failover_child.scope(f"writer-{index}")
        stored |= {event["event_id"] for event in new_primary.list_events({"scope": scope, "limit": 100000})}
    lost = set(acknowledged) - stored
    packet = new_primary.build_memory_packet({"scope": scope, "purpose": "responder", "query": "failover"})
    new_primary.close()
    assert not lost, f"{len(lost)} acknowledged writes are missing on the new primary: {sorted(lost)[:5]}"
    assert packet["budget_report"]["used_tokens"] > 0
    # Recovery: from the primary's stop to the first acknowledged write that started after it.
    after = [returned for started, returned in acknowledged.values() if started > stopped_at]
    recovered = min(after) - stopped_at
    report_figures("postgres failover (synchronous standby)", writers=WRITERS,
                   writes_acknowledged=len(acknowledged),
                   acknowledged_after_failover=len(after),
                   unavailable=len(failures), other_failures=len(unexpected),
                   stored_unacknowledged=len(stored - set(acknowledged)),
                   promote_s=round(promoted_after, 2), recovery_s=round(recovered, 2), lost=len(lost))
