"""The writer that test_crash_safety.py kills: `crash_child.py DB ROUND SEED`.

Opens the SQLite store at DB and writes until it is killed: single appends, bulk appends of
BULK events, fact upserts and working-state patches (with `expected_version`). Before each
call it prints `BEGIN <json>` (what it is about to write), after the call returns `ACK <json>`
(what was stored: ids, fact id, working-state version), each line flushed at once. A write
whose ACK line was printed is acknowledged; the one with only a BEGIN line may or may not
have been committed when the kill came, but never in part.

Every text is unique (`r<round>-o<op>-...`), so the parent finds unacknowledged writes by text.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any, Dict

from engram import Memory
from engram.types import Scope

BULK = 50
FACT_KEYS = 8
WORDS = "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset fado beach train ticket".split()


def event_scope(round_number: int) -> Scope:
    """Each round writes its events to a session of its own."""
    return {"tenant_id": "crash", "user_id": "u", "agent_id": "a",
            "session_id": f"round-{round_number}", "run_id": f"run-{round_number}"}


# Facts and the working state are shared by every round: each round continues from the
# values the previous kills left behind.
FACT_SCOPE: Scope = {"tenant_id": "crash", "user_id": "u", "agent_id": "a", "session_id": "facts", "run_id": "facts"}
STATE_SCOPE: Scope = {"tenant_id": "crash", "user_id": "u", "agent_id": "a", "session_id": "state", "run_id": "state"}


def emit(tag: str, record: Dict[str, Any]) -> None:
    sys.stdout.write(f"{tag} {json.dumps(record, sort_keys=True)}\n")
    sys.stdout.flush()


def main() -> None:
    path, round_number, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    memory = Memory(path=path)
    # Loads the tokenizer (most of a second in a debug build) on a throwaway in-memory store,
    # so that the kills land in writes to the file rather than in the first one's warm-up.
    with Memory(in_memory=True) as warm_up:
        warm_up.append_event({"scope": FACT_SCOPE, "kind": "message", "payload": {"role": "user", "text": "warm up"}})
    version = memory.get_working_state(STATE_SCOPE)["version"]
    emit("READY", {"version": version})
    scope = event_scope(round_number)
    op = 0
    while True:
        op += 1
        prefix = f"r{round_number}-o{op}"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        kind = rng.choices(("single", "bulk", "fact", "state"), weights=(4, 2, 3, 2))[0]
        if kind == "single":
            text = f"{prefix}-single {words}"
            emit("BEGIN", {"op": op, "kind": kind, "texts": [text]})
            event = memory.append_event({"scope": scope, "kind": "message", "tags": ["single"],
                                         "payload": {"role": "user", "text": text, "op": op}})
            emit("ACK", {"op": op, "kind": kind, "events": [[event["event_id"], event["text"]]]})
        elif kind == "bulk":
            batch = f"batch-{prefix}"
            texts = [f"{prefix}-bulk-{index} {words}" for index in range(BULK)]
            emit("BEGIN", {"op": op, "kind": kind, "batch": batch, "texts": texts})
            events = memory.append_events([
                {"scope": scope, "kind": "message", "tags": [batch],
                 "payload": {"role": "assistant", "text": text, "op": op}}
                for text in texts
            ])
            emit("ACK", {"op": op, "kind": kind, "batch": batch,
                         "events": [[event["event_id"], event["text"]] for event in events]})
        elif kind == "fact":
            key = f"fact-{rng.randrange(FACT_KEYS)}"
            value = {"written_by": prefix, "words": words}
            emit("BEGIN", {"op": op, "kind": kind, "key": key, "value": value})
            written = memory.upsert_fact({"scope": FACT_SCOPE, "fact_key": key, "value": value})
            emit("ACK", {"op": op, "kind": kind, "key": key, "value": written["fact"]["value"],
                         "fact_id": written["fact"]["fact_id"]})
        else:
            patch: Dict[str, Any] = {"goal": f"{prefix}-goal", "plan": [f"{prefix}-step-{index}" for index in range(3)],
                     "slots": {"written_by": prefix}}
            emit("BEGIN", {"op": op, "kind": kind, "expected_version": version, "patch": patch})
            state = memory.patch_working_state({"scope": STATE_SCOPE, "expected_version": version, "goal": patch["goal"],
                                                "plan": patch["plan"], "slots": patch["slots"]})
            version = state["version"]
            emit("ACK", {"op": op, "kind": kind, "version": version, "goal": state["goal"],
                         "plan": state["plan"], "slots": state["slots"]})


if __name__ == "__main__":
    main()
