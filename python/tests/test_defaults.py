"""The README's one table of defaults is what engram applies: every row against
`engram.defaults()` (read from the Rust types) or the Python signature it names, and every
default `engram.defaults()` knows has its row."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import engram
from engram import Memory
from engram.embeddings import LocalEmbedder
from engram.integrations.langchain import EngramChatMessageHistory

README = Path(__file__).resolve().parents[2] / "README.md"
CALLABLES = {"Memory": Memory, "EngramChatMessageHistory": EngramChatMessageHistory, "LocalEmbedder": LocalEmbedder}


def table_rows() -> Dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("#### Defaults"):]
    table = table[:table.index("\n\n", table.index("| key |"))]
    rows: Dict[str, Any] = {}
    for line in table.splitlines():
        match = re.match(r"^\| `([^`]+)` \| `([^`]+)` \|", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
            rows[match.group(1)] = json.loads(match.group(2))
    return rows


def leaves(value: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    if isinstance(value, dict) and value and prefix.count(".") < 1 + (prefix.startswith("policy.")):
        for key, item in value.items():
            yield from leaves(item, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, value


def test_every_row_is_the_default_engram_applies() -> None:
    rows = table_rows()
    known = dict(leaves(engram.defaults()))
    assert known, "engram.defaults() is empty"
    missing = sorted(set(known) - set(rows))
    assert not missing, f"defaults without a README row: {missing}"
    for key, value in rows.items():
        call = re.match(r"^(\w+)(?:\.(\w+))?\((\w+)=", key)
        if key in known:
            assert value == known[key], (key, value, known[key])
        elif call and call.group(2) == "scope":
            handle = Memory(in_memory=True).scope("u1")
            assert {part: handle.scope[part] for part in ("tenant_id", "agent_id", "session_id")} == dict.fromkeys(
                ("tenant_id", "agent_id", "session_id"), value)
            assert handle.scope["run_id"] == handle.scope["session_id"]
        else:
            assert call, f"{key}: neither a default of engram.defaults() nor a call"
            parameter = inspect.signature(CALLABLES[call.group(1)]).parameters[call.group(3)]
            assert parameter.default == value, (key, value, parameter.default)


def test_defaults_agree_with_each_other() -> None:
    defaults = engram.defaults()
    assert defaults["consolidate"]["window"] == defaults["policy"]["conversation_window"]
    assert defaults["lists"]["limit"] == defaults["lists"]["events_limit"]
