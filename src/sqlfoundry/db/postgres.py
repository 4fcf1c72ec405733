"""PostgreSQL connector: psycopg 3, every query in a read-only transaction."""

from __future__ import annotations

from typing import Any

from sqlfoundry.core.errors import (
    DatabaseConnectionError,
    QueryError,
    QueryTimeoutError,
)
from sqlfoundry.core.extras import missing_extra
from sqlfoundry.db.base import Database, DatabaseSpec, fetch_capped, json_value
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - depends on the install
    psycopg = None


def _require() -> None:
    if psycopg is None:
        raise missing_extra("PostgreSQL support", "postgres", "psycopg")


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def connect(spec: DatabaseSpec, database: str | None = None) -> Any:
    """Open a psycopg connection for ``spec``; errors name the server, never the password."""
    _require()
    try:
        return psycopg.connect(
            host=spec.host,
            port=spec.port,
            user=spec.user,
            password=spec.password,
            dbname=database or spec.database or spec.db_id,
            connect_timeout=max(1, int(spec.connect_timeout)),
            autocommit=False,
        )
    except psycopg.Error as err:
        raise DatabaseConnectionError(
            f"cannot connect to {spec.describe()}: {str(err).strip()}", db_id=spec.db_id
        ) from err


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, spec: DatabaseSpec) -> None:
        super().__init__(spec)
        self.conn = connect(spec)
        # Every transaction this connection opens is READ ONLY.
        self.conn.read_only = True
        self.namespace = spec.schema or "public"

    def _run(
        self, sql: str, timeout: float, max_rows: int | None
    ) -> tuple[list[str], list[tuple], bool]:
        conn = self.conn
        try:
            with conn.cursor() as cur:
                # SET LOCAL lasts for this transaction only; the server stops the query.
                cur.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
                cur.execute(sql)
                columns = [d.name for d in cur.description or ()]
                rows, truncated = fetch_capped(cur, max_rows)
        except pg_errors.QueryCanceled as err:
            raise QueryTimeoutError(
                f"stopped after the {timeout:g} s timeout", db_id=self.db_id, sql=sql
            ) from err
        except psycopg.OperationalError as err:
            # psycopg also files plain query failures (SQLSTATE classes 53, 54, 55, ...)
            # under OperationalError; only a broken link is a connection error.
            if conn.broken or conn.closed:
                raise DatabaseConnectionError(str(err).strip(), db_id=self.db_id, sql=sql) from err
            raise QueryError(str(err).strip(), db_id=self.db_id, sql=sql) from err
        except psycopg.Error as err:
            raise QueryError(str(err).strip(), db_id=self.db_id, sql=sql) from err
        finally:
            # Nothing is ever committed: every query's transaction is rolled back.
            if not conn.closed:
                conn.rollback()
        return columns, rows, truncated

    def _catalog(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            self.conn.rollback()

    def introspect(self, sample_values: int = 5) -> Schema:
        ns = self.namespace
        table_rows = self._catalog(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
            (ns,),
        )
        column_rows = self._catalog(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "col_description(c.oid, a.attnum) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
            (ns,),
        )
        constraint_rows = self._catalog(
            "SELECT cl.relname, con.contype, "
            "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
            "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), "
            "rf.relname, "
            "ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
            "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "LEFT JOIN pg_class rf ON rf.oid = con.confrelid "
            "WHERE n.nspname = %s AND con.contype IN ('p', 'f') ORDER BY cl.relname, con.conname",
            (ns,),
        )
        tables = {name: Table(name=name, description=comment) for name, comment in table_rows}
        for tname, col, typ, notnull, comment in column_rows:
            if tname in tables:
                tables[tname].columns.append(
                    Column(name=col, type=typ, nullable=not notnull, description=comment)
                )
        for tname, kind, cols, ref_table, ref_cols in constraint_rows:
            table = tables.get(tname)
            if table is None:
                continue
            if kind == "p":
                table.primary_key = list(cols)
                for c in cols:
                    if (column := table.column(c)) is not None:
                        column.primary_key = True
            else:
                table.foreign_keys.append(
                    ForeignKey(columns=list(cols), ref_table=ref_table, ref_columns=list(ref_cols))
                )
        for table in tables.values():
            qt = f"{quote_ident(ns)}.{quote_ident(table.name)}"
            table.row_count = self._catalog(f"SELECT count(*) FROM {qt}")[0][0]
            if sample_values:
                for col in table.columns:
                    qc = quote_ident(col.name)
                    col.samples = [
                        json_value(r[0])
                        for r in self._catalog(
                            f"SELECT DISTINCT {qc} FROM {qt} WHERE {qc} IS NOT NULL "
                            f"LIMIT {int(sample_values)}"
                        )
                    ]
        return Schema(db_id=self.db_id, dialect="postgres", tables=list(tables.values()))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def list_databases(spec: DatabaseSpec) -> list[str]:
    """Every database on the server that can be connected to, except templates."""
    conn = connect(spec, database=spec.database or "postgres")
    try:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn "
            "ORDER BY datname"
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]
