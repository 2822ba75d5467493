"""engram next to the stores LangChain and LangGraph ship, doing the same work.

Each comparison seeds engram and its peer with the same data in SQLite files of their own, then
times the same operation on both `--repeat` times (in alternating blocks of consecutive calls, see
`time_alternating`), and prints the medians and the ratio peer / engram (above 1: engram is faster). Comparisons (`--only NAME`, repeatable):

  history       reading a 2,000-message chat session: `EngramChatMessageHistory.messages` (window
                2,000) vs langchain_community's `SQLChatMessageHistory.messages` (SQLAlchemy): a
                first read (a new memory object, every message built), and a read by a new
                history over the same memory, as `RunnableWithMessageHistory` makes one per call
                (engram lists the window's sequences and reuses the messages built before)
  checkpointer  `put` of a checkpoint and `get_tuple` of a thread's latest one (with its pending
                writes), on a thread of 500 checkpoints: `EngramCheckpointer` vs LangGraph's
                `SqliteSaver`, both on SQLite files
  store         `search(("users",), query=..., limit=10)` over 20,000 memories of 200 users (three
                queries), and a search with a value filter: `EngramStore` (BM25 over the text) vs
                LangGraph's `SqliteStore` without an embedding index, which ignores the query
                (it returns the newest items under the prefix), both on SQLite files

Needs the dev dependencies (`make venv`). Build the extension in release mode first for figures
worth quoting (`make build`), then:

    .venv/bin/python python/scripts/compare_peers.py [--repeat 20] [--only history] [--smoke]

`--smoke` runs every comparison once on tiny data (the test suite does, to keep this script working).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from engram import Memory
from engram.types import Scope

WORDS = (
    "lisbon dinner hotel flight budget vegetarian alfama tram museum sunset viewpoint fado beach train "
    "ticket booking seat window invoice refund schedule meeting deadline report customer"
).split()


@dataclass(frozen=True)
class Settings:
    """How much work each comparison does."""

    repeat: int
    smoke: bool

    def size(self, full: int, smoke: int) -> int:
        """`full`, or `smoke` for a smoke run."""
        return smoke if self.smoke else full


@dataclass(frozen=True)
class Row:
    """One timed operation: engram's and the peer's median seconds."""

    comparison: str
    operation: str
    peer: str
    engram_seconds: float
    peer_seconds: float
    note: str = ""
    """Printed under the table (once per distinct note)."""

    @property
    def ratio(self) -> float:
        return self.peer_seconds / self.engram_seconds if self.engram_seconds else float("inf")


ROUNDS = 5
"""`time_alternating` runs each side in this many blocks of consecutive calls, alternating."""


def time_alternating(engram_call: Callable[[], Any], peer_call: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    """Median seconds of each call over `repeat` runs, after one warm-up run of each. The runs
    come in `ROUNDS` blocks of consecutive calls per side, the sides alternating, so that a slow
    moment of the machine hits both while each call runs warm, as `timeit` times it (alternating
    single calls made each side pay for the caches the other one evicted). Python's cyclic
    collector runs, untimed, before each block: a block pays for the collections its own
    allocations cause, not for those the other side left due."""
    engram_call()
    peer_call()
    times: Tuple[List[float], List[float]] = ([], [])
    for round_index in range(ROUNDS):
        calls = repeat // ROUNDS + (1 if round_index < repeat % ROUNDS else 0)
        for call, timed in ((engram_call, times[0]), (peer_call, times[1])):
            gc.collect()
            for _ in range(calls):
                started = time.perf_counter()
                call()
                timed.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def chat_messages(count: int) -> List[Any]:
    """`count` messages of a conversation, alternately human and AI, about 20 words each."""
    from langchain_core.messages import AIMessage, HumanMessage

    words = random.Random(7)
    return [
        (HumanMessage if index % 2 == 0 else AIMessage)(content=" ".join(words.choice(WORDS) for _ in range(20)))
        for index in range(count)
    ]


def compare_history(settings: Settings, directory: Path) -> List[Row]:
    """Reading a whole chat session: engram's history vs `SQLChatMessageHistory`, same messages."""
    with warnings.catch_warnings():
        # langchain-community announces its sunset on import; the class is still the peer to beat.
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.chat_message_histories import SQLChatMessageHistory

    from engram.integrations.langchain import EngramChatMessageHistory

    count = settings.size(2000, 50)
    messages = chat_messages(count)
    scope: Scope = {"tenant_id": "compare", "user_id": "u1", "agent_id": "a1", "session_id": "s1", "run_id": "r1"}
    with Memory(path=directory / "engram-history.db") as memory:
        engram_history = EngramChatMessageHistory(memory, scope, window=count)
        engram_history.add_messages(messages)
        peer_history = SQLChatMessageHistory(session_id="s1", connection=f"sqlite:///{directory / 'peer-history.db'}")
        peer_history.add_messages(messages)
        engram_read, peer_read = engram_history.messages, peer_history.messages
        if [message.content for message in engram_read] != [message.content for message in peer_read]:
            raise AssertionError("engram and SQLChatMessageHistory read different histories")
        # A first read builds every message: each one on a memory object of its own (opened
        # untimed), whose histories have built nothing yet.
        unused = [Memory(path=directory / "engram-history.db") for _ in range(settings.repeat + 1)]
        opened = list(unused)
        rows = []
        for operation, engram_read in (
            (f"read {count} messages, first read", lambda: EngramChatMessageHistory(unused.pop(), scope, window=count).messages),
            (f"read {count} messages, new history", lambda: EngramChatMessageHistory(memory, scope, window=count).messages),
        ):
            engram_seconds, peer_seconds = time_alternating(engram_read, lambda: peer_history.messages, settings.repeat)
            rows.append(Row("history", operation, "SQLChatMessageHistory (SQLite)", engram_seconds, peer_seconds))
        for other in opened:
            other.close()
        peer_history.engine.dispose()
    return rows


def compare_checkpointer(settings: Settings, directory: Path) -> List[Row]:
    """A checkpointer's hot path: `put` of the next checkpoint and `get_tuple` of the latest."""
    import sqlite3

    from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
    from langgraph.checkpoint.sqlite import SqliteSaver

    from engram.integrations.langgraph import EngramCheckpointer

    history = settings.size(500, 20)
    channel_values = {"messages": [" ".join(random.Random(index).choice(WORDS) for _ in range(20))
                                   for index in range(20)], "step": 0}
    connection = sqlite3.connect(str(directory / "peer-checkpoints.db"), check_same_thread=False)
    peer = SqliteSaver(connection)
    peer.setup()
    rows: List[Row] = []
    with EngramCheckpointer.from_conn_string(str(directory / "engram-checkpoints.db")) as engram:
        savers = {"engram": engram, "peer": peer}
        parents: Dict[str, Dict[str, Any]] = {name: {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
                                              for name in savers}
        steps = {name: 0 for name in savers}

        def put(name: str) -> None:
            steps[name] += 1
            step = steps[name]
            checkpoint = create_checkpoint(empty_checkpoint(), None, step)
            checkpoint["channel_values"] = {**channel_values, "step": step}
            stored = savers[name].put(parents[name], checkpoint, {"source": "loop", "step": step}, {})
            savers[name].put_writes(stored, [("messages", "pending")], task_id=f"task-{step}")
            parents[name] = stored

        for _ in range(history):
            put("engram")
            put("peer")
        engram_seconds, peer_seconds = time_alternating(lambda: put("engram"), lambda: put("peer"), settings.repeat)
        rows.append(Row("checkpointer", "put + put_writes", "SqliteSaver", engram_seconds, peer_seconds))
        latest = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
        engram_tuple, peer_tuple = engram.get_tuple(latest), peer.get_tuple(latest)
        if engram_tuple is None or peer_tuple is None or \
                engram_tuple.checkpoint["channel_values"] != peer_tuple.checkpoint["channel_values"]:
            raise AssertionError("engram and SqliteSaver read different checkpoints")
        engram_seconds, peer_seconds = time_alternating(lambda: engram.get_tuple(latest),
                                                        lambda: peer.get_tuple(latest), settings.repeat)
        rows.append(Row("checkpointer", "get_tuple (latest)", "SqliteSaver", engram_seconds, peer_seconds))
    connection.close()
    return rows


STORE_QUERIES = ["vegetarian restaurant in lisbon", "refund for the cancelled flight", "museum tickets at sunset"]
STORE_FILTER: Dict[str, Any] = {"kind": "preference", "importance": {"$gte": 4}}
MEMORY_TEMPLATES = [
    "{who} prefers {food} food and usually books a table near {place} around {hour}",
    "{who} flew to {city} on {day} and asked for a refund of the {thing} invoice",
    "{who} wants the {thing} report before the {day} meeting with the {team} team",
    "{who} visited the {sight} in {city} at sunset and bought two tickets for the {sight}",
    "{who} is allergic to {allergen} so the {food} dinner must avoid it",
    "{who} booked a window seat on the train to {city} and kept the receipt for the {thing} budget",
    "{who} cancelled the {day} flight to {city} because of the {team} deadline",
    "{who} recommends the {food} restaurant near {place} for a quiet dinner",
]
MEMORY_WORDS: Dict[str, List[str]] = {
    "who": ["the user", "her sister", "the client", "our manager", "the new hire", "his partner", "the founder"],
    "food": ["vegetarian", "vegan", "seafood", "italian", "japanese", "portuguese", "spicy thai", "mexican"],
    "place": ["the old harbour", "the central station", "the river front", "the hotel", "the office", "alfama"],
    "hour": ["seven", "eight in the evening", "noon", "half past nine"],
    "city": ["lisbon", "porto", "madrid", "berlin", "paris", "tokyo", "toronto", "rome"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "weekend"],
    "thing": ["travel", "hotel", "conference", "catering", "quarterly", "marketing"],
    "team": ["design", "sales", "platform", "finance", "support"],
    "sight": ["museum", "cathedral", "castle", "viewpoint", "botanical garden", "modern art museum"],
    "allergen": ["peanuts", "gluten", "shellfish", "lactose"],
}


def memory_items(count: int) -> List[Tuple[Tuple[str, ...], str, Dict[str, Any]]]:
    """`count` agent memories of 200 users (namespace, key, value): two sentences of text each,
    a kind and an importance from 1 to 5. Deterministic."""
    words = random.Random(11)

    def sentence() -> str:
        template = words.choice(MEMORY_TEMPLATES)
        return template.format(**{name: words.choice(options) for name, options in MEMORY_WORDS.items()})

    kinds = ["preference", "fact", "episode", "task"]
    return [
        (("users", f"u{index % 200:03d}", "memories"), f"m{index:05d}",
         {"text": f"{sentence().capitalize()}. {sentence().capitalize()}.", "kind": words.choice(kinds), "importance": words.randint(1, 5)})
        for index in range(count)
    ]


def compare_store(settings: Settings, directory: Path) -> List[Row]:
    """A long-term memory store's read path: `search` of a prefix with a query, and with a filter."""
    from langgraph.store.base import PutOp
    from langgraph.store.sqlite import SqliteStore

    from engram.integrations.langgraph import EngramStore

    count = settings.size(20_000, 300)
    items = memory_items(count)
    ignored = ("SqliteStore has no embedding index here: it ignores `query` and returns the newest items "
               "under the prefix, so its query rows time a scan, not a search")
    rows: List[Row] = []
    with SqliteStore.from_conn_string(str(directory / "peer-store.db")) as peer, \
            EngramStore.from_conn_string(str(directory / "engram-store.db"), index=["text"]) as engram:
        peer.setup()
        for start in range(0, count, 1000):
            batch = [PutOp(namespace, key, value) for namespace, key, value in items[start:start + 1000]]
            engram.batch(batch)
            peer.batch(batch)
        for query in STORE_QUERIES:
            found = engram.search(("users",), query=query, limit=10)
            terms = {term for term in query.split() if len(term) > 3}
            if len(found) != 10 or not all(terms & set(re.findall(r"\w+", item.value["text"].lower())) for item in found):
                raise AssertionError(f"EngramStore found {len(found)} items for {query!r}, not 10 with its terms")
            engram_seconds, peer_seconds = time_alternating(
                lambda: engram.search(("users",), query=query, limit=10),
                lambda: peer.search(("users",), query=query, limit=10), settings.repeat)
            rows.append(Row("store", f'search "{query}"', "SqliteStore (no index)", engram_seconds, peer_seconds,
                            ignored))
        for store in (engram, peer):
            matched = store.search(("users",), filter=STORE_FILTER, limit=10)
            if len(matched) != 10 or not all(item.value["kind"] == "preference" and item.value["importance"] >= 4
                                             for item in matched):
                raise AssertionError(f"{type(store).__name__} filtered wrongly: {matched}")
        engram_seconds, peer_seconds = time_alternating(
            lambda: engram.search(("users",), filter=STORE_FILTER, limit=10),
            lambda: peer.search(("users",), filter=STORE_FILTER, limit=10), settings.repeat)
        rows.append(Row("store", "search filter kind+importance", "SqliteStore", engram_seconds, peer_seconds))
    return rows


# One function per comparison: (settings, a scratch directory) -> rows.
COMPARISONS: Dict[str, Callable[[Settings, Path], List[Row]]] = {
    "history": compare_history,
    "checkpointer": compare_checkpointer,
    "store": compare_store,
}


def format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def print_table(rows: Sequence[Row], settings: Settings) -> None:
    print(f"medians of {settings.repeat} runs{' (smoke)' if settings.smoke else ''}; ratio = peer / engram")
    header = f"{'comparison':<14}{'operation':<44}{'engram':>12}  {'peer':<32}{'peer time':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.comparison:<14}{row.operation:<44}{format_seconds(row.engram_seconds):>12}  {row.peer:<32}"
              f"{format_seconds(row.peer_seconds):>12}{row.ratio:>7.2f}x")
    for note in dict.fromkeys(row.note for row in rows if row.note):
        print(f"note: {note}")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=None, help="timed runs of each operation (default 20; smoke 3)")
    parser.add_argument("--only", action="append", choices=sorted(COMPARISONS), default=None,
                        help="run only this comparison (repeatable; default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny data and few runs, to check the script works")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    settings = Settings(repeat=args.repeat or (3 if args.smoke else 20), smoke=args.smoke)
    rows: List[Row] = []
    for name in args.only or list(COMPARISONS):
        with tempfile.TemporaryDirectory(prefix=f"engram-compare-{name}-") as directory:
            rows.extend(COMPARISONS[name](settings, Path(directory)))
    print_table(rows, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
