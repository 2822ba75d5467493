"""`EngramCheckpointer`: LangGraph checkpoints and pending writes kept as engram items, in the
same database as the agent's memory (any backend).

Layout (all under the tenant given, default ``"default"``):

- a checkpoint is the item ``("langgraph", "checkpoints", thread_id, "ns:" + checkpoint_ns)`` /
  ``checkpoint_id``: value ``{"parent", "type", "metadata"}``, blob the serialized checkpoint;
- a pending write is the item ``("langgraph", "writes", thread_id, "ns:" + checkpoint_ns,
  checkpoint_id)`` / ``"<task_id>/<idx>"``: value ``{"task_id", "task_path", "idx", "channel",
  "type"}``, blob the serialized value.

Checkpoint ids sort by time (uuid6), so the latest checkpoint of a namespace is its greatest
key: one index range with a limit, however long the thread.

LangGraph takes any string as a thread id, namespace, checkpoint or task id; an engram label or
key is non-empty, at most 128 bytes, without control characters or whitespace at either end.
A label or key the rules hold, not starting with ``"~"``, is stored as it is (every id LangGraph
makes; the layout above). Any other is stored as ``"~"`` and the value with ``%``, ``#``,
whitespace and control characters percent-escaped, or, when that is too long, ``"~#"`` and its
SHA-256 (base64url): distinct values stay distinct labels. A checkpoint's value then keeps the
original ``thread_id`` and ``checkpoint_ns``, which reads return. Checkpoints whose ids are stored
encoded are ordered by their stored keys, not by the ids (LangGraph's uuid6 ids never are).

Every operation is planned once (which items to read, write or delete) and run by a sync method
over ``Memory`` and an async twin over ``AsyncMemory`` (or the ``Memory``, on worker threads),
through `engram.integrations._calls`.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Dict, List, Optional, Tuple, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from engram import AsyncMemory, Memory
from engram.integrations._calls import (
    AnyMemory,
    MemoryCall,
    Steps,
    acall_memory,
    arun_steps,
    call_memory,
    open_arguments,
    open_async,
    run_steps,
)
from engram.types import ItemInput, ItemQuery, OnConflict, Receipt
from engram.types import Item as EngramItem

ROOT = "langgraph"
# Listing a whole thread (or every thread) reads at most this many checkpoints.
LIST_ALL = 1_000_000

Item = Dict[str, Any]  # an item or an item query, as the store's dicts


# engram's default `max_id_bytes`: the longest label or key stored as it is.
ID_BYTES = 128
# The longest checkpoint id stored as it is: a pending write's namespace holds the thread, the
# namespace and the checkpoint id, and is at most 384 bytes joined (19 bytes for the rest).
CHECKPOINT_ID_BYTES = 384 - 19 - 2 * ID_BYTES
# Starts every encoded label or key; a plain one starting with it is encoded too.
ESCAPE = "~"
# Starts the digest form, which the escaped form never does ("#" is escaped).
DIGEST = ESCAPE + "#"
# Lone surrogates pass through encoding, so that engram refuses them as it does any text that is
# not UTF-8: an `InvalidInputError` naming the field.
SURROGATES = "surrogatepass"


def _encoded(value: str, limit: int = ID_BYTES) -> str:
    """`value` as an engram label or key: as it is when engram's id rules hold it (and it does
    not start with `ESCAPE`), else escaped, else digested. One-to-one; see the module's doc."""
    if _as_is(value, limit):
        return value
    escaped = ESCAPE + "".join(
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8", SURROGATES))
        if char in "%#" or _forbidden(char) else char
        for char in value)
    if _size(escaped) <= limit:
        return escaped
    digest = base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8", SURROGATES)).digest()).decode("ascii")
    return DIGEST + digest.rstrip("=")


def _as_is(value: str, limit: int) -> bool:
    """Whether engram's `check_id` takes `value` (within `limit` bytes) and it is no encoding."""
    return (0 < _size(value) <= limit and not value.startswith(ESCAPE)
            and not _forbidden(value[0]) and not _forbidden(value[-1])
            and not any(unicodedata.category(char) == "Cc" for char in value))


def _size(value: str) -> int:
    return len(value.encode("utf-8", SURROGATES))


def _forbidden(char: str) -> bool:
    # Python's whitespace holds Rust's (`char::is_whitespace`, what engram refuses at an end)
    # and a few control characters besides.
    return char.isspace() or unicodedata.category(char) == "Cc"


def _thread_label(thread_id: Any) -> str:
    return _encoded(str(thread_id))


def _namespace_label(checkpoint_ns: str) -> str:
    # Item labels may not be empty; the root namespace "" is "ns:".
    return _encoded("ns:" + checkpoint_ns)


def _checkpoint_key(checkpoint_id: str) -> str:
    return _encoded(checkpoint_id, CHECKPOINT_ID_BYTES)


def _originals(thread_id: str, checkpoint_ns: str) -> Dict[str, str]:
    """What a checkpoint's value keeps of ids its labels cannot give back (the encoded ones)."""
    kept = {}
    if _thread_label(thread_id) != thread_id:
        kept["thread_id"] = thread_id
    if _namespace_label(checkpoint_ns) != "ns:" + checkpoint_ns:
        kept["checkpoint_ns"] = checkpoint_ns
    return kept


def _ids(item: Item) -> Tuple[str, str]:
    """The thread id and checkpoint namespace of a checkpoint item, as they were given."""
    value, namespace = item["value"], item["namespace"]
    return value.get("thread_id", namespace[2]), value.get("checkpoint_ns", namespace[3][3:])


def _checkpoints_namespace(thread_id: str, checkpoint_ns: Optional[str] = None) -> List[str]:
    labels = [ROOT, "checkpoints", _thread_label(thread_id)]
    return labels if checkpoint_ns is None else [*labels, _namespace_label(checkpoint_ns)]


def _writes_namespace(thread_id: str, checkpoint_ns: Optional[str] = None, checkpoint_id: Optional[str] = None) -> List[str]:
    labels = [ROOT, "writes", _thread_label(thread_id)]
    if checkpoint_ns is not None:
        labels.append(_namespace_label(checkpoint_ns))
        if checkpoint_id is not None:
            labels.append(_checkpoint_key(checkpoint_id))
    return labels


def _writes_of(namespace: Sequence[str], key: str) -> List[str]:
    """The namespace of the pending writes of the checkpoint stored in `namespace` / `key`."""
    return [ROOT, "writes", *namespace[2:4], key]


class EngramCheckpointer(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer over engram: ``Memory`` for the sync methods, ``AsyncMemory``
    for the async ones (``from_conn_string`` opens both on one database). Given only one of the
    two, the other side runs it in a worker thread (async) or is unavailable (sync)."""

    def __init__(
        self,
        memory: Optional[Memory] = None,
        *,
        async_memory: Optional[AsyncMemory] = None,
        tenant_id: str = "default",
        serde: Optional[SerializerProtocol] = None,
    ) -> None:
        super().__init__(serde=serde)
        if memory is None and async_memory is None:
            raise ValueError("EngramCheckpointer needs a Memory, an AsyncMemory or both")
        self.memory = memory
        self.async_memory = async_memory
        self.tenant_id = tenant_id

    # --- opening ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, *, tenant_id: str = "default") -> Iterator["EngramCheckpointer"]:
        """A checkpointer on `conn_string`: a SQLite path (``":memory:"`` for a private
        in-memory store), or a ``postgres://`` / ``mysql://`` DSN. Closed on exit."""
        memory = Memory(**open_arguments(conn_string))
        try:
            yield cls(memory, tenant_id=tenant_id)
        finally:
            memory.close()

    @classmethod
    @asynccontextmanager
    async def afrom_conn_string(cls, conn_string: str, *, tenant_id: str = "default") -> AsyncIterator["EngramCheckpointer"]:
        """`from_conn_string` for asyncio: the async methods run on an ``AsyncMemory``."""
        async_memory = await open_async(conn_string)
        try:
            yield cls(async_memory=async_memory, tenant_id=tenant_id)
        finally:
            await async_memory.close()

    def setup(self) -> None:
        """Nothing to create: engram applies its migrations when a store opens. Idempotent."""

    async def asetup(self) -> None:
        """`setup` for asyncio: nothing to create."""

    # --- plans: what each operation reads and writes ----------------------------------------

    def _query(self, namespace: List[str], **extra: Any) -> Item:
        return {"tenant_id": self.tenant_id, "namespace": namespace, **extra}

    def _get_query(self, config: RunnableConfig) -> Item:
        configurable = config["configurable"]
        thread_id, checkpoint_ns = configurable["thread_id"], configurable.get("checkpoint_ns", "")
        namespace = _checkpoints_namespace(thread_id, checkpoint_ns)
        # The checkpoint comes with its pending writes (its children), in one read.
        children = _writes_namespace(thread_id, checkpoint_ns)
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id:
            return self._query(namespace, keys=[_checkpoint_key(checkpoint_id)], limit=1, children=children)
        return self._query(namespace, descending=True, limit=1, children=children)

    def _writes_query(self, checkpoint: Item) -> Item:
        return self._query(_writes_of(checkpoint["namespace"], checkpoint["key"]), limit=LIST_ALL)

    def _list_query(
        self, config: Optional[RunnableConfig], filter: Optional[Dict[str, Any]], before: Optional[RunnableConfig],
        limit: Optional[int],
    ) -> Tuple[Item, bool]:
        """The item query of `list`, and whether its results need sorting by checkpoint id
        (listing across namespaces or threads, which the store orders by namespace first)."""
        configurable = (config or {}).get("configurable", {})
        thread_id = configurable.get("thread_id")
        checkpoint_ns = configurable.get("checkpoint_ns")
        query: Item
        if thread_id is not None and checkpoint_ns is not None:
            query = self._query(_checkpoints_namespace(thread_id, checkpoint_ns), descending=True,
                                children=_writes_namespace(thread_id, checkpoint_ns))
            one_namespace = True
        else:
            prefix = _checkpoints_namespace(thread_id) if thread_id is not None else [ROOT, "checkpoints"]
            query = self._query(prefix, prefix=True, descending=True)
            one_namespace = False
        checkpoint_id = configurable.get("checkpoint_id")
        if checkpoint_id:
            query["keys"] = [_checkpoint_key(checkpoint_id)]
        before_id = get_checkpoint_id(before) if before is not None else None
        if before_id:
            query["before_key"] = _checkpoint_key(before_id)
        if filter:
            query["filter"] = {f"metadata.{key}": value for key, value in filter.items()}
        query["limit"] = limit if one_namespace and limit is not None else LIST_ALL
        return query, not one_namespace

    def _checkpoint_item(
        self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata
    ) -> Tuple[Item, RunnableConfig]:
        configurable = config["configurable"]
        thread_id, checkpoint_ns = str(configurable["thread_id"]), configurable.get("checkpoint_ns", "")
        type_, blob = self.serde.dumps_typed(checkpoint)
        item = {
            "tenant_id": self.tenant_id,
            "namespace": _checkpoints_namespace(thread_id, checkpoint_ns),
            "key": _checkpoint_key(checkpoint["id"]),
            "value": {"parent": configurable.get("checkpoint_id"), "type": type_,
                      "metadata": _plain(get_checkpoint_metadata(config, metadata)),
                      **_originals(thread_id, checkpoint_ns)},
            "blob": blob,
        }
        stored: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                                    "checkpoint_id": checkpoint["id"]}}
        return item, stored

    def _write_items(
        self, config: RunnableConfig, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str
    ) -> Tuple[List[Item], str]:
        configurable = config["configurable"]
        namespace = _writes_namespace(str(configurable["thread_id"]), configurable.get("checkpoint_ns", ""),
                                      str(configurable["checkpoint_id"]))
        items = []
        for idx, (channel, value) in enumerate(writes):
            index = WRITES_IDX_MAP.get(channel, idx)
            type_, blob = self.serde.dumps_typed(value)
            items.append({
                "tenant_id": self.tenant_id, "namespace": namespace, "key": _encoded(f"{task_id}/{index}"),
                "value": {"task_id": task_id, "task_path": task_path, "idx": index, "channel": channel,
                          "type": type_},
                "blob": blob,
            })
        # Special writes (errors, interrupts) replace; ordinary ones are written once.
        on_conflict = "replace" if all(channel in WRITES_IDX_MAP for channel, _ in writes) else "keep"
        return items, on_conflict

    def _tuple(self, item: Item, writes: List[Item]) -> CheckpointTuple:
        """The tuple of a checkpoint item and its pending writes' items."""
        thread_id, checkpoint_ns = _ids(item)
        value = item["value"]
        checkpoint = self.serde.loads_typed((value["type"], item["blob"]))
        config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                                    "checkpoint_id": checkpoint["id"]}}
        parent: Optional[RunnableConfig] = None
        if value.get("parent"):
            parent = {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
                                       "checkpoint_id": value["parent"]}}
        return CheckpointTuple(
            config,
            checkpoint,
            cast(CheckpointMetadata, value.get("metadata") or {}),
            parent,
            self._pending(writes),
        )

    def _pending(self, writes: List[Item]) -> List[PendingWrite]:
        ordered = sorted(writes, key=lambda write: (write["value"]["task_path"], write["value"]["task_id"],
                                                    write["value"]["idx"]))
        return [(write["value"]["task_id"], write["value"]["channel"],
                 self.serde.loads_typed((write["value"]["type"], write["blob"]))) for write in ordered]

    def _sync(self) -> Memory:
        if self.memory is None:
            raise RuntimeError("this EngramCheckpointer was opened for asyncio: use the a* methods")
        return self.memory

    def _either(self) -> AnyMemory:
        """What the async methods call: the ``AsyncMemory``, else the ``Memory``."""
        return self.async_memory if self.async_memory is not None else self._sync()

    def _list(self, query: Item) -> List[Item]:
        return cast(List[Item], call_memory(self._sync(), _list_items(query)))

    def _put(self, items: List[Item], on_conflict: str = "replace") -> None:
        call_memory(self._sync(), _put_items(items, on_conflict))

    def _delete(self, query: Item) -> None:
        call_memory(self._sync(), _delete_items(query))

    async def _alist(self, query: Item) -> List[Item]:
        return cast(List[Item], await acall_memory(self._either(), _list_items(query)))

    async def _aput(self, items: List[Item], on_conflict: str = "replace") -> None:
        await acall_memory(self._either(), _put_items(items, on_conflict))

    async def _adelete(self, query: Item) -> None:
        await acall_memory(self._either(), _delete_items(query))

    # --- sync --------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        found = self._list(self._get_query(config))
        return self._tuple(found[0], found[0]["children"]) if found else None

    def list(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[Dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        query, needs_sorting = self._list_query(config, filter, before, limit)
        for item in _newest_first(self._list(query), needs_sorting, limit):
            writes = item.get("children")
            yield self._tuple(item, self._list(self._writes_query(item)) if writes is None else writes)

    def put(
        self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        item, stored = self._checkpoint_item(config, checkpoint, metadata)
        self._put([item])
        return stored

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        items, on_conflict = self._write_items(config, writes, task_id, task_path)
        if items:
            self._put(items, on_conflict)

    def delete_thread(self, thread_id: str) -> None:
        for namespace in (_checkpoints_namespace(thread_id), _writes_namespace(thread_id)):
            self._delete(self._query(namespace, prefix=True))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        doomed = self._list(self._runs_query(run_ids))
        for query in self._delete_checkpoint_queries(doomed):
            self._delete(query)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        items = [item for namespace in (_checkpoints_namespace(source_thread_id), _writes_namespace(source_thread_id))
                 for item in self._list(self._query(namespace, prefix=True, limit=LIST_ALL))]
        copies = _copied(items, target_thread_id)
        if copies:
            self._put(copies)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            _check_strategy(strategy)
            run_steps(self._sync(), self._prune_steps(thread_id))

    # --- async -------------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        found = await self._alist(self._get_query(config))
        return self._tuple(found[0], found[0]["children"]) if found else None

    async def alist(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[Dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[CheckpointTuple]:
        query, needs_sorting = self._list_query(config, filter, before, limit)
        for item in _newest_first(await self._alist(query), needs_sorting, limit):
            writes = item.get("children")
            if writes is None:
                writes = await self._alist(self._writes_query(item))
            yield self._tuple(item, writes)

    async def aput(
        self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        item, stored = self._checkpoint_item(config, checkpoint, metadata)
        await self._aput([item])
        return stored

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[Tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        items, on_conflict = self._write_items(config, writes, task_id, task_path)
        if items:
            await self._aput(items, on_conflict)

    async def adelete_thread(self, thread_id: str) -> None:
        for namespace in (_checkpoints_namespace(thread_id), _writes_namespace(thread_id)):
            await self._adelete(self._query(namespace, prefix=True))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        doomed = await self._alist(self._runs_query(run_ids))
        for query in self._delete_checkpoint_queries(doomed):
            await self._adelete(query)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        items = []
        for namespace in (_checkpoints_namespace(source_thread_id), _writes_namespace(source_thread_id)):
            items.extend(await self._alist(self._query(namespace, prefix=True, limit=LIST_ALL)))
        copies = _copied(items, target_thread_id)
        if copies:
            await self._aput(copies)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
                continue
            _check_strategy(strategy)
            await arun_steps(self._either(), self._prune_steps(thread_id))

    # --- shared by the twins -----------------------------------------------------------------

    def _prune_steps(self, thread_id: str) -> Steps[None]:
        """`keep_latest` for one thread, written once for both twins as engram calls (see `Steps`):
        the reads, then the deletes. Each namespace keeps its latest checkpoint and the ancestors
        its delta channels need (see `_needs_ancestor`)."""
        headers: List[Item] = yield "list_items", self._query(_checkpoints_namespace(thread_id), prefix=True,
                                                              limit=LIST_ALL, without_blobs=True)
        kept: set[Tuple[str, str]] = set()
        for latest in _latest_per_namespace(headers):
            # The headers have no blobs; the chain's checkpoints are read whole.
            chain: List[Item] = yield "list_items", self._query(latest["namespace"], keys=[latest["key"]], limit=1)
            while chain:
                nearest = self._needs_ancestor(chain)
                if nearest is None:
                    break
                found: List[Item] = yield "list_items", self._query(latest["namespace"], keys=[nearest], limit=1)
                if not found:
                    break
                chain.append(found[0])
            kept.add((latest["namespace"][3], latest["key"]))
            kept.update((item["namespace"][3], item["key"]) for item in chain)
        doomed = [item for item in headers if (item["namespace"][3], item["key"]) not in kept]
        for query in self._delete_checkpoint_queries(doomed):
            yield "delete_items", query

    def _runs_query(self, run_ids: Sequence[str]) -> Item:
        return self._query([ROOT, "checkpoints"], prefix=True, limit=LIST_ALL, without_blobs=True,
                           filter={"metadata.run_id": {"$in": [str(run_id) for run_id in run_ids]}})

    def _delete_checkpoint_queries(self, checkpoints: List[Item]) -> List[Item]:
        """Deleting checkpoints: per namespace one query for the checkpoints, and one per
        checkpoint for its pending writes."""
        by_namespace: Dict[Tuple[str, ...], List[str]] = {}
        for item in checkpoints:
            by_namespace.setdefault(tuple(item["namespace"]), []).append(item["key"])
        queries = []
        for namespace, keys in by_namespace.items():
            queries.append(self._query(list(namespace), keys=keys))
            for key in keys:
                queries.append(self._query(_writes_of(namespace, key)))
        return queries

    def _needs_ancestor(self, chain: List[Item]) -> Optional[str]:
        """The parent id `prune` must also keep, or None when the chain is complete.

        A `DeltaChannel` keeps only a sentinel in `channel_values` between snapshots; its value is
        rebuilt from the ancestors' writes back to the nearest ancestor holding a value (see
        `BaseCheckpointSaver.get_delta_channel_history`). So the kept checkpoint needs every
        ancestor until each channel it versions but does not hold has been seen with a value."""
        latest = chain[0]
        missing = set(self._checkpoint_of(latest)["channel_versions"]) - set(
            self._checkpoint_of(latest)["channel_values"])
        for ancestor in chain[1:]:
            missing -= set(self._checkpoint_of(ancestor)["channel_values"])
        parent = chain[-1]["value"].get("parent")
        return parent if missing and parent else None

    def _checkpoint_of(self, item: Item) -> Checkpoint:
        cached = item.get("_checkpoint")
        if cached is None:
            cached = self.serde.loads_typed((item["value"]["type"], item["blob"]))
            item["_checkpoint"] = cached
        return cast(Checkpoint, cached)

    def get_next_version(self, current: Optional[str], channel: None) -> str:
        """Versions as LangGraph's own savers write them: a zero-padded counter and a random
        fraction, so they sort as strings."""
        import random

        if current is None:
            current_version = 0
        elif isinstance(current, int):
            current_version = current
        else:
            current_version = int(current.split(".")[0])
        return f"{current_version + 1:032}.{random.random():016}"


def _list_items(query: Item) -> MemoryCall[List[EngramItem]]:
    return lambda memory: memory.list_items(cast(ItemQuery, query))


def _put_items(items: List[Item], on_conflict: str) -> MemoryCall[None]:
    return lambda memory: memory.put_items(cast(List[ItemInput], items), cast(OnConflict, on_conflict))


def _delete_items(query: Item) -> MemoryCall[Receipt]:
    return lambda memory: memory.delete_items(cast(ItemQuery, query))


def _plain(metadata: Any) -> Any:
    """Metadata as JSON-able values (what LangGraph's SQL savers store, and filter on)."""
    import json

    return json.loads(json.dumps(metadata, ensure_ascii=False, default=str))


def _newest_first(items: List[Item], needs_sorting: bool, limit: Optional[int]) -> List[Item]:
    if needs_sorting:
        items = sorted(items, key=lambda item: item["key"], reverse=True)
    return items if limit is None else items[:limit]


def _latest_per_namespace(headers: List[Item]) -> List[Item]:
    latest: Dict[str, Item] = {}
    for item in headers:
        label = item["namespace"][3]
        if label not in latest or item["key"] > latest[label]["key"]:
            latest[label] = item
    return list(latest.values())


def _copied(items: List[Item], target_thread_id: str) -> List[Item]:
    copies = []
    target = str(target_thread_id)
    for item in items:
        namespace = list(item["namespace"])
        namespace[2] = _thread_label(target)
        value = item["value"]
        if namespace[1] == "checkpoints":
            # The copy's value keeps the target's id when its label cannot give it back.
            value = {name: entry for name, entry in value.items() if name != "thread_id"}
            if namespace[2] != target:
                value["thread_id"] = target
        copies.append({"tenant_id": item["tenant_id"], "namespace": namespace, "key": item["key"],
                       "value": value, "blob": item["blob"], "expires_at": item["expires_at"]})
    return copies


def _check_strategy(strategy: str) -> None:
    if strategy != "keep_latest":
        raise ValueError(f"unknown prune strategy {strategy!r}; expected 'keep_latest' or 'delete'")
