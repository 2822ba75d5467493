"""Hostile input: generated malformed input reaches every public entry point and is refused.

Hypothesis feeds wrong types, over-limit sizes, deep and self-referential nesting, lone surrogates,
control characters, NaN and infinities, SQL and query syntax, unknown keys, huge integers and wrong
enum strings to every method of `Memory` (and a sample of `AsyncMemory`), to its constructor and
to `import_scope` (files with malformed JSON Lines). Every failure must be an `EngramError` (an
`InvalidInputError` naming the offending field, for bad input), a refused call writes nothing,
and the seeded records never change: their exports, stats, items and a packet with a fixed `now`
are compared before and after. Inputs that happen to be valid ("nasty" ones: SQL in text,
extreme timestamps, sizes exactly at the limits) are written only to their own tenant, `hostile`.

The bugs the properties found are pinned by regression tests at the end of the file (each was a
strict xfail until fixed). `ENGRAM_LONG_TESTS=1` runs ten times the examples, with a random seed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import subprocess
import sys
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conftest import BACKENDS, SERVER_DSNS, long_tests, make_scope, report_figures
from engram import AsyncMemory, EngramError, InvalidInputError, Memory, StorageError
from engram.types import EventInput, InsightInput, Scope

# The default limits (`engram.types.Limits`).
MAX_ID_BYTES = 128
MAX_SOURCE_BYTES = MAX_ID_BYTES + 16  # source links carry a `kind:` prefix
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_PAYLOAD_DEPTH = 32
MAX_LABELS = 64
MAX_TEXT_BYTES = 64 * 1024
MAX_BATCH = 10_000
MAX_SOURCES = 10_000
MAX_NAMESPACE_DEPTH = 16
MAX_WEIGHT = 1000  # policy.weights: each 0 to 1000
MAX_EMBEDDING_DIMENSIONS = 4096
SEEDED_DIMENSIONS = 4  # every seeded tenant holds 4-number vectors

# Snapshotted: hostile calls may read them, never write them.
SEEDED: List[Scope] = [make_scope(), make_scope(tenant_id="acme", user_id="u2", session_id="s9", run_id="r9")]
# Where valid hostile writes land.
HOSTILE: Scope = make_scope(tenant_id="hostile", user_id="h1")
HOSTILE_CONSOLIDATE: Scope = make_scope(tenant_id="hostile", user_id="h1", session_id="consolidate")
# A live insight to promote, out of reach of hostile end_run, forget and purge_user calls.
HOSTILE_PROMOTE: Scope = make_scope(tenant_id="hostile", user_id="h-promote", run_id="promote")
PROMOTE_INSIGHT: InsightInput = {"scope": HOSTILE_PROMOTE, "insight_id": "ins_promote", "text": "promote me"}
NOW = "2026-05-02T18:00:00Z"

# Examples per property test and backend; the servers get fewer (each call is a round trip).
EXAMPLES = {"memory": 40, "sqlite": 40, "postgres": 8, "mysql": 8}

# Inputs fed per backend ("constructor" for `Memory(...)`): rejected and accepted.
INPUTS: Dict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="module", autouse=True)
def report_input_counts() -> Iterator[None]:
    yield
    for backend, counts in sorted(INPUTS.items()):
        report_figures(f"hostile input [{backend}]", inputs=sum(counts.values()),
                       rejected=counts["rejected"], accepted=counts["accepted"])


def examples(backend: str, scale: float = 1.0) -> int:
    return max(3, int(EXAMPLES.get(backend, 40) * scale * (10 if long_tests() else 1)))


def hostile_settings(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        database=None,  # no .hypothesis folder in the tree
        derandomize=not long_tests(),  # the same inputs on every run, unless exploring
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example, HealthCheck.filter_too_much],
    )


# --- hostile values ----------------------------------------------------------------------------

SQL_AND_QUERY_SYNTAX = (
    "' OR 1=1 --", "'; DROP TABLE events; --", "\" OR \"\"=\"", "1; SELECT * FROM facts", "a' UNION SELECT 1 --",
    "\"a\" NEAR b", "NEAR(a b, 3)", "*", "a*", "tag:x", "^", "^a", "\"unbalanced", "'unbalanced", "(a OR b",
    "a)", "a AND NOT b", "-a", "+a", "%", "_", "%_%", "\\", "\\'", "{a}", "a:b:c", "$1", "?", ":name", "@var",
    "`x`", "/* c */", "MATCH 'x'", "ORDER BY 1", "lisbon dinner", "$$", "\"\"", "''", "[a-z]", "a|b",
)
# Unicode Cc: what `check_id` calls control characters.
CONTROL_CHARACTERS = ("\x00", "\x01", "\x07", "\x08", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x85", "\x9f")
LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
ODD_UNICODE = ("\u202e", "\u200b", "\ufeff", "\u2028", "\U0001f600", "e\u0301", "\uffff", "\u8a9e", "\U0010ffff")

short_text = st.text(st.characters(codec="utf-8"), max_size=12)
# Text that is a valid id: no control characters, at most 4 * 20 bytes.
printable_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), min_size=1, max_size=20)
non_finite = st.sampled_from([math.nan, math.inf, -math.inf, -math.nan])


class Opaque:
    """No JSON, and every protocol engram might use to coerce it raises."""

    def __repr__(self) -> str:
        return "Opaque()"

    def __str__(self) -> str:
        raise RuntimeError("Opaque.__str__")

    def __int__(self) -> int:
        raise RuntimeError("Opaque.__int__")

    def __float__(self) -> float:
        raise RuntimeError("Opaque.__float__")

    def __index__(self) -> int:
        raise RuntimeError("Opaque.__index__")

    def __len__(self) -> int:
        raise RuntimeError("Opaque.__len__")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("Opaque.__iter__")


class BrokenTimezone(tzinfo):
    """A timezone whose every answer raises."""

    def utcoffset(self, dt: Optional[datetime]) -> timedelta:
        raise RuntimeError("BrokenTimezone.utcoffset")

    def dst(self, dt: Optional[datetime]) -> timedelta:
        raise RuntimeError("BrokenTimezone.dst")

    def tzname(self, dt: Optional[datetime]) -> str:
        raise RuntimeError("BrokenTimezone.tzname")

    def __repr__(self) -> str:
        return "BrokenTimezone()"


def nested(depth: int, shape: str) -> Any:
    """`depth` levels of lists, dicts or both around a leaf (built iteratively: no recursion)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if shape == "list" or (shape == "mixed" and level % 2) else {"k": value}
    return value


def self_referential(shape: str) -> Any:
    if shape == "list":
        items: List[Any] = []
        items.append(items)
        return items
    mapping: Dict[str, Any] = {}
    mapping["self"] = mapping
    return mapping


too_deep = st.one_of(
    st.builds(nested, st.integers(MAX_PAYLOAD_DEPTH + 1, 3000) | st.sampled_from([65, 20_000]),
              st.sampled_from(["list", "dict", "mixed"])),
    st.builds(self_referential, st.sampled_from(["list", "dict"])),
)
with_lone_surrogate = st.builds(lambda head, surrogate, tail: head + surrogate + tail,
                                short_text, st.sampled_from(LONE_SURROGATES), short_text)
with_control_character = st.builds(lambda head, control, tail: head + control + tail,
                                   short_text, st.sampled_from(CONTROL_CHARACTERS), short_text)
naive_datetimes = st.datetimes()
broken_datetimes = st.builds(lambda moment: moment.replace(tzinfo=BrokenTimezone()), st.datetimes())
NOT_JSON: Tuple[Any, ...] = (Opaque(), {1, 2}, frozenset(), 1j, Decimal("1.5"), Decimal("NaN"), b"raw", bytearray(b"x"),
            memoryview(b"x"), range(2), timedelta(days=1), datetime(2026, 5, 2).date(), object, print)

# (Python type, values of it): `wrong_type(accepted...)` draws from the others.
_WRONG_TYPES: List[Tuple[type, SearchStrategy[Any]]] = [
    (int, st.integers(-(2**70), 2**70)),
    (float, st.floats(allow_nan=True, allow_infinity=True)),
    (bool, st.booleans()),
    (str, short_text),
    (bytes, st.binary(max_size=8)),
    (list, st.lists(st.integers(), max_size=3)),
    (tuple, st.tuples(st.integers())),
    # Two-character keys cannot spell an enum variant ({"message": None} is serde's map form of one).
    (dict, st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)),
    (object, st.sampled_from(NOT_JSON) | naive_datetimes | broken_datetimes),
    (type(None), st.none()),
]


def wrong_type(*accepted: type, nullable: bool = False) -> SearchStrategy[Any]:
    """Values of none of the `accepted` types (and not None when `nullable`)."""
    excluded = set(accepted) | ({type(None)} if nullable else set())
    return st.one_of([values for kind, values in _WRONG_TYPES if kind not in excluded])


def over_long(limit: int) -> SearchStrategy[str]:
    """Strings of more than `limit` UTF-8 bytes (and at least 145, so over every id limit)."""
    least = max(limit, MAX_SOURCE_BYTES) + 1
    return st.one_of(
        st.integers(least, least + 5000).map(lambda size: "x" * size),
        st.integers(least // 2 + 1, least // 2 + 2000).map(lambda size: "\u00e9" * size),
        st.integers(least // 4 + 1, least // 4 + 500).map(lambda size: "\U0001f600" * size),
    )


invalid_ids = st.one_of(st.just(""), over_long(MAX_ID_BYTES), with_control_character, with_lone_surrogate)
invalid_texts = st.one_of(over_long(MAX_TEXT_BYTES), with_lone_surrogate)
INVALID_TIMESTAMPS = (
    "yesterday", "", "now", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-05-02T25:00:00Z",
    "2026-05-02", "2026-05-02T18:00:00", "99999-01-01T00:00:00Z", "-262144-01-01T00:00:00Z", "+262143-01-01T00:00:00Z",
    "2026-05-02T18:00:00Z' OR 1=1 --", "2026-05-02T18:00:00+99:00", "2026-05-02T18:00:00Z\x00",
    "\ud800", "1e309", "NaN", "2026-05-02T18:00Z", "20260502T180000Z",
)
invalid_timestamps = st.one_of(
    st.sampled_from(INVALID_TIMESTAMPS), naive_datetimes, broken_datetimes, st.integers(), non_finite,
    st.floats(), st.booleans(), st.lists(st.integers(), max_size=2), st.binary(max_size=4),
    st.sampled_from(NOT_JSON),
)
# chrono's range: engram accepts signed years beyond RFC 3339's four digits.
EARLIEST = "-262143-01-01T00:00:00Z"
LATEST = "+262142-12-31T23:59:59.999Z"
NASTY_TIMESTAMPS = (
    EARLIEST, LATEST, "-2026-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z",
    "2026-05-02T18:00:00+23:59", "2026-05-02T18:00:00-23:59", "2026-05-02t18:00:00z",
    datetime.max.replace(tzinfo=timezone.utc), datetime.min.replace(tzinfo=timezone.utc),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
)


def invalid_json_inside(oversize: bool = True) -> SearchStrategy[Any]:
    """A JSON-like value that is not JSON engram accepts, at a random depth inside a valid one
    (`oversize`: a string past the payload limit too, for values that are stored)."""
    bad = st.one_of(
        too_deep,
        non_finite,
        st.sampled_from(NOT_JSON) | naive_datetimes | broken_datetimes,
        st.integers(min_value=2**64) | st.integers(max_value=-(2**63) - 1),
        with_lone_surrogate,
        st.builds(lambda surrogate: {surrogate: 1}, with_lone_surrogate),
        st.builds(lambda key: {key: 1}, st.integers() | st.none() | st.booleans() | st.floats() | st.tuples(st.integers())),
        *([st.integers(MAX_PAYLOAD_BYTES + 1, MAX_PAYLOAD_BYTES + 4096).map(lambda size: "x" * size)] if oversize else []),
    )
    path = st.lists(st.one_of(st.integers(0, 2), printable_text), max_size=4)
    return st.builds(wrap, bad, path)


def wrap(value: Any, path: Sequence[Union[int, str]]) -> Any:
    """`value` placed under `path` (list positions and dict keys) inside otherwise valid JSON."""
    for step in reversed(path):
        if isinstance(step, int):
            value = [None] * step + [value]
        else:
            value = {step: value, "ok": 1} if step != "ok" else {step: value}
    return value


nasty_json = st.one_of(
    st.sampled_from(SQL_AND_QUERY_SYNTAX),
    st.sampled_from([2**63 - 1, -(2**63), 2**64 - 1, 1e308, -1e308, 5e-324, -0.0, "", {}, [], {"": None}]),
    st.builds(nested, st.integers(1, MAX_PAYLOAD_DEPTH), st.sampled_from(["list", "dict", "mixed"])),
    st.dictionaries(st.sampled_from(SQL_AND_QUERY_SYNTAX + CONTROL_CHARACTERS + ODD_UNICODE), short_text, max_size=4),
    st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | short_text,
                 lambda children: st.lists(children, max_size=3) | st.dictionaries(short_text, children, max_size=3),
                 max_leaves=10),
)


@dataclass(frozen=True)
class Enum:
    """A string enum and its valid values."""

    values: Tuple[str, ...]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Shape:
    """A dict argument: its keys, and a valid value to mutate. `closed`: unknown keys are refused."""

    fields: Tuple[Field, ...]
    template: Dict[str, Any]
    closed: bool = True

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(field.name for field in self.fields)


Kind = Union[str, Enum, Shape]


def invalid_enum(kind: Enum, nullable: bool) -> SearchStrategy[Any]:
    near_misses = st.sampled_from(kind.values).flatmap(lambda value: st.sampled_from(
        [value.upper(), value.title(), value + " ", " " + value, value[:-1], value + "s", value + "\x00",
         value.replace("_", "-"), value + "\ud800"]))
    strings = st.one_of(near_misses, short_text, st.sampled_from(SQL_AND_QUERY_SYNTAX), st.just(""))
    return st.one_of(strings.filter(lambda text: text not in kind.values), wrong_type(str, dict, nullable=nullable))


def invalid_value(kind: Kind, nullable: bool) -> SearchStrategy[Any]:
    """Values of `kind` that must be refused."""
    if isinstance(kind, Enum):
        return invalid_enum(kind, nullable)
    if kind == "id":
        return st.one_of(invalid_ids, wrong_type(str, nullable=nullable))
    if kind == "id_value":  # an id of the right type but a bad value
        return invalid_ids
    if kind == "source":  # a source link or `promoted_to`: an id 16 bytes longer
        return st.one_of(st.just(""), over_long(MAX_SOURCE_BYTES), with_control_character, with_lone_surrogate,
                         wrong_type(str, nullable=nullable))
    if kind == "string":  # a string without a size limit
        return st.one_of(with_lone_surrogate, wrong_type(str, nullable=nullable))
    if kind == "bound":  # a key bound: any string a database can compare (no NUL)
        return st.one_of(with_lone_surrogate, st.builds(lambda head, tail: head + "\x00" + tail, short_text, short_text),
                         wrong_type(str, nullable=nullable))
    if kind == "tenant":  # an item's tenant: hostile writes stay in `hostile`, so only bad ids
        return st.one_of(invalid_ids, wrong_type(str, nullable=nullable))
    if kind == "namespace":
        return st.one_of(
            wrong_type(list, tuple, nullable=nullable), st.just([]),
            st.just([f"n{index}" for index in range(MAX_NAMESPACE_DEPTH + 1)]),
            st.just(["n" * MAX_ID_BYTES] * 3 + ["n"]),  # 388 bytes joined
            st.builds(lambda head, bad: head + [bad], st.lists(printable_text, max_size=3), invalid_ids | wrong_type(str)),
        )
    if kind == "keys":  # item keys: any number of ids
        return st.one_of(wrong_type(list, tuple, nullable=nullable),
                         st.builds(lambda head, bad: head + [bad], st.lists(printable_text, max_size=3),
                                   invalid_ids | wrong_type(str)))
    if kind == "blob":
        return wrong_type(bytes, nullable=True).filter(lambda value: not isinstance(value, bytes))
    if kind == "filter":
        return st.one_of(
            wrong_type(dict, nullable=nullable),
            st.sampled_from([{"": 1}, {"a..b": 1}, {".a": 1}, {"a.": 1}]),
            st.builds(lambda operator: {"metadata.step": {operator: 1}},
                      st.sampled_from(["$regex", "$where", "$", "$EQ", "$gt ", "$in\x00", "$exists", "$ne$"])),
            st.builds(lambda operand: {"step": {"$in": operand}}, st.integers() | short_text | st.none() | st.just({})),
            # A filter is not stored: only what is not JSON at all, not a size, is refused.
            st.builds(lambda key, value: {key: value}, printable_text, invalid_json_inside(oversize=False)),
        )
    if kind == "text":
        return st.one_of(invalid_texts, wrong_type(str, nullable=nullable))
    if kind == "json":
        return invalid_json_inside()
    if kind == "json_object":
        return st.one_of(wrong_type(dict, nullable=nullable),
                         st.builds(lambda key, value: {key: value}, printable_text, invalid_json_inside()),
                         st.builds(lambda key: {key: 1}, st.integers() | with_lone_surrogate))
    if kind == "labels":
        return st.one_of(
            wrong_type(list, tuple, nullable=nullable),
            st.integers(MAX_LABELS + 1, 3 * MAX_LABELS).map(lambda count: [f"label{index}" for index in range(count)]),
            st.builds(lambda head, bad: head + [bad], st.lists(printable_text, max_size=3), invalid_ids | wrong_type(str)),
        )
    if kind == "sources":
        return st.one_of(
            wrong_type(list, tuple, nullable=nullable),
            st.just(["event:e"] * (MAX_SOURCES + 1)),
            st.builds(lambda head, bad: head + [bad], st.lists(printable_text, max_size=3),
                      invalid_value("source", False)),
        )
    if kind == "texts":
        return st.one_of(wrong_type(list, tuple, nullable=nullable),
                         st.builds(lambda head, bad: head + [bad], st.lists(short_text, max_size=3),
                                   invalid_texts | wrong_type(str)))
    if kind == "event_kinds" or kind == "record_kinds":
        values = EVENT_KINDS if kind == "event_kinds" else RECORD_KINDS
        return st.one_of(wrong_type(list, tuple, nullable=nullable),
                         st.builds(lambda bad: [values.values[0], bad], invalid_enum(values, False)))
    if kind == "sections":
        return st.one_of(
            wrong_type(dict, list, tuple, nullable=nullable),
            st.builds(lambda section: {section: 10}, invalid_enum(SECTIONS, False).filter(lambda key: isinstance(key, str))),
            st.builds(lambda section, count: {section: count}, st.sampled_from(SECTIONS.values), invalid_value("u32", False)),
        )
    if kind == "unit":
        return st.one_of(
            wrong_type(int, float, nullable=nullable), non_finite,
            st.floats(min_value=1.0, exclude_min=True, allow_infinity=False),
            st.floats(max_value=-1e-300, allow_infinity=False),
            st.integers(2, 2**70), st.integers(-(2**70), -1),
        )
    if kind == "limit":  # a size limit: at least 1
        return st.one_of(invalid_value("usize", nullable), st.just(0))
    if kind == "count":  # a u32 that must be at least 1 (a retention bound)
        return st.one_of(invalid_value("u32", nullable), st.just(0))
    if kind in ("u32", "u64", "usize"):
        bound = 2**32 if kind == "u32" else 2**64
        return st.one_of(wrong_type(int, nullable=nullable), st.floats(), st.integers(-(2**70), -1),
                         st.integers(bound, 2**70))
    if kind == "positive":  # a half-life, in hours
        return st.one_of(wrong_type(int, float, nullable=nullable), non_finite,
                         st.floats(max_value=0.0, allow_infinity=False), st.integers(-(2**40), 0))
    if kind == "weight":  # 0 to 1000
        return st.one_of(wrong_type(int, float, nullable=nullable), non_finite,
                         st.floats(max_value=-1e-300, allow_infinity=False), st.integers(-(2**40), -1),
                         st.floats(min_value=MAX_WEIGHT, exclude_min=True, allow_infinity=False),
                         st.integers(MAX_WEIGHT + 1, 2**40))
    if kind == "finite":
        return st.one_of(wrong_type(int, float, nullable=nullable), non_finite)
    if kind == "vector":  # 1 to 4096 finite numbers, as many as the tenant's other vectors
        numbers = st.floats(-1.0, 1.0)
        return st.one_of(
            wrong_type(list, tuple, nullable=nullable), st.just([]), st.just([0.5] * (MAX_EMBEDDING_DIMENSIONS + 1)),
            st.builds(lambda head, bad: head + [bad], st.lists(numbers, min_size=3, max_size=3),
                      non_finite | st.just(1e300) | wrong_type(int, float)),
            st.lists(numbers, min_size=1, max_size=9).filter(lambda vector: len(vector) != SEEDED_DIMENSIONS),
        )
    if kind == "bool":
        return wrong_type(bool, nullable=nullable)
    if kind == "table_counts":  # a receipt's rows: tables of the schema, counts that fit a u64
        counts = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**64), wrong_type(int))
        return st.one_of(
            wrong_type(dict, nullable=nullable),
            st.builds(lambda table, count: {table: count}, st.sampled_from(TABLES), counts),
            st.dictionaries(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE) | short_text, st.integers(0, 9),
                            min_size=1, max_size=3).filter(lambda rows: not set(rows) <= set(TABLES)),
        )
    if kind == "timestamp":
        return invalid_timestamps
    if kind == "path":
        return st.one_of(wrong_type(str, nullable=nullable),
                         st.builds(lambda name: f"export-{name}.jsonl", with_lone_surrogate))
    if kind == "summarizer":
        return wrong_type(nullable=True).filter(lambda value: not callable(value))
    if kind == "extractor":
        return wrong_type(nullable=False).filter(lambda value: not callable(value))
    raise AssertionError(f"no invalid values for {kind!r}")


def nasty_value(kind: Kind) -> Optional[SearchStrategy[Any]]:
    """Valid values of `kind` that hostile input tends to hold, or None when there are none."""
    if kind in ("id", "source"):
        return st.one_of(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE), printable_text,
                         st.sampled_from(["x" * MAX_ID_BYTES, "\u00e9" * (MAX_ID_BYTES // 2), "\U0001f600" * (MAX_ID_BYTES // 4)]))
    if kind in ("text", "string", "bound"):
        return st.one_of(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE + CONTROL_CHARACTERS), short_text,
                         st.just("lisbon " * (MAX_TEXT_BYTES // 7)), st.just(""))
    if kind == "namespace":
        return st.one_of(st.lists(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE), min_size=1, max_size=MAX_NAMESPACE_DEPTH),
                         st.just(["n" * MAX_ID_BYTES] * 3), st.lists(printable_text, min_size=1, max_size=3))
    if kind == "keys":
        return st.lists(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE) | printable_text, max_size=5)
    if kind == "blob":
        return st.sampled_from([b"", b"\x00" * 64, bytes(range(256)), b"' OR 1=1 --", None])
    if kind == "filter":
        return st.dictionaries(st.sampled_from(["step", "metadata.run_id", "a.b.c", "' OR 1=1 --"]),
                               st.one_of(nasty_json, st.builds(lambda operator, operand: {operator: operand},
                                                               st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
                                                               nasty_json),
                                         st.lists(nasty_json, max_size=3).map(lambda options: {"$in": options})),
                               max_size=3)
    if kind == "json":
        return nasty_json
    if kind == "json_object":
        return st.dictionaries(st.sampled_from(SQL_AND_QUERY_SYNTAX) | short_text, nasty_json, max_size=3)
    if kind == "labels":
        return st.one_of(st.lists(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE), max_size=MAX_LABELS),
                         st.just([f"label{index}" for index in range(MAX_LABELS)]), st.just(["dup", "dup"]))
    if kind == "texts":
        return st.lists(st.sampled_from(SQL_AND_QUERY_SYNTAX + ODD_UNICODE + CONTROL_CHARACTERS), max_size=5)
    if kind == "timestamp":
        return st.sampled_from(NASTY_TIMESTAMPS)
    if kind == "unit":
        return st.sampled_from([0, 1, 0.0, 1.0, -0.0, 5e-324, 1 - 2**-53])
    if kind == "u32":
        return st.sampled_from([0, 1, 2**32 - 1])
    if kind == "count":
        return st.sampled_from([1, 2**32 - 1])
    if kind == "u64":
        return st.sampled_from([0, 2**64 - 1])
    if kind == "table_counts":
        return st.dictionaries(st.sampled_from(TABLES), st.sampled_from([0, 1, 2**64 - 1]), max_size=3)
    if kind == "positive":
        return st.sampled_from([5e-324, 1e-300, 1e308, 1.7976931348623157e308])
    if kind == "finite":
        return st.sampled_from([-1e308, 1e308, -0.0, 5e-324])
    if kind == "weight":
        return st.sampled_from([0, 0.0, 5e-324, MAX_WEIGHT, 1e-300])
    return None


# --- the shapes of the inputs (engram.types) ----------------------------------------------------

SCOPE_PARTS = ("tenant_id", "user_id", "agent_id", "session_id", "run_id")
EVENT_KINDS = Enum(("message", "tool_call", "tool_result", "state_patch", "observation", "system"))
RECORD_KINDS = Enum(("event", "fact", "episode", "procedure", "insight"))
SCOPE_LEVELS = Enum(("user", "agent", "tenant"))
# The tables a receipt may name (engram-store's `tables.rs`).
TABLES = ["events", "event_postings", "facts", "fact_postings", "episodes", "episode_postings", "procedures",
          "procedure_postings", "insights", "insight_postings", "lexical_spaces", "lexical_terms", "lexical_totals",
          "record_vectors", "vector_dimensions", "working_states", "short_terms", "items", "item_terms", "item_totals"]
SECTIONS = Enum(("working_state", "conversation_window", "rolling_summary", "key_quotes", "facts", "episodes",
                 "procedures", "recall", "insights"))


def scope_shape(template: Scope) -> Shape:
    return Shape(tuple(Field(part, "id", required=True) for part in SCOPE_PARTS), dict(template))


def with_scope(template: Scope, *fields: Field, **values: Any) -> Shape:
    return Shape((Field("scope", scope_shape(template), required=True), *fields), {"scope": dict(template), **values})


LABELS = (Field("tags", "labels"), Field("entities", "labels"))
EVENT = with_scope(
    HOSTILE,
    Field("kind", EVENT_KINDS, required=True), Field("event_id", "id", nullable=True),
    Field("ts", "timestamp", nullable=True), Field("payload", "json"), *LABELS,
    Field("importance", "unit", nullable=True), Field("expires_at", "timestamp", nullable=True),
    Field("embedding", "vector", nullable=True),
    kind="message", payload={"role": "user", "text": "hostile"},
)
FACT = with_scope(
    HOSTILE,
    Field("fact_key", "id", required=True), Field("value", "json", required=True), Field("text", "text", nullable=True),
    Field("fact_id", "id", nullable=True), Field("confidence", "unit", nullable=True),
    Field("importance", "unit", nullable=True), Field("sources", "sources"), *LABELS,
    Field("valid_from", "timestamp", nullable=True), Field("expires_at", "timestamp", nullable=True),
    Field("scope_level", SCOPE_LEVELS), Field("recorded_at", "timestamp", nullable=True),
    Field("embedding", "vector", nullable=True),
    fact_key="hostile.key", value="hostile",
)
EPISODE = with_scope(
    HOSTILE,
    Field("start_ts", "timestamp", required=True), Field("end_ts", "timestamp", required=True),
    Field("summary", "text", required=True), Field("episode_id", "id", nullable=True), Field("highlights", "texts"),
    *LABELS, Field("sources", "sources"), Field("compression_level", Enum(("raw", "phase", "milestone", "theme"))),
    Field("importance", "unit", nullable=True), Field("scope_level", SCOPE_LEVELS),
    Field("expires_at", "timestamp", nullable=True), Field("embedding", "vector", nullable=True),
    start_ts="2026-05-01T00:00:00Z", end_ts="2026-05-01T01:00:00Z", summary="hostile episode",
)
PROCEDURE = with_scope(
    HOSTILE,
    Field("task_type", "id", required=True), Field("title", "text", required=True),
    Field("procedure_id", "id", nullable=True), Field("steps", "texts"), Field("content", "text", nullable=True),
    Field("priority", "unit", nullable=True), Field("applicability", "text", nullable=True), *LABELS,
    Field("scope_level", SCOPE_LEVELS), Field("updated_at", "timestamp", nullable=True),
    Field("expires_at", "timestamp", nullable=True), Field("embedding", "vector", nullable=True),
    task_type="hostile", title="hostile procedure",
)
VALIDATION = Enum(("unvalidated", "testing", "validated", "rejected"))
INSIGHT = with_scope(
    HOSTILE,
    Field("text", "text", required=True), Field("insight_id", "id", nullable=True),
    Field("kind", Enum(("hypothesis", "strategy", "pattern"))), Field("confidence", "unit", nullable=True),
    Field("validation", VALIDATION), *LABELS, Field("sources", "sources"),
    Field("created_at", "timestamp", nullable=True), Field("expires_at", "timestamp", nullable=True),
    text="hostile insight",
)
INSIGHT_UPDATE = with_scope(
    HOSTILE,
    Field("insight_id", "id", required=True), Field("validation", VALIDATION, nullable=True),
    Field("confidence", "unit", nullable=True), Field("expires_at", "timestamp", nullable=True),
    Field("promoted_to", "source", nullable=True),
    insight_id="ins_hostile", validation="testing",
)
STATE_LISTS = ("plan", "constraints", "decisions", "risks", "open_loops", "tool_evidence")
WORKING_STATE_PATCH = with_scope(
    HOSTILE,
    Field("expected_version", "u64", nullable=True), Field("goal", "text", nullable=True),
    *(Field(name, "texts", nullable=True) for name in STATE_LISTS), Field("slots", "json_object", nullable=True),
    Field("updated_at", "timestamp", nullable=True), Field("ended_at", "timestamp", nullable=True),
    goal="hostile goal",
)
SHORT_TERM_UPDATE = with_scope(
    HOSTILE,
    Field("rolling_summary", "text", nullable=True), Field("key_quotes", "texts", nullable=True),
    Field("updated_at", "timestamp", nullable=True), Field("consolidated_until", "timestamp", nullable=True),
    rolling_summary="hostile summary",
)
EVENT_QUERY = with_scope(
    SEEDED[0],
    Field("limit", "u32"), Field("before", "timestamp", nullable=True), Field("after", "timestamp", nullable=True),
    Field("kinds", "event_kinds"), Field("session_wide", "bool"), Field("with_sequences", "bool"),
)
LIST_QUERY = with_scope(SEEDED[0], Field("limit", "u32"), Field("include_inactive", "bool"))
TIME_RANGE = Shape((Field("start", "timestamp", nullable=True), Field("end", "timestamp", nullable=True)), {})
CUES = Shape((Field("tags", "labels"), Field("entities", "labels"), Field("keywords", "labels"),
              Field("time_range", TIME_RANGE, nullable=True)), {})
SIGNALS = ("relevance", "recency", "importance", "confidence", "cue")
FUSION = Shape((Field("method", Enum(("scores", "ranks"))), Field("lexical", "weight"), Field("vector", "weight"), Field("rank_constant", "finite")), {})
WEIGHTS = Shape(tuple(Field(signal, "weight", required=True) for signal in SIGNALS), {signal: 1.0 for signal in SIGNALS})
HALF_LIVES = Shape(tuple(Field(section, "positive") for section in ("facts", "episodes", "procedures", "recall", "insights")), {})
POLICY = Shape(
    (Field("policy_id", "string", nullable=True),
     *(Field(cap, "u32") for cap in ("max_total_candidates", "max_facts", "max_episodes", "max_procedures",
                                     "max_insights", "max_recall", "conversation_window", "candidates_per_source",
                                     "postings_per_term", "max_active_facts", "vector_candidates", "context_turns")),
     Field("recall_fills_budget", "bool", nullable=True), Field("session_support", "unit"),
     Field("fusion", FUSION), Field("min_score", "finite"), Field("half_life_hours", HALF_LIVES), Field("weights", WEIGHTS, nullable=True)),
    {},
)
BUDGET = Shape((Field("max_tokens", "u32"), Field("per_section", "sections"),
                Field("tokenizer", Enum(("o200k_base", "cl100k_base")))), {"max_tokens": 800})
BUILD_REQUEST = with_scope(
    SEEDED[0],
    Field("purpose", Enum(("planner", "tool", "responder")), required=True), Field("task_type", "id", nullable=True),
    Field("query", "text", nullable=True), Field("query_embedding", "vector", nullable=True), Field("cues", CUES),
    Field("policy", POLICY), Field("budget", BUDGET),
    Field("now", "timestamp", nullable=True), Field("format", Enum(("markdown", "xml"))),
    purpose="planner", query="lisbon dinner", query_embedding=[0.5, 0.5, 0.0, 0.0], now=NOW,
)
FORGET = with_scope(
    HOSTILE,
    Field("before", "timestamp", nullable=True), Field("tags", "labels"), Field("kinds", "record_kinds"),
    Field("session_only", "bool"),
    tags=["forget-me"],
)
RETENTION = Shape((Field("max_event_age_days", "count", nullable=True), Field("max_events_per_session", "count", nullable=True)), {})
RECEIPT = Shape((Field("rows", "table_counts", required=True), Field("erased", "texts")), {"rows": {"events": 1}})
SWEEP = Shape((Field("now", "timestamp", nullable=True), Field("retention", RETENTION)), {})
# A promotion to a fact; the keys of a promotion to a procedure (task_type, title, steps) are
# unknown in it, like any other key.
PROMOTE = Shape(
    with_scope(HOSTILE_PROMOTE).fields + (
        Field("insight_id", "id", required=True), Field("to", Enum(("fact", "procedure")), required=True),
        Field("fact_key", "id", required=True), Field("value", "json"), Field("scope_level", SCOPE_LEVELS)),
    {"scope": dict(HOSTILE_PROMOTE), "insight_id": "ins_promote", "to": "fact", "fact_key": "promoted.fact"},
)
CONSOLIDATE = with_scope(
    HOSTILE_CONSOLIDATE,
    Field("window", "u32"), Field("max_events", "u32"), Field("min_events", "u32"), Field("now", "timestamp", nullable=True),
    window=1,
)
EXTRACT = with_scope(
    HOSTILE_CONSOLIDATE,
    Field("max_events", "u32"), Field("max_facts", "u32"), Field("now", "timestamp", nullable=True),
)
LIMITS = Shape(tuple(Field(name, "limit") for name in ("max_id_bytes", "max_payload_bytes", "max_payload_depth", "max_labels",
                                                        "max_text_bytes", "max_batch", "max_sources", "max_blob_bytes")), {})
# Items of the hostile tenant (its `tenant_id` is only ever given bad values, so writes stay there).
ITEM = Shape(
    (Field("tenant_id", "tenant"), Field("namespace", "namespace", required=True), Field("key", "id", required=True),
     Field("value", "json"), Field("blob", "blob", nullable=True), Field("expires_at", "timestamp", nullable=True),
     Field("index", "labels", nullable=True), Field("ttl_seconds", "positive", nullable=True)),
    {"tenant_id": "hostile", "namespace": ["hostile", "items"], "key": "item", "value": {"step": 1}, "blob": b"hostile",
     "index": ["$"]},
)
ITEM_QUERY = Shape(
    (Field("tenant_id", "tenant"), Field("namespace", "namespace", required=True), Field("prefix", "bool"),
     Field("keys", "keys"), Field("before_key", "bound", nullable=True), Field("after_key", "bound", nullable=True),
     Field("descending", "bool"), Field("filter", "filter"), Field("without_blobs", "bool"), Field("offset", "u32"),
     Field("refresh_ttl", "bool"), Field("limit", "count"), Field("children", "namespace", nullable=True)),
    {"tenant_id": "hostile", "namespace": ["hostile", "items"]},
)
ITEM_SEARCH = Shape(
    (Field("tenant_id", "tenant"), Field("namespace", "namespace"), Field("query", "text", nullable=True),
     Field("filter", "filter"), Field("offset", "u32"), Field("limit", "count"), Field("without_blobs", "bool"),
     Field("refresh_ttl", "bool")),
    {"tenant_id": "hostile", "namespace": ["hostile"], "query": "hostile step"},
)
NAMESPACE_QUERY = Shape(
    (Field("tenant_id", "tenant"), Field("prefix", "labels"), Field("suffix", "labels"),
     Field("max_depth", "count", nullable=True), Field("offset", "u32"), Field("limit", "count")),
    {"tenant_id": "hostile", "prefix": ["hostile", "*"]},
)


@dataclass(frozen=True)
class Param:
    """A positional argument. A dict argument's fields are named relative to it (`kind`, not
    `event.kind`), a scope argument's as `scope.<part>`; a wrong type is named by `name`."""

    name: str
    kind: Kind
    template: Any
    nullable: bool = False

    @property
    def path(self) -> str:
        return "scope" if self.name == "scope" else ""


@dataclass(frozen=True)
class Spec:
    method: str
    params: Tuple[Param, ...]
    nasty: bool = True  # valid-but-hostile values are safe to send (they land in `hostile` or only read)


def shape_param(name: str, shape: Shape, nullable: bool = False) -> Param:
    return Param(name, shape, shape.template, nullable)


def scope_param(template: Scope) -> Param:
    return Param("scope", scope_shape(template), dict(template))


SPECS: List[Spec] = [
    Spec("append_event", (shape_param("event", EVENT),)),
    Spec("append_events", (Param("events", "events", [EVENT.template]),)),
    Spec("list_events", (shape_param("query", EVENT_QUERY),)),
    Spec("list_event_sequences", (shape_param("query", EVENT_QUERY),)),
    Spec("upsert_fact", (shape_param("fact", FACT),)),
    Spec("list_facts", (shape_param("query", LIST_QUERY),)),
    Spec("fact_history", (scope_param(SEEDED[0]), Param("fact_key", "id", "user.diet"))),
    Spec("append_episode", (shape_param("episode", EPISODE),)),
    Spec("list_episodes", (shape_param("query", LIST_QUERY),)),
    Spec("upsert_procedure", (shape_param("procedure", PROCEDURE),)),
    Spec("list_procedures", (shape_param("query", LIST_QUERY),)),
    Spec("append_insight", (shape_param("insight", INSIGHT),)),
    Spec("update_insight", (shape_param("update", INSIGHT_UPDATE),)),
    Spec("list_insights", (shape_param("query", LIST_QUERY),)),
    Spec("get_working_state", (scope_param(SEEDED[0]),)),
    Spec("patch_working_state", (shape_param("patch", WORKING_STATE_PATCH),)),
    Spec("get_stm", (scope_param(SEEDED[0]),)),
    Spec("update_stm", (shape_param("update", SHORT_TERM_UPDATE),)),
    Spec("build_memory_packet", (shape_param("request", BUILD_REQUEST),)),
    Spec("stats", (scope_param(SEEDED[1]),)),
    Spec("delete_event", (scope_param(HOSTILE), Param("event_id", "id", "evt_missing"))),
    Spec("delete_fact", (scope_param(HOSTILE), Param("fact_key", "id", "fact.missing"))),
    Spec("forget", (shape_param("request", FORGET),)),
    Spec("purge_user", (Param("tenant_id", "id", "hostile"), Param("user_id", "id", "h-purged"),
                        Param("compact", "bool", None, nullable=True))),
    Spec("compact", (shape_param("receipt", RECEIPT),)),
    Spec("scope", (Param("user_id", "id", "h-scoped"), Param("session_id", "id", None, nullable=True),
                   Param("agent_id", "id", None, nullable=True), Param("tenant_id", "id", None, nullable=True),
                   Param("run_id", "id", None, nullable=True))),
    # Global: a valid sweep could delete seeded records, so only invalid requests (None is valid).
    Spec("sweep_expired", (shape_param("request", SWEEP, nullable=True),), nasty=False),
    # Not nasty: a valid promotion would use up the insight.
    Spec("promote_insight", (shape_param("request", PROMOTE),), nasty=False),
    Spec("end_run", (scope_param(HOSTILE), Param("now", "timestamp", None, nullable=True))),
    Spec("consolidate_session", (shape_param("request", CONSOLIDATE), Param("summarizer", "summarizer", None, nullable=True))),
    Spec("extract_facts", (shape_param("request", EXTRACT), Param("extractor", "extractor", lambda events: []))),
    Spec("export_scope", (scope_param(SEEDED[1]), Param("path", "path", "export.jsonl"))),
    Spec("put_items", (Param("items", "items", [ITEM.template]), Param("on_conflict", Enum(("replace", "keep")), None, nullable=True))),
    Spec("list_items", (shape_param("query", ITEM_QUERY),)),
    Spec("delete_items", (shape_param("query", ITEM_QUERY),)),
    Spec("search_items", (shape_param("search", ITEM_SEARCH),)),
    Spec("list_namespaces", (shape_param("query", NAMESPACE_QUERY),)),
]


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass
class Case:
    """A hostile call: the arguments, and the field an `InvalidInputError` must name (None: the
    input may be valid, and any `EngramError` or success will do)."""

    method: str
    args: List[Any]
    field: Optional[str]

    def __repr__(self) -> str:  # deep values are too long to print whole
        return f"Case({self.method}, field={self.field!r}, args={_short(self.args)})"


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deep to print>"
    return text if len(text) < 400 else text[:400] + f"... ({len(text)} characters)"


@st.composite
def mutated_shape(draw: st.DrawFn, shape: Shape, path: str, whole: str, nullable: bool, nasty: bool,
                  top: bool = False) -> Tuple[Any, Optional[str]]:
    """`shape`'s template with one thing wrong, and the field that names it; or, when `nasty`,
    one field given a valid hostile value (field None, unless nothing valid was at hand). `top`:
    a method's own argument (checked to be a dict), not a dict inside one."""
    value = copy.deepcopy(shape.template)
    if nasty:
        fields = [field for field in shape.fields if isinstance(field.kind, Shape) or nasty_value(field.kind) is not None]
        if fields:
            chosen = draw(st.sampled_from(fields))
            if isinstance(chosen.kind, Shape):
                where = join(path, chosen.name)
                value[chosen.name], field = draw(mutated_shape(chosen.kind, where, where, chosen.nullable, True))
                return value, field
            strategy = nasty_value(chosen.kind)
            assert strategy is not None
            value[chosen.name] = draw(strategy)
            return value, None
    required = [field for field in shape.fields if field.required]
    how = draw(st.sampled_from(["field"] * 5 + ["wrong_type"] + ["unknown_key"] * shape.closed + ["missing"] * bool(required)))
    if how == "wrong_type":  # lists included: a struct is never read from one by position
        return draw(wrong_type(dict, nullable=nullable)), whole
    if how == "unknown_key":
        key = draw(st.one_of(printable_text, st.sampled_from(SQL_AND_QUERY_SYNTAX + ("Scope", "scope ", "__proto__", "kind\x00")))
                   .filter(lambda name: name not in shape.names))
        value[key] = draw(st.one_of(st.none(), st.integers(), short_text, too_deep, non_finite))
        return value, join(path, key)
    if how == "missing":
        chosen = draw(st.sampled_from(required))
        value.pop(chosen.name, None)
        return value, join(path, chosen.name)
    chosen = draw(st.sampled_from(shape.fields))
    where = join(path, chosen.name)
    if isinstance(chosen.kind, Shape):
        value[chosen.name], field = draw(mutated_shape(chosen.kind, where, where, chosen.nullable, False))
    else:
        value[chosen.name] = draw(invalid_value(chosen.kind, chosen.nullable))
        field = where
    return value, field


@st.composite
def mutated_events(draw: st.DrawFn, nasty: bool) -> Tuple[Any, Optional[str]]:
    how = draw(st.sampled_from(["element"] * 6 + ["wrong_type", "too_many"]))
    if how == "wrong_type":
        return draw(wrong_type(list, tuple)), "events"
    if how == "too_many":
        return [EVENT.template] * (MAX_BATCH + 1), "events"
    count = draw(st.integers(1, 4))
    position = draw(st.integers(0, count - 1))
    events = [copy.deepcopy(EVENT.template) for _ in range(count)]
    element = f"events[{position}]"
    events[position], field = draw(mutated_shape(EVENT, element, element, False, nasty))
    return events, field


@st.composite
def mutated_items(draw: st.DrawFn, nasty: bool) -> Tuple[Any, Optional[str]]:
    if draw(st.sampled_from(["element"] * 7 + ["wrong_type"])) == "wrong_type":
        return draw(wrong_type(list, tuple)), "items"
    count = draw(st.integers(1, 3))
    position = draw(st.integers(0, count - 1))
    items = [{**copy.deepcopy(ITEM.template), "key": f"item{index}"} for index in range(count)]
    element = f"items[{position}]"
    items[position], field = draw(mutated_shape(ITEM, element, element, False, nasty))
    return items, field


@st.composite
def hostile_cases(draw: st.DrawFn, spec: Spec, folder: Path) -> Case:
    index = draw(st.integers(0, len(spec.params) - 1))
    param = spec.params[index]
    args = [copy.deepcopy(other.template) for other in spec.params]
    for position, other in enumerate(spec.params):
        if other.kind == "path":
            args[position] = str(folder / other.template)
    nasty = spec.nasty and draw(st.sampled_from([False] * 9 + [True]))
    value: Any
    field: Optional[str]
    if isinstance(param.kind, Shape):
        value, field = draw(mutated_shape(param.kind, param.path, param.name, param.nullable, nasty, top=True))
    elif param.kind == "events":
        value, field = draw(mutated_events(nasty))
    elif param.kind == "items":
        value, field = draw(mutated_items(nasty))
    else:
        strategy = nasty_value(param.kind) if nasty else None
        if strategy is not None:
            value, field = draw(strategy), None
        elif param.kind == "path" and nasty:  # a folder, or a name full of syntax
            value, field = str(folder / draw(st.sampled_from(["", "' OR 1=1 --.jsonl", "\u8a9e \U0001f600.jsonl"]))), None
        else:
            value, field = draw(invalid_value(param.kind, param.nullable)), param.name
    args[index] = value
    return Case(spec.method, args, field)


# --- the store under attack ---------------------------------------------------------------------


def seed(mem: Memory) -> None:
    """Known records for every seeded scope, and a few in the hostile tenant for calls to reach."""
    for index, scope in enumerate(SEEDED):
        mem.append_events([
            {"scope": scope, "kind": "message", "event_id": f"evt_seed_{index}_{turn}", "ts": f"2026-05-01T10:00:0{turn}Z",
             "payload": {"role": "user" if turn % 2 else "assistant", "text": text}, "tags": ["travel", f"turn{turn}"],
             "embedding": [float(turn), 1.0, 0.0, 0.0]}
            for turn, text in enumerate(["I'm vegetarian", "book dinner in lisbon", "near the alfama viewpoint",
                                         "fado after dinner", "budget is 80 euros"])
        ])
        for version, value in enumerate(["vegetarian", "vegan"]):
            mem.upsert_fact({"scope": scope, "fact_key": "user.diet", "value": value, "fact_id": f"fact_seed_{index}_{version}",
                             "valid_from": f"2026-05-01T1{version}:00:00Z", "recorded_at": f"2026-05-01T1{version}:00:00Z",
                             "tags": ["diet"]})
        mem.upsert_fact({"scope": scope, "fact_key": "trip.city", "value": {"city": "Lisbon", "nights": 3},
                         "fact_id": f"fact_seed_{index}_city", "recorded_at": "2026-05-01T09:00:00Z"})
        mem.append_episode({"scope": scope, "episode_id": f"ep_seed_{index}", "start_ts": "2026-04-30T10:00:00Z",
                            "end_ts": "2026-04-30T11:00:00Z", "summary": "planned a lisbon trip", "tags": ["travel"]})
        mem.upsert_procedure({"scope": scope, "procedure_id": f"proc_seed_{index}", "task_type": "booking",
                              "title": "book a restaurant", "steps": ["check diet", "call"], "updated_at": "2026-04-29T10:00:00Z"})
        mem.append_insight({"scope": scope, "insight_id": f"ins_seed_{index}", "text": "prefers quiet places",
                            "created_at": "2026-05-01T10:30:00Z"})
        mem.patch_working_state({"scope": scope, "goal": "dinner in lisbon", "plan": ["search", "book"],
                                 "slots": {"city": "Lisbon"}, "updated_at": "2026-05-01T10:40:00Z"})
        mem.update_stm({"scope": scope, "rolling_summary": "user wants dinner", "key_quotes": ["I'm vegetarian"],
                        "updated_at": "2026-05-01T10:41:00Z"})
        mem.put_items([{"tenant_id": scope["tenant_id"], "namespace": ["seed", scope["user_id"]], "key": f"item{item}",
                        "value": {"step": item, "metadata": {"run_id": scope["run_id"]}}, "blob": bytes([index, item]) * 8}
                       for item in range(3)])
    mem.append_events([{"scope": HOSTILE, "kind": "message", "event_id": f"evt_hostile_{turn}", "payload": {"text": "hostile"},
                        "embedding": [1.0, float(turn), 0.0, 0.0]} for turn in range(3)])
    mem.put_items([{**ITEM.template, "key": f"item{index}"} for index in range(3)])
    mem.append_insight({"scope": HOSTILE, "insight_id": "ins_hostile", "text": "hostile insight"})
    mem.append_insight(PROMOTE_INSIGHT)
    mem.upsert_fact({"scope": HOSTILE, "fact_key": "hostile.key", "value": "hostile"})


def stats_without_size(mem: Memory, scope: Scope) -> Dict[str, Any]:
    stats = dict(mem.stats(scope))
    stats.pop("database_bytes", None)  # the file grows with the hostile tenant's writes
    return stats


class Seeded:
    """A seeded store on one backend, shared by the module's tests, and its snapshot."""

    def __init__(self, backend: str, kwargs: Dict[str, Any], folder: Path) -> None:
        self.backend = backend
        self.kwargs = kwargs
        self.folder = folder
        self.mem = Memory(**kwargs)
        seed(self.mem)
        self.before = self.snapshot()
        self.quick_before = self.quick()

    def snapshot(self) -> Dict[str, Any]:
        """Everything the seeded scopes hold: exports, stats, and a packet with a fixed `now`."""
        result: Dict[str, Any] = {}
        for index, scope in enumerate(SEEDED):
            path = self.folder / f"snapshot-{index}.jsonl"
            self.mem.export_scope(scope, path)
            result[f"export {index}"] = path.read_text(encoding="utf-8").split("\n")
            result[f"stats {index}"] = stats_without_size(self.mem, scope)
            result[f"items {index}"] = self.mem.list_items({"tenant_id": scope["tenant_id"], "namespace": [], "prefix": True,
                                                            "limit": 100_000})
            packet: Dict[str, Any] = dict(self.mem.build_memory_packet(
                {"scope": scope, "purpose": "planner", "query": "lisbon dinner vegetarian", "now": NOW}))
            packet["explain"] = {key: value for key, value in packet["explain"].items() if key != "timings_us"}
            result[f"packet {index}"] = packet
        return result

    def quick(self) -> Dict[str, Any]:
        return stats_without_size(self.mem, SEEDED[0])

    def assert_unchanged(self) -> None:
        after = self.snapshot()
        for key in self.before:
            assert after[key] == self.before[key], f"seeded data changed: {key}"


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    backend = str(request.param)
    folder = tmp_path_factory.mktemp(f"hostile-{backend}")
    seeded = Seeded(backend, BACKENDS[backend](folder), folder)
    yield seeded
    seeded.mem.close()


def check_error(error: EngramError, case: Case) -> None:
    """A refusal is an `EngramError`; bad input is an `InvalidInputError` naming its field."""
    if isinstance(error, InvalidInputError):
        assert isinstance(error.field, str) and isinstance(error.problem, str) and error.problem, repr(error)
        assert str(error) == f"{error.field}: {error.problem}"
        if case.field is None:
            assert error.field, f"{case.method}: InvalidInputError names no field: {error}"
            return
        field = case.field
        assert error.field == field or error.field.startswith((f"{field}.", f"{field}[")), (
            f"{case.method}: expected the error to name {case.field!r}, got {error.field!r}: {_short(str(error))}")
    else:
        assert case.field is None, (
            f"{case.method}: bad input at {case.field!r} raised {type(error).__name__}, not InvalidInputError: {_short(str(error))}")


ITEM_METHODS = ("put_items", "list_items", "delete_items", "search_items", "list_namespaces")


def hostile_state(mem: Memory, method: str) -> Dict[str, Any]:
    """What a refused call must leave as it was: the hostile user's stats (and, for the item
    methods, the hostile tenant's items)."""
    state = {"stats": stats_without_size(mem, HOSTILE)}
    if method in ITEM_METHODS:
        state["items"] = mem.list_items({"tenant_id": "hostile", "namespace": [], "prefix": True, "limit": 100_000})
    return state


def attempt(mem: Memory, store: Seeded, case: Case) -> None:
    """Runs a hostile call: refused cleanly and writing nothing, or (when valid) harmless."""
    hostile_before = hostile_state(mem, case.method)
    try:
        getattr(mem, case.method)(*case.args)
    except EngramError as error:
        INPUTS[store.backend]["rejected"] += 1
        check_error(error, case)
        assert hostile_state(mem, case.method) == hostile_before, f"{case.method}: a refused call wrote"
    else:
        INPUTS[store.backend]["accepted"] += 1
        assert case.field is None, f"{case.method}: accepted input that is bad at {case.field!r}"
    assert store.quick() == store.quick_before, f"{case.method}: seeded stats changed"


# --- the properties -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=[spec.method for spec in SPECS])
def test_malformed_input_is_refused_with_an_engram_error(store: Seeded, spec: Spec) -> None:
    @hostile_settings(examples(store.backend))
    @given(hostile_cases(spec, store.folder))
    def check(case: Case) -> None:
        attempt(store.mem, store, case)

    check()
    store.assert_unchanged()


def test_every_public_method_is_attacked() -> None:
    public = {name for name in dir(Memory) if not name.startswith("_") and callable(getattr(Memory, name))}
    covered = {spec.method for spec in SPECS} | {"import_scope", "close", "check_integrity"}
    assert public == covered


@st.composite
def hostile_summarizers(draw: st.DrawFn) -> Tuple[Callable[[Any], Any], str]:
    """A summarizer returning something engram must refuse, and the field it must name."""
    how = draw(st.sampled_from(["wrong_type", "text", "key", "unknown_key"]))
    result: Any
    if how == "wrong_type":
        result, field = draw(wrong_type(str, dict, nullable=False)), "summarizer"
    elif how == "text":
        result, field = draw(invalid_texts), "summarizer"
    elif how == "key":
        key, kind = draw(st.sampled_from([("summary", "text"), ("highlights", "texts"), ("key_quotes", "texts"),
                                          ("tags", "labels"), ("entities", "labels")]))
        result = {"summary": "ok", key: draw(invalid_value(kind, False))}
        field = f"summarizer.{key}"
    else:
        key = draw(printable_text.filter(lambda name: name not in ("summary", "highlights", "key_quotes", "tags", "entities")
                                         and "`" not in name))
        result, field = {"summary": "ok", key: 1}, f"summarizer.{key}"
    return (lambda events: result), field


def test_consolidate_session_refuses_hostile_summarizer_results(store: Seeded) -> None:
    request = {"scope": HOSTILE_CONSOLIDATE, "window": 1, "now": NOW}
    mem = store.mem

    @hostile_settings(examples(store.backend, 0.5))
    @given(hostile_summarizers())
    def check(hostile: Tuple[Callable[[Any], Any], str]) -> None:
        summarizer, field = hostile
        # Events beyond the window, so the summarizer is called (refused runs consume nothing).
        mem.append_events([{"scope": HOSTILE_CONSOLIDATE, "kind": "message", "payload": {"text": f"turn {turn}"},
                            "ts": "2026-05-02T10:00:00Z"} for turn in range(2)])
        calls: List[int] = []

        def counting(events: Any) -> Any:
            calls.append(len(events))
            return summarizer(events)

        attempt(mem, store, Case("consolidate_session", [request, counting], field))
        assert calls, "the summarizer was not called"

    check()
    store.assert_unchanged()


@st.composite
def hostile_extractors(draw: st.DrawFn) -> Tuple[Callable[[Any], Any], str]:
    """An extractor returning something engram must refuse, and the field it must name."""
    how = draw(st.sampled_from(["wrong_type", "not_a_dict", "key", "unknown_key", "too_many", "source"]))
    fact = {"fact_key": "user.city", "value": "Lisbon"}
    result: Any
    if how == "wrong_type":
        result, field = draw(wrong_type(list, nullable=False)), "extractor"
    elif how == "not_a_dict":
        result, field = [draw(wrong_type(dict, nullable=False))], "extractor[0]"
    elif how == "key":
        key, kind = draw(st.sampled_from([("fact_key", "id"), ("value", "json"), ("text", "text"), ("confidence", "unit"),
                                          ("tags", "labels"), ("sources", "sources")]))
        result, field = [fact, {**fact, key: draw(invalid_value(kind, False))}], f"extractor[1].{key}"
    elif how == "unknown_key":
        key = draw(printable_text.filter(lambda name: name not in ("fact_key", "value", "text", "confidence", "tags",
                                                                   "sources") and "`" not in name))
        result, field = [{**fact, key: 1}], f"extractor[0].{key}"
    elif how == "too_many":
        result, field = [fact] * 21, "extractor"
    else:
        result, field = [{**fact, "sources": [draw(short_text)]}], "extractor[0].sources[0]"
    return (lambda events: result), field


def test_extract_facts_refuses_hostile_extractor_results(store: Seeded) -> None:
    request = {"scope": HOSTILE_CONSOLIDATE, "now": NOW}
    mem = store.mem

    @hostile_settings(examples(store.backend, 0.5))
    @given(hostile_extractors())
    def check(hostile: Tuple[Callable[[Any], Any], str]) -> None:
        extractor, field = hostile
        mem.append_events([{"scope": HOSTILE_CONSOLIDATE, "kind": "message", "payload": {"text": "I live in Lisbon"},
                            "ts": "2026-05-02T10:00:00Z"}])
        calls: List[int] = []

        def counting(events: Any) -> Any:
            calls.append(len(events))
            return extractor(events)

        facts = mem.list_facts({"scope": HOSTILE_CONSOLIDATE, "include_inactive": True})
        attempt(mem, store, Case("extract_facts", [request, counting], field))
        assert calls, "the extractor was not called"
        assert mem.list_facts({"scope": HOSTILE_CONSOLIDATE, "include_inactive": True}) == facts, "a refused batch wrote"

    check()
    store.assert_unchanged()


# --- import_scope: malformed JSON Lines ---------------------------------------------------------

MALFORMED_LINES = (
    "{not json", "garbage", "[", "{\"type\":", "}", "{'type': 'event'}", "NaN", "1", "[]", "\"text\"", "null", "true",
    "{\"type\": \"zzz\"}", "{\"type\": \"event\"}", "{\"type\": null}", "{}", "[" * 200 + "]" * 200,
    "{\"type\": \"event\", \"payload\": " + "[" * 5000,
)


def exported_lines(mem: Memory, scope: Scope, path: Path) -> List[Dict[str, Any]]:
    mem.export_scope(scope, path)
    # Split on newlines only: values may hold U+2028 and friends, which `splitlines` also splits on.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


@st.composite
def malformed_record(draw: st.DrawFn, records: List[Dict[str, Any]]) -> str:
    """An exported record with one field the importer must refuse."""
    record = copy.deepcopy(draw(st.sampled_from(records)))
    key = draw(st.sampled_from(sorted(record)))
    id_keys = [name for name in record if name.endswith("_id") and name != "type"]
    how = draw(st.sampled_from(["wrong_type", "bad_id", "escape", "number"]))
    if how == "bad_id" and id_keys:
        record[draw(st.sampled_from(id_keys))] = draw(st.sampled_from(["", "x" * 200, "a\x00b", "a\nb"]))
        return json.dumps(record)
    if how == "escape":  # a lone surrogate escape, invalid in JSON text for serde
        record[key] = "@@surrogate@@"
        return json.dumps(record).replace("\"@@surrogate@@\"", "\"\\ud800\"")
    if how == "number":
        record[key] = "@@number@@"
        return json.dumps(record).replace("\"@@number@@\"", draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "01", "+1", "0x10"])))
    wrong = {"scope": "default/u1", "type": 5, "kind": "chat", "ts": "yesterday", "tags": "urgent", "owner": [], "state": 5}
    if key in wrong and record.get(key) is not None:
        record[key] = wrong[key]
    else:
        record["type"] = draw(st.sampled_from(["", "Event", "events", "engram_export"]))
    return json.dumps(record)


@st.composite
def hostile_import_files(draw: st.DrawFn, header: Dict[str, Any], hostile: List[Dict[str, Any]],
                         seeded: List[Dict[str, Any]]) -> bytes:
    """A file the importer must refuse as a whole: records (some fresh, for the hostile tenant and
    the seeded one, some taken verbatim from a seeded export) and at least one malformed line."""
    serial = draw(st.integers(0, 2**32))
    lines: List[str] = []
    for record in draw(st.lists(st.sampled_from(hostile + seeded), max_size=6)):
        fresh = copy.deepcopy(record)
        if draw(st.booleans()):
            for key in [name for name in fresh if name.endswith("_id")]:
                fresh[key] = f"{fresh[key]}_{serial}"
        lines.append(json.dumps(fresh))
    bad = draw(st.one_of(st.sampled_from(MALFORMED_LINES), malformed_record(hostile + seeded),
                         st.builds(lambda text: "{" + text.replace("}", ""), short_text)))
    lines.insert(draw(st.integers(0, len(lines))), bad)
    first = draw(st.sampled_from(["header"] * 4 + ["none", "version", "malformed"]))
    if first == "header":
        lines.insert(0, json.dumps(header))
    elif first == "version":
        lines.insert(0, json.dumps({**header, "version": draw(st.sampled_from([0, 2, -1, 2**70, "1", None]))}))
    elif first == "malformed":
        lines.insert(0, json.dumps({**header, "type": "engram_exports"}))
    text = "\n".join(lines).encode("utf-8")
    encoding = draw(st.sampled_from(["plain"] * 6 + ["bom", "crlf", "nul", "latin1"]))
    if encoding == "bom":
        text = b"\xef\xbb\xbf" + text
    elif encoding == "crlf":
        text = text.replace(b"\n", b"\r\n")
    elif encoding == "nul":
        text = text.replace(b"\"", b"\"\x00", 1)
    elif encoding == "latin1":
        text += b"\n\"caf\xe9\""
    return text


def test_import_scope_refuses_malformed_files_as_a_whole(store: Seeded) -> None:
    mem = store.mem
    hostile = exported_lines(mem, HOSTILE, store.folder / "hostile-export.jsonl")
    header, hostile_records = hostile[0], hostile[1:]
    seeded_records = exported_lines(mem, SEEDED[0], store.folder / "seeded-export.jsonl")[1:]
    path = store.folder / "hostile-import.jsonl"

    @hostile_settings(examples(store.backend, 2))
    @given(hostile_import_files(header, hostile_records, seeded_records))
    def check(content: bytes) -> None:
        path.write_bytes(content)
        hostile_before = stats_without_size(mem, HOSTILE)
        with pytest.raises(EngramError) as caught:
            mem.import_scope(path)
        INPUTS[store.backend]["rejected"] += 1
        if isinstance(caught.value, InvalidInputError):
            assert caught.value.field, str(caught.value)
        assert stats_without_size(mem, HOSTILE) == hostile_before, "a refused import wrote"
        assert store.quick() == store.quick_before, "a refused import changed seeded data"

    check()
    store.assert_unchanged()


# --- AsyncMemory ---------------------------------------------------------------------------------

ASYNC_SAMPLE = ("append_event", "append_events", "upsert_fact", "build_memory_packet", "patch_working_state",
                "forget", "sweep_expired", "promote_insight", "fact_history", "update_stm", "put_items", "list_items")


def test_async_memory_refuses_malformed_input_the_same_way(store: Seeded) -> None:
    """A sample of the methods through `AsyncMemory` (on the same database, except in memory)."""
    loop = asyncio.new_event_loop()
    try:
        async def open_async() -> AsyncMemory:
            memory = AsyncMemory(**store.kwargs)
            if store.backend == "memory":  # its own store: give promote_insight its insight
                await memory.append_insight(PROMOTE_INSIGHT)
            return memory

        async def close(memory: AsyncMemory) -> None:
            await memory.close()

        mem = loop.run_until_complete(open_async())
        specs = [spec for spec in SPECS if spec.method in ASYNC_SAMPLE]
        folder = store.folder

        @hostile_settings(examples(store.backend, 2))
        @given(st.sampled_from(specs).flatmap(lambda spec: hostile_cases(spec, folder)))
        def check(case: Case) -> None:
            async def call() -> Any:
                return await getattr(mem, case.method)(*case.args)

            async def hostile_stats() -> Dict[str, Any]:
                return {key: value for key, value in (await mem.stats(HOSTILE)).items() if key != "database_bytes"}

            hostile_before = loop.run_until_complete(hostile_stats())
            try:
                loop.run_until_complete(call())
            except EngramError as error:
                INPUTS[store.backend]["rejected"] += 1
                check_error(error, case)
                assert loop.run_until_complete(hostile_stats()) == hostile_before
            else:
                INPUTS[store.backend]["accepted"] += 1
                assert case.field is None, f"{case.method}: accepted input that is bad at {case.field!r}"

        check()
        loop.run_until_complete(close(mem))
    finally:
        loop.close()
    store.assert_unchanged()


# --- the constructor ----------------------------------------------------------------------------


@st.composite
def hostile_constructions(draw: st.DrawFn, folder: Path) -> Tuple[Dict[str, Any], Optional[str]]:
    """Keyword arguments of `Memory(...)` with one of them bad, and the field that names it."""
    argument = draw(st.sampled_from(["path", "in_memory", "backend", "dsn", "database", "limits", "synchronous", "server_database"]))
    kwargs: Dict[str, Any] = {"path": str(folder / "constructed.db")}
    if argument == "path":
        kwargs["path"] = draw(st.one_of(wrong_type(str, nullable=True), with_lone_surrogate.map(lambda name: str(folder / name)),
                                        st.just(""), st.just(str(folder / "a\x00b.db"))))
    elif argument == "in_memory":
        kwargs = {"in_memory": draw(wrong_type(bool, nullable=True))}
    elif argument == "backend":
        kwargs["backend"] = draw(st.one_of(wrong_type(str, nullable=True), invalid_enum(Enum(("sqlite", "postgres", "mysql")), True)))
    elif argument in ("dsn", "database"):  # both apply only to the servers
        kwargs[argument] = draw(st.one_of(wrong_type(str, nullable=True), short_text, st.sampled_from(SQL_AND_QUERY_SYNTAX)))
    elif argument == "synchronous":
        kwargs["synchronous"] = draw(st.one_of(wrong_type(str, nullable=True), invalid_enum(Enum(("normal", "full")), True)))
    elif argument == "limits":
        limits, field = draw(mutated_shape(LIMITS, "limits", "limits", True, False))
        return {"in_memory": True, "limits": limits}, field
    else:  # a server backend with a database name that must be refused before connecting
        backend = draw(st.sampled_from(["postgres", "mysql"]))
        # Never a valid name: that would create a database on the server.
        name = draw(st.one_of(
            st.builds(lambda head, bad, tail: head + bad + tail, st.text("abc_-19", max_size=5),
                      st.sampled_from(list(" ;'\"`.$/\\\x00\u00e9") + list(SQL_AND_QUERY_SYNTAX)), st.text("abc", max_size=5)),
            st.just(""), st.just("x" * 64), with_lone_surrogate, wrong_type(str, nullable=True),
        ).filter(lambda name: not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,63}", name))))
        return {"backend": backend, "dsn": SERVER_DSNS[backend], "database": name}, "database"
    return kwargs, argument


def test_constructor_refuses_malformed_arguments(tmp_path: Path) -> None:
    @hostile_settings(examples("memory", 4))
    @given(hostile_constructions(tmp_path))
    def check(construction: Tuple[Dict[str, Any], Optional[str]]) -> None:
        kwargs, field = construction
        try:
            memory = Memory(**kwargs)
        except EngramError as error:
            INPUTS["constructor"]["rejected"] += 1
            check_error(error, Case("Memory", [kwargs], field))
        else:
            INPUTS["constructor"]["accepted"] += 1
            memory.close()
            pytest.fail(f"Memory({_short(kwargs)}) accepted an argument bad at {field!r}")

    check()


# --- limits, checked before anything is written ----------------------------------------------------

T = HOSTILE
EVENT_OK: EventInput = {"scope": T, "kind": "message", "payload": {"text": "ok"}}
FILLER = len(json.dumps({"t": ""}, separators=(",", ":")))

# (name, method, arguments, field named)
OVER_LIMIT: List[Tuple[str, str, List[Any], str]] = [
    ("scope part of 129 bytes", "append_event", [{**EVENT_OK, "scope": {**T, "user_id": "u" * 129}}], "scope.user_id"),
    ("scope part of 129 bytes (2-byte characters)", "append_event", [{**EVENT_OK, "scope": {**T, "run_id": "r" + "\u00e9" * 64}}], "scope.run_id"),
    ("event id of 129 bytes", "append_event", [{**EVENT_OK, "event_id": "e" * 129}], "event_id"),
    ("tag of 129 bytes", "append_event", [{**EVENT_OK, "tags": ["ok", "t" * 129]}], "tags[1]"),
    ("entity of 129 bytes", "append_insight", [{"scope": T, "text": "x", "entities": ["e" * 129]}], "entities[0]"),
    ("fact key of 129 bytes", "upsert_fact", [{"scope": T, "fact_key": "k" * 129, "value": 1}], "fact_key"),
    ("task type of 129 bytes", "upsert_procedure", [{"scope": T, "task_type": "t" * 129, "title": "x"}], "task_type"),
    ("source of 145 bytes", "append_episode", [{"scope": T, "start_ts": NOW, "end_ts": NOW, "summary": "x", "sources": ["s" * 145]}], "sources[0]"),
    ("65 tags", "append_event", [{**EVENT_OK, "tags": [f"t{index}" for index in range(65)]}], "tags"),
    ("65 entities", "upsert_fact", [{"scope": T, "fact_key": "k", "value": 1, "entities": [f"e{index}" for index in range(65)]}], "entities"),
    ("65 cue keywords", "build_memory_packet", [{"scope": T, "purpose": "planner", "cues": {"keywords": [f"k{index}" for index in range(65)]}}], "cues.keywords"),
    ("65 forget tags", "forget", [{"scope": T, "tags": [f"t{index}" for index in range(65)]}], "tags"),
    ("payload of 256 KiB + 1", "append_event", [{**EVENT_OK, "payload": {"t": "x" * (MAX_PAYLOAD_BYTES - FILLER + 1)}}], "payload"),
    ("fact value of 256 KiB + 1", "upsert_fact", [{"scope": T, "fact_key": "k", "value": {"t": "x" * (MAX_PAYLOAD_BYTES - FILLER + 1)}}], "value"),
    ("slots of 256 KiB + 1", "patch_working_state", [{"scope": T, "slots": {"t": "x" * (MAX_PAYLOAD_BYTES - FILLER + 1)}}], "slots"),
    ("payload 33 levels deep", "append_event", [{**EVENT_OK, "payload": nested(33, "mixed")}], "payload"),
    ("fact value 33 levels deep", "upsert_fact", [{"scope": T, "fact_key": "k", "value": nested(33, "list")}], "value"),
    ("fact text of 64 KiB + 1", "upsert_fact", [{"scope": T, "fact_key": "k", "value": 1, "text": "x" * (MAX_TEXT_BYTES + 1)}], "text"),
    ("episode summary of 64 KiB + 1", "append_episode", [{"scope": T, "start_ts": NOW, "end_ts": NOW, "summary": "x" * (MAX_TEXT_BYTES + 1)}], "summary"),
    ("procedure content of 64 KiB + 1", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "content": "\u8a9e" * 21846}], "content"),
    ("procedure step of 64 KiB + 1", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "steps": ["ok", "x" * (MAX_TEXT_BYTES + 1)]}], "steps[1]"),
    ("insight text of 64 KiB + 1", "append_insight", [{"scope": T, "text": "x" * (MAX_TEXT_BYTES + 1)}], "text"),
    ("goal of 64 KiB + 1", "patch_working_state", [{"scope": T, "goal": "x" * (MAX_TEXT_BYTES + 1)}], "goal"),
    ("rolling summary of 64 KiB + 1", "update_stm", [{"scope": T, "rolling_summary": "x" * (MAX_TEXT_BYTES + 1)}], "rolling_summary"),
    ("query of 64 KiB + 1", "build_memory_packet", [{"scope": T, "purpose": "planner", "query": "x " * (MAX_TEXT_BYTES // 2 + 1)}], "query"),
    ("10001 events in a batch", "append_events", [[EVENT_OK] * (MAX_BATCH + 1)], "events"),
    ("10001 sources", "upsert_fact", [{"scope": T, "fact_key": "k", "value": 1, "sources": ["event:e"] * (MAX_SOURCES + 1)}], "sources"),
    ("consolidating 10001 events", "consolidate_session", [{"scope": T, "max_events": MAX_SOURCES + 1}], "max_events"),
]


@pytest.mark.parametrize(("method", "args", "field"), [case[1:] for case in OVER_LIMIT], ids=[case[0] for case in OVER_LIMIT])
def test_limits_are_enforced_before_anything_is_written(store: Seeded, method: str, args: List[Any], field: str) -> None:
    before = [stats_without_size(store.mem, scope) for scope in (HOSTILE, *SEEDED)]
    with pytest.raises(InvalidInputError) as caught:
        getattr(store.mem, method)(*args)
    assert caught.value.field == field, str(caught.value)
    assert "limit" in caught.value.problem
    assert [stats_without_size(store.mem, scope) for scope in (HOSTILE, *SEEDED)] == before


AT_LIMIT: List[Tuple[str, str, List[Any]]] = [
    ("ids of 128 bytes", "append_event", [{**EVENT_OK, "scope": {**T, "session_id": "s" * 128}, "tags": ["\u00e9" * 64]}]),
    ("64 tags", "append_event", [{**EVENT_OK, "tags": [f"t{index}" for index in range(64)]}]),
    ("payload of 256 KiB", "append_event", [{**EVENT_OK, "payload": {"t": "x" * (MAX_PAYLOAD_BYTES - FILLER)}}]),
    ("payload 32 levels deep", "upsert_fact", [{"scope": T, "fact_key": "deep", "value": nested(32, "mixed")}]),
    ("text of 64 KiB", "append_insight", [{"scope": T, "text": "x" * MAX_TEXT_BYTES}]),
]


@pytest.mark.parametrize(("method", "args"), [case[1:] for case in AT_LIMIT], ids=[case[0] for case in AT_LIMIT])
def test_input_at_the_limits_is_accepted(store: Seeded, method: str, args: List[Any]) -> None:
    getattr(store.mem, method)(*args)
    store.assert_unchanged()


LIMIT_CASES: List[Tuple[str, int, str, Any, str]] = [
    # (limit, configured value, method, argument, field)
    ("max_labels", 2, "append_event", {**EVENT_OK, "tags": ["a", "b", "c"]}, "tags"),
    ("max_id_bytes", 8, "append_event", {**EVENT_OK, "scope": {**T, "user_id": "u" * 9}}, "scope.user_id"),
    ("max_payload_bytes", 64, "append_event", {**EVENT_OK, "payload": {"t": "x" * 64}}, "payload"),
    ("max_payload_depth", 2, "upsert_fact", {"scope": T, "fact_key": "k", "value": [[[1]]]}, "value"),
    ("max_text_bytes", 10, "append_insight", {"scope": T, "text": "x" * 11}, "text"),
    ("max_batch", 2, "append_events", [EVENT_OK] * 3, "events"),
    ("max_sources", 1, "upsert_fact", {"scope": T, "fact_key": "k", "value": 1, "sources": ["event:a", "event:b"]}, "sources"),
]


@pytest.mark.parametrize(("limit", "value", "method", "argument", "field"), LIMIT_CASES, ids=[case[0] for case in LIMIT_CASES])
def test_configured_limits_are_enforced(tmp_path: Path, limit: str, value: int, method: str, argument: Any, field: str) -> None:
    for kwargs in ({"in_memory": True}, {"path": tmp_path / "limits.db"}):
        limits: Any = {limit: value}
        with Memory(**kwargs, limits=limits) as mem:
            before = stats_without_size(mem, T)
            with pytest.raises(InvalidInputError) as caught:
                getattr(mem, method)(argument)
            assert caught.value.field == field, str(caught.value)
            assert f"the limit is {value}" in caught.value.problem
            assert stats_without_size(mem, T) == before
        # The default limit lets the same input through.
        with Memory(**kwargs) as mem:
            getattr(mem, method)(argument)


def test_configured_limits_apply_to_async_memory_too() -> None:
    async def main() -> None:
        async with AsyncMemory(in_memory=True, limits={"max_labels": 2}) as mem:
            with pytest.raises(InvalidInputError) as caught:
                await mem.append_event({**EVENT_OK, "tags": ["a", "b", "c"]})
            assert caught.value.field == "tags"
            assert (await mem.stats(T))["events"] == 0
            await mem.append_event({**EVENT_OK, "tags": ["a", "b"]})

    asyncio.run(main())


BAD_LIMITS: List[Tuple[str, Any, str]] = [
    ("zero", {"max_labels": 0}, "limits.max_labels"),
    ("negative", {"max_text_bytes": -1}, "limits.max_text_bytes"),
    ("huge", {"max_batch": 2**70}, "limits.max_batch"),
    ("float", {"max_id_bytes": 8.0}, "limits.max_id_bytes"),
    ("string", {"max_sources": "10"}, "limits.max_sources"),
    ("None", {"max_payload_bytes": None}, "limits.max_payload_bytes"),
    ("bool", {"max_labels": True}, "limits.max_labels"),
    ("depth beyond the stack's reach", {"max_payload_depth": 49}, "limits.max_payload_depth"),
    ("unknown key", {"max_tags": 3}, "limits.max_tags"),
    ("not a dict", "small", "limits"),
]


@pytest.mark.parametrize(("limits", "field"), [case[1:] for case in BAD_LIMITS], ids=[case[0] for case in BAD_LIMITS])
def test_bad_limits_are_refused_naming_the_key(limits: Any, field: str) -> None:
    for memory_class in (Memory, AsyncMemory):
        with pytest.raises(InvalidInputError) as caught:
            memory_class(in_memory=True, limits=limits)
        assert caught.value.field == field, str(caught.value)


def test_mysql_refuses_ids_wider_than_its_key_columns() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Memory(backend="mysql", dsn=SERVER_DSNS["mysql"], database="engram_never_created", limits={"max_id_bytes": 129})
    assert caught.value.field == "limits.max_id_bytes"


# --- nesting deeper than any stack ------------------------------------------------------------------

DEEP_CHILD = textwrap.dedent("""
    import json, sys
    from engram import InvalidInputError, Memory

    depth = int(sys.argv[2])
    def nested(shape):
        value = "leaf"
        for level in range(depth):
            value = [value] if shape == "list" or (shape == "mixed" and level % 2) else {"k": value}
        return value
    def looped(shape):
        if shape == "list":
            items = []; items.append(items); return items
        mapping = {}; mapping["self"] = mapping; return mapping

    scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "s", "run_id": "r"}
    mem = Memory(**json.loads(sys.argv[1]))
    # Events beyond the consolidation window, so the summarizer is called (and refused).
    mem.append_events([{"scope": scope, "kind": "message", "payload": {"text": str(turn)}} for turn in range(3)])
    refused = attempted = 0
    for make in (nested, looped):
        for shape in ("list", "dict", "mixed"):
            deep = make(shape)
            calls = [
                lambda: mem.append_event({"scope": scope, "kind": "message", "payload": deep}),
                lambda: mem.append_events([{"scope": scope, "kind": "message", "payload": {"a": deep}}]),
                lambda: mem.upsert_fact({"scope": scope, "fact_key": "k", "value": deep}),
                lambda: mem.patch_working_state({"scope": scope, "slots": {"s": deep}}),
                lambda: mem.append_event({"scope": deep, "kind": "message"}),
                lambda: mem.append_event({"scope": scope, "kind": "message", "unknown": deep}),
                lambda: mem.build_memory_packet({"scope": scope, "purpose": "planner", "policy": deep}),
                lambda: mem.build_memory_packet({"scope": scope, "purpose": deep}),
                lambda: mem.sweep_expired(deep),
                lambda: mem.stats(deep),
                lambda: mem.promote_insight({"scope": scope, "insight_id": "i", "to": "fact", "fact_key": "k", "value": deep}),
                lambda: Memory(in_memory=True, limits=deep),
                lambda: mem.consolidate_session({"scope": scope, "window": 1}, lambda events: {"summary": "s", "tags": deep}),
            ]
            for call in calls:
                attempted += 1
                try:
                    call()
                except InvalidInputError:
                    refused += 1
    mem.append_event({"scope": scope, "kind": "message", "payload": {"text": "still alive"}})
    assert mem.stats(scope)["events"] == 4, mem.stats(scope)
    print(refused, attempted)
""")


@pytest.mark.parametrize("backend_name", ["memory", "sqlite"])
def test_deep_nesting_is_refused_without_overflowing_the_stack(tmp_path: Path, backend_name: str) -> None:
    """100,000 levels of lists and dicts, and self-referential ones, everywhere a value goes:
    refused as InvalidInputError (conversion stops at 64 levels, the payload limit is 32), in a
    child process so that a stack overflow fails this test instead of killing pytest."""
    kwargs = {"in_memory": True} if backend_name == "memory" else {"path": str(tmp_path / "deep.db")}
    result = subprocess.run([sys.executable, "-c", DEEP_CHILD, json.dumps(kwargs), str(100_000)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"child died ({result.returncode}): {result.stderr[-2000:]}"
    refused, attempted = map(int, result.stdout.split()[-2:])
    assert refused == attempted == 2 * 3 * 13, result.stdout


# --- regressions: bugs the properties found, each a strict xfail until fixed ---------------------------


@pytest.fixture
def fresh() -> Iterator[Memory]:
    with Memory(in_memory=True) as memory:
        yield memory


@hostile_settings(25)
@given(now=st.sampled_from([NOW, EARLIEST]), days=st.integers(1, 2**32 - 1))
@example(now=NOW, days=2**32 - 1)
@example(now=EARLIEST, days=1)
def test_sweep_with_any_retention_age_raises_nothing_but_engram_errors(now: str, days: int) -> None:
    """A cutoff before chrono's earliest instant has nothing older than it (no panic); an event
    of `now` is younger than any cutoff, an event of the earliest instant older than any
    representable one."""
    with Memory(in_memory=True) as mem:
        mem.append_events([{**EVENT_OK, "event_id": "now", "ts": now}, {**EVENT_OK, "event_id": "first", "ts": EARLIEST}])
        receipt = mem.sweep_expired({"now": now, "retention": {"max_event_age_days": days}})
        kept = [event["event_id"] for event in mem.list_events({"scope": T})]
        assert "now" in kept
        assert len(kept) == 2 - receipt["rows"].get("events", 0)


def test_sweep_trimming_sessions_at_the_latest_date_raises_nothing_but_engram_errors(fresh: Memory) -> None:
    fresh.append_events([{**EVENT_OK, "ts": LATEST} for _ in range(3)])
    receipt = fresh.sweep_expired({"now": LATEST, "retention": {"max_events_per_session": 2}})
    assert receipt["rows"]["events"] == 1
    assert fresh.stats(T)["events"] == 2


@pytest.mark.parametrize("bound", ["max_events_per_session", "max_event_age_days"])
def test_a_retention_of_zero_is_refused(fresh: Memory, bound: str) -> None:
    """A sweep runs over every tenant: 0 would delete every event of all of them."""
    fresh.append_event(EVENT_OK)
    with pytest.raises(InvalidInputError) as caught:
        fresh.sweep_expired({"retention": {bound: 0}})  # type: ignore[misc]
    assert caught.value.field == f"retention.{bound}"
    assert fresh.stats(T)["events"] == 1


def test_consolidating_events_at_the_latest_date_raises_nothing_but_engram_errors(fresh: Memory) -> None:
    fresh.append_events([{**EVENT_OK, "ts": LATEST} for _ in range(3)])
    consolidation = fresh.consolidate_session({"scope": T, "window": 1, "now": LATEST})
    assert consolidation["consumed"] == 2


@pytest.mark.parametrize("fact_key", ["", "k" * 129, "a\x00b"], ids=["empty", "129 bytes", "NUL"])
def test_fact_history_checks_the_fact_key(fresh: Memory, fact_key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fresh.fact_history(T, fact_key)
    assert caught.value.field == "fact_key"


# Where NUL inside JSON is written and read back: no hostile call writes here.
NUL_SCOPE: Scope = make_scope(tenant_id="hostile", user_id="h-nul", session_id="nul", run_id="nul")
NUL_INPUTS: List[Tuple[str, str, List[Any], Optional[str]]] = [
    # (name, method, arguments, field an InvalidInputError must name; None: accepted, as JSON keeps it escaped)
    ("event text", "append_event", [{**EVENT_OK, "payload": {"text": "a\x00b"}}], "payload.text"),
    ("event content", "append_event", [{**EVENT_OK, "payload": {"content": "a\x00b"}}], "payload.content"),
    ("event role", "append_event", [{**EVENT_OK, "payload": {"role": "a\x00b", "text": "ok"}}], "payload.role"),
    ("tool name", "append_event", [{**EVENT_OK, "kind": "tool_call", "payload": {"tool": "a\x00b", "arguments": {}}}],
     "payload.tool"),
    ("string payload", "append_event", [{**EVENT_OK, "payload": "a\x00b"}], "payload"),
    ("an event of a batch", "append_events", [[EVENT_OK, {**EVENT_OK, "payload": {"text": "\x00"}}]], "events[1].payload.text"),
    ("fact value", "upsert_fact", [{"scope": T, "fact_key": "k", "value": "a\x00b"}], "value"),
    ("fact text", "upsert_fact", [{"scope": T, "fact_key": "k", "value": 1, "text": "a\x00b"}], "text"),
    ("insight text", "append_insight", [{"scope": T, "text": "a\x00b"}], "text"),
    ("episode summary", "append_episode", [{"scope": T, "start_ts": NOW, "end_ts": NOW, "summary": "a\x00b"}], "summary"),
    ("episode highlight", "append_episode", [{"scope": T, "start_ts": NOW, "end_ts": NOW, "summary": "s",
                                              "highlights": ["ok", "a\x00b"]}], "highlights[1]"),
    ("procedure title", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "a\x00b"}], "title"),
    ("procedure step", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "steps": ["a\x00b"]}], "steps[0]"),
    ("procedure content", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "content": "\x00"}], "content"),
    ("procedure applicability", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "applicability": "\x00"}],
     "applicability"),
    ("procedure id", "upsert_procedure", [{"scope": T, "task_type": "t", "title": "x", "procedure_id": "a\x00b"}], "procedure_id"),
    ("procedure tenant", "upsert_procedure", [{"scope": {**T, "tenant_id": "a\x00b"}, "task_type": "t", "title": "x",
                                               "procedure_id": "p"}], "scope.tenant_id"),
    ("goal", "patch_working_state", [{"scope": T, "goal": "a\x00b"}], "goal"),
    ("plan step", "patch_working_state", [{"scope": T, "plan": ["a\x00b"]}], "plan[0]"),
    ("rolling summary", "update_stm", [{"scope": T, "rolling_summary": "a\x00b"}], "rolling_summary"),
    ("key quote", "update_stm", [{"scope": T, "key_quotes": ["a\x00b"]}], "key_quotes[0]"),
    ("fact_history key", "fact_history", [T, "a\x00b"], "fact_key"),
    ("item key bound", "list_items", [{"tenant_id": "hostile", "namespace": ["n"], "after_key": "a\x00b"}], "after_key"),
    ("item namespace", "put_items", [[{"tenant_id": "hostile", "namespace": ["a\x00b"], "key": "k"}]], "items[0].namespace[0]"),
    ("payload JSON", "append_event", [{**EVENT_OK, "scope": NUL_SCOPE, "payload": {"data": "a\x00b", "k\x00": ["\x00"]}}], None),
    ("fact value JSON", "upsert_fact", [{"scope": NUL_SCOPE, "fact_key": "nul.json", "value": {"a\x00": "b\x00"}}], None),
    ("slots", "patch_working_state", [{"scope": NUL_SCOPE, "slots": {"s\x00": "a\x00b"}}], None),
    ("item value", "put_items", [[{"tenant_id": "hostile", "namespace": ["nul"], "key": "k", "value": {"a\x00": "\x00"}}]], None),
]


@pytest.mark.parametrize(("method", "args", "field"), [case[1:] for case in NUL_INPUTS], ids=[case[0] for case in NUL_INPUTS])
def test_nul_characters_get_the_same_answer_on_every_backend(store: Seeded, method: str, args: List[Any],
                                                             field: Optional[str]) -> None:
    """U+0000, which Postgres text cannot hold, is refused in every string stored as text (ids,
    free text, the text and role derived from a payload) as bad input naming it, on every
    backend; inside JSON (payloads, values, slots), which is stored escaped, it is kept."""
    try:
        result = getattr(store.mem, method)(*args)
    except InvalidInputError as error:
        assert field is not None and error.field == field, str(error)
        assert "must not contain" in error.problem
    else:
        assert field is None, f"accepted a NUL in {field}"
        if method == "append_event":
            assert store.mem.list_events({"scope": NUL_SCOPE, "limit": 1})[0]["payload"] == result["payload"] == args[0]["payload"]
        elif method == "upsert_fact":
            assert store.mem.fact_history(NUL_SCOPE, "nul.json")[-1]["value"] == args[0]["value"]
        elif method == "patch_working_state":
            assert store.mem.get_working_state(NUL_SCOPE)["slots"]["s\x00"] == "a\x00b"
        elif method == "put_items":
            [item] = store.mem.list_items({"tenant_id": "hostile", "namespace": ["nul"], "keys": ["k"]})
            assert item["value"] == {"a\x00": "\x00"}
    store.assert_unchanged()


def test_procedure_applicability_is_limited_like_other_text(fresh: Memory) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fresh.upsert_procedure({"scope": T, "task_type": "t", "title": "x", "applicability": "x" * (MAX_TEXT_BYTES + 1)})
    assert caught.value.field == "applicability"
    assert fresh.stats(T)["procedures"] == 0


@pytest.mark.parametrize("weight", [1e308, MAX_WEIGHT + 0.5, 2**40])
def test_weights_beyond_the_range_are_refused(fresh: Memory, weight: float) -> None:
    request: Any = {"scope": T, "purpose": "planner", "query": "lisbon", "now": NOW,
                    "policy": {"weights": {signal: weight for signal in SIGNALS}}}
    with pytest.raises(InvalidInputError) as caught:
        fresh.build_memory_packet(request)
    assert caught.value.field == "policy.weights.relevance"


def test_the_largest_weights_give_finite_scores(fresh: Memory) -> None:
    fresh.upsert_fact({"scope": T, "fact_key": "trip.city", "value": "lisbon"})
    fresh.append_episode({"scope": T, "start_ts": NOW, "end_ts": NOW, "summary": "lisbon trip planned"})
    request: Any = {"scope": T, "purpose": "planner", "query": "lisbon", "now": NOW,
                    "policy": {"weights": {signal: MAX_WEIGHT for signal in SIGNALS},
                               "half_life_hours": {"facts": 5e-324, "episodes": 1.7976931348623157e308}}}
    packet = fresh.build_memory_packet(request)
    selected = packet["explain"]["selected"]
    assert {item["section"] for item in selected} >= {"facts", "episodes"}, selected
    assert all(math.isfinite(item["score"]) and 0 <= item["score"] <= 1 for item in selected), selected


PROMOTION_ERRORS: List[Tuple[str, str, Any, str]] = [
    # (to, key, bad value, field)
    ("fictional", "fact_key", "k", "to"), ("", "fact_key", "k", "to"), (5, "fact_key", "k", "to"),  # type: ignore[list-item]
    (None, "fact_key", "k", "to"), ("fact", "fact_key", 5, "fact_key"), ("fact", "scope_level", "everyone", "scope_level"),  # type: ignore[list-item]
    ("procedure", "steps", "call", "steps"), ("procedure", "title", 5, "title"), ("procedure", "steps", [1], "steps[0]"),
    ("fact", "task_type", "t", "task_type"), ("procedure", "fact_key", "k", "fact_key"),
    ("fact", "fact_key", "", "fact_key"), ("procedure", "task_type", "t" * 129, "task_type"),
    ("procedure", "title", " ", "title"), ("procedure", "steps", ["x" * (MAX_TEXT_BYTES + 1)], "steps[0]"),
    ("fact", "value", nested(40, "list"), "value"),
]


@pytest.mark.parametrize(("to", "key", "value", "field"), PROMOTION_ERRORS,
                         ids=[f"{case[0]}-{case[1]}-{index}" for index, case in enumerate(PROMOTION_ERRORS)])
def test_errors_inside_a_promotion_name_their_field(fresh: Memory, to: Any, key: str, value: Any, field: str) -> None:
    insight = fresh.append_insight({"scope": T, "text": "try the tram"})
    request = {"scope": T, "insight_id": insight["insight_id"], "to": to, "fact_key": "k", "task_type": "t"}
    request.pop("task_type" if to == "fact" else "fact_key")
    request[key] = value
    with pytest.raises(InvalidInputError) as caught:
        fresh.promote_insight(request)  # type: ignore[arg-type]
    assert caught.value.field == field, str(caught.value)
    assert fresh.list_insights({"scope": T})[0]["validation"] == "unvalidated"


def test_promotion_is_checked_before_the_insight_is_looked_up(fresh: Memory) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fresh.promote_insight({"scope": T, "insight_id": "missing", "to": "fact", "fact_key": "k" * 129})
    assert caught.value.field == "fact_key"


def test_promote_insight_refuses_unknown_keys(fresh: Memory) -> None:
    insight = fresh.append_insight({"scope": T, "text": "try the tram"})
    before = fresh.stats(T)
    with pytest.raises(InvalidInputError) as caught:
        request: Any = {"scope": T, "insight_id": insight["insight_id"], "to": "fact", "fact_key": "k", "colour": "blue"}
        fresh.promote_insight(request)
    assert caught.value.field == "colour"
    assert fresh.stats(T) == before


def test_a_valid_promotion_still_works(fresh: Memory) -> None:
    first = fresh.append_insight({"scope": T, "text": "try the tram"})
    second = fresh.append_insight({"scope": T, "text": "book early"})
    promoted = fresh.promote_insight({"scope": T, "insight_id": first["insight_id"], "to": "fact", "fact_key": "k",
                                      "value": None, "scope_level": "agent"})
    assert promoted["fact"] is not None and promoted["fact"]["scope_level"] == "agent"
    promoted = fresh.promote_insight({"scope": T, "insight_id": second["insight_id"], "to": "procedure", "task_type": "t",
                                      "steps": ["book", "pay"]})
    assert promoted["procedure"] is not None and promoted["procedure"]["steps"] == ["book", "pay"]


LIST_FOR_DICT: List[Tuple[str, str, Any, str]] = [
    ("scope of an event", "append_event", {**EVENT_OK, "scope": list(T.values())}, "scope"),
    ("an event of a batch", "append_events", [[T, None, None, "message", {}, [], [], None, None]], "events[0]"),
    ("budget", "build_memory_packet", {"scope": T, "purpose": "planner", "budget": [5]}, "budget"),
    ("policy", "build_memory_packet", {"scope": T, "purpose": "planner", "policy": []}, "policy"),
    ("weights", "build_memory_packet", {"scope": T, "purpose": "planner", "policy": {"weights": [1, 1, 1, 1, 1]}}, "policy.weights"),
    ("cues", "build_memory_packet", {"scope": T, "purpose": "planner", "cues": [["x"]]}, "cues"),
    ("time range", "build_memory_packet", {"scope": T, "purpose": "planner", "cues": {"time_range": [None, None]}}, "cues.time_range"),
    ("half-lives", "build_memory_packet", {"scope": T, "purpose": "planner", "policy": {"half_life_hours": [1.0]}}, "policy.half_life_hours"),
    ("retention", "sweep_expired", {"retention": [None, None]}, "retention"),
    ("promotion scope", "promote_insight", {"scope": list(T.values()), "insight_id": "i", "to": "fact", "fact_key": "k"}, "scope"),
]


@pytest.mark.parametrize(("method", "argument", "field"), [case[1:] for case in LIST_FOR_DICT], ids=[case[0] for case in LIST_FOR_DICT])
def test_a_list_where_a_dict_belongs_is_refused(fresh: Memory, method: str, argument: Any, field: str) -> None:
    before = fresh.stats(T)
    with pytest.raises(InvalidInputError) as caught:
        getattr(fresh, method)(argument)
    assert caught.value.field == field, str(caught.value)
    assert caught.value.problem == "expected a map, got a list"
    assert fresh.stats(T) == before


def test_limits_given_as_a_list_are_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        Memory(in_memory=True, limits=[1])  # type: ignore[arg-type]
    assert caught.value.field == "limits"


SCOPE_ARGUMENT_ERRORS: List[Tuple[str, Dict[str, Any], str]] = [
    ("unknown key", {**T, "org": "x"}, "scope.org"),
    ("missing part", {key: value for key, value in T.items() if key != "run_id"}, "scope.run_id"),
    ("wrong type", {**T, "user_id": 5}, "scope.user_id"),
    ("lone surrogate", {**T, "user_id": "\ud800"}, "scope.user_id"),
    ("empty part", {**T, "user_id": ""}, "scope.user_id"),
    ("not a dict", "default/u1", "scope"),  # type: ignore[dict-item]
]


@pytest.mark.parametrize(("scope", "field"), [case[1:] for case in SCOPE_ARGUMENT_ERRORS], ids=[case[0] for case in SCOPE_ARGUMENT_ERRORS])
def test_scope_argument_errors_name_scope_fields(fresh: Memory, tmp_path: Path, scope: Any, field: str) -> None:
    calls: List[Callable[[], Any]] = [
        lambda: fresh.stats(scope), lambda: fresh.delete_event(scope, "e"), lambda: fresh.end_run(scope),
        lambda: fresh.get_working_state(scope), lambda: fresh.get_stm(scope), lambda: fresh.fact_history(scope, "k"),
        lambda: fresh.delete_fact(scope, "k"), lambda: fresh.export_scope(scope, tmp_path / "export.jsonl"),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert caught.value.field == field, str(caught.value)


@pytest.mark.parametrize("key", ["a`b", "`", "x` or `y", "a`, expected `b", "`, there are no fields"])
def test_unknown_keys_with_backticks_are_named(fresh: Memory, key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fresh.append_event({**EVENT_OK, key: 1})  # type: ignore[misc]
    assert caught.value.field == key, str(caught.value)
    with pytest.raises(InvalidInputError) as caught:
        fresh.append_event({**EVENT_OK, "scope": {**T, key: 1}})  # type: ignore[misc]
    assert caught.value.field == f"scope.{key}", str(caught.value)


@pytest.mark.parametrize("call", ["constructor", "export", "import", "import not UTF-8", "import not UTF-8 later"])
def test_path_errors_are_invalid_input_naming_the_path(fresh: Memory, tmp_path: Path, call: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        if call == "constructor":
            Memory(path=str(tmp_path / "a\x00b.db"))
        elif call == "export":
            fresh.export_scope(T, str(tmp_path / "a\x00b.jsonl"))
        elif call == "import":
            fresh.import_scope(str(tmp_path / "a\x00b.jsonl"))
        elif call == "import not UTF-8":
            path = tmp_path / "latin1.jsonl"
            path.write_bytes(b"\"caf\xe9\"\n")
            fresh.import_scope(path)
        else:
            path = export_file(tmp_path, exported_event())
            path.write_bytes(path.read_bytes() + b"\n\"caf\xe9\"")
            fresh.import_scope(path)
    expected = {"constructor": "path", "export": "path", "import": "path", "import not UTF-8": "line 1",
                "import not UTF-8 later": "line 3"}[call]
    assert caught.value.field == expected, str(caught.value)
    assert fresh.stats(T)["events"] == 0


@pytest.mark.parametrize("backend", ["postgres", "mysql"])
@pytest.mark.parametrize("dsn", ["{scheme}://@:/", "{scheme}://u@h:99999999/x", "{scheme}://u@127.0.0.1:1/x?{ssl}=bogus"])
def test_unparseable_dsns_are_invalid_input(backend: str, dsn: str) -> None:
    ssl = "sslmode" if backend == "postgres" else "ssl-mode"
    with pytest.raises(InvalidInputError) as caught:
        Memory(backend=backend, dsn=dsn.format(scheme=backend, ssl=ssl))  # type: ignore[arg-type]
    assert caught.value.field.startswith("dsn")


def export_file(tmp_path: Path, *records: Dict[str, Any], **header_changes: Any) -> Path:
    header = {"type": "engram_export", "version": 1, "tenant_id": T["tenant_id"], "user_id": T["user_id"],
              "agent_id": T["agent_id"], **header_changes}
    path = tmp_path / "import.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in (header, *records)), encoding="utf-8")
    return path


def exported_event(**changes: Any) -> Dict[str, Any]:
    record = {"type": "event", "event_id": "evt_imported", "scope": dict(T), "ts": NOW, "kind": "message",
              "payload": {"text": "imported"}, "role": "user", "text": "imported", "tags": [], "entities": [],
              "importance": 0.5, "token_count": 1, "expires_at": None}
    record.update(changes)
    return record


def exported_state(kind: str = "short_term", **owner_changes: Any) -> Dict[str, Any]:
    owner: Dict[str, Any] = {key: value for key, value in T.items() if key != "run_id"}
    state: Dict[str, Any] = {"rolling_summary": "s", "key_quotes": [], "updated_at": None, "consolidated_until": None}
    if kind == "working_state":
        owner["run_id"] = T["run_id"]
        state = {"goal": "g", "plan": [], "slots": {}, "constraints": [], "decisions": [], "risks": [], "open_loops": [],
                 "tool_evidence": [], "version": 1, "updated_at": None, "ended_at": None}
    owner.update(owner_changes)
    return {"type": kind, "owner": owner, "state": state}


IMPORT_BYPASSES: List[Tuple[str, List[Dict[str, Any]], str]] = [
    ("65 tags", [exported_event(tags=[f"t{index}" for index in range(65)])], "line 2.tags"),
    ("payload over 256 KiB", [exported_event(payload={"t": "x" * (MAX_PAYLOAD_BYTES + 1)})], "line 2.payload"),
    ("payload 100 levels deep", [exported_event(payload=nested(100, "list"))], "line 2.payload"),
    ("importance out of range", [exported_event(importance=5)], "line 2.importance"),
    ("unknown key", [exported_event(colour="blue")], "line 2.colour"),
    ("unknown scope key", [exported_event(scope={**T, "org": "x"})], "line 2.scope.org"),
    ("record outside the header's user", [exported_event(scope=dict(SEEDED[0]))], "line 2.scope.tenant_id"),
    ("record of another agent", [exported_event(scope={**T, "agent_id": "other"})], "line 2.scope.agent_id"),
    ("text not derived from the payload", [exported_event(text="forged")], "line 2.text"),
    ("NUL in text", [exported_event(payload={"text": "a\x00b"}, text="a\x00b")], "line 2.payload.text"),
    ("list for a scope", [exported_event(scope=list(T.values()))], "line 2.scope"),
    ("short-term state owned by a run", [exported_state(run_id="r1")], "line 2.owner.run_id"),
    ("working state without a run", [exported_state("working_state", run_id=None)], "line 2.owner.run_id"),
    ("state of another user", [exported_state(user_id="u9")], "line 2.owner.user_id"),
    ("unknown state key", [{**exported_state(), "extra": 1}], "line 2.extra"),
    ("unknown key inside a state", [{**exported_state(), "state": {**exported_state()["state"], "mood": "x"}}],
     "line 2.state.mood"),
    ("goal over 64 KiB", [{**exported_state("working_state"), "state": {**exported_state("working_state")["state"],
                                                                        "goal": "x" * (MAX_TEXT_BYTES + 1)}}],
     "line 2.state.goal"),
    ("a goal of the wrong type", [{**exported_state("working_state"), "state": {**exported_state("working_state")["state"],
                                                                               "goal": 5}}], "line 2.state.goal"),
    ("a bad line after a good one", [exported_event(), exported_event(event_id="evt_2", importance=-1)], "line 3.importance"),
    ("an unknown type", [exported_event(type="memo")], "line 2.type"),
]


@pytest.mark.parametrize(("records", "field"), [case[1:] for case in IMPORT_BYPASSES], ids=[case[0] for case in IMPORT_BYPASSES])
def test_import_scope_checks_records_like_every_other_write(fresh: Memory, tmp_path: Path, records: List[Dict[str, Any]],
                                                             field: str) -> None:
    before = [fresh.stats(scope) for scope in (T, SEEDED[0])]
    with pytest.raises(InvalidInputError) as caught:
        fresh.import_scope(export_file(tmp_path, *records))
    assert caught.value.field == field, str(caught.value)
    assert [fresh.stats(scope) for scope in (T, SEEDED[0])] == before


@pytest.mark.parametrize(("header", "field"), [({"tenant_id": ""}, "line 1.tenant_id"), ({"colour": "x"}, "line 1.colour"),
                                               ({"user_id": "a\x00b"}, "line 1.user_id")])
def test_import_scope_checks_the_header(fresh: Memory, tmp_path: Path, header: Dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fresh.import_scope(export_file(tmp_path, exported_event(), **header))
    assert caught.value.field == field, str(caught.value)
    assert fresh.stats(T)["events"] == 0


def test_import_scope_refuses_a_large_file_as_a_whole(fresh: Memory, tmp_path: Path) -> None:
    """Every line is checked before anything is written: a bad line past the first restore
    batch (500 records) still writes nothing."""
    records = [exported_event(event_id=f"evt_{index}") for index in range(1200)]
    records.append(exported_event(event_id="evt_bad", tags=[""]))
    with pytest.raises(InvalidInputError) as caught:
        fresh.import_scope(export_file(tmp_path, *records))
    assert caught.value.field == "line 1202.tags[0]"
    assert fresh.stats(T)["events"] == 0
    records.pop()
    assert fresh.import_scope(export_file(tmp_path, *records))["rows"]["events"] == 1200


def test_import_scope_checks_against_the_importing_store_limits(store: Seeded, tmp_path: Path) -> None:
    """An export of the seeded user imports into a fresh store, and not into one whose limits it exceeds."""
    path = tmp_path / "seeded.jsonl"
    store.mem.export_scope(SEEDED[0], path)
    with Memory(in_memory=True, limits={"max_labels": 1}) as small:
        with pytest.raises(InvalidInputError) as caught:
            small.import_scope(path)
        assert caught.value.field.startswith("line ") and caught.value.field.endswith(".tags"), str(caught.value)
        assert small.stats(SEEDED[0])["events"] == 0
    with Memory(in_memory=True) as roomy:
        roomy.import_scope(path)
        assert stats_without_size(roomy, SEEDED[0]) == store.before["stats 0"]
