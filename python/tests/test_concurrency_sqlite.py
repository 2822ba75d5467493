"""Concurrency on one SQLite file: 8 threads of this process (sharing one `Memory`) and 3 child
processes (one `Memory` each) run `concurrency_child.work` at once for SECONDS: appends, bulk
appends, packet builds, working-state patches (each worker's own run, and one run shared by all
with `expected_version` retried on `ConflictError`) and upserts of one shared fact key.

No error may reach a caller (`database is locked` or any other: counted, asserted 0), and the
store must end holding exactly the acknowledged writes: each worker's session lists exactly
the event ids it was given, `stats` counts them all, each own working state is at the number
of its acknowledged patches, the shared one at the total number of acknowledged shared patches
(its counter too: no lost update), and the shared fact key has one version per acknowledged
upsert, linked in one chain of supersessions that ends at the only active one. `PRAGMA
integrity_check` (in a child process) is `ok`.

30 s by default; `ENGRAM_LONG_TESTS=1` runs 120 s.

`test_processes_open_one_file_at_once`: 8 processes open the same file at one moment, REPS
times, whether it exists or not: the store opens in all of them (`PRAGMA journal_mode = WAL`
on a new file takes its lock without the busy handler; engram retries it within the busy
timeout).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from engram import Memory

import concurrency_child as workload
from conftest import long_tests, report_figures, sqlite_integrity_check

THREADS = 8
PROCESSES = 3
SECONDS = 120.0 if long_tests() else 30.0
HERE = Path(__file__).resolve().parent


def test_threads_and_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    children = [
        subprocess.Popen([sys.executable, str(HERE / "concurrency_child.py"), str(path), f"process-{index}",
                          str(SECONDS), str(100 + index)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(PROCESSES)
    ]
    results: List[Dict[str, Any]] = []
    crashed: List[str] = []
    try:
        for child in children:
            assert child.stdout is not None
            ready = child.stdout.readline()
            assert ready.strip() == "READY", f"child did not start: {ready!r} {child.stderr.read() if child.stderr else ''}"
        with Memory(path=path) as memory:

            def thread(index: int) -> None:
                try:
                    results.append(workload.work(memory, f"thread-{index}", SECONDS, index))
                except BaseException as error:  # work() itself failing is a test failure
                    crashed.append(repr(error))

            threads = [threading.Thread(target=thread, args=(index,)) for index in range(THREADS)]
            started = time.monotonic()
            for child in children:
                assert child.stdin is not None
                child.stdin.write("GO\n")
                child.stdin.flush()
            for worker in threads:
                worker.start()
            for worker in threads:
                worker.join(timeout=SECONDS + 300)
            for child in children:
                output, errors = child.communicate(timeout=SECONDS + 300)
                assert child.returncode == 0, f"child failed ({child.returncode}):\n{errors}"
                lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
                assert len(lines) == 1, output
                results.append(json.loads(lines[0][len("RESULT "):]))
            elapsed = time.monotonic() - started
            assert not crashed, crashed
            assert len(results) == THREADS + PROCESSES

            errors_seen = [f"{result['name']}: {error}" for result in results for error in result["errors"]]
            counts = {op: sum(result["counts"][op] for result in results) for op in workload.OPS}
            events_acked = sum(len(result["events"]) for result in results)
            shared_acked = sum(result["shared_acked"] for result in results)
            facts_acked = [fact for result in results for fact in result["facts"]]
            report_figures(
                "concurrency (SQLite, one file)",
                threads=THREADS,
                processes=PROCESSES,
                seconds=f"{elapsed:.1f}",
                calls=sum(counts.values()) + len(errors_seen),
                **{f"acknowledged_{op}": count for op, count in counts.items()},
                events_acknowledged=events_acked,
                shared_patch_conflicts_retried=sum(result["conflicts"] for result in results),
                errors=len(errors_seen),
                slowest_call_s=f"{max(result['latency_max'] for result in results):.2f}",
            )
            assert not errors_seen, f"{len(errors_seen)} errors reached callers, e.g. {errors_seen[:5]}"

            # Exactly the acknowledged writes are stored.
            for result in results:
                scope = workload.scope(result["name"])
                listed = [event["event_id"] for event in memory.list_events(
                    {"scope": scope, "session_wide": True, "limit": 10_000_000})]
                assert len(listed) == len(set(listed))
                assert set(listed) == set(result["events"]), (
                    f"{result['name']}: {len(set(result['events']) - set(listed))} acknowledged events missing, "
                    f"{len(set(listed) - set(result['events']))} unacknowledged present")
                own = memory.get_working_state(scope)
                assert own["version"] == result["counts"]["own_state"] == result["own_version"]
                if own["version"]:
                    assert own["slots"]["n"] == own["version"]
            assert memory.stats(workload.SHARED_STATE)["events"] == events_acked
            shared = memory.get_working_state(workload.SHARED_STATE)
            assert shared["version"] == shared_acked == counts["shared_state"]
            if shared_acked:
                assert shared["slots"]["count"] == shared_acked, "a shared patch was lost"
                for result in results:
                    assert shared["slots"].get(result["name"], 0) == result["shared_acked"]
            # One version per acknowledged upsert, in one chain of supersessions (no version
            # superseded twice, none lost), ending at the only active one. The chain, not the
            # history's order: each upsert takes its timestamps before it waits for the writer,
            # so under contention `recorded_at` order is not commit order.
            history = memory.fact_history(workload.SHARED_STATE, workload.FACT_KEY)
            assert sorted(fact["fact_id"] for fact in history) == sorted(facts_acked)
            active = [fact["fact_id"] for fact in history if fact["status"] == "active"]
            assert len(active) == (1 if facts_acked else 0), f"{len(active)} active versions"
            successor = {fact["fact_id"]: fact["superseded_by"] for fact in history}
            assert all(successor[fact["fact_id"]] is None for fact in history if fact["status"] == "active")
            assert all(fact["status"] == "superseded" for fact in history if fact["status"] != "active")
            assert len({after for after in successor.values() if after}) == len(history) - len(active)
            if facts_acked:
                heads = set(successor) - set(successor.values())
                assert len(heads) == 1
                chain = [heads.pop()]
                while successor[chain[-1]]:
                    chain.append(str(successor[chain[-1]]))
                assert len(chain) == len(history) and chain[-1] == active[0], "supersessions fork"
        assert sqlite_integrity_check(path) == "ok"
        assert all(count > 0 for count in counts.values()), counts
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


OPENERS = 8
REPS = 15
OPEN_AND_READ = """
import sys, time
from engram import Memory
print("READY", flush=True)
go = float(sys.stdin.readline())
while time.time() < go:
    pass
try:
    with Memory(path=sys.argv[1]) as memory:
        memory.get_working_state({"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"})
    print("ok")
except Exception as error:
    print(f"{type(error).__name__}: {error} (after {time.time() - go:.3f} s)")
"""


@pytest.mark.parametrize("existing", [True, False], ids=["existing-file", "new-file"])
def test_processes_open_one_file_at_once(tmp_path: Path, existing: bool) -> None:
    failures: List[str] = []
    for rep in range(REPS):
        path = tmp_path / f"open-{rep}.db"
        if existing:
            Memory(path=path).close()
        openers = [subprocess.Popen([sys.executable, "-c", OPEN_AND_READ, str(path)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(OPENERS)]
        for opener in openers:
            assert opener.stdout is not None
            assert opener.stdout.readline().strip() == "READY"
        go = time.time() + 0.3
        for opener in openers:
            assert opener.stdin is not None
            opener.stdin.write(f"{go}\n")
            opener.stdin.flush()
        outputs = [opener.communicate(timeout=120) for opener in openers]
        for output, errors in outputs:
            if output.strip() != "ok":
                failures.append(f"rep {rep}: {output.strip()} {errors.strip()}")
    report_figures(f"concurrent open ({'existing' if existing else 'new'} file)", processes=OPENERS, reps=REPS,
                   opens=OPENERS * REPS, failed_opens=len(failures))
    assert not failures, f"{len(failures)} of {OPENERS * REPS} opens failed: {failures[:3]}"
