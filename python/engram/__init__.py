"""engram: memory and context for AI agents.

Agents write what happens (events), what is known (facts), what happened at a higher level
(episodes), how to do things (procedures), run-scoped hypotheses (insights) and their live
working state; before every model call they ask for a memory packet: the best context for a
purpose within a token budget, with the reason behind every item and every omission.

    from engram import Memory

    mem = Memory(in_memory=True)
    packet = mem.build_memory_packet({"scope": scope, "purpose": "planner"})

`AsyncMemory` has the same constructor and methods, as awaitables. Inputs and results are
plain dicts; their shapes are the TypedDicts in `engram.types`. Rust `tracing` records reach
Python `logging` under the `engram_store` loggers.
"""

from engram._engram import (
    AsyncMemory,
    BackendUnavailableError,
    ConflictError,
    EngramError,
    InvalidInputError,
    Memory,
    NotFoundError,
    StorageError,
    __version__,
    defaults,
)

__all__ = [
    "AsyncMemory",
    "BackendUnavailableError",
    "ConflictError",
    "EngramError",
    "InvalidInputError",
    "Memory",
    "NotFoundError",
    "StorageError",
    "__version__",
    "defaults",
]
