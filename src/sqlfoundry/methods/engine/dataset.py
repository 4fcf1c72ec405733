"""A task's questions: a benchmark of the registry, or a file of questions over a folder of databases.

A question file is JSON (a list, Spider's ``dev.json`` shape) or JSONL, one
record per question with ``question``, ``db_id`` and, for scoring, ``SQL`` (or
``sql`` / ``query``) and optionally ``evidence``. A record that cannot be read
is reported with its file:line and left out; the others run.

``sample`` draws a count (or a fraction) of the questions with ``seed``, kept
in their original order; ``limit`` then keeps the first N. ``teachings`` (the
JSON that ``sqlfoundry pairs teachings`` writes, ``{db_id: [teaching, ...]}``)
adds each database's teachings to its questions' evidence, which every
method's prompt carries as external knowledge.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError, InputError
from sqlfoundry.core.io import read_jsonl, sql_of
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.methods.engine.config import DatasetConfig


@dataclass
class Dataset:
    """Questions, the databases they are about, and how to score them."""

    name: str
    samples: list[Sample]
    manager: Any
    mode: str = "spider"
    dialect: str = "sqlite"
    tables_json: Path | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def load_dataset(config: DatasetConfig, bench: dict[str, Any] | None = None) -> Dataset:
    """The dataset a ``[dataset]`` table names.

    Raises:
        ConfigError: an unknown benchmark, a missing file or folder, or no question at all.
    """
    if config.source is not None:
        from sqlfoundry.bench.registry import BenchRoots, load

        try:
            benchmark = load(config.source, BenchRoots.from_sources(bench or {}))
        except InputError as err:
            raise ConfigError(f"dataset {config.source}: {err}") from None
        dataset = Dataset(benchmark.name, benchmark.samples, benchmark.manager(),
                          config.mode or benchmark.mode, benchmark.dialect,
                          config.tables or benchmark.tables_json)  # fmt: skip
    else:
        assert config.gold is not None and config.db_root is not None
        try:
            databases = DatabaseManager(root=config.db_root)  # a folder or an fsspec URL
        except ConfigError as err:
            raise ConfigError(f"dataset db_root: {err.message}") from None
        samples, problems = read_questions(config.gold)
        dataset = Dataset(str(config.gold), samples, databases,
                          config.mode or "spider", "sqlite", config.tables, problems)  # fmt: skip
    dataset.samples = select(dataset.samples, config)
    if config.teachings is not None:
        add_teachings(dataset.samples, read_teachings(config.teachings))
    if not dataset.samples:
        raise ConfigError(f"dataset {dataset.name} has no question to run")
    missing = [s for s in dataset.samples if not (s.question or "").strip()]
    if len(missing) == len(dataset.samples):
        raise ConfigError(f"dataset {dataset.name} has SQL but no questions",
                          hint="methods need questions; give a file with question fields")  # fmt: skip
    return dataset


def select(samples: list[Sample], config: DatasetConfig) -> list[Sample]:
    """``sample`` (count or fraction, drawn with ``seed``, original order kept), then ``limit``."""
    chosen = list(samples)
    if config.sample is not None:
        count = int(config.sample) if config.sample >= 1 else math.ceil(config.sample * len(chosen))
        if count < len(chosen):
            picked = sorted(random.Random(config.seed).sample(range(len(chosen)), count))
            chosen = [chosen[i] for i in picked]
    if config.limit is not None:
        chosen = chosen[: config.limit]
    return chosen


def read_questions(path: Path) -> tuple[list[Sample], list[dict[str, Any]]]:
    """The questions of a JSON / JSONL file, and the records that could not be read."""
    if not path.is_file():
        raise ConfigError(f"dataset gold file {path} does not exist")
    samples: list[Sample] = []
    problems: list[dict[str, Any]] = []
    stem = path.stem
    for line in read_jsonl(path):
        if line.error is not None:
            problems.append({"where": f"{line.file}:{line.line}", "error": line.error.message})
            continue
        data = line.data or {}
        db_id, question = data.get("db_id"), data.get("question")
        if not isinstance(db_id, str) or not db_id.strip():
            problems.append({"where": f"{line.file}:{line.line}", "error": "no db_id"})
            continue
        if not isinstance(question, str) or not question.strip():
            problems.append({"where": f"{line.file}:{line.line}", "error": "no question"})
            continue
        evidence = data.get("evidence")
        samples.append(Sample(
            id=str(data.get("id") or f"{stem}-{len(samples) + len(problems)}"), db_id=db_id,
            question=question, sql=(sql_of(data) or "").strip() or None,
            evidence=evidence if isinstance(evidence, str) and evidence.strip() else None,
            difficulty=data.get("difficulty") if isinstance(data.get("difficulty"), str) else None,
            meta={"source": f"{line.file}:{line.line}"},
        ))  # fmt: skip
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"dataset {path}: record ids repeat; give each record a unique id")
    return samples, problems


def read_teachings(path: Path) -> dict[str, str]:
    """``{db_id: prompt text}`` from a teachings file.

    Raises:
        ConfigError: the file cannot be read, or an entry is not a teaching (named by db_id).
    """
    import json

    from pydantic import ValidationError

    from sqlfoundry.synth.producers.teachings import render_teachings

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"dataset teachings {path}: cannot read: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"dataset teachings {path}: expected {{db_id: [teaching, ...]}}",
                          hint="write it with sqlfoundry pairs teachings --out FILE")  # fmt: skip
    out = {}
    for db_id, items in data.items():
        try:
            out[db_id] = render_teachings(items if isinstance(items, list) else [items])
        except (ValidationError, TypeError) as err:
            raise ConfigError(f"dataset teachings {path}: db_id {db_id}: not a list of "
                              f"teachings ({err.__class__.__name__})") from None  # fmt: skip
    return out


def add_teachings(samples: list[Sample], teachings: dict[str, str]) -> None:
    """Append its database's teachings to each question's evidence (kept first)."""
    for sample in samples:
        text = teachings.get(sample.db_id)
        if not text:
            continue
        notes = f"Notes about this database:\n{text}"
        sample.evidence = f"{sample.evidence}\n{notes}" if sample.evidence else notes
        sample.meta["teachings"] = text.count("\n") + 1
