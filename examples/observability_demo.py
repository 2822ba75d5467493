"""Rust `tracing` records reach Python `logging`: watch a packet being built.

At DEBUG, the `engram_store` loggers report candidate counts per section, each budget trim
(an item left out or degraded to a shorter form) and a summary of the packet.
"""

import logging

from engram import Memory

logging.basicConfig(level=logging.INFO, format="%(levelname)-5s %(name)s: %(message)s")
# Enable debug logs for engram to see candidate counts and budget trimming
logging.getLogger("engram_store").setLevel(logging.DEBUG)

scope = {"tenant_id": "default", "user_id": "u1", "agent_id": "a1", "session_id": "s1", "run_id": "r1"}

with Memory(in_memory=True) as mem:
    mem.append_events([
        {
            "scope": scope,
            "kind": "message",
            "payload": {"role": "user" if n % 2 == 0 else "assistant",
                        "text": f"Note {n}: the Lisbon itinerary needs a vegetarian dinner option near Alfama."},
        }
        for n in range(30)
    ])
    for n in range(8):
        mem.upsert_fact({"scope": scope, "fact_key": f"trip.note_{n}",
                         "value": f"Lisbon dinner idea {n}: a vegetarian tasca with a long detailed description."})

    # A tight budget forces trims, which the DEBUG logs explain one by one.
    packet = mem.build_memory_packet({
        "scope": scope,
        "purpose": "planner",
        "query": "vegetarian dinner in Lisbon",
        "budget": {"max_tokens": 200, "per_section": {"facts": 60}},
    })
    logging.getLogger("observability_demo").info(
        "packet: %d tokens, %d selected, %d omitted",
        packet["meta"]["tokens"], len(packet["explain"]["selected"]), len(packet["explain"]["omitted"]),
    )
