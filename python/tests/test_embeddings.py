"""engram.embeddings.LocalEmbedder: offline WordLlama vectors (skipped without wordllama)."""

from __future__ import annotations

import builtins
import importlib
import logging
import math
import subprocess
import sys
from typing import Any, List

import pytest

from engram.embeddings import LocalEmbedder

pytest.importorskip("wordllama", reason="the [embeddings] extra (wordllama) is not installed")


def cosine(left: List[float], right: List[float]) -> float:
    return sum(a * b for a, b in zip(left, right))


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def test_vectors_have_the_advertised_dimensions(embedder: LocalEmbedder) -> None:
    vectors = embedder(["the cat sat on the mat", "flight to Lisbon"])
    assert embedder.dimensions == 256
    assert [len(vector) for vector in vectors] == [256, 256]
    assert all(isinstance(value, float) for value in vectors[0])


def test_vectors_are_unit_length(embedder: LocalEmbedder) -> None:
    for vector in embedder(["I'm vegetarian", "Book a window seat on the morning train", "ok"]):
        assert math.sqrt(sum(value * value for value in vector)) == pytest.approx(1.0, abs=1e-6)


def test_similar_sentences_are_closer_than_unrelated_ones(embedder: LocalEmbedder) -> None:
    dance, party, invoice = embedder([
        "Bart danced at the Christmas party and felt very happy.",
        "A boy was dancing at a holiday celebration.",
        "Please send the quarterly invoice to the accounting department.",
    ])
    assert cosine(dance, party) > cosine(dance, invoice) + 0.1
    assert cosine(party, dance) > cosine(party, invoice)


def test_the_same_text_always_gets_the_same_vector(embedder: LocalEmbedder) -> None:
    first = embedder(["where did we eat dinner in Lisbon?", "something else"])
    again = LocalEmbedder()(["where did we eat dinner in Lisbon?"])
    assert first[0] == again[0]
    assert embedder(["something else"]) == [first[1]]


def test_an_empty_list_embeds_to_an_empty_list(embedder: LocalEmbedder) -> None:
    assert embedder([]) == []


def test_a_text_without_tokens_gets_the_zero_vector(embedder: LocalEmbedder) -> None:
    empty, word = embedder(["", "hello"])
    assert empty == [0.0] * 256
    assert all(math.isfinite(value) for value in word)


def test_non_strings_are_rejected_naming_the_position(embedder: LocalEmbedder) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        embedder(["fine", 3])  # type: ignore[list-item]


def test_loading_leaves_the_root_logger_as_it_was() -> None:
    # wordllama calls logging.basicConfig() on import; the embedder undoes it.
    code = ("import logging\nfrom engram.embeddings import LocalEmbedder\nLocalEmbedder()(['x'])\n"
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
            "assert logging.getLogger().level == logging.WARNING\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_missing_wordllama_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_wordllama(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "wordllama" or name.startswith("wordllama."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for module in [name for name in sys.modules if name == "wordllama" or name.startswith("wordllama.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(builtins, "__import__", no_wordllama)
    monkeypatch.setattr(importlib, "import_module", lambda name, package=None: no_wordllama(name))
    with pytest.raises(ImportError, match=r"pip install engram-context\[embeddings\]"):
        LocalEmbedder()(["text"])


def test_importing_engram_does_not_import_wordllama() -> None:
    code = "import sys, engram, engram.embeddings\nassert 'wordllama' not in sys.modules\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_batches_smaller_than_the_input_give_the_same_vectors(embedder: LocalEmbedder) -> None:
    texts = [f"sentence number {index} about trains and dinners" for index in range(5)]
    assert LocalEmbedder(batch_size=2)(texts) == embedder(texts)
    with pytest.raises(ValueError, match="batch_size"):
        LocalEmbedder(batch_size=0)
