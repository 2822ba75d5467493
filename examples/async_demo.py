"""AsyncMemory: three agents of one user write and read memory concurrently.

The seed README's async example, filled in: concurrent writes with asyncio.gather, then an
async read. A ticker coroutine runs alongside to show the event loop stays free while engram
works (store calls run on engram's own threads, never on the loop).
"""

import asyncio
import time

from engram import AsyncMemory


def scope(agent: str) -> dict:
    return {
        "tenant_id": "default",
        "user_id": "u1",
        "agent_id": agent,
        "session_id": "s1",
        "run_id": "r1",
    }


async def ticker(stop: asyncio.Event) -> int:
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.001)
        ticks += 1
    return ticks


async def main():
    async with AsyncMemory(in_memory=True) as mem:
        stop = asyncio.Event()
        ticks = asyncio.create_task(ticker(stop))
        started = time.perf_counter()

        # Concurrent writes: each agent logs a short exchange.
        await asyncio.gather(
            mem.append_event({
                "scope": scope("researcher"),
                "kind": "message",
                "payload": {"role": "user", "text": "Find flights from Berlin to Lisbon on 14 May."},
            }),
            mem.append_event({
                "scope": scope("booker"),
                "kind": "message",
                "payload": {"role": "user", "text": "Book the Memmo Alfama hotel for six nights."},
            }),
            mem.append_events([
                {
                    "scope": scope("concierge"),
                    "kind": "message",
                    "payload": {"role": "user", "text": f"Suggestion {n}: a vegetarian dinner in Alfama."},
                }
                for n in range(20)
            ]),
            mem.upsert_fact({"scope": scope("concierge"), "fact_key": "user.diet", "value": "vegetarian"}),
        )

        # Async reads: one packet per agent, built concurrently.
        packets = await asyncio.gather(*(
            mem.build_memory_packet({
                "scope": scope(agent),
                "purpose": "responder",
                "query": "vegetarian dinner in Lisbon",
            })
            for agent in ("researcher", "booker", "concierge")
        ))
        elapsed = time.perf_counter() - started
        stop.set()

        for packet in packets:
            meta = packet["meta"]
            print(f"{meta['scope']['agent_id']:>10}: {meta['tokens']:4d} tokens, "
                  f"{len(packet['explain']['selected'])} items selected")
        print(f"ticker ticked {await ticks} times in {elapsed * 1000:.0f} ms while engram worked")


asyncio.run(main())
