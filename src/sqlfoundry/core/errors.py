"""One exception tree for the whole package.

Every error carries the structured detail a user needs to find the bad input:
the file and line, the db_id, the SQL. ``str(err)`` puts that detail first so a
log line alone is enough to locate the problem.
"""

from __future__ import annotations


class SqlfoundryError(Exception):
    """Root of every error raised on purpose by sqlfoundry."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        db_id: str | None = None,
        sql: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.db_id = db_id
        self.sql = sql
        self.hint = hint

    def where(self) -> str:
        """Return the location part, e.g. ``gold.sql:12 db_id=concert_singer``."""
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line is not None else self.file)
        if self.db_id:
            parts.append(f"db_id={self.db_id}")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_dict(self) -> dict:
        """The error as JSON-ready data (type, message, file, line, db_id, SQL)."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "db_id": self.db_id,
            "sql": self.sql,
        }


class ConfigError(SqlfoundryError):
    """A config file, flag or environment value is invalid; the run cannot start."""


class InputError(SqlfoundryError):
    """A record of an input file cannot be read (bad JSON, missing field, ...)."""


class OutputError(SqlfoundryError, OSError):
    """An output path cannot be written (a read-only folder, a file where a folder is needed...).

    Also an OSError, so code that tolerates a failed write (a cache) keeps catching it.
    """


class MissingDependencyError(SqlfoundryError):
    """An optional extra is needed for the feature that was asked for."""


class DatabaseError(SqlfoundryError):
    """Base for problems with a database or with running SQL on it."""


class DatabaseNotFoundError(DatabaseError):
    """No database with this db_id or path exists."""


class DatabaseConnectionError(DatabaseError):
    """The database exists but cannot be opened: unreachable server, corrupt file, ..."""


class SQLSyntaxError(DatabaseError):
    """The SQL does not parse for its dialect."""


class WriteRejectedError(DatabaseError):
    """The SQL is not a read-only query and was refused before reaching the database."""


class QueryTimeoutError(DatabaseError):
    """The query ran past its timeout and was stopped."""


class QueryError(DatabaseError):
    """The database refused or failed the query (unknown column, type error, ...)."""


class LLMError(SqlfoundryError):
    """Base for problems with an LLM endpoint or with one of its answers.

    ``base_url`` and ``model`` say which endpoint; ``status`` is the HTTP status
    when the server answered. The API key is never part of an error.
    """

    def __init__(
        self,
        message: str,
        *,
        base_url: str | None = None,
        model: str | None = None,
        status: int | None = None,
        raw: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.base_url = base_url
        self.model = model
        self.status = status
        self.raw = raw

    def where(self) -> str:
        parts = []
        if self.base_url:
            parts.append(self.base_url)
        if self.model:
            parts.append(f"model={self.model}")
        return " ".join(parts)

    def to_dict(self) -> dict:
        """The error as JSON-ready data, with the endpoint's status and the model."""
        out = super().to_dict()
        out.update(base_url=self.base_url, model=self.model, status=self.status)
        if self.raw is not None:
            out["raw"] = self.raw
        return out


class LLMEndpointError(LLMError):
    """The endpoint cannot serve this run at all; the run stops instead of failing every item."""


class LLMUnreachableError(LLMEndpointError):
    """Nothing answers at the base URL (refused, DNS, TLS, persistent connection errors)."""


class LLMAuthError(LLMEndpointError):
    """The server refused the API key (401) or the key lacks access (403)."""


class LLMModelNotFoundError(LLMEndpointError):
    """The server does not serve the configured model (404)."""


class LLMBadRequestError(LLMEndpointError):
    """The server refused the request as malformed (400, 422 and other 4xx never retried)."""


class LLMItemError(LLMError):
    """One request failed; the batch records it on that item and carries on."""


class LLMResponseError(LLMItemError):
    """The server answered 200 but the body is not a usable completion; ``raw`` keeps it."""


class LLMLogprobsMissingError(LLMResponseError):
    """Log probabilities were asked for and the answer has none: the server does not give
    them (or not for this model), so no other request will have them either."""


class LLMRetriesExhaustedError(LLMItemError):
    """429, 5xx or timeouts went on past the retry budget for this request."""


class LLMContextLengthError(LLMItemError):
    """The prompt (plus max_tokens) is longer than the model's context: a 400 about this item only."""


class TemplateError(ConfigError):
    """A prompt template is malformed, or was rendered with missing or unknown variables."""


def validation_problems(err: object) -> str:
    """A pydantic ``ValidationError`` as ``loc: message; ...`` (an unknown key says so)."""
    parts = []
    for item in err.errors():  # type: ignore[attr-defined]
        loc = ".".join(str(p) for p in item["loc"]) or "(top)"
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
