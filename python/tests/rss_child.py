"""The measuring side of test_resource_bounds.py: `rss_child.py DB BUILDS` opens the SQLite
store at DB in a fresh process, builds a few packets to warm up, resets the kernel's peak-RSS
mark, builds BUILDS packets with varied queries and prints one JSON line of figures (KiB, from
/proc/self/status): RSS before opening, after warm-up, and the peak while building; and the same
for anonymous memory alone (RssAnon, sampled after every build): the heap, which the file pages
of the extension and the database (RssFile, resident or not as the machine's page cache has it)
do not blur."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict

from engram import Memory

QUERIES = [
    "vegetarian dinner near the hotel in lisbon",
    "flight refund invoice deadline",
    "museum tram ticket booking window seat",
    "customer meeting report schedule budget",
    "sunset viewpoint fado beach train",
]


def status() -> Dict[str, int]:
    figures = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon"):
            figures[name] = int(value.split()[0])
    return figures


def main() -> None:
    path, builds = sys.argv[1], int(sys.argv[2])
    before_open = status()["VmRSS"]
    scope = {"tenant_id": "rss", "user_id": "u", "agent_id": "a", "session_id": "s0", "run_id": "r0"}
    with Memory(path=path) as mem:
        for query in QUERIES:
            mem.build_memory_packet({"scope": scope, "purpose": "planner", "query": query})
        warm = status()
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        anon_peak = warm["RssAnon"]
        for index in range(builds):
            purpose = ("planner", "responder", "tool")[index % 3]
            session = {**scope, "session_id": f"s{index % 7}"}
            packet = mem.build_memory_packet({"scope": session, "purpose": purpose,
                                              "query": QUERIES[index % len(QUERIES)]})
            assert packet["budget_report"]["used_tokens"] <= packet["budget_report"]["max_tokens"]
            anon_peak = max(anon_peak, status()["RssAnon"])
        peak = status()["VmHWM"]
    print(json.dumps({"before_open_kib": before_open, "warm_kib": warm["VmRSS"], "peak_kib": peak,
                      "anon_warm_kib": warm["RssAnon"], "anon_peak_kib": anon_peak}))


if __name__ == "__main__":
    main()
