"""A writer of test_failover_postgres.py, run as its own process.

`failover_child.py DSN NAME STOP_FILE` opens one `Memory` on DSN (several hosts), prints
`READY`, then appends events with ids it makes itself (single appends, and every fifth call a
batch of three) until STOP_FILE exists, printing `ACK <started> <acknowledged> <id>...` (monotonic
times) for every acknowledged write and `FAIL <monotonic time> <exception type> <message>` for
every failed call. The same object is used throughout: it must carry on across the failover. At the end
it builds a packet and prints `PACKET <used tokens>`, then `DONE`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import List

from engram import BackendUnavailableError, Memory
from engram.types import EventInput, Scope


def scope(name: str) -> Scope:
    return {"tenant_id": "failover", "user_id": "u", "agent_id": "a", "session_id": name, "run_id": name}


def event(name: str, event_id: str, index: int) -> EventInput:
    return {"scope": scope(name), "event_id": event_id, "kind": "message",
            "payload": {"role": "user", "text": f"{name} writes number {index} before and after the failover"}}


def main() -> None:
    dsn, name, stop_file = sys.argv[1:4]
    mem = Memory(dsn=dsn)
    print("READY", flush=True)
    index = 0
    while not os.path.exists(stop_file):
        index += 1
        ids: List[str] = [f"{name}-{index}"] if index % 5 else [f"{name}-{index}-{part}" for part in range(3)]
        started = time.monotonic()
        try:
            if len(ids) == 1:
                mem.append_event(event(name, ids[0], index))
            else:
                mem.append_events([event(name, event_id, index) for event_id in ids])
            print("ACK", started, time.monotonic(), *ids, flush=True)
        except BackendUnavailableError as error:
            print("FAIL", time.monotonic(), "BackendUnavailableError", str(error).replace("\n", " "), flush=True)
            time.sleep(0.05)
        except Exception as error:  # noqa: BLE001 - anything else is what the test looks for
            print("FAIL", time.monotonic(), type(error).__name__, str(error).replace("\n", " "), flush=True)
    packet = mem.build_memory_packet({"scope": scope(name), "purpose": "responder", "query": "failover writes"})
    print("PACKET", packet["budget_report"]["used_tokens"], flush=True)
    mem.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
