"""`engram.types` is generated from the JSON Schemas engram-types derives (`schema/api.schema.json`,
itself checked against the Rust types by `cargo test -p engram-types`), and must not go stale."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import engram.types

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_types.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_types", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_types_py_is_what_the_schema_generates() -> None:
    script = generator()
    generated = script.generate(json.loads(script.SCHEMA.read_text(encoding="utf-8")))
    if os.environ.get("ENGRAM_UPDATE_TYPES"):
        script.TYPES.write_text(generated, encoding="utf-8")
    assert script.TYPES.read_text(encoding="utf-8") == generated, (
        "python/engram/types.py is stale: run `ENGRAM_UPDATE_TYPES=1 pytest tests/test_types.py` "
        "(or python/scripts/generate_types.py)"
    )


def test_every_exported_name_is_defined() -> None:
    assert len(engram.types.__all__) == len(set(engram.types.__all__))
    for name in engram.types.__all__:
        assert hasattr(engram.types, name), name


def test_defaults_have_the_keys_their_type_names() -> None:
    # The result types are the serde form of the Rust types: spot-check one against a live value.
    defaults = engram.defaults()
    assert set(defaults) == set(engram.types.Defaults.__annotations__)
    assert set(defaults["records"]) == set(engram.types.RecordDefaults.__annotations__)
    assert set(defaults["lists"]) == set(engram.types.ListDefaults.__annotations__)
    assert set(defaults["extract"]) <= set(engram.types.LifecycleDefaults.__annotations__)
