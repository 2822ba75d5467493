"""`EngramStore`: LangGraph's long-term memory store (`BaseStore`) kept as engram items, in the
same database as the agent's memory and the checkpoints (any backend).

Layout (all under the tenant given, default ``"default"``): the store's item ``(namespace, key)``
is the engram item ``("langgraph", "store", *namespace)`` / ``key`` with the same value, so the
store sees neither the checkpointer's items (``("langgraph", "checkpoints", ...)``) nor any
other, and LangGraph namespaces may hold at most 14 labels (engram's limit is 16). An item's
``index`` fields are the text engram's lexical index (BM25) finds it by; LangGraph's ``ttl``
(minutes) is engram's ``ttl_seconds``.

A batch is planned once (which engram calls answer its operations) and run by `batch` from sync
code or by `abatch` from async code, on either memory (`engram.integrations._calls`). As in
LangGraph's SQL stores, a batch's reads see the store as it was before the batch, and its writes
come last, the last write of a key winning.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import langgraph.store.base
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from engram import Memory
from engram.integrations._calls import (
    AnyMemory,
    Step,
    Steps,
    acall_memory,
    arun_steps,
    call_memory,
    one_step,
    open_arguments,
    open_async,
    run_steps,
)
from engram.types import FoundItem, ItemInput, ItemQuery, ItemSearch, NamespaceQuery, Receipt
from engram.types import Item as EngramItem

# Checks the labels of an op given to `batch` directly (`BaseStore`'s methods check their own);
# older langgraph-checkpoint releases have none (nor did their stores check there).
_validate_op: Optional[Callable[[Op], None]] = getattr(langgraph.store.base, "validate_op_namespace", None)

_logger = logging.getLogger("engram.integrations.langgraph")

ROOT = ("langgraph", "store")
"""The labels every store namespace sits under."""

DEFAULT_INDEX = ["$"]
"""What `EngramStore` indexes when not told: the text of the whole value."""

# An operator condition no value meets: `$in` an empty list.
_NEVER: Dict[str, Any] = {"$in": []}
# The largest finite float: every number is at most it (what `< inf` means for JSON numbers).
_LARGEST = sys.float_info.max


class EngramStore(BaseStore):
    """A LangGraph store over engram items: `batch` (and LangGraph's `get`, `put`, `search`,
    `list_namespaces`, `delete`) on a ``Memory``, `abatch` (and the ``a*`` methods) natively on an
    ``AsyncMemory``; the other side runs the given memory on a worker thread (a ``Memory`` in
    `abatch`) or on a private event loop (an ``AsyncMemory`` in `batch`).

    `search` with a ``query`` ranks by engram's BM25 over each item's indexed text (highest
    ``score`` first, ties by namespace then key) and returns only items matching a term of the
    query; without one (or with a query of no searchable terms), every item under the prefix
    passing the filter, in (namespace, key) order, with ``score`` None. (LangGraph's own stores
    order those by ``updated_at``, newest first.) `index` is the default fields indexed
    (``["$"]``, the whole value; ``[]`` indexes nothing); a `put` may name its own, or pass
    ``index=False`` to leave the item unsearchable by query (it is still listed).

    `ttl` is LangGraph's `TTLConfig`: ``default_ttl`` (minutes) for `put` without a ``ttl``, and
    ``refresh_on_read`` (default True) for `get`/`search` without ``refresh_ttl``: a read that
    refreshes restarts the returned items' time. Expired items are gone for every read at once;
    `sweep_ttl` deletes them, and `start_ttl_sweeper` runs it every ``sweep_interval_minutes``
    in the background, as LangGraph's own stores do. Engram's errors propagate
    (``InvalidInputError`` is a ``ValueError``)."""

    supports_ttl = True

    def __init__(
        self,
        memory: AnyMemory,
        *,
        tenant_id: str = "default",
        index: Optional[List[str]] = None,
        ttl: Optional[TTLConfig] = None,
    ) -> None:
        self.memory = memory
        self.tenant_id = tenant_id
        self.index = list(DEFAULT_INDEX if index is None else index)
        self.ttl_config = ttl
        self._sweeper: Optional[threading.Thread] = None
        self._sweeper_stop = threading.Event()
        self._sweeper_done: Future[None] = Future()

    # --- opening ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        tenant_id: str = "default",
        index: Optional[List[str]] = None,
        ttl: Optional[TTLConfig] = None,
    ) -> Iterator["EngramStore"]:
        """A store on `conn_string`: a SQLite path (``":memory:"`` for a private in-memory
        store), or a ``postgres://`` / ``mysql://`` DSN. Closed on exit."""
        memory = Memory(**open_arguments(conn_string))
        store = cls(memory, tenant_id=tenant_id, index=index, ttl=ttl)
        try:
            yield store
        finally:
            store.stop_ttl_sweeper()
            memory.close()

    @classmethod
    @asynccontextmanager
    async def afrom_conn_string(
        cls,
        conn_string: str,
        *,
        tenant_id: str = "default",
        index: Optional[List[str]] = None,
        ttl: Optional[TTLConfig] = None,
    ) -> AsyncIterator["EngramStore"]:
        """`from_conn_string` for asyncio: the store runs on an ``AsyncMemory``."""
        memory = await open_async(conn_string)
        store = cls(memory, tenant_id=tenant_id, index=index, ttl=ttl)
        try:
            yield store
        finally:
            await asyncio.to_thread(store.stop_ttl_sweeper)
            await memory.close()

    def setup(self) -> None:
        """Nothing to create: engram applies its migrations when a store opens. Idempotent."""

    async def asetup(self) -> None:
        """`setup` for asyncio: nothing to create."""

    # --- running a batch ----------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> List[Result]:
        """Runs the operations (reads first, then writes) and returns their results in order:
        an `Item` or None per `GetOp`, a list of `SearchItem` per `SearchOp`, a list of namespace
        tuples per `ListNamespacesOp`, None per `PutOp`."""
        return self._plan(ops).run(self.memory)

    async def abatch(self, ops: Iterable[Op]) -> List[Result]:
        """`batch` for asyncio: the reads run concurrently."""
        return await self._plan(ops).arun(self.memory)

    def sweep_ttl(self) -> int:
        """Deletes expired records now (engram's `sweep_expired`, every tenant's) and returns the
        number of items deleted. Expired items are already invisible to every read."""
        return _items_deleted(call_memory(self.memory, lambda memory: memory.sweep_expired()))

    async def asweep_ttl(self) -> int:
        """`sweep_ttl` for asyncio."""
        return _items_deleted(await acall_memory(self.memory, lambda memory: memory.sweep_expired()))

    def start_ttl_sweeper(self, sweep_interval_minutes: Optional[float] = None) -> "Future[None]":
        """Starts a daemon thread running `sweep_ttl` every `sweep_interval_minutes` (else the
        ``ttl`` config's, else 5), as LangGraph's `SqliteStore` does, and returns a future done
        when it stops: `stop_ttl_sweeper`, cancelling the future, or the end of a
        `from_conn_string` block. A failed sweep is logged and the next one runs. Without a
        ``ttl`` config there is nothing to sweep for: the future is done at once. While a
        sweeper runs, starting it again returns its future."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return self._sweeper_done
        future: Future[None] = Future()
        if not self.ttl_config:
            future.set_result(None)
            return future
        future.add_done_callback(lambda done: self._sweeper_stop.set() if done.cancelled() else None)
        interval = float(sweep_interval_minutes or self.ttl_config.get("sweep_interval_minutes") or 5) * 60
        self._sweeper_stop.clear()

        def sweep_until_stopped() -> None:
            while not self._sweeper_stop.wait(interval):
                try:
                    swept = self.sweep_ttl()
                except Exception:
                    _logger.exception("engram: the store's TTL sweep failed")
                    continue
                if swept:
                    _logger.info("engram: the store's TTL sweep deleted %d expired items", swept)
            if not future.done():
                future.set_result(None)

        self._sweeper = threading.Thread(target=sweep_until_stopped, name="engram-ttl-sweeper", daemon=True)
        self._sweeper_done = future
        self._sweeper.start()
        return future

    def stop_ttl_sweeper(self, timeout: Optional[float] = None) -> bool:
        """Stops the sweeper `start_ttl_sweeper` started, waiting at most `timeout` seconds
        (forever when None) for a sweep under way; True when no sweeper runs any more."""
        sweeper = self._sweeper
        if sweeper is None:
            return True
        self._sweeper_stop.set()
        sweeper.join(timeout)
        if sweeper.is_alive():
            return False
        self._sweeper = None
        return True

    # --- planning -----------------------------------------------------------------------------

    def _plan(self, ops: Iterable[Op]) -> "_Plan":
        """The engram calls answering `ops`, after LangGraph's checks of their namespaces: one
        read per `SearchOp` and `ListNamespacesOp`, one per namespace for the `GetOp`s, and the
        `PutOp`s' writes."""
        operations = list(ops)
        for op in operations:
            if _validate_op is not None:
                _validate_op(op)
            if isinstance(op, PutOp) and not op.namespace:
                raise InvalidNamespaceError("Namespace cannot be empty.")
        plan = _Plan(len(operations))
        gets: Dict[Tuple[Tuple[str, ...], bool], List[Tuple[int, str]]] = {}
        puts: Dict[Tuple[Tuple[str, ...], str], PutOp] = {}
        for position, op in enumerate(operations):
            if isinstance(op, GetOp):
                gets.setdefault((tuple(op.namespace), bool(op.refresh_ttl)), []).append((position, op.key))
            elif isinstance(op, SearchOp):
                plan.read(self._search(op), _deliver_search(position))
            elif isinstance(op, ListNamespacesOp):
                namespaces = self._namespace_query(op)
                if namespaces is None:
                    plan.results[position] = []
                else:
                    plan.read(one_step("list_namespaces", namespaces), _deliver_namespaces(position))
            elif isinstance(op, PutOp):
                puts[(tuple(op.namespace), op.key)] = op  # the last write of a key wins
            else:
                raise TypeError(f"EngramStore cannot run {type(op).__name__}")
        for (namespace, refresh), wanted in gets.items():
            # One read per namespace: every key its GetOps ask for.
            keys = sorted({key for _, key in wanted})
            query: ItemQuery = {"tenant_id": self.tenant_id, "namespace": [*ROOT, *namespace], "keys": keys,
                                "limit": len(keys), "without_blobs": True, "refresh_ttl": refresh}
            plan.read(one_step("list_items", query), _deliver_gets(wanted))
        self._plan_writes(plan, list(puts.values()))
        return plan

    def _plan_writes(self, plan: "_Plan", puts: List[PutOp]) -> None:
        doomed: Dict[Tuple[str, ...], List[str]] = {}
        items: List[ItemInput] = []
        for op in puts:
            if op.value is None:
                doomed.setdefault(tuple(op.namespace), []).append(op.key)
            else:
                items.append(self._input(op))
        for namespace, keys in doomed.items():
            plan.writes.append(("delete_items", {"tenant_id": self.tenant_id, "namespace": [*ROOT, *namespace],
                                                 "keys": keys}))
        if items:
            plan.writes.append(("put_items", items))  # a taken key is replaced

    def _input(self, op: PutOp) -> ItemInput:
        if op.index is False:
            fields: Optional[List[str]] = None
        elif op.index is None:
            fields = self.index
        else:
            fields = list(op.index)
        item: ItemInput = {"tenant_id": self.tenant_id, "namespace": [*ROOT, *op.namespace], "key": op.key,
                           "value": op.value, "index": fields or None}
        if op.ttl is not None:
            item["ttl_seconds"] = op.ttl * 60
        return item

    def _search(self, op: SearchOp) -> Steps[List[FoundItem]]:
        """The read answering `op`: one engram search, or pages of it when some of the filter is
        checked here (`split_filter`)."""
        search: ItemSearch = {"tenant_id": self.tenant_id, "namespace": [*ROOT, *op.namespace_prefix],
                              "query": op.query, "offset": op.offset, "limit": op.limit,
                              "without_blobs": True, "refresh_ttl": bool(op.refresh_ttl)}
        split = split_filter(op.filter or {})
        if split.engram:
            search["filter"] = split.engram
        if not split.checks:
            return one_step("search_items", search)
        return _checked_search(search, split.checks)

    def _namespace_query(self, op: ListNamespacesOp) -> Optional[NamespaceQuery]:
        """The namespace query of `op`, or None when its conditions contradict each other."""
        prefixes = [_path(condition) for condition in op.match_conditions or () if condition.match_type == "prefix"]
        suffixes = [_path(condition) for condition in op.match_conditions or () if condition.match_type == "suffix"]
        prefix = _merged(prefixes, from_end=False)
        suffix = _merged(suffixes, from_end=True)
        if prefix is None or suffix is None:
            return None
        # Wildcards after the prefix keep the suffix off the root's labels: a store namespace
        # has at least as many labels as the suffix.
        padding = ["*"] * max(0, len(suffix) - len(prefix))
        query: NamespaceQuery = {"tenant_id": self.tenant_id, "prefix": [*ROOT, *prefix, *padding],
                                 "offset": op.offset, "limit": op.limit}
        if suffix:
            query["suffix"] = suffix
        if op.max_depth is not None:
            query["max_depth"] = len(ROOT) + op.max_depth
        return query


# A search checked here reads pages of at least this many items, each next one 4 times larger.
CHECKED_PAGE = 100
CHECKED_PAGE_MOST = 10_000


def _checked_search(search: ItemSearch, checks: List[Check]) -> Steps[List[FoundItem]]:
    """`search` with `checks` applied to what engram finds: pages from the first item until
    ``offset + limit`` pass or none are left, so offsets count passing items only. The TTL of
    the items returned, and only theirs, is refreshed after."""
    offset, limit = search.get("offset", 0), search.get("limit", 10)
    wanted = offset + limit
    passing: List[FoundItem] = []
    start, page = 0, min(max(wanted, CHECKED_PAGE), CHECKED_PAGE_MOST)
    while len(passing) < wanted:
        found: List[FoundItem] = yield "search_items", {**search, "offset": start, "limit": page, "refresh_ttl": False}
        passing.extend(item for item in found if passes(item["value"], checks))
        if len(found) < page:
            break
        start, page = start + page, min(page * 4, CHECKED_PAGE_MOST)
    selected = passing[offset:wanted]
    if search.get("refresh_ttl"):
        by_namespace: Dict[Tuple[str, ...], List[str]] = {}
        for item in selected:
            by_namespace.setdefault(tuple(item["namespace"]), []).append(item["key"])
        for namespace, keys in by_namespace.items():
            yield "list_items", {"tenant_id": search.get("tenant_id", "default"), "namespace": list(namespace),
                                 "keys": keys, "limit": len(keys), "without_blobs": True, "refresh_ttl": True}
    return selected


Deliver = Callable[[Any, List[Result]], None]
"""Puts a read's answer into a batch's results."""


class _Plan:
    """What one batch does: reads independent of each other, each with the function putting its
    answer into the results, then writes on disjoint keys (deletes, then one `put_items`)."""

    def __init__(self, size: int) -> None:
        self.results: List[Result] = [None] * size
        self.reads: List[Tuple[Steps[Any], Deliver]] = []
        self.writes: List[Step] = []

    def read(self, steps: Steps[Any], deliver: Deliver) -> None:
        self.reads.append((steps, deliver))

    def run(self, memory: AnyMemory) -> List[Result]:
        """The batch from sync code, one call after another: the reads, then the writes."""
        return run_steps(memory, self.steps())

    def steps(self) -> Steps[List[Result]]:
        """The batch as `Steps`: the reads, then the writes."""
        for read, deliver in self.reads:
            deliver((yield from read), self.results)
        for write in self.writes:
            yield write
        return self.results

    async def arun(self, memory: AnyMemory) -> List[Result]:
        """The batch with its reads run concurrently, then the writes."""
        answers = await asyncio.gather(*(arun_steps(memory, read) for read, _ in self.reads))
        for (_, deliver), answer in zip(self.reads, answers):
            deliver(answer, self.results)
        for method, argument in self.writes:
            await arun_steps(memory, one_step(method, argument))
        return self.results


def _deliver_gets(wanted: List[Tuple[int, str]]) -> Deliver:
    def deliver(found: List[EngramItem], results: List[Result]) -> None:
        by_key = {item["key"]: _langgraph_item(item) for item in found}
        for position, key in wanted:
            results[position] = by_key.get(key)

    return deliver


def _deliver_search(position: int) -> Deliver:
    def deliver(found: List[FoundItem], results: List[Result]) -> None:
        results[position] = [
            SearchItem(namespace=tuple(item["namespace"][len(ROOT):]), key=item["key"], value=item["value"],
                       created_at=_instant(item["created_at"]), updated_at=_instant(item["updated_at"]),
                       score=item["score"])
            for item in found
        ]

    return deliver


def _deliver_namespaces(position: int) -> Deliver:
    def deliver(found: List[List[str]], results: List[Result]) -> None:
        results[position] = [tuple(namespace[len(ROOT):]) for namespace in found]

    return deliver


def _langgraph_item(item: EngramItem) -> Item:
    return Item(namespace=tuple(item["namespace"][len(ROOT):]), key=item["key"], value=item["value"],
                created_at=_instant(item["created_at"]), updated_at=_instant(item["updated_at"]))


def _instant(text: str) -> datetime:
    # engram writes RFC 3339 in UTC ("...Z"); `fromisoformat` reads "Z" only from Python 3.11.
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _items_deleted(receipt: Receipt) -> int:
    return receipt["rows"].get("items", 0)


def _path(condition: MatchCondition) -> List[str]:
    # LangGraph's own tests pass a lone label as a string.
    return [condition.path] if isinstance(condition.path, str) else list(condition.path)


def _merged(paths: List[List[str]], *, from_end: bool) -> Optional[List[str]]:
    """Several prefixes (or suffixes) as one: label by label, a label wins over ``"*"``; None
    when two differ (no namespace starts, or ends, with both)."""
    merged: List[str] = []
    for path in paths:
        path = path[::-1] if from_end else path
        for position, label in enumerate(path):
            if position == len(merged):
                merged.append(label)
            elif merged[position] == "*":
                merged[position] = label
            elif label not in ("*", merged[position]):
                return None
    return merged[::-1] if from_end else merged


# --- filters ----------------------------------------------------------------------------------


class Check(NamedTuple):
    """A condition of a filter checked on what engram returns: `operator` on the value at the
    dotted `path`, as LangGraph's stores compare."""

    path: str
    operator: str
    operand: Any


class SplitFilter(NamedTuple):
    """A LangGraph filter as engram's item filter and the checks engram's filter cannot say."""

    engram: Dict[str, Any]
    checks: List[Check]


def split_filter(filter: Mapping[str, Any]) -> SplitFilter:
    """LangGraph's `search` filter as engram's item filter (dotted paths, ``$eq`` ``$ne`` ``$gt``
    ``$gte`` ``$lt`` ``$lte`` ``$in``) and checks done here, which together mean what they mean in
    LangGraph's `InMemoryStore` and `SqliteStore`: ``None`` matches null or a missing field,
    ``$ne: None`` a present one; a number equals the same number as an integer, a float or a
    boolean; `$gt` and friends with a number, or with text that reads as a number, compare
    numbers, booleans (as 1 and 0) and such text as numbers. Other strings compare with strings
    only (`SqliteStore`'s text order).

    A nested object that is not a set of operators becomes one dotted path per leaf, matching a
    stored object that has those fields, as `InMemoryStore` matches. Numbers JSON cannot hold
    (NaN, infinities, integers beyond 64 bits) become the condition they mean, since engram
    refuses them: ``{"$lt": inf}`` is "any number", ``{"$eq": nan}`` nothing."""
    conditions: Dict[str, Any] = {}
    checks: List[Check] = []
    for path, condition in _flattened(filter, ""):
        operators = condition.items() if _is_operators(condition) else [("$eq", condition)]
        kept: Dict[str, Any] = {}
        # `$in` first: an `$eq` of a number is an `$in` too, and then checked here instead.
        for operator, operand in sorted(operators, key=lambda entry: str(entry[0]) != "$in"):
            operator = str(operator)
            says = _engram_says(operator, operand)
            translated = _operator(operator, operand) if says else None
            if not says or (translated is not None and not translated.keys().isdisjoint(kept)):
                checks.append(Check(path, operator, operand))
            elif translated is _NEVER:
                kept = _NEVER
                break
            elif translated is not None:
                kept.update(translated)
        if kept:
            conditions[path] = kept
    return SplitFilter(conditions, checks)


def passes(value: Any, checks: List[Check]) -> bool:
    """Whether a stored value meets every check (`InMemoryStore`'s comparisons, where a value
    that is not a number meets no numeric bound instead of raising)."""
    for path, operator, operand in checks:
        found = value
        for part in path.split("."):
            found = found.get(part) if isinstance(found, dict) else None
        if operator == "$eq":
            held = found == operand
        elif operator == "$ne":
            held = found != operand
        elif isinstance(found, str) and isinstance(operand, str):
            held = _ORDERINGS[operator](found, operand)  # text with text: text order, as engram's
        else:
            number, bound = _as_number(found), _as_number(operand)
            held = number is not None and bound is not None and _ORDERINGS[operator](number, bound)
        if not held:
            return False
    return True


_ORDERINGS: Dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda left, right: left > right, "$gte": lambda left, right: left >= right,
    "$lt": lambda left, right: left < right, "$lte": lambda left, right: left <= right,
}


def _engram_says(operator: str, operand: Any) -> bool:
    """Whether engram's filter means what LangGraph's stores mean by ``{operator: operand}``:
    JSON equality differs for null (missing), numbers of other types and lists; its ordering
    leaves out booleans and numeric text."""
    if operator == "$eq":
        return operand is not None and not isinstance(operand, (list, tuple, Mapping))
    if operator == "$ne":
        return isinstance(operand, str)
    if operator in _ORDERINGS:
        # Text that reads as a number bounds numbers too (`InMemoryStore` compares `float()`s).
        return not isinstance(operand, (bool, int, float)) and _as_number(operand) is None
    return True  # `$in` is engram's own; an unknown operator is refused by engram, naming it


def _as_number(value: Any) -> Optional[float]:
    """`value` as `InMemoryStore`'s ``float(value)``, or None where it raises."""
    if isinstance(value, (bool, int, float, str)):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return None
    return None


def _is_operators(condition: Any) -> bool:
    return isinstance(condition, Mapping) and bool(condition) and all(str(name).startswith("$") for name in condition)


def _flattened(filter: Mapping[str, Any], prefix: str) -> Iterator[Tuple[str, Any]]:
    for key, condition in filter.items():
        path = f"{prefix}{key}"
        if isinstance(condition, Mapping) and condition and not _is_operators(condition):
            yield from _flattened(condition, path + ".")
        else:
            yield path, condition


def _operator(operator: str, operand: Any) -> Optional[Dict[str, Any]]:
    """``{operator: operand}`` in numbers JSON holds; `_NEVER`, or None for "always"."""
    if operator == "$eq" and isinstance(operand, (bool, int, float)):
        return _operator("$in", _equal_numbers(operand))
    if operator == "$in" and isinstance(operand, (list, tuple)):
        options = [_number(option) for option in operand]
        options = [option for option in options if not _unrepresentable(option)]
        return {"$in": options} if options else _NEVER
    number = _number(operand)
    if not _unrepresentable(number):
        return {operator: number}
    if operator == "$ne":
        return None  # every JSON value differs from NaN, an infinity or a huge integer
    if isinstance(number, float) and not math.isnan(number) and operator in ("$lt", "$lte", "$gt", "$gte"):
        below = (number > 0) == (operator in ("$lt", "$lte"))
        if below:  # `< inf`, `> -inf`: any number
            return {"$lte": _LARGEST} if number > 0 else {"$gte": -_LARGEST}
    return _NEVER


def _equal_numbers(number: float) -> List[Any]:
    """The JSON numbers and booleans Python finds equal to `number` (1 == 1.0 == True)."""
    if isinstance(number, float) and not number.is_integer():  # NaN and infinities too
        return [number]
    whole = int(number)
    equal: List[Any] = [whole, float(whole)] if float(whole) == whole else [whole]
    return equal + [bool(whole)] if whole in (0, 1) else equal


def _number(value: Any) -> Any:
    # Integers beyond 64 bits compare as floats (engram's values never hold one).
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    return value


def _unrepresentable(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


__all__ = ["EngramStore", "split_filter"]
