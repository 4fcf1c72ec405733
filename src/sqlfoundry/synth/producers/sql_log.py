"""SQL logs: the statements a database ran, each with the file:line it came from.

Three layouts:

* JSONL (or a JSON list): one object per entry with ``sql`` (``SQL`` and
  ``query`` work too); ``db_id`` and ``question`` are used when present, any
  other field rides along in ``meta``;
* a Spider gold file: ``SQL<TAB>db_id`` per line (every line has a tab);
* plain SQL: statements separated by semicolons, over as many lines as they
  take; ``--`` comments are skipped. The line of an entry is where its first
  token is.

An unreadable JSON line or an entry without SQL is a problem with its
file:line; the rest of the log is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from sqlfoundry.core.io import input_name, is_jsonl_path, read_jsonl, read_text, sql_of
from sqlfoundry.sql.parse import tokens_of

_KNOWN = {"sql", "SQL", "query", "db_id", "question"}


@dataclass
class LoggedSql:
    """One logged statement."""

    sql: str
    source: str
    db_id: str | None = None
    question: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def entries_of(sqls: Any, db_id: str | None = None) -> list[LoggedSql]:
    """In-memory input: one statement, a list of statements, or ``LoggedSql`` entries."""
    if isinstance(sqls, str):
        sqls = [sqls]
    out = []
    for i, item in enumerate(sqls):
        if isinstance(item, LoggedSql):
            out.append(item)
        elif isinstance(item, dict):
            out.append(_entry(item, f"entry {i}", db_id))
        else:
            out.append(LoggedSql(str(item).strip(), f"entry {i}", db_id))
    return out


def _entry(data: dict[str, Any], source: str, db_id: str | None) -> LoggedSql:
    question = data.get("question")
    return LoggedSql(
        sql=(sql_of(data) or "").strip(),
        source=source,
        db_id=str(data["db_id"]) if data.get("db_id") else db_id,
        question=question.strip() if isinstance(question, str) and question.strip() else None,
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


def read_sql_log(
    path: str | Path, db_id: str | None = None, dialect: str = "sqlite"
) -> tuple[list[LoggedSql], list[dict[str, Any]]]:
    """The entries of a SQL log and one problem (``source``, ``reason``) per bad line.

    Raises:
        InputError: the file cannot be read at all.
    """
    path = Path(path)
    name = input_name(path)
    entries: list[LoggedSql] = []
    problems: list[dict[str, Any]] = []
    if is_jsonl_path(path):
        for line in read_jsonl(path):
            source = f"{line.file}:{line.line}"
            if line.error is not None or line.data is None:
                message = line.error.message if line.error else "not a JSON object"
                problems.append({"source": source, "reason": message})
                continue
            entry = _entry(line.data, source, db_id)
            if not entry.sql:
                problems.append({"source": source, "reason": "entry has no 'sql' field"})
                continue
            entries.append(entry)
        return entries, problems
    text = read_text(path)
    lines = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    code = [(n, raw) for n, raw in lines if not raw.lstrip().startswith("--")]
    if code and all("\t" in raw for _, raw in code):
        for number, raw in code:
            sql, _, owner = raw.rpartition("\t")
            entries.append(LoggedSql(sql.strip(), f"{name}:{number}", owner.strip() or db_id))
        return entries, problems
    for number, statement in _statements(text, dialect):
        entries.append(LoggedSql(statement, f"{name}:{number}", db_id))
    return entries, problems


def _statements(text: str, dialect: str) -> list[tuple[int, str]]:
    """``(line, statement)`` per semicolon-separated statement, found with the tokenizer.

    Text the tokenizer cannot read (an unclosed quote) is split by lines ending
    in ``;`` instead, so one broken entry does not hide the others.
    """
    try:
        tokens = tokens_of(text, dialect)
    except TokenError:
        return _statements_by_line(text)
    out: list[tuple[int, str]] = []
    first = last = None
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if first is not None and last is not None:
                out.append((first.line, text[first.start : last.end + 1].strip()))
            first = last = None
            continue
        if first is None:
            first = token
        last = token
    return out


def _statements_by_line(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    start, buffer = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("--"):
            continue
        if not buffer:
            start = number
        buffer.append(raw)
        if stripped.endswith(";"):
            out.append((start, "\n".join(buffer).strip().rstrip(";").strip()))
            buffer = []
    if buffer:
        out.append((start, "\n".join(buffer).strip()))
    return out
