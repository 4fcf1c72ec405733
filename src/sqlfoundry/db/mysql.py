"""MySQL / MariaDB connector: PyMySQL, every query in a read-only transaction."""

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
    import pymysql
except ImportError:  # pragma: no cover - depends on the install
    pymysql = None

SYSTEM_DATABASES = {"information_schema", "mysql", "performance_schema", "sys"}
# Server error codes for a statement stopped by its time limit:
# 3024 MySQL max_execution_time, 1969 MariaDB max_statement_time, 1317 interrupted.
_TIMEOUT_CODES = {3024, 1969, 1317}


def _require() -> None:
    if pymysql is None:
        raise missing_extra("MySQL/MariaDB support", "mysql", "PyMySQL")


def quote_ident(name: str) -> str:
    """``name`` as a MySQL identifier in backquotes."""
    return "`" + name.replace("`", "``") + "`"


def connect(spec: DatabaseSpec, database: str | None = None) -> Any:
    """Open a PyMySQL connection for ``spec``; errors name the server, never the password."""
    _require()
    try:
        return pymysql.connect(
            host=spec.host or "127.0.0.1",
            port=spec.port or 3306,
            user=spec.user or "root",
            password=spec.password or "",
            database=database if database is not None else (spec.database or spec.db_id),
            connect_timeout=max(1, int(spec.connect_timeout)),
            autocommit=False,
            charset="utf8mb4",
        )
    except pymysql.Error as err:
        raise DatabaseConnectionError(
            f"cannot connect to {spec.describe()}: {err}", db_id=spec.db_id
        ) from err


class MySQLDatabase(Database):
    dialect = "mysql"

    def __init__(self, spec: DatabaseSpec) -> None:
        super().__init__(spec)
        self.conn = connect(spec)
        with self.conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
        # MariaDB names its statement time limit differently, in seconds.
        self.mariadb = "mariadb" in version.lower()
        self.database = spec.database or spec.db_id

    def _limit_statement(self, timeout: float) -> str:
        if self.mariadb:
            return f"SET SESSION max_statement_time = {max(0.001, timeout):.3f}"
        return f"SET SESSION max_execution_time = {max(1, int(timeout * 1000))}"

    def _run(
        self, sql: str, timeout: float, max_rows: int | None
    ) -> tuple[list[str], list[tuple], bool]:
        conn = self.conn
        try:
            with conn.cursor() as cur:
                cur.execute(self._limit_statement(timeout))
                cur.execute("START TRANSACTION READ ONLY")
                cur.execute(sql)
                columns = [d[0] for d in cur.description or ()]
                rows, truncated = fetch_capped(cur, max_rows)
        except pymysql.err.OperationalError as err:
            code = err.args[0] if err.args else None
            if code in _TIMEOUT_CODES:
                raise QueryTimeoutError(
                    f"stopped after the {timeout:g} s timeout", db_id=self.db_id, sql=sql
                ) from err
            if isinstance(code, int) and code >= 2000:  # client-side: the link is gone
                raise DatabaseConnectionError(str(err), db_id=self.db_id, sql=sql) from err
            raise QueryError(str(err), db_id=self.db_id, sql=sql) from err
        except pymysql.Error as err:
            raise QueryError(str(err), db_id=self.db_id, sql=sql) from err
        finally:
            if conn.open:
                conn.rollback()
        return columns, rows, truncated

    def _catalog(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        finally:
            self.conn.rollback()

    def introspect(self, sample_values: int = 5) -> Schema:
        db = self.database
        table_rows = self._catalog(
            "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (db,),
        )
        column_rows = self._catalog(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_COMMENT "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (db,),
        )
        key_rows = self._catalog(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, "
            "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            (db,),
        )
        tables = {
            name: Table(name=name, description=comment or None) for name, comment in table_rows
        }
        for tname, col, typ, nullable, key, comment in column_rows:
            if tname in tables:
                tables[tname].columns.append(
                    Column(
                        name=col,
                        type=typ,
                        nullable=nullable == "YES",
                        primary_key=key == "PRI",
                        description=comment or None,
                    )
                )
        fks: dict[tuple[str, str], ForeignKey] = {}
        for tname, cname, col, ref_table, ref_col in key_rows:
            table = tables.get(tname)
            if table is None:
                continue
            if cname == "PRIMARY":
                table.primary_key.append(col)
            elif ref_table:
                fk = fks.get((tname, cname))
                if fk is None:
                    fk = fks[(tname, cname)] = ForeignKey(
                        columns=[], ref_table=ref_table, ref_columns=[]
                    )
                    table.foreign_keys.append(fk)
                fk.columns.append(col)
                fk.ref_columns.append(ref_col)
        for table in tables.values():
            qt = f"{quote_ident(db)}.{quote_ident(table.name)}"
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
        return Schema(db_id=self.db_id, dialect="mysql", tables=list(tables.values()))

    def close(self) -> None:
        """Close the connection."""
        if self.conn.open:
            self.conn.close()


def list_databases(spec: DatabaseSpec) -> list[str]:
    """Every database on the server except the system ones."""
    conn = connect(spec, database="")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            names = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    return sorted(n for n in names if n.lower() not in SYSTEM_DATABASES)
