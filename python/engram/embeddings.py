"""A local text embedder for ``Memory(embedder=...)``, with no network at run time.

``LocalEmbedder`` wraps WordLlama's 256-dimension ``l2_supercat`` model, whose weights and
tokenizer ship inside the ``wordllama`` wheel (MIT): install it with
``pip install engram-context[embeddings]``. ``import engram`` never needs it; the model loads
on first use.

    from engram import Memory
    from engram.embeddings import LocalEmbedder

    mem = Memory(in_memory=True, embedder=LocalEmbedder())
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from pathlib import Path
from typing import Any, List, Optional, Sequence

__all__ = ["LocalEmbedder"]

_INSTALL_HINT = "pip install engram-context[embeddings]"
_DIMENSIONS = 256
_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
_WEIGHTS = Path("weights") / f"l2_supercat_{_DIMENSIONS}.safetensors"


def _import(name: str) -> Any:
    """Imports a module of the optional dependencies, naming the extra when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f"LocalEmbedder needs the wordllama package: {_INSTALL_HINT}") from error


def _import_wordllama() -> Any:
    """Imports wordllama without the root logging handler it installs on import: engram's
    logging goes where the application configured it, not to a handler a dependency added."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return _import("wordllama")
    finally:
        if root.handlers != handlers:
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
            root.setLevel(level)


class LocalEmbedder:
    """Embeds texts with WordLlama ``l2_supercat`` (256 dimensions), fully offline.

    Calling it with a list of texts returns one L2-normalized vector (a list of 256 floats) per
    text, in order; a text with no tokens (the empty string) gets the zero vector. The same text
    always gets the same vector. The model (about 16 MB) loads on the first call, once per
    instance; instances are safe to call from several threads.
    """

    def __init__(self, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._batch_size = batch_size
        self._model: Optional[Any] = None
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        """Length of every vector this embedder returns (256)."""
        return _DIMENSIONS

    def _load(self) -> Any:
        # WordLlama.load() looks for the tokenizer in the wrong folder and then downloads it, so
        # the bundled files are opened directly.
        with self._lock:
            if self._model is None:
                wordllama = _import_wordllama()
                inference = _import("wordllama.inference")
                safetensors = _import("safetensors")
                root = Path(wordllama.__file__).parent
                tokenizer = wordllama.WordLlama.load_tokenizer(root / _TOKENIZER)
                with safetensors.safe_open(str(root / _WEIGHTS), framework="np") as weights:
                    matrix = weights.get_tensor("embedding.weight")
                self._model = inference.WordLlamaInference(matrix, tokenizer)
            return self._model

    def __call__(self, texts: Sequence[str]) -> List[List[float]]:
        """One unit vector per text (the zero vector for a text without tokens)."""
        texts = list(texts)
        if not texts:
            return []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}]: expected str, got {type(text).__name__}")
        rows: List[List[float]] = self._load().embed(texts, norm=False, batch_size=self._batch_size).tolist()
        return [_normalized(row) for row in rows]

    def __repr__(self) -> str:
        return f"LocalEmbedder(model='l2_supercat', dimensions={_DIMENSIONS})"


def _normalized(row: List[float]) -> List[float]:
    """The row scaled to length 1; the zero vector when it has no length (or is not finite)."""
    length = math.sqrt(math.fsum(value * value for value in row))
    if not math.isfinite(length) or length == 0.0:
        return [0.0] * len(row)
    return [value / length for value in row]
