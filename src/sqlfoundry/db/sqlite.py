"""SQLite connector: standard-library sqlite3, opened read-only."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlfoundry.core.errors import (
    DatabaseConnectionError,
    DatabaseNotFoundError,
    QueryError,
    QueryTimeoutError,
)
from sqlfoundry.db.base import Database, DatabaseSpec, json_value

if TYPE_CHECKING:
    from sqlfoundry.db.schema import ForeignKey, Schema

# How many VM instructions pass between two deadline checks: small enough that
# a timeout fires within a millisecond or so, large enough to cost nothing.
_PROGRESS_STEPS = 1000


def _decode(raw: bytes) -> str:
    # Some public databases hold text that is not valid UTF-8; keep the row
    # rather than failing the whole query.
    return raw.decode("utf-8", errors="replace")


# How sqlite3 says a text value is not valid UTF-8 (with text_factory = str).
_NOT_UTF8 = "Could not decode to UTF-8"


def _fetch(
    conn: sqlite3.Connection, sql: str, max_rows: int | None
) -> tuple[list[str], list[tuple], bool]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        columns = [d[0] for d in cursor.description or ()]
        # sqlite3 gives tuples already (no row factory): nothing to copy.
        if max_rows is None:
            return columns, cursor.fetchall(), False
        rows = cursor.fetchmany(max_rows + 1)
    finally:
        cursor.close()
    truncated = len(rows) > max_rows
    if truncated:
        del rows[max_rows:]
    return columns, rows, truncated


def quote_ident(name: str) -> str:
    """``name`` as a SQLite identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, spec: DatabaseSpec) -> None:
        super().__init__(spec)
        path = Path(spec.path or "")
        if not path.is_file():
            raise DatabaseNotFoundError(f"no SQLite file at {path}", db_id=spec.db_id)
        self.path = path
        # mode=ro: the file is never opened for writing; query_only: SQLite
        # itself refuses any write even if a statement got past the guard.
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as err:
            raise DatabaseConnectionError(f"cannot open {path}: {err}", db_id=spec.db_id) from err
        try:
            conn.execute("PRAGMA query_only = ON")
            # Reading the catalogue is where a corrupt or non-SQLite file shows.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as err:
            conn.close()
            raise DatabaseConnectionError(
                f"{path} is not a readable SQLite database: {err}", db_id=spec.db_id
            ) from err
        conn.text_factory = _decode
        self.conn = conn

    def _run(
        self, sql: str, timeout: float, max_rows: int | None
    ) -> tuple[list[str], list[tuple], bool]:
        deadline = time.monotonic() + timeout
        monotonic = time.monotonic

        def past_deadline() -> int:
            return 1 if monotonic() > deadline else 0

        conn = self.conn
        conn.set_progress_handler(past_deadline, _PROGRESS_STEPS)
        try:
            try:
                # sqlite3's own decoding, in C: a Python call per text value costs
                # more than the query in most cases.
                conn.text_factory = str
                return _fetch(conn, sql, max_rows)
            except sqlite3.OperationalError as err:
                if not str(err).startswith(_NOT_UTF8):
                    raise
            finally:
                conn.text_factory = _decode
            # Text that is not valid UTF-8 (rare): the query again, decoded leniently.
            return _fetch(conn, sql, max_rows)
        except sqlite3.Error as err:
            if monotonic() > deadline and "interrupt" in str(err):
                raise QueryTimeoutError(
                    f"stopped after the {timeout:g} s timeout", db_id=self.db_id, sql=sql
                ) from err
            if "interrupt" in str(err):
                # Ctrl-C (or SIGTERM, which the CLI maps to it) raised in the progress
                # handler: sqlite3 turns it into "interrupted"; the run must stop.
                raise KeyboardInterrupt from None
            raise QueryError(str(err), db_id=self.db_id, sql=sql) from err
        except (ValueError, OverflowError) as err:  # e.g. an out-of-range value in a row
            raise QueryError(str(err), db_id=self.db_id, sql=sql) from err
        finally:
            conn.set_progress_handler(None, 0)

    def introspect(self, sample_values: int = 5) -> Schema:
        try:
            return self._introspect(sample_values)
        except sqlite3.DatabaseError as err:
            # A file whose catalogue reads but whose pages are damaged shows it here.
            raise DatabaseConnectionError(
                f"{self.path} is not a readable SQLite database: {err}", db_id=self.db_id
            ) from None

    def _introspect(self, sample_values: int) -> Schema:
        # The schema models (pydantic) load only when a schema is read, not to run queries.
        from sqlfoundry.db.descriptions import apply_descriptions
        from sqlfoundry.db.schema import Column, Schema, Table

        conn = self.conn
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        tables = []
        for name in names:
            q = quote_ident(name)
            info = conn.execute(f"PRAGMA table_info({q})").fetchall()
            pk = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            columns = [
                Column(name=r[1], type=r[2] or "", primary_key=bool(r[5]), nullable=not r[3])
                for r in info
            ]
            table = Table(
                name=name,
                columns=columns,
                primary_key=pk,
                foreign_keys=self._foreign_keys(name),
                row_count=conn.execute(f"SELECT count(*) FROM {q}").fetchone()[0],
            )
            if sample_values:
                for col in columns:
                    col.samples = [
                        json_value(r[0])
                        for r in conn.execute(
                            f"SELECT DISTINCT {quote_ident(col.name)} FROM {q} "
                            f"WHERE {quote_ident(col.name)} IS NOT NULL LIMIT {int(sample_values)}"
                        )
                    ]
            tables.append(table)
        schema = Schema(db_id=self.db_id, dialect="sqlite", tables=tables)
        apply_descriptions(schema, self.path.parent / "database_description")
        return schema

    def _foreign_keys(self, table: str) -> list[ForeignKey]:
        from sqlfoundry.db.schema import ForeignKey

        rows = self.conn.execute(f"PRAGMA foreign_key_list({quote_ident(table)})").fetchall()
        grouped: dict[int, ForeignKey] = {}
        for fk_id, _seq, ref_table, col, ref_col, *_ in rows:
            fk = grouped.setdefault(
                fk_id, ForeignKey(columns=[], ref_table=ref_table, ref_columns=[])
            )
            fk.columns.append(col)
            fk.ref_columns.append(ref_col or "")
        for fk in grouped.values():
            # Spell the columns as the table declares them, not as the FK clause did.
            fk.columns = [self._declared_name(table, c) for c in fk.columns]
            # "REFERENCES t" with no column list means t's primary key.
            if not all(fk.ref_columns):
                ref_info = self.conn.execute(f"PRAGMA table_info({quote_ident(fk.ref_table)})")
                ref_pk = [r[1] for r in sorted((r for r in ref_info if r[5]), key=lambda r: r[5])]
                fk.ref_columns = [
                    given or (ref_pk[i] if i < len(ref_pk) else "")
                    for i, given in enumerate(fk.ref_columns)
                ]
        # SQLite lists foreign keys last-declared first; give them in declaration order.
        return [grouped[k] for k in sorted(grouped, reverse=True)]

    def _declared_name(self, table: str, column: str) -> str:
        info = self.conn.execute(f"PRAGMA table_info({quote_ident(table)})").fetchall()
        return next((r[1] for r in info if r[1].lower() == column.lower()), column)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
