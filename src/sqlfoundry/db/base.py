"""The Database interface shared by the SQLite, PostgreSQL and MySQL connectors."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from sqlfoundry.core.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseNotFoundError,
    QueryError,
    QueryTimeoutError,
    SqlfoundryError,
    SQLSyntaxError,
    WriteRejectedError,
)
from sqlfoundry.sql.guard import check_read_only

if TYPE_CHECKING:
    from sqlfoundry.db.schema import Schema

Status = Literal["ok", "error", "timeout", "rejected"]
Kind = Literal["sqlite", "postgres", "mysql"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ROWS = 100_000


# NamedTuple and a slotted class rather than dataclasses, whose import (inspect) is most
# of what a one-query command pays above bare Python.
class DatabaseSpec(NamedTuple):
    """Everything needed to open one database, small enough to send to a worker process."""

    db_id: str
    kind: Kind = "sqlite"
    path: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None  # left out of repr, so a spec can be logged
    database: str | None = None
    schema: str | None = None
    connect_timeout: float = 5.0

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
                          if name != "password")  # fmt: skip
        return f"DatabaseSpec({shown})"

    @property
    def dialect(self) -> str:
        """The sqlglot dialect of the database's kind (``sqlite``, ``postgres``, ``mysql``)."""
        return self.kind

    def describe(self) -> str:
        """A human-readable location, for error messages."""
        if self.kind == "sqlite":
            return str(self.path)
        return f"{self.kind}://{self.user or ''}@{self.host}:{self.port}/{self.database}"


class FieldRecord:
    """Equality and ``repr`` field by field over ``_FIELDS``, as a dataclass gives them,
    without importing ``dataclasses`` (its ``inspect`` costs a one-query command more
    start-up than the db layer itself). Unhashable: the fields may change."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._FIELDS)
        return f"{type(self).__name__}({shown})"


class ExecResult(FieldRecord):
    """What running one statement gave. ``rows`` stop at the row cap (``truncated``)."""

    _FIELDS = ("status", "columns", "rows", "elapsed_ms", "error", "error_type", "truncated",
               "db_id", "index")  # fmt: skip
    __slots__ = _FIELDS

    def __init__(self, status: Status, columns: list[str] | None = None,
                 rows: list[tuple] | None = None, elapsed_ms: float = 0.0,
                 error: str | None = None, error_type: str | None = None,
                 truncated: bool = False, db_id: str | None = None,
                 index: int | None = None) -> None:  # fmt: skip
        self.status = status
        self.columns = [] if columns is None else columns
        self.rows = [] if rows is None else rows
        self.elapsed_ms = elapsed_ms
        self.error = error
        self.error_type = error_type
        self.truncated = truncated
        self.db_id = db_id
        self.index = index

    @property
    def ok(self) -> bool:
        """Whether the query ran (status ``ok``)."""
        return self.status == "ok"

    def to_dict(self, max_rows: int | None = None, *, raw_rows: bool = False) -> dict[str, Any]:
        """The result as JSON-ready data, with at most ``max_rows`` rows.

        ``raw_rows``: the rows as the database gave them (tuples, values unconverted), for
        a JSON encoder whose ``default`` is :func:`json_value`: the same text, without a
        Python call per value.
        """
        rows = self.rows if max_rows is None else self.rows[:max_rows]
        return {
            "index": self.index,
            "db_id": self.db_id,
            "status": self.status,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "columns": self.columns,
            "rows": rows if raw_rows else [[json_value(v) for v in row] for row in rows],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "error": self.error,
        }


def json_value(value: Any) -> Any:
    """Turn a database value into something JSON can hold without loss of meaning."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def status_of(err: SqlfoundryError) -> Status:
    """The ``ExecResult`` status an error stands for: ``rejected``, ``timeout`` or ``error``."""
    if isinstance(err, WriteRejectedError):
        return "rejected"
    if isinstance(err, QueryTimeoutError):
        return "timeout"
    return "error"


def failed(err: SqlfoundryError, elapsed_ms: float, db_id: str | None) -> ExecResult:
    """The ``ExecResult`` of a query that failed with ``err``."""
    return ExecResult(
        status=status_of(err),
        elapsed_ms=elapsed_ms,
        error=err.message,
        error_type=type(err).__name__,
        db_id=db_id,
    )


class Database(ABC):
    """One open database. Every query runs read-only, with a timeout and a row cap."""

    dialect: ClassVar[str]

    def __init__(self, spec: DatabaseSpec) -> None:
        self.spec = spec

    @property
    def db_id(self) -> str:
        """The database's id (its file stem, or its name on the server)."""
        return self.spec.db_id

    def execute(
        self,
        sql: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int | None = DEFAULT_MAX_ROWS,
    ) -> ExecResult:
        """Run one query safely. Never raises for a problem with the query itself.

        Args:
            sql: a single read-only query; anything else is refused unrun.
            timeout: seconds before the query is stopped.
            max_rows: the row cap; ``None`` fetches everything.
        """
        start = time.perf_counter()
        try:
            check_read_only(sql, self.dialect)
            columns, rows, truncated = self._run(sql, timeout, max_rows)
        except DatabaseError as err:
            return failed(err, (time.perf_counter() - start) * 1000, self.db_id)
        return ExecResult(
            status="ok",
            columns=columns,
            rows=rows,
            truncated=truncated,
            elapsed_ms=(time.perf_counter() - start) * 1000,
            db_id=self.db_id,
        )

    def query(self, sql: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[tuple]:
        """Run a read-only query and return its rows, raising on any failure."""
        result = self.execute(sql, timeout=timeout, max_rows=None)
        if not result.ok:
            error_class = _ERRORS.get(result.error_type or "", DatabaseError)
            raise error_class(result.error or "", db_id=self.db_id, sql=sql)
        return result.rows

    @abstractmethod
    def _run(
        self, sql: str, timeout: float, max_rows: int | None
    ) -> tuple[list[str], list[tuple], bool]:
        """Run already-guarded SQL; raise QueryTimeoutError or QueryError on failure."""

    @abstractmethod
    def introspect(self, sample_values: int = 5) -> Schema:
        """Read tables, columns, keys, row counts and sample values."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection (a closed database can be opened again by the manager)."""

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ERRORS: dict[str, type[DatabaseError]] = {
    cls.__name__: cls
    for cls in (
        WriteRejectedError,
        QueryTimeoutError,
        QueryError,
        SQLSyntaxError,
        DatabaseConnectionError,
        DatabaseNotFoundError,
    )
}


def fetch_capped(cursor: Any, max_rows: int | None) -> tuple[list[tuple], bool]:
    """Fetch at most ``max_rows`` rows; the extra one tells whether more existed."""
    if max_rows is None:
        return [tuple(r) for r in cursor.fetchall()], False
    rows = cursor.fetchmany(max_rows + 1)
    truncated = len(rows) > max_rows
    return [tuple(r) for r in rows[:max_rows]], truncated
