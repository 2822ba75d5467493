"""EngramSession against the Agents SDK's own SQLiteSession, both on a SQLite file, in one run:
`add_items` (a user turn and the answer per call, as a run writes them), `get_items(limit)` (the
newest turns, as each run reads them) and `get_items()` (the whole history).

    .venv/bin/python python/scripts/bench_agents_session.py [--turns 2000] [--calls 300] [--json]

Prints per operation the median and p95 microseconds of each and the ratio engram / SQLiteSession.
Measure on a release build (`make build`); the figures in the README come from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

from agents import SQLiteSession

from engram import Memory
from engram.integrations.openai_agents import EngramSession


def turn(index: int) -> List[Dict[str, Any]]:
    return [{"role": "user", "content": f"Question {index}: which trains leave Lisbon for Porto after {index % 24}h?"},
            {"role": "assistant", "content": f"Answer {index}: the Alfa Pendular at {index % 24}:05 and {index % 24}:35."}]


async def timed(calls: int, operation: Callable[[int], Awaitable[Any]]) -> List[float]:
    spent = []
    for index in range(calls):
        started = time.perf_counter()
        await operation(index)
        spent.append((time.perf_counter() - started) * 1e6)
    return spent


async def measure(session: Any, turns: int, calls: int, limit: int) -> Dict[str, List[float]]:
    for index in range(turns - calls):
        await session.add_items(turn(index))
    return {
        "add_items": await timed(calls, lambda index: session.add_items(turn(turns - calls + index))),
        f"get_items(limit={limit})": await timed(calls, lambda _: session.get_items(limit)),
        "get_items()": await timed(max(calls // 10, 3), lambda _: session.get_items()),
    }


def summary(samples: List[float]) -> Dict[str, float]:
    ordered = sorted(samples)
    return {"p50_us": statistics.median(ordered), "p95_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]}


async def main_async(arguments: argparse.Namespace) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        reference = SQLiteSession("bench", str(folder / "agents.db"))
        memory = Memory(path=str(folder / "engram.db"))
        engram_session = EngramSession("bench", memory, user_id="bench")
        results = {
            "sqlite_session": await measure(reference, arguments.turns, arguments.calls, arguments.limit),
            "engram_session": await measure(engram_session, arguments.turns, arguments.calls, arguments.limit),
        }
        reference.close()
        memory.close()
    report: Dict[str, Any] = {"settings": vars(arguments), "operations": {}}
    for operation in results["sqlite_session"]:
        theirs, ours = summary(results["sqlite_session"][operation]), summary(results["engram_session"][operation])
        report["operations"][operation] = {"sqlite_session": theirs, "engram_session": ours,
                                           "ratio_p50": ours["p50_us"] / theirs["p50_us"]}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=2000, help="turns in the session at the end (default 2000)")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per operation (default 300)")
    parser.add_argument("--limit", type=int, default=20, help="items get_items(limit) reads (default 20)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    arguments = parser.parse_args()
    if arguments.calls >= arguments.turns:
        parser.error("--calls must be below --turns")
    report = asyncio.run(main_async(arguments))
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'operation':<22} {'SQLiteSession p50':>18} {'EngramSession p50':>18} {'ratio':>7}")
    for operation, figures in report["operations"].items():
        print(f"{operation:<22} {figures['sqlite_session']['p50_us']:>15.0f} µs {figures['engram_session']['p50_us']:>15.0f} µs"
              f" {figures['ratio_p50']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
