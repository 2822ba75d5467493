"""`EngramStore`: LangGraph's own store tests that need no embeddings (from langgraph's
libs/checkpoint, libs/checkpoint-sqlite and libs/checkpoint-postgres tests), ported onto every
backend, each run twice: sync (`Memory`, `batch`) and async (`AsyncMemory`, `abatch`). Their
vector-search cases are adapted to engram's lexical search, plus ranking, TTL, isolation and a
compiled graph using the store.

Where LangGraph's expectation rests on its implementation, the test says so: a search without a
query returns (namespace, key) order here (LangGraph's SQL stores: newest `updated_at` first), a
query returns only items matching one of its terms (a vector search returns every item, ranked).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypedDict

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("langgraph.store.base")

from langgraph.store.base import (  # noqa: E402
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

from conftest import long_tests  # noqa: E402
from engram import AsyncMemory, InvalidInputError, Memory  # noqa: E402
from engram.integrations.langgraph import EngramCheckpointer, EngramStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class Client:
    """The store's methods called from a test's sync code: as they are (sync mode), or their
    `a*` twins run to completion on the test's event loop (async mode)."""

    def __init__(self, store: EngramStore, loop: Optional[asyncio.AbstractEventLoop]) -> None:
        self.store = store
        self.loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if self.loop is None:
            return getattr(self.store, name)  # type: ignore[no-any-return]
        method = getattr(self.store, "a" + name)
        loop = self.loop
        return lambda *arguments, **options: loop.run_until_complete(method(*arguments, **options))

    def memory_call(self, method: str, *arguments: Any) -> Any:
        """A call to the store's engram memory (to look under the store: `expires_at`, sweeps)."""
        if self.loop is None:
            return getattr(self.store.memory, method)(*arguments)

        async def call() -> Any:
            return await getattr(self.store.memory, method)(*arguments)

        return self.loop.run_until_complete(call())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(memory_kwargs: Dict[str, Any], mode: str) -> Iterator[Callable[..., Client]]:
    """Stores (with the options given) over one fresh database of the backend: `Memory` in sync
    mode, `AsyncMemory` in async mode."""
    loop = asyncio.new_event_loop() if mode == "async" else None
    memory: Any = Memory(**memory_kwargs) if loop is None else AsyncMemory(**memory_kwargs)
    try:
        yield lambda **options: Client(EngramStore(memory, **options), loop)
    finally:
        if loop is None:
            memory.close()
        else:

            async def close() -> None:
                await memory.close()  # AsyncMemory's awaitables are made on a running loop

            loop.run_until_complete(close())
            loop.close()


@pytest.fixture
def store(make_store: Callable[..., Client]) -> Client:
    return make_store()


def keys(items: List[Any]) -> List[str]:
    return [item.key for item in items]


# --- batches (test_store.py of checkpoint-sqlite and checkpoint-postgres) ------------------


def test_batch_returns_results_in_operation_order(store: Client) -> None:
    store.put(("test", "foo"), "key1", {"data": "value1"})
    store.put(("test", "bar"), "key2", {"data": "value2"})
    results = store.batch([
        GetOp(namespace=("test", "foo"), key="key1"),
        PutOp(namespace=("test", "bar"), key="key2", value={"data": "value2"}),
        SearchOp(namespace_prefix=("test",), filter={"data": "value1"}, limit=10, offset=0),
        ListNamespacesOp(match_conditions=None, max_depth=None, limit=10, offset=0),
        GetOp(namespace=("test",), key="key3"),
    ])
    assert len(results) == 5
    assert isinstance(results[0], Item) and results[0].value == {"data": "value1"}
    assert results[0].key == "key1" and results[0].namespace == ("test", "foo")
    assert results[1] is None
    assert [(item.key, item.value) for item in results[2]] == [("key1", {"data": "value1"})]
    assert ("test", "foo") in results[3] and ("test", "bar") in results[3]
    assert results[4] is None

    reordered = store.batch([
        SearchOp(namespace_prefix=("test",), filter=None, limit=5, offset=0),
        GetOp(namespace=("test", "bar"), key="key2"),
        ListNamespacesOp(match_conditions=None, max_depth=None, limit=5, offset=0),
        PutOp(namespace=("test",), key="key3", value={"data": "value3"}),
        GetOp(namespace=("test", "foo"), key="key1"),
    ])
    assert len(reordered[0]) == 2
    assert reordered[1].value == {"data": "value2"} and reordered[1].namespace == ("test", "bar")
    assert len(reordered[2]) == 2
    assert reordered[3] is None
    assert reordered[4].value == {"data": "value1"}
    assert store.get(("test",), "key3").value == {"data": "value3"}


def test_batch_gets_return_items_or_none(store: Client) -> None:
    store.put(("test",), "key1", {"data": "value1"})
    store.put(("test",), "key2", {"data": "value2"})
    results = store.batch([GetOp(("test",), "key1"), GetOp(("test",), "key2"), GetOp(("test",), "key3"),
                           GetOp(("test",), "key1")])
    assert [None if item is None else item.key for item in results] == ["key1", "key2", None, "key1"]


def test_gets_of_one_namespace_are_one_read() -> None:
    with Memory(in_memory=True) as memory:
        store = EngramStore(memory)
        store.put(("a",), "k1", {"v": 1})
        store.put(("b",), "k1", {"v": 2})
        plan = store._plan([GetOp(("a",), "k1"), GetOp(("a",), "k2"), GetOp(("b",), "k1"), GetOp(("a",), "k1")])
        assert len(plan.reads) == 2
        assert [None if item is None else item.value for item in plan.run(memory)] == [{"v": 1}, None, {"v": 2},
                                                                                       {"v": 1}]


def test_batch_puts_write_and_a_none_value_deletes(store: Client) -> None:
    store.put(("test",), "key3", {"data": "doomed"})
    results = store.batch([
        PutOp(("test",), "key1", {"data": "value1"}),
        PutOp(("test",), "key2", {"data": "value2"}),
        PutOp(("test",), "key3", None),
    ])
    assert results == [None, None, None]
    assert store.get(("test",), "key1").value == {"data": "value1"}
    assert store.get(("test",), "key2").value == {"data": "value2"}
    assert store.get(("test",), "key3") is None


def test_a_batch_reads_before_it_writes_and_the_last_write_wins(store: Client) -> None:
    store.put(("test",), "key", {"n": 0})
    results = store.batch([
        PutOp(("test",), "key", {"n": 1}),
        GetOp(("test",), "key"),
        PutOp(("test",), "key", {"n": 2}),
        PutOp(("test",), "gone", {"n": 3}),
        PutOp(("test",), "gone", None),
    ])
    assert results[1].value == {"n": 0}  # as LangGraph's SQL stores: reads see the store before the batch
    assert store.get(("test",), "key").value == {"n": 2}
    assert store.get(("test",), "gone") is None


def test_batch_searches_filter_limit_and_scope_by_prefix(store: Client) -> None:
    for namespace, key, value in [(("test", "foo"), "key1", {"data": "value1", "tag": "a"}),
                                  (("test", "bar"), "key2", {"data": "value2", "tag": "a"}),
                                  (("test", "baz"), "key3", {"data": "value3", "tag": "b"})]:
        store.put(namespace, key, value)
    results = store.batch([
        SearchOp(namespace_prefix=("test",), filter={"tag": "a"}, limit=10, offset=0),
        SearchOp(namespace_prefix=("test",), filter=None, limit=2, offset=0),
        SearchOp(namespace_prefix=("test", "foo"), filter=None, limit=10, offset=0),
    ])
    assert sorted(keys(results[0])) == ["key1", "key2"]
    assert len(results[1]) == 2
    assert [item.namespace for item in results[2]] == [("test", "foo")]
    assert all(isinstance(item, SearchItem) and item.score is None for result in results for item in result)


def test_batch_list_namespaces_all_depth_and_suffix(store: Client) -> None:
    data = [(("test", "documents", "public"), "doc1"), (("test", "documents", "private"), "doc2"),
            (("test", "images", "public"), "img1"), (("prod", "documents", "public"), "doc3")]
    for namespace, key in data:
        store.put(namespace, key, {"content": key})
    results = store.batch([
        ListNamespacesOp(match_conditions=None, max_depth=None, limit=10, offset=0),
        ListNamespacesOp(match_conditions=None, max_depth=2, limit=10, offset=0),
        ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("public",)),), max_depth=None, limit=10,
                         offset=0),
        # The Postgres store's tests pass a lone label as a string.
        ListNamespacesOp(match_conditions=[MatchCondition("suffix", "public")], max_depth=None,  # type: ignore[arg-type]
                         limit=10, offset=0),
    ])
    assert results[0] == sorted(namespace for namespace, _ in data)
    assert results[1] == [("prod", "documents"), ("test", "documents"), ("test", "images")]
    assert results[2] == results[3] == [("prod", "documents", "public"), ("test", "documents", "public"),
                                        ("test", "images", "public")]


# --- basic operations ----------------------------------------------------------------------


def test_put_get_update_delete_round_trip(store: Client) -> None:
    namespace = ("test", "documents")
    store.put(namespace, "doc1", {"title": "Test Document", "content": "Hello, World!"})
    item = store.get(namespace, "doc1")
    assert item.namespace == namespace and item.key == "doc1"
    assert item.value == {"title": "Test Document", "content": "Hello, World!"}
    assert item.created_at.tzinfo is not None and item.created_at == item.updated_at
    assert abs(datetime.now(timezone.utc) - item.created_at) < timedelta(minutes=1)

    time.sleep(0.01)  # engram's timestamps have millisecond precision
    store.put(namespace, "doc1", {"title": "Updated Document", "content": "Hello, Updated!"})
    updated = store.get(namespace, "doc1")
    assert updated.value == {"title": "Updated Document", "content": "Hello, Updated!"}
    assert updated.updated_at > item.updated_at and updated.created_at == item.created_at

    assert store.get(("test", "other_documents"), "doc1") is None
    store.delete(namespace, "doc1")
    assert store.get(namespace, "doc1") is None
    store.delete(namespace, "doc1")  # deleting what is gone is harmless


def test_namespace_labels_are_checked_as_langgraph_checks_them(store: Client) -> None:
    doc = {"foo": "bar"}
    for bad in [(), ("the", "thing.about"), ("some", "fun", "")]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "foo", doc)
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph", "foo"), "bar", doc)
    for bad in [("foo.bar",), ("foo", ""), (123,)]:
        with pytest.raises(InvalidNamespaceError):
            store.get(bad, "key")
        with pytest.raises(InvalidNamespaceError):
            store.search(bad)
        with pytest.raises(InvalidNamespaceError):
            store.list_namespaces(prefix=bad)
        with pytest.raises(InvalidNamespaceError):
            store.list_namespaces(suffix=bad)
        # Ops given to `batch` directly are checked too.
        with pytest.raises(InvalidNamespaceError):
            store.batch([GetOp(bad, "key")])
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp((), "key", doc)])

    store.put(("foo", "langgraph", "foo"), "bar", doc)
    assert store.get(("foo", "langgraph", "foo"), "bar").value == doc
    assert store.search(("foo", "langgraph", "foo"))[0].value == doc
    store.delete(("foo", "langgraph", "foo"), "bar")
    assert store.get(("foo", "langgraph", "foo"), "bar") is None
    # Past the public `put`, a "langgraph" root is allowed (as in InMemoryStore).
    store.batch([PutOp(("langgraph", "foo"), "bar", doc)])
    assert store.get(("langgraph", "foo"), "bar").value == doc
    assert store.search(("langgraph", "foo"))[0].value == doc


def test_engram_refuses_labels_langgraph_allows_and_its_errors_propagate(store: Client) -> None:
    # LangGraph's SqliteStore stores labels with a newline (its test_namespace_labels_with_trailing_newline);
    # engram labels hold no control characters, and its error reaches the caller.
    with pytest.raises(InvalidInputError):
        store.put(("users", "alice\n"), "k", {"v": 2})
    # Engram's namespaces hold 16 labels, two of them the store's root.
    store.put(tuple(f"l{index}" for index in range(14)), "k", {"v": 1})
    with pytest.raises(InvalidInputError):
        store.put(tuple(f"l{index}" for index in range(15)), "k", {"v": 1})
    with pytest.raises(InvalidInputError):
        store.put(("ttl",), "k", {"v": 1}, ttl=-1)


# --- list_namespaces (libs/checkpoint test_store.py, checkpoint-sqlite test_store.py) ------


def test_list_namespaces_prefix_suffix_depth_and_pages(store: Client) -> None:
    namespaces = [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f"), ("a", "c", "f"),
                  ("b", "a", "f"), ("users", "123"), ("users", "456", "settings"), ("admin", "users", "789")]
    for index, namespace in enumerate(namespaces):
        store.put(namespace, f"id_{index}", {"data": f"value_{index:02d}"})

    assert store.list_namespaces() == sorted(namespaces)
    assert store.list_namespaces(prefix=("a", "b")) == [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"),
                                                        ("a", "b", "f")]
    assert store.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert store.list_namespaces(prefix=("a",), suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")]
    assert store.list_namespaces(prefix=("a", "b"), limit=2) == [("a", "b", "c"), ("a", "b", "d", "e")]
    assert store.list_namespaces(prefix=("a", "b"), offset=2) == [("a", "b", "d", "i"), ("a", "b", "f")]
    assert store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(suffix=("*", "f")) == [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert store.list_namespaces(prefix=("nonexistent",)) == []
    assert store.list_namespaces(prefix=("users", "123")) == [("users", "123")]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "c"), ("admin", "users"), ("b", "a"),
                                                  ("users", "123"), ("users", "456")]
    assert len(store.list_namespaces(limit=3)) == 3


def test_list_namespaces_wildcards_and_combined_conditions(store: Client) -> None:
    pref = "p"
    namespaces = [(pref, "test", "documents", "public", pref), (pref, "test", "documents", "private", pref),
                  (pref, "test", "images", "public", pref), (pref, "test", "images", "private", pref),
                  (pref, "prod", "documents", "public", pref),
                  (pref, "prod", "documents", "some", "nesting", "public", pref),
                  (pref, "prod", "documents", "private", pref)]
    for namespace in namespaces:
        store.put(namespace, "dummy", {"content": "dummy"})
    assert len(store.list_namespaces(prefix=(pref, "test"))) == 4
    assert len(store.list_namespaces(prefix=(pref, "test", "documents"))) == 2
    assert all(ns[-2] == "public" for ns in store.list_namespaces(suffix=("public", pref)))
    assert len(store.list_namespaces(suffix=("public", pref))) == 4
    both = store.list_namespaces(prefix=(pref, "test"), suffix=("public", pref))
    assert both == [(pref, "test", "documents", "public", pref), (pref, "test", "images", "public", pref)]
    assert len(store.list_namespaces(prefix=(pref, "*", "documents"))) == 5
    assert len(store.list_namespaces(suffix=("*", "public", pref))) == 4
    assert store.list_namespaces(suffix=("some", "*", "public", pref)) == [
        (pref, "prod", "documents", "some", "nesting", "public", pref)]
    assert all(len(ns) <= 3 for ns in store.list_namespaces(max_depth=3))
    deep = store.list_namespaces(max_depth=4, prefix=(pref, "*", "documents"))
    assert len(set(deep)) == len(deep) == 5
    assert len(store.list_namespaces(prefix=(pref,), limit=3)) == 3
    assert len(store.list_namespaces(prefix=(pref,), offset=3)) == len(namespaces) - 3
    assert set(store.list_namespaces(prefix=(pref,))) == set(namespaces)


def test_list_namespaces_wildcards_span_one_label(store: Client) -> None:
    namespaces = [("users", "123"), ("users", "456"), ("users", "789", "settings"), ("admin", "users", "789"),
                  ("guests", "123"), ("guests", "456", "preferences")]
    for index, namespace in enumerate(namespaces):
        store.put(namespace, f"id_{index}", {"data": index})
    assert store.list_namespaces(prefix=("users", "*")) == [("users", "123"), ("users", "456"),
                                                            ("users", "789", "settings")]
    assert store.list_namespaces(suffix=("*", "preferences")) == [("guests", "456", "preferences")]
    assert store.list_namespaces(prefix=("*", "users"), suffix=("*", "settings")) == []
    # A suffix longer than a namespace does not reach into the labels the store keeps it under.
    assert store.list_namespaces(suffix=("store", "users", "123")) == []
    assert store.list_namespaces(suffix=("*", "*", "*", "123")) == []


def test_list_namespaces_pages_in_sorted_order(store: Client) -> None:
    for index in range(20):
        store.put(("namespace", f"sub_{index:02d}"), f"id_{index:02d}", {"data": index})
    for offset in (0, 5, 15):
        assert store.list_namespaces(prefix=("namespace",), limit=5, offset=offset) == [
            ("namespace", f"sub_{index:02d}") for index in range(offset, offset + 5)]


def test_list_namespaces_max_depth_and_no_conditions(store: Client) -> None:
    assert store.list_namespaces() == []
    for index, namespace in enumerate([("a", "b", "c", "d"), ("a", "b", "c", "e"), ("a", "b", "f"), ("a", "g"),
                                       ("h", "i", "j", "k")]):
        store.put(namespace, f"id_{index}", {"data": index})
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "g"), ("h", "i")]
    assert len(store.list_namespaces()) == 5


def test_list_namespaces_stop_at_label_boundaries_and_match_literally(store: Client) -> None:
    for namespace in [("foo",), ("foo", "child"), ("foobar",), ("foobar", "baz"), ("uid", "users", "alice"),
                      ("uid", "users", "malice"), ("uid", "a", "b", "alice")]:
        store.put(namespace, "k", {"v": 1})
    assert store.list_namespaces(prefix=["foo"]) == [("foo",), ("foo", "child")]
    assert store.list_namespaces(suffix=["alice"]) == [("uid", "a", "b", "alice"), ("uid", "users", "alice")]
    assert store.list_namespaces(prefix=["uid", "*", "alice"]) == [("uid", "users", "alice")]
    assert len(store.list_namespaces(prefix=["uid"])) == 3

    pairs = [("star*", "starX"), ("q?m", "qXm"), ("br[ack]et", "brXacXket"), ("user_1", "userX1"), ("a%b", "axxb"),
             ("plus+", "plusX")]
    for label, decoy in pairs:
        for namespace in [(label,), (decoy,), (label, "child")]:
            store.put(namespace, "k", {"v": 1})
    for label, decoy in pairs:
        assert store.list_namespaces(prefix=[label]) == [(label,), (label, "child")]
        assert store.list_namespaces(prefix=[label, "child"]) == [(label, "child")]


# --- search (test_store.py of checkpoint-sqlite and checkpoint-postgres) -----------------


def test_search_scopes_filters_and_pages(store: Client) -> None:
    data = [(("test", "docs"), "doc1", {"title": "First Doc", "author": "Alice", "tags": ["important"]}),
            (("test", "docs"), "doc2", {"title": "Second Doc", "author": "Bob", "tags": ["draft"]}),
            (("test", "images"), "img1", {"title": "Image 1", "author": "Alice", "tags": ["final"]})]
    for namespace, key, value in data:
        store.put(namespace, key, value)
    # Without a query: (namespace, key) order (LangGraph's SQL stores: newest first).
    assert keys(store.search(["test"])) == ["doc1", "doc2", "img1"]
    assert [item.namespace for item in store.search(["test", "docs"])] == [("test", "docs")] * 2
    assert keys(store.search(["test"], filter={"author": "Alice"})) == ["doc1", "img1"]
    assert keys(store.search(["test"], limit=2)) == ["doc1", "doc2"]
    assert keys(store.search(["test"], offset=2)) == ["img1"]
    # A list compares whole (test_search_items of checkpoint-sqlite).
    assert keys(store.search(["test"], filter={"tags": ["draft"]})) == ["doc2"]
    for namespace, key, _ in data:
        store.delete(namespace, key)
    assert store.search(["test"]) == []


def test_search_prefixes_stop_at_label_boundaries(store: Client) -> None:
    for namespace in [("foo",), ("foo", "child"), ("foo", "child", "deep"), ("foobar",), ("foobar", "baz"), ("foo2",),
                      ("user_1",), ("userX1",), ("a%b",), ("axxb",), ("star*",), ("starX",), ("Foo",)]:
        store.put(namespace, "k", {"v": 1})

    def namespaces(prefix: Tuple[str, ...]) -> List[Tuple[str, ...]]:
        return [item.namespace for item in store.search(prefix, limit=100)]

    assert namespaces(("foo",)) == [("foo",), ("foo", "child"), ("foo", "child", "deep")]
    assert namespaces(("foobar",)) == [("foobar",), ("foobar", "baz")]
    assert namespaces(("foo2",)) == [("foo2",)]
    assert namespaces(("fo",)) == []
    assert namespaces(("user_1",)) == [("user_1",)]
    assert namespaces(("a%b",)) == [("a%b",)]
    assert namespaces(("star*",)) == [("star*",)]
    assert namespaces(("Foo",)) == [("Foo",)]  # case-sensitive, as get and put
    assert len(namespaces(())) == 13  # an empty prefix constrains nothing


def test_numeric_filters_compare_numbers_not_text(store: Client) -> None:
    namespace = ("test", "scores")
    for key, score in [("a", 2), ("b", 9), ("c", 10), ("d", 11)]:
        store.put(namespace, key, {"score": score})

    def scores(filter: Dict[str, Any]) -> List[Any]:
        return sorted(item.value["score"] for item in store.search(namespace, filter=filter))

    assert scores({"score": {"$gte": 10}}) == [10, 11]
    assert scores({"score": {"$gt": 9}}) == [10, 11]
    assert scores({"score": {"$lt": 10}}) == [2, 9]
    assert scores({"score": {"$lte": 9}}) == [2, 9]
    assert scores({"score": {"$gt": 2, "$lt": 11}}) == [9, 10]
    assert scores({"score": {"$ne": 10}}) == [2, 9, 11]
    assert scores({"score": {"$in": [2, 11, 12]}}) == [2, 11]
    assert scores({"score": {"$eq": 9}}) == [9]
    store.put(namespace, "e", {"score": 9.5})
    assert scores({"score": {"$gt": 9}}) == [9.5, 10, 11]
    for key, name in [("a", "apple"), ("b", "banana")]:
        store.put(("test", "names"), key, {"name": name})
    assert [item.value["name"] for item in store.search(("test", "names"), filter={"name": {"$gt": "apple"}})] == [
        "banana"]


def test_filters_with_infinities_nan_and_huge_integers(store: Client) -> None:
    for key, price in [("item1", 10), ("item2", 20), ("item3", 30)]:
        store.put(("items",), key, {"price": price, "quantity": 1})

    def found(filter: Dict[str, Any]) -> List[str]:
        return keys(store.search(("items",), filter=filter))

    assert found({"price": {"$gt": 15}}) == ["item2", "item3"]
    assert len(found({"price": {"$lt": float("inf")}})) == 3
    assert len(found({"price": {"$gt": float("-inf")}})) == 3
    assert found({"price": {"$gt": float("inf")}}) == []
    assert found({"price": {"$eq": float("nan")}}) == []
    assert found({"price": float("nan")}) == []
    assert len(found({"price": {"$ne": float("nan")}})) == 3
    assert len(found({"price": {"$lt": 10**100}})) == 3
    assert found({"price": {"$in": [20, float("nan")]}}) == ["item2"]
    store.put(("items",), "item4", {"price": -10, "quantity": 0})
    assert found({"price": {"$lt": 0}}) == ["item4"]


def test_filters_on_booleans_nested_paths_and_odd_keys(store: Client) -> None:
    store.put(("flags",), "flag1", {"active": True, "name": "Feature A"})
    store.put(("flags",), "flag2", {"active": False, "name": "Feature B"})
    store.put(("flags",), "flag3", {"active": True, "name": "Feature C"})
    assert keys(store.search(("flags",), filter={"active": True})) == ["flag1", "flag3"]
    assert keys(store.search(("flags",), filter={"active": False})) == ["flag2"]

    store.put(("docs",), "hyphen", {"access-level": "public", "user": {"access-level": "nested", "id": 1}})
    store.put(("docs",), "digit", {"123abc": "ok", "user": {"123abc": "ok2"}})
    assert keys(store.search(("docs",), filter={"access-level": "public"})) == ["hyphen"]
    assert keys(store.search(("docs",), filter={"user.access-level": "nested"})) == ["hyphen"]
    assert keys(store.search(("docs",), filter={"123abc": "ok"})) == ["digit"]
    assert keys(store.search(("docs",), filter={"user.123abc": "ok2"})) == ["digit"]
    # A nested object matches the stored objects having those fields (as InMemoryStore).
    assert keys(store.search(("docs",), filter={"user": {"access-level": "nested"}})) == ["hyphen"]


def test_filter_values_are_literal_and_bad_paths_are_refused(store: Client) -> None:
    store.put(("docs",), "doc1", {"access": "public", "title": "Public Document"})
    store.put(("docs",), "doc2", {"access": "private", "title": "Private Document"})
    for value in ["public' OR '1'='1", "public'; --", "public' UNION SELECT * FROM store --",
                  "public\x00' OR '1'='1", "''''", "public' OR 'א'='א"]:
        assert store.search(("docs",), filter={"access": value}) == []
    store.put(("docs",), "doc4", {"title": "O'Brien's Document", "access": "public"})
    assert keys(store.search(("docs",), filter={"title": "O'Brien's Document"})) == ["doc4"]
    with pytest.raises(ValueError):  # InvalidInputError: not a dotted path of keys
        store.search(("docs",), filter={"access') = 'public' OR '1'='1' OR json_extract(value, '$.": "x"})


def test_a_none_filter_matches_a_missing_field_and_numbers_compare_with_numeric_text(store: Client) -> None:
    """As in InMemoryStore and SqliteStore: `None` is "null or missing", `$ne: None` "present and
    not null", ordering operators with a number compare numbers, booleans (1, 0) and numeric text,
    and a number equals the same number as an integer, a float or a boolean."""
    for key, value in [("missing", {}), ("null", {"n": None}), ("two", {"n": 2}), ("text", {"n": "2"}),
                       ("float", {"n": 1.0}), ("true", {"n": True}), ("word", {"n": "abc"})]:
        store.put(("odd",), key, value)

    def found(filter: Dict[str, Any]) -> List[str]:
        return sorted(keys(store.search(("odd",), filter=filter)))

    assert found({"n": None}) == ["missing", "null"]
    assert found({"n": {"$eq": None}}) == ["missing", "null"]
    assert found({"n": {"$ne": None}}) == ["float", "text", "true", "two", "word"]
    assert found({"n": {"$lte": 2}}) == ["float", "text", "true", "two"]
    assert found({"n": {"$gt": 1}}) == ["text", "two"]
    assert found({"n": 1}) == ["float", "true"]
    assert found({"n": True}) == ["float", "true"]
    assert found({"n": {"$ne": 1}}) == ["missing", "null", "text", "two", "word"]
    assert found({"n": {"$gte": True}}) == ["float", "text", "true", "two"]
    # A filter checked after engram's read pages as if engram had applied it.
    every = keys(store.search(("odd",), filter={"n": {"$lte": 2}}))
    assert [keys(store.search(("odd",), filter={"n": {"$lte": 2}}, offset=start, limit=2)) for start in (0, 2, 4)] == [
        every[0:2], every[2:4], []]
    # Over several pages of engram's reads: every third item passes.
    store.batch([PutOp(("many",), f"k{index:03}", {"n": str(index % 3)}) for index in range(600)])
    passing = [f"k{index:03}" for index in range(600) if index % 3 == 0]
    assert keys(store.search(("many",), filter={"n": {"$lt": 1}}, offset=150, limit=40)) == passing[150:190]
    assert keys(store.search(("many",), filter={"n": {"$lt": 1}}, offset=190, limit=40)) == passing[190:200]


# Values LangGraph's stores compare differently from JSON's equality: numbers as integers, floats
# and booleans, numeric text, null, lists.
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 1.5, -2.0, 2.5]),
                    st.sampled_from(["2", "2.0", "-1", "10", "abc", "", "a", "b", "1.5"]))
stored_values = st.one_of(scalars, st.lists(scalars, max_size=2))
conditions = st.one_of(
    scalars, st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]), scalars, min_size=1, max_size=2))
MISSING = object()


@pytest.fixture
def langgraph_stores() -> Iterator[List[BaseStore]]:
    from langgraph.store.memory import InMemoryStore
    from langgraph.store.sqlite import SqliteStore

    with SqliteStore.from_conn_string(":memory:") as sqlite_store:
        sqlite_store.setup()
        yield [InMemoryStore(), sqlite_store]


def test_filters_match_what_langgraphs_stores_agree_on(store: Client, langgraph_stores: List[BaseStore]) -> None:
    """Generated values and filters, put and searched alike in InMemoryStore, SqliteStore and
    engram: where LangGraph's two stores agree (neither raising), engram finds the same items."""
    runs = iter(range(1_000_000))

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=not long_tests())  # the same inputs on every run, unless exploring
    @given(values=st.lists(st.one_of(st.just(MISSING), stored_values), min_size=1, max_size=6),
           filter=st.dictionaries(st.sampled_from(["n", "m"]), conditions, min_size=1, max_size=2),
           page=st.tuples(st.integers(0, 3), st.integers(1, 3)))
    # Found by a random run: a boolean against a bound of numeric text compares as numbers.
    @example(values=[False], filter={"n": {"$lt": "2"}}, page=(0, 1))
    def check(values: List[Any], filter: Dict[str, Any], page: Tuple[int, int]) -> None:
        namespace = ("differential", str(next(runs)))
        for index, value in enumerate(values):
            item = {} if value is MISSING else {"n": value, "m": values[index - 1]}
            item = {name: entry for name, entry in item.items() if entry is not MISSING}
            store.put(namespace, f"k{index}", item)
            for other in langgraph_stores:
                other.put(namespace, f"k{index}", item)
        answers = []
        for other in langgraph_stores:
            try:
                answers.append(sorted(keys(other.search(namespace, filter=filter, limit=100))))
            except (TypeError, ValueError):
                answers.append(None)  # InMemoryStore's float() of a non-number
        found = keys(store.search(namespace, filter=filter, limit=100))
        agree = answers[0] is not None and answers[0] == answers[1]
        event("LangGraph's stores agree" if agree else "LangGraph's stores differ")
        if agree:
            assert sorted(found) == answers[0], (values, filter)
        offset, limit = page
        assert keys(store.search(namespace, filter=filter, offset=offset, limit=limit)) == found[offset:offset + limit]

    check()


# Labels and keys as users write them, with LIKE's and engram's wildcards, a space, and non-ASCII.
labels = st.text(st.sampled_from("ab*%_ -é/\\"), min_size=1, max_size=4)


def engram_holds(label: str) -> bool:
    """Engram's id rules that LangGraph's `put` does not check (here: whitespace at an end)."""
    return label == label.strip()


def test_namespaces_and_keys_read_back_as_in_langgraphs_stores(store: Client,
                                                               langgraph_stores: List[BaseStore]) -> None:
    """Generated namespaces and keys, put alike in InMemoryStore, SqliteStore and engram: `get`
    returns the same everywhere; `search` and `list_namespaces` under a generated prefix find
    the same as LangGraph's stores where the two agree. A label engram's rules refuse is an
    `InvalidInputError` naming the field."""
    runs = iter(range(1_000_000))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=not long_tests())
    @given(entries=st.lists(st.tuples(st.lists(labels, min_size=1, max_size=3).map(tuple), labels), min_size=1,
                            max_size=5),
           prefix=st.lists(labels, max_size=2).map(tuple), depth=st.one_of(st.none(), st.integers(1, 3)))
    def check(entries: List[Tuple[Tuple[str, ...], str]], prefix: Tuple[str, ...], depth: Optional[int]) -> None:
        root = ("generated", str(next(runs)))
        kept = []
        for index, (namespace, key) in enumerate(entries):
            value = {"index": index}
            if not all(engram_holds(label) for label in (*namespace, key)):
                with pytest.raises(InvalidInputError, match=r"namespace\[\d+\]|key"):
                    store.put((*root, *namespace), key, value)
                continue
            kept.append(((*root, *namespace), key))
            for saver in (store, *langgraph_stores):
                saver.put((*root, *namespace), key, value)
        for namespace, key in kept:
            got = store.get(namespace, key)
            assert got is not None
            for other in langgraph_stores:
                found = other.get(namespace, key)
                assert found is not None and (got.namespace, got.key, got.value) == (found.namespace, found.key,
                                                                                     found.value)
        if not all(engram_holds(label) for label in prefix):
            with pytest.raises(InvalidInputError, match=r"namespace\[\d+\]"):
                store.search((*root, *prefix))
            with pytest.raises(InvalidInputError, match=r"prefix\[\d+\]"):
                store.list_namespaces(prefix=(*root, *prefix))
            return
        searched = [sorted((item.namespace, item.key) for item in other.search((*root, *prefix), limit=100))
                    for other in langgraph_stores]
        if searched[0] == searched[1]:
            assert sorted((item.namespace, item.key) for item in store.search((*root, *prefix), limit=100)) == searched[0]
        listed = [sorted(other.list_namespaces(prefix=(*root, *prefix), max_depth=depth and len(root) + depth,
                                               limit=100)) for other in langgraph_stores]
        if listed[0] == listed[1]:
            assert sorted(store.list_namespaces(prefix=(*root, *prefix), max_depth=depth and len(root) + depth,
                                                limit=100)) == listed[0]

    check()


# --- lexical search (LangGraph's vector-search cases, on engram's BM25) ---------------------


def test_a_query_ranks_the_most_relevant_item_first(store: Client) -> None:
    docs = {"doc1": "short text", "doc2": "longer text document", "doc3": "longest text document here",
            "doc4": "the lisbon tram to the alfama viewpoint at sunset",
            "doc5": "sunset dinner", "doc6": "a museum"}
    for key, text in docs.items():
        store.put(("test",), key, {"text": text})
    found = store.search(("test",), query="alfama sunset viewpoint")
    assert keys(found) == ["doc4", "doc5"]  # only items with a term of the query
    assert found[0].score > found[1].score > 0
    assert set(keys(store.search(("test",), query="text document"))[:2]) == {"doc2", "doc3"}


def test_an_update_reindexes_and_index_false_is_not_found_but_listed(store: Client) -> None:
    store.put(("test",), "doc1", {"text": "zany zebra Xerxes"})
    store.put(("test",), "doc2", {"text": "something about dogs"})
    store.put(("test",), "doc3", {"text": "text about birds"})
    assert keys(store.search(("test",), query="Zany Xerxes")) == ["doc1"]
    store.put(("test",), "doc1", {"text": "new text about dogs"})
    assert store.search(("test",), query="Zany Xerxes") == []
    assert keys(store.search(("test",), query="new text about dogs"))[0] == "doc1"
    store.put(("test",), "doc4", {"text": "new text about dogs"}, index=False)
    assert "doc4" not in keys(store.search(("test",), query="new text about dogs", limit=10))
    assert "doc4" in keys(store.search(("test",)))


def test_a_query_with_a_filter_ranks_within_the_filter(store: Client) -> None:
    for key, value in [("doc1", {"text": "red apple", "color": "red", "score": 4.5}),
                       ("doc2", {"text": "red car", "color": "red", "score": 3.0}),
                       ("doc3", {"text": "green apple", "color": "green", "score": 4.0}),
                       ("doc4", {"text": "blue car", "color": "blue", "score": 3.5})]:
        store.put(("test",), key, value)
    # A vector search returns doc2 too (ranked below); a lexical one only items with "apple".
    assert keys(store.search(("test",), query="apple", filter={"color": "red"})) == ["doc1"]
    assert keys(store.search(("test",), query="car", filter={"color": "red"})) == ["doc2"]
    assert keys(store.search(("test",), query="blue car", filter={"score": {"$gt": 3.2}})) == ["doc4"]
    assert keys(store.search(("test",), query="apple", filter={"score": {"$gte": 4.0}, "color": "green"})) == ["doc3"]


def test_query_results_page_in_score_order(store: Client) -> None:
    for index in range(5):
        store.put(("test",), f"doc{index}", {"text": f"test document number {index}" + " test" * index})
    page1 = store.search(("test",), query="test", limit=2)
    page2 = store.search(("test",), query="test", limit=2, offset=2)
    every = store.search(("test",), query="test", limit=10)
    assert len(page1) == len(page2) == 2 and len(every) == 5
    assert keys(page1) + keys(page2) == keys(every)[:4]
    assert [item.score for item in every] == sorted((item.score for item in every), reverse=True)
    assert keys(every)[0] == "doc4"  # the most occurrences of the term


def test_queries_without_searchable_terms_list_everything(store: Client) -> None:
    store.put(("test",), "doc1", {"text": "test document"})
    assert len(store.search(("test",), query="")) == 1
    assert len(store.search(("test",), query=None)) == 1
    assert len(store.search(("test",), query="test " * 100)) == 1
    assert len(store.search(("test",), query="test!@#$%^&*()")) == 1
    assert store.search(("test",), query="")[0].score is None


def test_index_fields_choose_the_text_searched(make_store: Callable[..., Client]) -> None:
    store = make_store(index=["key0", "key1", "key3"])
    store.put(("test",), "doc1", {"key1": "xxx", "key2": "yyy", "key3": "zzz"})  # no key0: fine
    store.put(("test",), "doc2", {"key0": "uuu", "key1": "vvv", "key2": "www", "key3": "xxx"})
    assert sorted(keys(store.search(("test",), query="xxx"))) == ["doc1", "doc2"]
    assert keys(store.search(("test",), query="uuu")) == ["doc2"]
    assert keys(store.search(("test",), query="zzz")) == ["doc1"]
    assert store.search(("test",), query="www") == []  # key2 is not indexed

    # A put's own fields override the store's.
    store.put(("ops",), "doc3", {"key0": "aaa", "key1": "bbb", "key2": "ccc", "key3": "ddd"}, index=["key0", "key1"])
    store.put(("ops",), "doc4", {"key0": "eee", "key1": "bbb", "key2": "fff", "key3": "ggg"}, index=["key1", "key3"])
    assert keys(store.search(("ops",), query="aaa")) == ["doc3"]
    assert keys(store.search(("ops",), query="ggg")) == ["doc4"]
    both = store.search(("ops",), query="bbb")
    assert keys(both) == ["doc3", "doc4"] and both[0].score == pytest.approx(both[1].score)  # ties by key
    assert store.search(("ops",), query="ccc") == []
    store.put(("ops",), "doc5", {"key0": "hhh", "key1": "iii"}, index=False)
    assert len(store.search(("ops",))) == 3


def test_index_paths_walk_nested_values_and_lists(make_store: Callable[..., Client]) -> None:
    store = make_store()  # default: the whole value ("$")
    store.put(("docs",), "nested", {"meta": {"title": "quarterly invoice"}, "chapters": [{"body": "refund policy"}]})
    assert keys(store.search(("docs",), query="refund")) == ["nested"]
    assert keys(store.search(("docs",), query="quarterly")) == ["nested"]
    store.put(("docs",), "chapters", {"title": "handbook", "chapters": [{"body": "onboarding"}, {"body": "payroll"}]},
              index=["chapters[*].body"])
    assert keys(store.search(("docs",), query="payroll")) == ["chapters"]
    assert store.search(("docs",), query="handbook") == []
    store.put(("docs",), "first", {"authors": [{"name": "ada"}, {"name": "grace"}]}, index=["authors[0].name"])
    assert keys(store.search(("docs",), query="ada")) == ["first"]
    assert store.search(("docs",), query="grace") == []
    unindexed = make_store(index=[])
    unindexed.put(("plain",), "k", {"text": "nothing searchable"})
    assert unindexed.search(("plain",), query="searchable") == []
    assert keys(unindexed.search(("plain",))) == ["k"]


def test_non_ascii_text_is_found(store: Client) -> None:
    texts = {"1": "这是中文", "2": "これは日本語です", "3": "이건 한국어야", "4": "Это русский", "5": "यह रूसी है"}
    for key, text in texts.items():
        store.put(("user_123", "memories"), key, {"text": text})
    for key, text in texts.items():
        assert keys(store.search(("user_123", "memories"), query=text))[0] == key


# --- TTL (checkpoint-sqlite test_ttl.py, without the long sleeps) ---------------------------


def stored(store: Client, namespace: Tuple[str, ...], key: str) -> Dict[str, Any]:
    """The engram item under a store item (its `ttl_seconds`, `expires_at`)."""
    (item,) = store.memory_call("list_items", {"namespace": ["langgraph", "store", *namespace], "keys": [key]})
    return dict(item)


def expires(store: Client, namespace: Tuple[str, ...], key: str) -> datetime:
    text = stored(store, namespace, key)["expires_at"]
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_ttl_minutes_are_engram_ttl_seconds(make_store: Callable[..., Client]) -> None:
    store = make_store(ttl={"default_ttl": 5})
    before = datetime.now(timezone.utc)
    store.put(("test",), "default", {"v": 1})
    store.put(("test",), "custom", {"v": 1}, ttl=1.5)
    store.put(("test",), "forever", {"v": 1}, ttl=None)
    store.batch([PutOp(("test",), "raw", {"v": 1})])  # a raw PutOp has no ttl: the default is `put`'s
    assert stored(store, ("test",), "default")["ttl_seconds"] == pytest.approx(300)
    assert stored(store, ("test",), "custom")["ttl_seconds"] == pytest.approx(90)
    assert stored(store, ("test",), "forever")["expires_at"] is None
    assert stored(store, ("test",), "raw")["expires_at"] is None
    assert timedelta(seconds=85) < expires(store, ("test",), "custom") - before < timedelta(seconds=100)
    assert make_store().store.supports_ttl


def test_reads_refresh_ttl_when_asked(make_store: Callable[..., Client]) -> None:
    store = make_store(ttl={"default_ttl": 10})
    namespace = ("refresh",)
    for key in ("got", "searched", "kept"):
        store.put(namespace, key, {"text": f"{key} item"})
    written = {key: expires(store, namespace, key) for key in ("got", "searched", "kept")}
    time.sleep(0.05)
    assert store.get(namespace, "got").value == {"text": "got item"}  # refresh_on_read defaults to True
    assert store.search(namespace, query="searched")[0].key == "searched"
    assert store.get(namespace, "kept", refresh_ttl=False) is not None
    assert store.search(namespace, query="kept", refresh_ttl=False)[0].key == "kept"
    assert expires(store, namespace, "got") > written["got"]
    assert expires(store, namespace, "searched") > written["searched"]
    assert expires(store, namespace, "kept") == written["kept"]

    lazy = make_store(ttl={"default_ttl": 10, "refresh_on_read": False})
    time.sleep(0.05)
    lazy.get(namespace, "kept")
    lazy.search(namespace)
    assert expires(store, namespace, "kept") == written["kept"]
    lazy.get(namespace, "kept", refresh_ttl=True)
    assert expires(store, namespace, "kept") > written["kept"]


def test_a_filter_checked_after_the_read_refreshes_only_what_it_returns(make_store: Callable[..., Client]) -> None:
    store = make_store(ttl={"default_ttl": 10})
    namespace = ("refresh", "checked")
    for key, value in [("passes", {"n": "1"}), ("fails", {"n": "9"}), ("later", {"n": 2})]:
        store.put(namespace, key, value)
    written = {key: expires(store, namespace, key) for key in ("passes", "fails", "later")}
    time.sleep(0.05)
    # `$lte` with a number is checked on what engram reads ("1" is numeric text): one page.
    assert keys(store.search(namespace, filter={"n": {"$lte": 2}}, limit=1)) == ["later"]
    assert expires(store, namespace, "later") > written["later"]
    assert expires(store, namespace, "passes") == written["passes"], "passes, but was not returned"
    assert expires(store, namespace, "fails") == written["fails"]


def test_expired_items_are_gone_for_every_read_and_sweep_deletes_them(make_store: Callable[..., Client]) -> None:
    store = make_store(ttl={"default_ttl": 10})
    store.put(("omit", "expired"), "e", {"data": "gone"}, ttl=0.3 / 60)
    store.put(("omit", "control"), "c", {"data": "keep"}, ttl=None)
    store.put(("omit", "later"), "l", {"data": "later"})
    assert store.get(("omit", "expired"), "e", refresh_ttl=False) is not None
    time.sleep(0.6)
    assert store.get(("omit", "expired"), "e") is None
    assert store.search(("omit", "expired")) == []
    assert store.search(("omit",), query="gone") == []
    assert store.list_namespaces(prefix=("omit",)) == [("omit", "control"), ("omit", "later")]
    assert store.sweep_ttl() == 1
    assert store.sweep_ttl() == 0
    # A sweep at a later instant deletes what expires by then (the 10-minute default), not the rest.
    store.memory_call("sweep_expired", {"now": datetime.now(timezone.utc) + timedelta(minutes=11)})
    assert store.get(("omit", "later"), "l") is None
    assert store.get(("omit", "control"), "c").value == {"data": "keep"}


def test_the_ttl_sweeper_deletes_expired_items_in_the_background(make_store: Callable[..., Client],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engram.integrations.langgraph")
    client = make_store(ttl={"default_ttl": 10, "sweep_interval_minutes": 0.001})  # every 60 ms
    store = client.store
    client.put(("sweep",), "gone", {"data": "x"}, ttl=0.2 / 60)
    client.put(("sweep",), "kept", {"data": "y"})
    sweep, failures = store.sweep_ttl, []

    def first_sweep_fails() -> int:
        if not failures:
            failures.append(1)
            raise RuntimeError("the database went away")
        return sweep()

    store.sweep_ttl = first_sweep_fails  # type: ignore[method-assign]
    done = store.start_ttl_sweeper()
    assert store.start_ttl_sweeper() is done, "one sweeper per store"

    def logged(text: str) -> bool:
        return any(text in record.getMessage() for record in caplog.records)

    deadline = time.monotonic() + 60
    while not logged("deleted 1 expired items"):
        assert time.monotonic() < deadline, f"no sweep deleted the expired item: {caplog.records}"
        time.sleep(0.02)
    assert logged("TTL sweep failed"), "the failed sweep is logged, and the next one still ran"
    assert sweep() == 0, "already swept"
    assert client.get(("sweep",), "kept").value == {"data": "y"}
    assert store.stop_ttl_sweeper(timeout=60)
    assert done.result(timeout=60) is None
    assert make_store().store.start_ttl_sweeper().done(), "without a ttl config there is nothing to sweep for"


def test_the_ttl_sweeper_stops_with_its_store(tmp_path: Path) -> None:
    with EngramStore.from_conn_string(str(tmp_path / "store.db"), ttl={"default_ttl": 1}) as store:
        done = store.start_ttl_sweeper()
        assert not done.done()
    assert done.result(timeout=60) is None

    async def main() -> None:
        async with EngramStore.afrom_conn_string(str(tmp_path / "store.db"), ttl={"default_ttl": 1}) as store:
            done = store.start_ttl_sweeper(sweep_interval_minutes=0.001)
        assert done.result(timeout=60) is None

    asyncio.run(main())


# --- isolation, opening, graphs, async ----------------------------------------------------


def test_the_store_sees_only_its_own_items(memory_kwargs: Dict[str, Any]) -> None:
    with Memory(**memory_kwargs) as memory:
        checkpointer = EngramCheckpointer(memory)
        from langgraph.checkpoint.base import empty_checkpoint

        checkpointer.put({"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {})
        memory.put_items([{"namespace": ["notes"], "key": "k", "value": {"text": "not the store's"}}])
        store = EngramStore(memory)
        other_tenant = EngramStore(memory, tenant_id="other")
        store.put(("notes",), "mine", {"text": "the store's note"})
        other_tenant.put(("notes",), "theirs", {"text": "another tenant's note"})
        assert store.list_namespaces() == [("notes",)]
        assert keys(store.search(())) == ["mine"]
        assert keys(store.search((), query="note")) == ["mine"]
        assert keys(other_tenant.search(())) == ["theirs"]
        assert checkpointer.get_tuple({"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}) is not None


def test_from_conn_string_opens_a_store_whose_setup_is_idempotent(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    with EngramStore.from_conn_string(path, index=["text"], ttl={"default_ttl": 60}) as store:
        store.setup()
        store.setup()
        store.put(("docs",), "a", {"text": "persisted", "other": "ignored"})
    with EngramStore.from_conn_string(path) as store:
        assert store.get(("docs",), "a").value["text"] == "persisted"
        assert store.search(("docs",), query="ignored") == []

    async def run() -> List[str]:
        async with EngramStore.afrom_conn_string(path) as store:
            await store.asetup()
            return keys(await store.asearch(("docs",), query="persisted"))

    assert asyncio.run(run()) == ["a"]


class Question(TypedDict):
    user: str
    answer: str


def test_a_compiled_graph_reads_and_writes_the_store(tmp_path: Path) -> None:
    from langgraph.graph import END, START, StateGraph

    def remember(state: Question, *, store: BaseStore) -> Dict[str, Any]:
        namespace = ("users", state["user"], "memories")
        store.put(namespace, f"m{len(store.search(namespace))}", {"text": "likes vegetarian food in lisbon"})
        found = store.search(namespace, query="vegetarian")
        return {"answer": f"{len(found)} memories"}

    graph = StateGraph(Question)
    graph.add_node("remember", remember)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", END)
    with EngramStore.from_conn_string(str(tmp_path / "graph.db")) as store:
        app = graph.compile(store=store)
        assert app.invoke({"user": "u1", "answer": ""})["answer"] == "1 memories"
        assert app.invoke({"user": "u1", "answer": ""})["answer"] == "2 memories"
        assert store.list_namespaces(prefix=("users",)) == [("users", "u1", "memories")]


def test_async_calls_run_concurrently_and_either_memory_serves_both_sides(memory_kwargs: Dict[str, Any]) -> None:
    async def concurrent() -> None:
        async with AsyncMemory(**memory_kwargs) as memory:
            store = EngramStore(memory)
            await asyncio.gather(*(store.aput(("c",), f"k{index}", {"text": f"item {index}"}) for index in range(20)))
            found = await asyncio.gather(*(store.aget(("c",), f"k{index}") for index in range(20)))
            assert [item.value["text"] for item in found] == [f"item {index}" for index in range(20)]
            with pytest.raises(RuntimeError, match="event loop"):
                store.get(("c",), "k0")  # an AsyncMemory cannot be waited for on a running loop

    asyncio.run(concurrent())

    async def on_a_thread(store: EngramStore) -> List[str]:
        await store.aput(("t",), "k", {"text": "from a worker thread"})
        return keys(await store.asearch(("t",), query="worker"))

    with Memory(**memory_kwargs) as memory:
        assert asyncio.run(on_a_thread(EngramStore(memory))) == ["k"]  # a Memory in abatch

    async def opened() -> AsyncMemory:
        return AsyncMemory(**memory_kwargs)

    async_memory = asyncio.run(opened())
    store = EngramStore(async_memory)
    store.put(("s",), "k", {"text": "sync over async"})  # an AsyncMemory in batch: a private loop
    assert store.get(("s",), "k").value == {"text": "sync over async"}

    async def close() -> None:
        await async_memory.close()

    asyncio.run(close())


def test_compare_peers_store_smoke() -> None:
    pytest.importorskip("langgraph.store.sqlite")
    finished = subprocess.run(
        [sys.executable, str(REPO / "python" / "scripts" / "compare_peers.py"), "--smoke", "--only", "store"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    rows = [line for line in finished.stdout.splitlines() if line.startswith("store")]
    assert len(rows) >= 3 and all("SqliteStore" in row and row.endswith("x") for row in rows)
    assert "ignores `query`" in finished.stdout
