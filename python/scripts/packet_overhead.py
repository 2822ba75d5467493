"""What calling engram from Python costs on top of the Rust build itself.

For the same store and request, compares the wall time of `Memory.build_memory_packet` seen
from Python (dict in, dict out, GIL released around the build) with the time the Rust
builder reports for the same build (`explain.timings_us.total`). Build the extension in
release mode first (`make build`), then:

    .venv/bin/python python/scripts/packet_overhead.py [--events 20000] [--builds 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from engram import Memory

WORDS = (
    "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset viewpoint fado beach train "
    "ticket booking seat window invoice refund schedule meeting deadline report customer"
).split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--facts", type=int, default=500)
    parser.add_argument("--builds", type=int, default=200)
    args = parser.parse_args()

    scope = {"tenant_id": "bench", "user_id": "u1", "agent_id": "a1", "session_id": "s0", "run_id": "r0"}
    words = random.Random(7)
    mem = Memory(in_memory=True)
    batch = []
    for index in range(args.events):
        text = " ".join(words.choice(WORDS) for _ in range(20))
        batch.append({"scope": {**scope, "session_id": f"s{index % 50}"}, "kind": "message",
                      "payload": {"role": "user" if index % 2 else "assistant", "text": text}})
        if len(batch) == 1000:
            mem.append_events(batch)
            batch = []
    if batch:
        mem.append_events(batch)
    for index in range(args.facts):
        mem.upsert_fact({"scope": scope, "fact_key": f"note.{index}",
                         "value": " ".join(words.choice(WORDS) for _ in range(10))})

    requests = {
        "planner, default policy": {"scope": scope, "purpose": "planner",
                                    "query": "vegetarian dinner near the hotel in lisbon"},
        "responder, 4000 tokens": {"scope": scope, "purpose": "responder", "query": "flight refund invoice",
                                   "budget": {"max_tokens": 4000}, "policy": {"max_recall": 20, "max_facts": 40}},
    }
    print(f"{args.events} events, {args.facts} facts, {args.builds} builds each (medians)")
    print(f"{'request':<26}{'python call':>14}{'rust build':>14}{'ratio':>8}")
    for name, request in requests.items():
        mem.build_memory_packet(request)  # warm caches
        python_us, rust_us = [], []
        for _ in range(args.builds):
            started = time.perf_counter()
            packet = mem.build_memory_packet(request)
            python_us.append((time.perf_counter() - started) * 1e6)
            rust_us.append(packet["explain"]["timings_us"]["total"])
        python_median, rust_median = statistics.median(python_us), statistics.median(rust_us)
        print(f"{name:<26}{python_median:>11.0f} us{rust_median:>11.0f} us{python_median / rust_median:>8.2f}")


if __name__ == "__main__":
    main()
