"""The package as `pip install engram-context` delivers it: `make wheel`'s abi3 wheel (any CPython
from 3.9, server backends compiled in) and its sdist; installed into a new venv outside the
repository, the README's Python quick start and `engram demo` run as a user runs them."""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import server_kwargs
from test_examples import readme_python_blocks


def run(installed_wheel: Any, command: list[str], cwd: Path) -> str:
    finished = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                              env=installed_wheel.environment)
    assert finished.returncode == 0, finished.stderr[-4000:]
    return finished.stdout


def test_the_wheel_is_abi3_for_cpython_3_9_on(installed_wheel: Any) -> None:
    name = installed_wheel.wheel.name
    assert "-cp39-abi3-" in name, name
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        names = wheel.namelist()
    assert "engram/_engram.abi3.so" in names
    for typed in ("engram/py.typed", "engram/_engram.pyi", "engram/scoped.pyi", "engram/types.py"):
        assert typed in names, typed
    with tarfile.open(installed_wheel.sdist) as sdist:
        members = {Path(member).relative_to(Path(member).parts[0]).as_posix() for member in sdist.getnames()
                   if len(Path(member).parts) > 1}
    for needed in ("pyproject.toml", "Cargo.lock", "engram/__init__.py", "python/Cargo.toml",
                   "crates/engram-store/migrations/sqlite/0001_init.sql", "crates/engram-types/src/lib.rs"):
        assert needed in members, needed


def test_the_readme_quick_start_runs_from_the_installed_wheel(installed_wheel: Any, tmp_path: Path) -> None:
    blocks = readme_python_blocks()
    quick_start = blocks[0] + blocks[1]
    assert "Memory(in_memory=True)" in blocks[0] and "append_event" in blocks[1]
    printed = run(installed_wheel, [str(installed_wheel.python), "-c", quick_start], tmp_path)
    assert printed.startswith("v1\n") and "user.diet: vegetarian" in printed, printed
    handle = next(block for block in blocks if 'mem.scope("maria"' in block)
    assert "vegetarian" in run(installed_wheel, [str(installed_wheel.python), "-c", handle], tmp_path)
    where = run(installed_wheel, [str(installed_wheel.python), "-c", "import engram; print(engram.__file__)"], tmp_path)
    assert str(installed_wheel.venv) in where and str(Path(__file__).resolve().parents[2]) not in where


def test_engram_demo_runs_from_the_installed_wheel(installed_wheel: Any, tmp_path: Path) -> None:
    printed = run(installed_wheel, [str(installed_wheel.venv / "bin" / "engram"), "demo"], tmp_path)
    assert "responder packet" in printed and "Maria is vegetarian." in printed
    assert (tmp_path / "data" / "engram-demo.db").is_file()


@pytest.mark.parametrize("backend", ["postgres", "mysql"])
def test_the_wheel_has_the_server_backends(installed_wheel: Any, backend: str, tmp_path: Path) -> None:
    arguments = server_kwargs(backend)
    probe = ("import sys\nfrom engram import Memory\n"
             "with Memory(dsn=sys.argv[1], database=sys.argv[2]) as mem:\n"
             "    me = mem.scope('wheel-user')\n"
             "    me.add_message('user', 'dinner in Lisbon')\n"
             "    print(me.build_memory_packet(purpose='responder', query='dinner')['rendered'])\n")
    printed = run(installed_wheel, [str(installed_wheel.python), "-c", probe, arguments["dsn"], arguments["database"]],
                  tmp_path)
    assert "user: dinner in Lisbon" in printed, printed
