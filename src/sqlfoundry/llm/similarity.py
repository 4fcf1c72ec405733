"""Cosine similarity and medoids over embedding vectors (numpy).

Used to pick the most typical of several candidates (self-consistency over
questions or SQL) and to find near-duplicates.
"""

from __future__ import annotations

from typing import Any

from sqlfoundry.core.extras import require


def require_numpy():
    """The numpy module, or MissingDependencyError with the install hint."""
    return require("numpy", "llm", "embeddings and similarity")


def normalize(vectors: Any):
    """Rows scaled to unit length; all-zero rows stay zero instead of becoming NaN."""
    np = require_numpy()
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def cosine_similarity(a: Any, b: Any | None = None):
    """The (len(a), len(b)) matrix of cosine similarities; ``b`` defaults to ``a``.

    A zero vector has similarity 0 with everything, itself included.
    """
    left = normalize(a)
    right = left if b is None else normalize(b)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"vector sizes differ: {left.shape[1]} and {right.shape[1]}")
    return left @ right.T


def medoid(vectors: Any) -> int:
    """Index of the medoid: the vector with the highest total similarity to the others.

    Ties go to the lowest index, so the result is deterministic.
    """
    np = require_numpy()
    sims = cosine_similarity(vectors)
    if sims.shape[0] == 0:
        raise ValueError("medoid of no vectors")
    scores = sims.sum(axis=1) - np.diag(sims)
    return int(np.argmax(scores))


def top_k(query: Any, vectors: Any, k: int) -> list[tuple[int, float]]:
    """The ``k`` most similar rows of ``vectors`` to one ``query`` as (index, similarity)."""
    np = require_numpy()
    query = np.asarray(query)
    sims = cosine_similarity(query[None, :] if query.ndim == 1 else query, vectors)[0]
    order = np.argsort(-sims, kind="stable")[:k]
    return [(int(i), float(sims[i])) for i in order]
