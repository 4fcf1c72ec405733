"""Reading a chat request: the JSON body, then what the user's message asks.

The body is validated by pydantic in one pass (``model_validate_json``), and
every problem becomes a 400 with an OpenAI error body that names the field.

The last user message may hold, in any mix:

- a question alone (the database comes from ``db_id`` or the service's default);
- the compact form ``Question: … <sep> Tables: t: c1 , c2 ; … <sep>`` (primary
  and foreign keys optional, as :func:`sqlfoundry.db.render.to_compact` writes it);
- a question with CREATE TABLE statements (MySQL or PostgreSQL, COMMENTs included);
- a JSON object ``{"question": …, "db_id": …, "ddl": …, "evidence": …}``.

Labelled lines (``Question:``, ``Tables:``, ``Evidence:``, ``Database:``) are
recognised anywhere; without a ``Question:`` label, the prose outside the DDL is
the question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.serve.ddl import SchemaTextError, parse_ddl, split_ddl
from sqlfoundry.serve.errors import bad_request

TEXT_PART_TYPES = ("text", "input_text")
_NOT_BLANK = {"type": "string", "pattern": "\\S"}
# The schema of the message the question is read from (see ``user_content``).
USER_QUESTION: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                _NOT_BLANK,
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"enum": list(TEXT_PART_TYPES)}, "text": _NOT_BLANK},
                    },
                },
            ]
        },
    },
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The body of ``POST /v1/chat/completions``: OpenAI's fields plus ``db_id`` and ``evidence``.

    Other OpenAI fields are accepted and ignored. Types are strict (``"temperature":
    false`` or ``"n": "2"`` is a 400), so what the OpenAPI schema refuses is refused here.
    """

    model_config = ConfigDict(extra="allow", strict=True)

    model: str | None = None
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="the conversation; the question is the last user message that has text",
        json_schema_extra={"contains": USER_QUESTION},
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=16)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    db_id: str | None = Field(None, description="a database under the gateway's db_root")
    evidence: str | None = Field(None, description="external knowledge for the question")

    @field_validator("n", "max_tokens", "max_completion_tokens", "seed", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # JSON Schema's "integer" admits 2.0; strict validation alone would refuse it.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @property
    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk (``stream_options.include_usage``)."""
        return bool(self.stream_options and self.stream_options.include_usage)


def parse_chat_request(raw: bytes) -> ChatRequest:
    """Validate the body, or raise a 400 GatewayError naming the problem."""
    if not raw.strip():
        raise bad_request("the request body is empty; send a JSON chat request", "invalid_json")
    try:
        return ChatRequest.model_validate_json(raw)
    except ValidationError as err:
        raise _describe(err) from None


def _describe(err: ValidationError):
    problems = err.errors(include_url=False)
    first = problems[0]
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "json_invalid":
        reason = str(first.get("ctx", {}).get("error", first["msg"]))
        return bad_request(f"the request body is not valid JSON: {reason}", "invalid_json")
    if first["type"] == "model_type" and not loc:
        return bad_request("the request body must be a JSON object", "invalid_json")
    if loc == ["messages"] and first["type"] == "missing":
        return bad_request(
            "'messages' is required: a list of chat messages, the last one from the user",
            "missing_messages", "messages",
        )  # fmt: skip
    if loc == ["messages"] and first["type"] == "too_short":
        return bad_request("'messages' is empty: send at least one user message",
                           "missing_messages", "messages")  # fmt: skip
    where = ".".join(loc) or "body"
    return bad_request(
        f"invalid request: {where}: {first['msg']}", "invalid_request", loc[0] if loc else None
    )


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: the string, or its text parts (string ``text`` only) joined."""
    if isinstance(content, list):
        return "\n".join(
            p["text"]
            for p in content
            if p.get("type") in TEXT_PART_TYPES and isinstance(p.get("text"), str)
        )
    return content or ""


def user_content(request: ChatRequest) -> str:
    """The question: the last user message that has text; a 400 when there is none.

    This is what :data:`USER_QUESTION` declares in the OpenAPI schema, so a
    request the schema accepts is never refused here.
    """
    asked = False
    for message in reversed(request.messages):
        if message.role != "user":
            continue
        asked = True
        content = _text(message.content)
        if content.strip():
            return content
    if asked:
        raise bad_request("the user message is empty: ask a question", "empty_content", "messages")
    raise bad_request("no user message: the last message should be the user's question",
                      "missing_user_message", "messages")  # fmt: skip


# ---------------------------------------------------------------- the NL2SQL request


@dataclass(slots=True)
class NL2SQLInput:
    """What the user asks: the question, and where its schema comes from."""

    question: str
    schema: Schema | None = None  # from DDL or the compact form in the message
    db_id: str | None = None
    evidence: str | None = None
    source: Literal["text", "compact", "ddl", "json"] = "text"


_LABELS = {
    "question": "question",
    "q": "question",
    "tables": "tables",
    "evidence": "evidence",
    "external knowledge": "evidence",
    "hint": "evidence",
    "database": "db_id",
    "db_id": "db_id",
}


def _label(line: str) -> tuple[str | None, str]:
    head, sep, rest = line.strip().partition(":")
    if sep:
        field = _LABELS.get(head.strip().lower())
        if field is not None:
            return field, rest.strip()
    return None, line


def parse_content(text: str, *, db_id: str | None = None, evidence: str | None = None,
                  ddl_dialect: str = "auto") -> NL2SQLInput:  # fmt: skip
    """Read the user's message into an :class:`NL2SQLInput`.

    Args:
        text: the message text.
        db_id: the request's ``db_id`` field, which wins over one named in the text.
        evidence: the request's ``evidence`` field, likewise.
        ddl_dialect: the dialect of pasted DDL, or ``auto``.

    Raises:
        GatewayError: 400 when the schema text cannot be read or no question is found.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        parsed = _from_json(stripped, db_id, evidence, ddl_dialect)
        if parsed is not None:
            return parsed
    source: Literal["text", "compact", "ddl", "json"] = "compact" if "<sep>" in text else "text"
    split = split_ddl(text.replace("<sep>", "\n"), ddl_dialect)
    fields: dict[str, list[str]] = {}
    free: list[str] = []
    current: str | None = None
    for line in split.prose:
        field, rest = _label(line)
        if field is not None:
            # A database name is one line; a question or a hint may run on over several.
            current = None if field == "db_id" else field
            fields.setdefault(field, []).append(rest)
        elif not line.strip():
            current = None
        elif current is not None:
            fields[current].append(line.strip())
        else:
            free.append(line.strip())
    schema = None
    try:
        if split.statements:
            schema = parse_ddl(split.statements, ddl_dialect)
            source = "ddl"
        elif fields.get("tables"):
            schema = parse_compact(" ".join(fields["tables"]))
            source = "compact"
    except SchemaTextError as err:
        code = "invalid_ddl" if split.statements else "invalid_schema"
        raise bad_request(
            f"cannot read the schema in the message: {err.message}", code, "messages"
        ) from None
    question = " ".join(x for x in fields.get("question", []) if x) or _free_question(free)
    if not question:
        raise bad_request("no question found in the user message", "empty_content", "messages")
    named_db = " ".join(fields.get("db_id", [])).strip() or None
    named_evidence = " ".join(fields.get("evidence", [])).strip() or None
    return NL2SQLInput(
        question=question, schema=schema, db_id=db_id or named_db,
        evidence=evidence or named_evidence, source=source,
    )  # fmt: skip


def _free_question(lines: list[str]) -> str:
    """Prose outside the DDL; SQL-style comment lines are instructions unless that is all there is."""
    plain = [ln for ln in lines if not ln.startswith(("--", "#", "/*"))]
    if plain:
        return " ".join(plain).strip()
    return " ".join(ln.lstrip("-#/* ").strip() for ln in lines).strip()


def _from_json(
    text: str, db_id: str | None, evidence: str | None, ddl_dialect: str
) -> NL2SQLInput | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        return None
    question = data["question"].strip()
    if not question:
        raise bad_request("the 'question' in the message is empty", "empty_content", "messages")
    schema = None
    ddl = data.get("ddl") or data.get("schema")
    if isinstance(ddl, str) and ddl.strip():
        try:
            if ddl.strip().lower().startswith("tables:"):
                schema = parse_compact(ddl)
            else:
                statements = split_ddl(ddl, ddl_dialect).statements
                if not statements:
                    raise SchemaTextError("no CREATE TABLE statement found")
                schema = parse_ddl(statements, ddl_dialect)
        except SchemaTextError as err:
            raise bad_request(f"cannot read the schema in the message: {err.message}",
                              "invalid_ddl", "messages") from None  # fmt: skip
    named_db = data.get("db_id") if isinstance(data.get("db_id"), str) else None
    named_evidence = data.get("evidence") if isinstance(data.get("evidence"), str) else None
    return NL2SQLInput(question=question, schema=schema, db_id=db_id or named_db,
                       evidence=evidence or named_evidence, source="json")  # fmt: skip


def parse_compact(text: str, db_id: str = "request") -> Schema:
    """Read ``Tables: t: c1 , c2 ; u: c1 ; primary keys: t.c1 ; foreign keys: u.c1 = t.c1``.

    Raises:
        SchemaTextError: an entry is not ``name: columns``, or a key names an unknown column.
    """
    body = text.strip()
    if body.lower().startswith("tables:"):
        body = body[len("tables:") :]
    tables: dict[str, Table] = {}
    keys: list[tuple[str, str]] = []
    links: list[str] = []
    for entry in body.split(";"):
        if not entry.strip():
            continue
        name, sep, rest = entry.partition(":")
        if not sep:
            raise SchemaTextError(f"expected 'table: column , column' but got {entry.strip()!r}")
        key = name.strip()
        items = [x.strip() for x in rest.split(",") if x.strip()]
        if key.lower() == "primary keys":
            keys.extend(_dotted(x) for x in items)
        elif key.lower() == "foreign keys":
            links.extend(items)
        else:
            if not items:
                raise SchemaTextError(f"table {key!r} has no columns")
            tables[key.lower()] = Table(name=key, columns=[Column(name=c) for c in items])
    for table_name, column in keys:
        table = _table(tables, table_name)
        if table.column(column) is None:
            raise SchemaTextError(f"primary key {table_name}.{column}: no such column")
        table.primary_key.append(table.column(column).name)
        table.column(column).primary_key = True
    for link in links:
        left, eq, right = link.partition("=")
        if not eq:
            raise SchemaTextError(f"foreign key {link!r} is not 'table.column = table.column'")
        (t1, c1), (t2, c2) = _dotted(left), _dotted(right)
        _table(tables, t1).foreign_keys.append(
            ForeignKey(columns=[c1], ref_table=t2, ref_columns=[c2])
        )
    if not tables:
        raise SchemaTextError("'Tables:' lists no table")
    return Schema(db_id=db_id, tables=list(tables.values()))


def _dotted(item: str) -> tuple[str, str]:
    table, dot, column = item.strip().rpartition(".")
    if not dot or not table or not column:
        raise SchemaTextError(f"{item.strip()!r} is not table.column")
    return table.strip(), column.strip()


def _table(tables: dict[str, Table], name: str) -> Table:
    table = tables.get(name.lower())
    if table is None:
        raise SchemaTextError(f"key names the unknown table {name!r}")
    return table
