"""Crash safety of the SQLite store: a writer process is SIGKILLed at random moments, and every
acknowledged write must survive, whole, with nothing written in part.

`crash_child.py` writes in a loop (single and bulk appends, fact upserts, working-state patches)
and prints each write before the call (`BEGIN`) and once the call returned (`ACK`). This test
kills it after a random delay (seeded), ROUNDS times on the same file, so later rounds start
from a store that survived the earlier kills. After each kill:

- `Memory(path=...)` opens the file (recovering its WAL) and reads back exactly what a model of
  the acknowledged writes says, plus at most the one write in flight at the kill, whole or not
  at all: every acknowledged event of the round with its id, text, payload and tags (and those
  of one earlier round drawn at random; `stats` counts all of them); each bulk batch all there
  or all absent; every fact key's history of versions and its active value; the working
  state's version and fields. At the end every round's events are read back once more;
- `PRAGMA integrity_check` is `ok`, run by the `sqlite3` command-line tool (or Python's sqlite3
  module) in a child process, never in this one: a second SQLite library in one process on the
  same file can read stale data. Every other round it also runs before engram reopens the file,
  on the store exactly as the kill left it.

The default run has 24 rounds (well under a minute); `ENGRAM_LONG_TESTS=1` runs 200.
`ENGRAM_CRASH_SEED` changes the seed (printed with the figures).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from engram import Memory
from engram.types import Event, Scope

from conftest import long_tests, report_figures, sqlite_integrity_check

import crash_child  # the child's scopes and constants

HERE = Path(__file__).resolve().parent

ROUNDS = 200 if long_tests() else 24
SEED = int(os.environ.get("ENGRAM_CRASH_SEED", "8"))
# How long a round lets the child write (after it opened the store), in seconds.
RUN_TIME = (0.02, 0.6)
# One round in EARLY_KILLS is killed at a random moment from its start instead, often before or
# while it opens the store.
EARLY_KILLS = 5
EARLY_TIME = (0.0, 0.25)


@dataclass
class Model:
    """What the store must hold: the writes known to be committed (acknowledged, or found
    committed after a kill)."""

    # round -> text -> (event id, payload, tags)
    events: Dict[int, Dict[str, Tuple[str, Dict[str, Any], List[str]]]] = field(default_factory=dict)
    # round -> bulk batches stored
    batches: Dict[int, Set[str]] = field(default_factory=dict)
    # fact key -> versions in order: (fact id, value)
    facts: Dict[str, List[Tuple[str, Any]]] = field(default_factory=dict)
    version: int = 0
    state: Optional[Dict[str, Any]] = None


@dataclass
class Figures:
    kills: int = 0
    early_kills: int = 0
    acknowledged: Dict[str, int] = field(default_factory=lambda: {"single": 0, "bulk": 0, "fact": 0, "state": 0})
    in_flight_committed: int = 0
    in_flight_absent: int = 0
    events_verified: int = 0
    batches_verified: int = 0
    fact_versions_verified: int = 0
    integrity_checks: int = 0
    verify_seconds: float = 0.0


def expected_payload(kind: str, text: str, op: int) -> Dict[str, Any]:
    return {"role": "user" if kind == "single" else "assistant", "text": text, "op": op}


def expected_tags(kind: str, batch: Optional[str]) -> List[str]:
    return ["single"] if kind == "single" else [str(batch)]


def run_round(path: Path, round_number: int, rng: random.Random, figures: Figures, log: Path) -> List[str]:
    """Starts the child, kills it with SIGKILL after a random delay and returns the complete
    lines it printed (a line cut by the kill is dropped)."""
    lines: List[bytes] = []
    ready = threading.Event()
    with open(log, "ab") as stderr:
        child = subprocess.Popen([sys.executable, str(HERE / "crash_child.py"), str(path), str(round_number),
                                  str(rng.randrange(2**32))], stdout=subprocess.PIPE, stderr=stderr)

        def read() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(line)
                if line.startswith(b"READY"):
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        if round_number % EARLY_KILLS == EARLY_KILLS - 1:
            figures.early_kills += 1
            time.sleep(rng.uniform(*EARLY_TIME))
        else:
            deadline = time.monotonic() + 60
            while not ready.wait(timeout=0.05) and child.poll() is None and time.monotonic() < deadline:
                pass
            if ready.is_set():
                time.sleep(rng.uniform(*RUN_TIME))
        exited = child.poll()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        reader.join(timeout=60)
    assert exited is None, \
        f"round {round_number}: the child exited by itself ({exited}):\n{log.read_text()[-3000:]}"
    assert ready.is_set() or round_number % EARLY_KILLS == EARLY_KILLS - 1, \
        f"round {round_number}: the child did not open the store within 60 s"
    figures.kills += 1
    return [line.decode() for line in lines if line.endswith(b"\n")]


def apply_acknowledged(lines: List[str], model: Model, figures: Figures, round_number: int) -> Optional[Dict[str, Any]]:
    """Adds the acknowledged writes of a round to the model; returns the write in flight at the
    kill (printed BEGIN, no ACK), if any."""
    pending: Optional[Dict[str, Any]] = None
    events = model.events.setdefault(round_number, {})
    for line in lines:
        tag, _, body = line.partition(" ")
        if tag == "READY":
            assert json.loads(body)["version"] == model.version, "the child read another working-state version"
            continue
        record = json.loads(body)
        if tag == "BEGIN":
            assert pending is None, f"two writes in flight: {pending} and {record}"
            pending = record
            continue
        assert tag == "ACK" and pending is not None and pending["op"] == record["op"], line
        kind = record["kind"]
        figures.acknowledged[kind] += 1
        if kind in ("single", "bulk"):
            written = [text for text in pending["texts"]]
            assert [text for _, text in record["events"]] == written, "append returned other texts"
            for event_id, text in record["events"]:
                events[text] = (event_id, expected_payload(kind, text, record["op"]),
                                expected_tags(kind, record.get("batch")))
            if kind == "bulk":
                model.batches.setdefault(round_number, set()).add(record["batch"])
        elif kind == "fact":
            assert record["value"] == pending["value"]
            model.facts.setdefault(record["key"], []).append((record["fact_id"], record["value"]))
        else:
            assert record["version"] == model.version + 1, f"patch gave version {record['version']} after {model.version}"
            assert pending["expected_version"] == model.version
            model.version = record["version"]
            model.state = {"goal": record["goal"], "plan": record["plan"], "slots": record["slots"]}
            assert model.state == pending["patch"]
        pending = None
    return pending


def check_events(memory: Memory, model: Model, round_number: int, pending: Optional[Dict[str, Any]],
                 where: str, figures: Figures) -> bool:
    """Checks the events of one round's session: exactly the ones of the model, with their ids,
    texts, payloads and tags, plus (when `pending` is an append) all of its events or none.
    Folds a committed `pending` into the model and returns whether it was committed."""
    expected = model.events.setdefault(round_number, {})
    found = memory.list_events({"scope": crash_child.event_scope(round_number), "session_wide": True,
                                "limit": 1_000_000})
    by_text: Dict[str, Event] = {}
    for event in found:
        assert event["text"] not in by_text, f"{where}: event text stored twice: {event['text']}"
        by_text[event["text"]] = event
    missing = set(expected) - set(by_text)
    assert not missing, f"{where}: {len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    extra = set(by_text) - set(expected)
    committed = False
    if extra:
        assert pending is not None and pending["kind"] in ("single", "bulk"), \
            f"{where}: events nobody wrote, or from an earlier in-flight write: {sorted(extra)[:3]}"
        assert extra == set(pending["texts"]), (
            f"{where}: partial record: {len(extra)} of the {len(pending['texts'])} events of the "
            f"in-flight {pending['kind']} append are stored")
        for text in pending["texts"]:
            expected[text] = (by_text[text]["event_id"], expected_payload(pending["kind"], text, pending["op"]),
                              expected_tags(pending["kind"], pending.get("batch")))
        if pending["kind"] == "bulk":
            model.batches.setdefault(round_number, set()).add(pending["batch"])
        committed = True
    for text, (event_id, payload, tags) in expected.items():
        event = by_text[text]
        assert event["event_id"] == event_id, f"{where}: {text} has id {event['event_id']}, acknowledged {event_id}"
        assert event["payload"] == payload and event["tags"] == tags and event["kind"] == "message", \
            f"{where}: event {event_id} changed: {event}"
    batches: Dict[str, int] = {}
    for event in found:
        for tag in event["tags"]:
            if tag.startswith("batch-"):
                batches[tag] = batches.get(tag, 0) + 1
    assert set(batches) == model.batches.get(round_number, set())
    assert all(count == crash_child.BULK for count in batches.values()), f"{where}: partial batches: {batches}"
    figures.events_verified += len(expected)
    figures.batches_verified += len(batches)
    return committed


def verify(memory: Memory, model: Model, pending: Optional[Dict[str, Any]], round_number: int,
           figures: Figures, recheck: List[int]) -> None:
    """Checks the reopened store against the model plus the write in flight, whole or absent;
    folds that write into the model when it was committed. The events of earlier rounds (which
    no later round writes to) are counted, and those of the rounds in `recheck` read back."""
    where = f"after the kill of round {round_number}"
    pending_kind = pending["kind"] if pending else None

    # Events: exactly the acknowledged ones, plus the whole in-flight append or none of it.
    if check_events(memory, model, round_number, pending, where, figures):
        figures.in_flight_committed += 1
        pending = None
    for earlier in recheck:
        check_events(memory, model, earlier, None, f"{where} (events of round {earlier})", figures)
    stats = memory.stats(crash_child.FACT_SCOPE)
    events_stored = sum(len(events) for events in model.events.values())
    assert stats["events"] == events_stored, \
        f"{where}: stats counts {stats['events']} events, acknowledged {events_stored}"

    # Facts: each key's history is exactly its acknowledged versions (plus the in-flight one,
    # last); the newest is the active one.
    keys = set(model.facts) | ({pending["key"]} if pending_kind == "fact" and pending else set())
    active = {fact["fact_key"]: fact for fact in memory.list_facts({"scope": crash_child.FACT_SCOPE, "limit": 1000})}
    for key in sorted(keys):
        history = memory.fact_history(crash_child.FACT_SCOPE, key)
        versions = model.facts.get(key, [])
        stored = [(fact["fact_id"], fact["value"]) for fact in history]
        if pending_kind == "fact" and pending and key == pending["key"] and len(stored) == len(versions) + 1:
            assert stored[:-1] == versions and stored[-1][1] == pending["value"], \
                f"{where}: fact {key} history {stored}, acknowledged {versions} then {pending['value']}"
            model.facts.setdefault(key, []).append(stored[-1])
            versions = model.facts[key]
            figures.in_flight_committed += 1
            pending = None
        assert stored == versions, f"{where}: fact {key} history {stored}, acknowledged {versions}"
        if versions:
            assert [fact["status"] for fact in history] == ["superseded"] * (len(versions) - 1) + ["active"], \
                f"{where}: fact {key} statuses {[fact['status'] for fact in history]}"
            assert active[key]["fact_id"] == versions[-1][0] and active[key]["value"] == versions[-1][1]
        figures.fact_versions_verified += len(versions)
    assert set(active) == {key for key, versions in model.facts.items() if versions}, \
        f"{where}: active fact keys {sorted(active)}, acknowledged {sorted(model.facts)}"

    # Working state: the last acknowledged patch, or the in-flight one on top of it.
    state = memory.get_working_state(crash_child.STATE_SCOPE)
    fields = {"goal": state["goal"], "plan": state["plan"], "slots": state["slots"]}
    if pending_kind == "state" and pending and state["version"] == model.version + 1:
        assert fields == pending["patch"], f"{where}: working state {fields}, in-flight patch {pending['patch']}"
        model.version, model.state = state["version"], fields
        figures.in_flight_committed += 1
        pending = None
    assert state["version"] == model.version, \
        f"{where}: working state version {state['version']}, acknowledged {model.version}"
    if model.state is not None:
        assert fields == model.state, f"{where}: working state {fields}, acknowledged {model.state}"
    assert stats["working_state_version"] == 0  # stats reads the run of FACT_SCOPE, never patched
    if pending is not None:
        figures.in_flight_absent += 1

    # The store answers a packet build over the recovered data.
    packet = memory.build_memory_packet({"scope": crash_child.event_scope(round_number), "purpose": "planner",
                                         "query": "lisbon dinner hotel"})
    assert packet["meta"]


def test_sigkill_never_loses_acknowledged_writes(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    log = tmp_path / "child-stderr.log"
    rng = random.Random(SEED)
    sampler = random.Random(SEED + 1)  # the earlier rounds whose events are read back again
    model = Model()
    figures = Figures()
    started = time.monotonic()
    for round_number in range(ROUNDS):
        lines = run_round(path, round_number, rng, figures, log)
        pending = apply_acknowledged(lines, model, figures, round_number)
        if not path.exists():
            continue  # killed before it created the file
        checked = time.monotonic()
        if round_number % 2 == 0:
            # The file exactly as the kill left it (WAL and all), read by another SQLite.
            assert sqlite_integrity_check(path) == "ok", f"round {round_number}: integrity check before reopening"
            figures.integrity_checks += 1
        recheck = [sampler.randrange(round_number)] if round_number else []
        with Memory(path=path) as memory:
            verify(memory, model, pending, round_number, figures, recheck)
        assert sqlite_integrity_check(path) == "ok", f"round {round_number}: integrity check after reopening"
        figures.integrity_checks += 1
        figures.verify_seconds += time.monotonic() - checked
    # Every round's events once more, on the store the last kill left.
    with Memory(path=path) as memory:
        for round_number in range(ROUNDS):
            check_events(memory, model, round_number, None, f"at the end (events of round {round_number})", figures)
    elapsed = time.monotonic() - started
    acknowledged = sum(figures.acknowledged.values())
    report_figures(
        "crash safety (SQLite, SIGKILL)",
        seed=SEED,
        rounds=ROUNDS,
        kills=figures.kills,
        early_kills=figures.early_kills,
        writes_acknowledged=acknowledged,
        **{f"acknowledged_{kind}": count for kind, count in figures.acknowledged.items()},
        in_flight_committed=figures.in_flight_committed,
        in_flight_absent=figures.in_flight_absent,
        events_stored=sum(len(events) for events in model.events.values()),
        bulk_batches_stored=sum(len(batches) for batches in model.batches.values()),
        fact_versions_stored=sum(len(versions) for versions in model.facts.values()),
        working_state_version=model.version,
        events_verified=figures.events_verified,
        fact_versions_verified=figures.fact_versions_verified,
        integrity_checks_ok=figures.integrity_checks,
        lost_or_partial=0,
        seconds=f"{elapsed:.1f}",
        verify_seconds=f"{figures.verify_seconds:.1f}",
    )
    assert figures.kills == ROUNDS
    assert acknowledged > ROUNDS, "the child acknowledged too few writes for the test to mean much"
    assert all(count > 0 for count in figures.acknowledged.values()), figures.acknowledged
