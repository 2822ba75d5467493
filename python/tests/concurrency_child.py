"""The workload of test_concurrency_sqlite.py, run by its threads and by its child processes.

As a process: `concurrency_child.py DB NAME SECONDS SEED` opens the SQLite store at DB, prints
`READY`, waits for a line on stdin, runs `work` for SECONDS and prints `RESULT <json>`.

`work` loops over a mix of calls until its deadline: single appends and bulk appends to the
worker's own session, packet builds, patches of the worker's own working state (with
`expected_version`, which nobody else can make stale), read-modify-write patches of one
working state shared by every worker (`expected_version`, retried on `ConflictError`), and
upserts of one fact key shared by every worker. It records every write that was acknowledged
(returned) and every exception other than the expected `ConflictError` of the shared patch.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any, Dict, List

from engram import ConflictError, Memory
from engram.types import Scope

BULK = 10
# Attempts at the shared read-modify-write patch before the worker reports it as starved.
MAX_ATTEMPTS = 1000
WORDS = "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset fado beach train ticket".split()
OPS = ("single", "bulk", "packet", "own_state", "shared_state", "fact")
WEIGHTS = (4, 2, 3, 2, 2, 1)


def scope(name: str) -> Scope:
    """A worker's session and run; every worker writes events to the same user's memory."""
    return {"tenant_id": "conc", "user_id": "u", "agent_id": "a", "session_id": name, "run_id": name}


SHARED_STATE: Scope = scope("shared")
FACT_KEY = "shared.counter"


def work(memory: Memory, name: str, seconds: float, seed: int) -> Dict[str, Any]:
    rng = random.Random(seed)
    own = scope(name)
    events: List[str] = []
    facts: List[str] = []
    counts = {op: 0 for op in OPS}
    errors: List[str] = []
    conflicts = 0
    own_version = memory.get_working_state(own)["version"]
    shared_acked = 0
    latency_max = 0.0
    deadline = time.monotonic() + seconds
    sequence = 0
    while time.monotonic() < deadline:
        op = rng.choices(OPS, weights=WEIGHTS)[0]
        sequence += 1
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        started = time.monotonic()
        try:
            if op == "single":
                event = memory.append_event({"scope": own, "kind": "message",
                                             "payload": {"role": "user", "text": f"{name}-{sequence} {words}"}})
                events.append(event["event_id"])
            elif op == "bulk":
                batch = memory.append_events([
                    {"scope": own, "kind": "message",
                     "payload": {"role": "assistant", "text": f"{name}-{sequence}-{index} {words}"}}
                    for index in range(BULK)
                ])
                events.extend(event["event_id"] for event in batch)
            elif op == "packet":
                memory.build_memory_packet({"scope": own, "purpose": "planner", "query": words})
            elif op == "own_state":
                state = memory.patch_working_state({"scope": own, "expected_version": own_version,
                                                    "goal": f"{name}-{sequence}", "slots": {"n": own_version + 1}})
                own_version = state["version"]
            elif op == "shared_state":
                for _ in range(MAX_ATTEMPTS):
                    current = memory.get_working_state(SHARED_STATE)
                    slots = current["slots"]
                    try:
                        memory.patch_working_state({
                            "scope": SHARED_STATE, "expected_version": current["version"],
                            "slots": {"count": int(slots.get("count", 0)) + 1, name: int(slots.get(name, 0)) + 1},
                        })
                    except ConflictError:
                        conflicts += 1
                        continue
                    shared_acked += 1
                    break
                else:
                    raise AssertionError(f"shared patch starved: {MAX_ATTEMPTS} conflicts in a row")
            else:
                written = memory.upsert_fact({"scope": own, "fact_key": FACT_KEY, "scope_level": "agent",
                                              "value": {"by": name, "sequence": sequence}})
                facts.append(written["fact"]["fact_id"])
            counts[op] += 1
        except Exception as error:  # every error reaching the caller is counted
            errors.append(f"{op}: {type(error).__name__}: {error}")
        latency_max = max(latency_max, time.monotonic() - started)
    return {"name": name, "events": events, "facts": facts, "counts": counts, "errors": errors,
            "conflicts": conflicts, "own_version": own_version, "shared_acked": shared_acked,
            "latency_max": latency_max}


def main() -> None:
    path, name, seconds, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    with Memory(path=path) as memory:
        print("READY", flush=True)
        sys.stdin.readline()
        result = work(memory, name, seconds, seed)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
