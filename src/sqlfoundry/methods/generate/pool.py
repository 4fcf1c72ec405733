"""The pair pool few-shot examples come from, and DAIL-SQL's ranking over it.

A pool is question/SQL pairs from

- a benchmark of the registry (``spider:train``, ``bird:dev``...);
- a ``sqlfoundry synth`` or ``refine`` run directory (its ``data.jsonl``);
- a JSON or JSONL file of records with ``question`` and ``SQL`` (or ``sql`` / ``query``).

Ranking follows DAIL-SQL: each question is compared with its values masked
(quoted strings and numbers become ``<unk>``) and its schema words masked
(words naming a table or column of its database become ``<mask>``), so pairs
are found by what they ask, not by which database they are about; and the
skeleton of a preliminary SQL for the question (the record's ``pred_sql``, e.g.
from the offline method) is compared with each pair's SQL skeleton (keywords
in order; names and values masked). Of the 50 pairs nearest by question
(embeddings when the run has them, else BM25 over the masked words), those
whose skeleton similarity reaches ``skeleton_threshold`` come first.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot.tokens import TokenType

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.core.io import read_jsonl, sql_of
from sqlfoundry.methods.retrieval.index import BM25
from sqlfoundry.methods.retrieval.linking import words
from sqlfoundry.methods.retrieval.values import find_values
from sqlfoundry.sql.parse import tokens_of
from sqlfoundry.sql.skeleton import skeleton
from sqlfoundry.synth.naming import humanize

log = logging.getLogger(__name__)

# Pairs nearest by question that the skeleton comparison re-ranks.
SHORTLIST = 50


@dataclass
class PoolPair:
    question: str
    sql: str
    db_id: str
    masked: str
    skeleton: tuple[str, ...]


def mask_question(question: str, schema_words: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """DAIL-SQL's masked question: values -> ``<unk>``, schema words -> ``<mask>``."""
    text = question
    for value in sorted(find_values(question), key=lambda v: -v.start):
        text = text[: value.start] + "<unk>" + text[value.end :]
    if not schema_words:
        return text
    out = []
    for word in text.split():
        core = word.strip("?,.!;:\"'()").lower()
        out.append("<mask>" if core and core in schema_words else word)
    return " ".join(out)


def schema_words(schema: Any) -> set[str]:
    """The lower-case words of a schema's table and column names."""
    found: set[str] = set()
    for table in schema.tables:
        found.update(words(humanize(table.name)))
        for column in table.columns:
            found.update(words(humanize(column.name)))
    return {w for w in found if len(w) > 2}


def skeleton_tokens(sql: str, dialect: str = "sqlite") -> tuple[str, ...]:
    """A query's skeleton as DAIL-SQL compares it: keywords and operators in order, every
    name ``_`` and every value a placeholder; empty when the query does not parse."""
    try:
        tokens = tokens_of(skeleton(sql, dialect), dialect)
    except Exception:  # noqa: BLE001 - sqlglot raises several kinds on odd SQL
        return ()
    return tuple("_" if t.token_type == TokenType.VAR else t.text.upper() for t in tokens)


def skeleton_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """How alike two skeletons are (0..1), token order counted."""
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def close_skeletons(target: tuple[str, ...], threshold: float):
    """A test of whether a skeleton is at least ``threshold`` like ``target``; the matcher's
    cheap upper bounds rule most pairs out before the full comparison."""
    matcher = difflib.SequenceMatcher(None, (), target, autojunk=False)

    def close(skeleton: tuple[str, ...]) -> bool:
        if not target or not skeleton:
            return False
        matcher.set_seq1(skeleton)
        return (matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold
                and matcher.ratio() >= threshold)  # fmt: skip

    return close


def question_terms(masked: str) -> list[str]:
    """The words a masked question is compared by: all of them (structure words such as
    "how many" matter here), the mask tokens left out."""
    return [w for w in words(masked) if w not in ("mask", "unk")]


def read_pool(source: str, databases: Any = None) -> list[PoolPair]:
    """The pairs of ``source`` (see the module doc).

    Raises:
        ConfigError: the source does not exist or holds no question/SQL pair.
    """
    records: list[tuple[str, str, str]] = []
    manager = databases
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "data.jsonl"
        if not path.is_file():
            raise ConfigError(f"pair pool {source}: a run directory needs data.jsonl")
    if path.is_file():
        for line in read_jsonl(path):
            if line.data is None:
                continue
            question, sql = line.data.get("question"), sql_of(line.data)
            if isinstance(question, str) and question.strip() and sql:
                records.append((question, sql, str(line.data.get("db_id") or "")))
    elif ":" in source or source.split(":")[0] in _benchmarks():
        from sqlfoundry.bench.registry import load

        benchmark = load(source)
        manager = benchmark.manager()
        records = [(s.question, s.sql, s.db_id) for s in benchmark.samples
                   if s.question and s.sql]  # fmt: skip
    else:
        raise ConfigError(f"pair pool {source!r} is neither a file, a run directory nor a benchmark",
                          hint="e.g. pool = \"spider:train\" or the folder of a synth run")  # fmt: skip
    if not records:
        raise ConfigError(f"pair pool {source!r} has no question/SQL pair",
                          hint="the Spider release here may have train_gold.sql only (SQL, no questions)")  # fmt: skip
    words_by_db: dict[str, set[str]] = {}
    out = []
    for question, sql, db_id in records:
        if db_id not in words_by_db:
            words_by_db[db_id] = _words_of(manager, db_id)
        out.append(PoolPair(question, sql, db_id, mask_question(question, words_by_db[db_id]),
                            skeleton_tokens(sql)))  # fmt: skip
    return out


def _benchmarks() -> set[str]:
    from sqlfoundry.bench.registry import REGISTRY

    return set(REGISTRY)


def _words_of(manager: Any, db_id: str) -> set[str]:
    if manager is None or not db_id:
        return set()
    try:
        return schema_words(manager.schema(db_id, sample_values=0))
    except SqlfoundryError:
        return set()


class PoolRanker:
    """DAIL-SQL ranking over one pool (module doc); question vectors are given or BM25 is used."""

    def __init__(self, pairs: list[PoolPair], vectors: Any = None) -> None:
        self.pairs = pairs
        self.vectors = vectors
        self.bm25 = None if vectors is not None else BM25([question_terms(p.masked) for p in pairs])

    def rank(self, masked_question: str, preliminary: str | None, k: int, *,
             question_vector: Any = None, skeleton_threshold: float = 0.85,
             exclude_question: str | None = None) -> list[PoolPair]:  # fmt: skip
        """The ``k`` best pairs for a question (its masked text and preliminary SQL)."""
        if self.vectors is not None and question_vector is not None:
            from sqlfoundry.llm.similarity import cosine_similarity

            question_sims = [float(x) for x in cosine_similarity(question_vector, self.vectors)[0]]
        else:
            assert self.bm25 is not None
            raw = self.bm25.scores(question_terms(masked_question))
            top = max(raw, default=0.0) or 1.0
            question_sims = [s / top for s in raw]
        target = skeleton_tokens(preliminary) if preliminary else ()
        # As DAIL-SQL: the pairs nearest by question are shortlisted, then those whose
        # skeleton matches the preliminary SQL's go first.
        order = sorted(range(len(self.pairs)), key=lambda i: (-question_sims[i], i))
        shortlist = []
        for i in order:
            pair = self.pairs[i]
            if exclude_question and pair.question.strip() == exclude_question.strip():
                continue
            shortlist.append(i)
            if len(shortlist) >= max(SHORTLIST, 4 * k):
                break
        near = close_skeletons(target, skeleton_threshold)
        close = {i for i in shortlist if near(self.pairs[i].skeleton)}
        ranked = [i for i in shortlist if i in close] + [i for i in shortlist if i not in close]
        return [self.pairs[i] for i in ranked[:k]]
