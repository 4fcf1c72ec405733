"""Cosine similarity, medoid and top-k over embedding vectors; embeddings through /embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from fake_openai import Reply, embedding_of
from llm_testing import run

from sqlfoundry.core.errors import LLMResponseError
from sqlfoundry.llm import LLMClient, cosine_similarity, medoid, normalize, top_k


def test_cosine_similarity_matrix():
    vectors = [[1, 0], [0, 2], [3, 3], [-1, 0]]
    sims = cosine_similarity(vectors)
    assert sims.shape == (4, 4)
    assert np.allclose(np.diag(sims), 1.0)
    assert sims[0, 1] == pytest.approx(0.0)
    assert sims[0, 2] == pytest.approx(1 / np.sqrt(2))
    assert sims[0, 3] == pytest.approx(-1.0)
    assert np.allclose(sims, sims.T)


def test_cosine_between_two_sets_and_one_vector():
    assert cosine_similarity([1, 0], [[2, 0], [0, 1]]).tolist() == [[1.0, 0.0]]
    with pytest.raises(ValueError, match="sizes differ"):
        cosine_similarity([[1, 0]], [[1, 0, 0]])


def test_zero_vectors_are_not_nan():
    sims = cosine_similarity([[0, 0], [1, 0]])
    assert not np.isnan(sims).any() and sims[0, 0] == 0.0 and sims[0, 1] == 0.0
    assert np.allclose(normalize([[3, 4]]), [[0.6, 0.8]])


def test_medoid_is_the_most_central():
    # three close vectors around (1, 1) and an outlier: the middle one is the medoid
    vectors = [[1, 0.8], [1, 1], [0.8, 1], [-1, -1]]
    assert medoid(vectors) == 1
    assert medoid([[1, 0]]) == 0
    assert medoid([[1, 0], [1, 0]]) == 0  # ties go to the first
    with pytest.raises(ValueError):
        medoid(np.zeros((0, 3)))


def test_top_k():
    vectors = [[1, 0], [0, 1], [1, 1]]
    assert [i for i, _ in top_k([1, 0.1], vectors, 2)] == [0, 2]
    assert top_k([0, 1], vectors, 1)[0] == (1, pytest.approx(1.0))


def test_embeddings_endpoint_with_cache(fake, make_config):
    config = make_config(embedding_model="fake-embed")
    texts = ["how many singers", "count the singers", "average age"]

    async def go():
        async with LLMClient(config, env={}) as client:
            first = await client.embed(texts, batch_size=2)
            again = await client.embed([*texts, "new text"])
            return first, again, client.usage

    first, again, usage = run(go())
    assert first.shape == (3, 8) and first.dtype == np.float32
    assert np.allclose(first[0], embedding_of("how many singers"), atol=1e-6)
    assert np.allclose(again[:3], first)
    # two requests of at most 2 inputs, then one for the only new text
    assert fake.count("/v1/embeddings") == 3
    assert [r.body["model"] for r in fake.requests if r.path == "/v1/embeddings"] == [
        "fake-embed"
    ] * 3
    assert fake.requests[-1].body["input"] == ["new text"]
    assert usage.stats("embed").cache_hits == 3 and usage.stats("embed").calls == 3


def test_malformed_embeddings_response(fake, make_config):
    fake.handler = lambda request: (
        Reply(json={"data": [{"index": 0, "embedding": [1.0]}]})
        if request.path == "/v1/embeddings"
        else None
    )

    async def go():
        async with LLMClient(make_config(), env={}) as client:
            await client.embed(["a", "b"])

    with pytest.raises(LLMResponseError, match="1 of 2 inputs got no embedding"):
        run(go())
