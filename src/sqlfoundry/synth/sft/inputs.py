"""The items SQL-o1's preparation and search work on: a registered benchmark (loaded by the
CLI, since this layer sits below the benchmark registry), or a file of pairs.

A file of pairs is JSON (a list), JSONL, or a Spider gold file (``SQL<TAB>db_id``,
no questions). Each item needs ``db_id``; the SQL is ``SQL``, ``sql``, ``query``
or ``target`` (SQL-o1's prompt files); the question is ``question`` or the key
given as ``question_key`` (e.g. ``SpiderQuestion`` in Spider-Syn's files); a
rendered SQL-o1 prompt under ``input`` or ``prompt`` is kept when it has the
empty incomplete-query slot (other prompts, such as a synthesis run's, are not
SQL-o1's and are rendered again). Synthesis output (``data.jsonl``) reads as it is.

A line that cannot be read becomes an input problem naming its file:line;
every other line is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError, TemplateError
from sqlfoundry.core.io import read_records, sql_of
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.sft.prompt import check_prompt


@dataclass
class Items:
    """Loaded items and where their databases are.

    Attributes:
        samples: the items, in input order.
        problems: input lines that could not be read, as reject records.
        databases: a ``DatabaseManager``.
        name: the benchmark selection or the file, for reports.
        mode: the result comparison mode of the benchmark (``spider`` or ``bird``).
        dialect: the SQL dialect of the databases.
        rows: rows per table the prompt shows by default for this data.
        tables_json: the benchmark's tables.json, when it has one.
    """

    samples: list[Sample]
    databases: Any
    name: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "spider"
    dialect: str = "sqlite"
    rows: int = 3
    tables_json: Path | None = None


def load_pairs(
    path: str | Path, databases: Any, *, question_key: str | None = None, mode: str = "spider"
) -> Items:
    """A file of pairs; see the module doc."""
    path = Path(path)
    key = question_key or "question"
    samples: list[Sample] = []
    problems: list[dict[str, Any]] = []
    found_key = False
    for number, line in enumerate(read_records(path), start=1):
        source = f"{line.file}:{line.line}"
        if line.error is not None or line.data is None:
            message = line.error.message if line.error else "not a JSON object"
            problems.append({"operator": "input", "reason": f"unreadable line: {message}",
                             "source": source})  # fmt: skip
            continue
        data = line.data
        db_id = data.get("db_id")
        if not isinstance(db_id, str) or not db_id.strip():
            problems.append({"operator": "input", "reason": "missing field: db_id",
                             "source": source, "record": data})  # fmt: skip
            continue
        question = data.get(key)
        found_key = found_key or isinstance(question, str)
        sql = sql_of(data)
        if sql is None and isinstance(data.get("target"), str):
            sql = data["target"]
        evidence = data.get("evidence")
        samples.append(
            Sample(
                id=str(data.get("id") or f"{path.stem}-{number - 1}"),
                db_id=db_id.strip(),
                question=question.strip() if isinstance(question, str) else None,
                sql=sql.strip() if isinstance(sql, str) else None,
                evidence=evidence if isinstance(evidence, str) and evidence.strip() else None,
                prompt=_sqlo1_prompt(data),
                difficulty=data.get("difficulty")
                if isinstance(data.get("difficulty"), str)
                else None,
                meta={"source": source},
            )
        )
    if question_key and samples and not found_key:
        raise ConfigError(f"no item of {path} has the question key {question_key!r}",
                          file=str(path))  # fmt: skip
    server = getattr(databases, "server", None)
    dialect = server.kind if server is not None else "sqlite"
    return Items(samples=samples, databases=databases, name=str(path), problems=problems,
                 mode=mode, dialect=dialect)  # fmt: skip


def _sqlo1_prompt(data: dict[str, Any]) -> str | None:
    for key in ("input", "prompt"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                check_prompt(value)
            except TemplateError:
                continue
            return value
    return None
