"""The hand-written stubs match the compiled module, and the package type-checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import engram
from engram import AsyncMemory, Memory

PACKAGE = Path(engram.__file__).parent


def test_stubtest_passes() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "engram._engram"], capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_package_is_typed_and_type_checks() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_engram.pyi").is_file()
    finished = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "engram"], capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_public_api() -> None:
    assert sorted(engram.__all__) == sorted(set(engram.__all__))
    for name in engram.__all__:
        assert hasattr(engram, name), name
    assert {"Memory", "AsyncMemory", "EngramError", "InvalidInputError"} <= set(engram.__all__)


def test_stubs_declare_every_method_of_both_twins() -> None:
    stub = (PACKAGE / "_engram.pyi").read_text(encoding="utf-8")
    for cls in (Memory, AsyncMemory):
        for name in dir(cls):
            if not name.startswith("_"):
                assert f"def {name}(" in stub, f"{cls.__name__}.{name}"
