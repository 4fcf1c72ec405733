"""DatabaseManager: find databases by db_id under a folder or on a server."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from sqlfoundry.core.errors import ConfigError, DatabaseNotFoundError
from sqlfoundry.db.base import Database, DatabaseSpec, FieldRecord

if TYPE_CHECKING:
    from sqlfoundry.db.schema import Schema


SQLITE_SUFFIXES = (".sqlite", ".db")
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
# URL schemes of database servers, and the kind of server each names.
SERVER_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql",
                  "mariadb": "mysql"}  # fmt: skip


class ServerSettings(FieldRecord):
    """Connection settings for a PostgreSQL or MySQL/MariaDB server.

    Each database on the server is one db_id. ``databases`` limits which ones
    are offered; by default every non-system database is.
    """

    _FIELDS = ("kind", "host", "port", "user", "password_env", "databases", "schema_name",
               "connect_timeout")  # fmt: skip

    def __init__(self, *, kind: str, host: str = "127.0.0.1", port: int | None = None,
                 user: str | None = None, password_env: str | None = None,
                 databases: list[str] | None = None, schema_name: str | None = None,
                 connect_timeout: float = 5.0) -> None:  # fmt: skip
        self.kind = kind
        self.host = host
        self.port = port
        self.user = user
        self.password_env = password_env
        self.databases = databases
        self.schema_name = schema_name
        self.connect_timeout = connect_timeout

    def replace(self, **changes: Any) -> ServerSettings:
        """A copy with ``changes`` applied."""
        return ServerSettings(**{**{f: getattr(self, f) for f in self._FIELDS}, **changes})

    @classmethod
    def from_url(cls, url: str, password_env: str | None = None) -> ServerSettings:
        """Parse ``postgresql://user@host:port[/db1,db2]`` or ``mysql://...``.

        A password inside the URL is refused: it would end up in shell history
        and logs. Name an environment variable with ``password_env`` instead.
        """
        parsed = urlparse(url)
        scheme = parsed.scheme.split("+")[0].lower()
        kind = SERVER_SCHEMES.get(scheme)
        # Checked first, so no message below can echo a URL holding a password.
        if parsed.password:
            raise ConfigError(
                "put the server password in an environment variable, not the URL",
                hint="set password_env / --db-password-env",
            )
        if kind is None:
            raise ConfigError(
                f"unsupported server URL scheme {parsed.scheme!r} in {url!r}",
                hint="use postgresql://... or mysql://...",
            )
        path = unquote(parsed.path.strip("/"))
        return cls(
            kind=kind,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port,
            user=unquote(parsed.username) if parsed.username else None,
            password_env=password_env,
            databases=[d for d in path.split(",") if d] or None,
        )

    def spec(self, db_id: str) -> DatabaseSpec:
        """The connection spec of database ``db_id`` on this server (its password read now)."""
        password = None
        if self.password_env:
            password = os.environ.get(self.password_env)
            if password is None:
                raise ConfigError(
                    f"environment variable {self.password_env} is not set",
                    hint="it should hold the database server password",
                )
        return DatabaseSpec(
            db_id=db_id,
            kind=self.kind,  # type: ignore[arg-type]
            host=self.host,
            port=self.port or _DEFAULT_PORTS.get(self.kind),
            user=self.user,
            password=password,
            database=db_id,
            schema=self.schema_name,
            connect_timeout=self.connect_timeout,
        )


def open_database(spec: DatabaseSpec) -> Database:
    """Open the connector for ``spec.kind``. Optional drivers are imported only here."""
    if spec.kind == "sqlite":
        from sqlfoundry.db.sqlite import SQLiteDatabase

        return SQLiteDatabase(spec)
    if spec.kind == "postgres":
        from sqlfoundry.db.postgres import PostgresDatabase

        return PostgresDatabase(spec)
    if spec.kind == "mysql":
        from sqlfoundry.db.mysql import MySQLDatabase

        return MySQLDatabase(spec)
    raise ConfigError(f"unknown database kind {spec.kind!r}", db_id=spec.db_id)


# (root, db_id) pairs already warned about, so a root scanned again stays quiet.
_WARNED_DUPLICATES: set[tuple[str, str]] = set()


def find_sqlite_files(root: Path) -> dict[str, Path]:
    """Map db_id to file for every ``<db_id>.sqlite`` / ``<db_id>.db`` under ``root``.

    When a db_id appears twice, the Spider layout ``<db_id>/<db_id>.sqlite``
    wins, then ``.sqlite`` over ``.db``, then the shorter path.
    """
    found: dict[str, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            stem, dot, suffix = name.rpartition(".")
            if dot and f".{suffix.lower()}" in SQLITE_SUFFIXES and stem:
                found.setdefault(stem, []).append(Path(dirpath) / name)

    def rank(p: Path) -> tuple:
        return (p.parent.name != p.stem, p.suffix.lower() != ".sqlite", len(p.parts), str(p))

    chosen = {}
    for db_id, paths in found.items():
        paths.sort(key=rank)
        if len(paths) > 1 and (str(root), db_id) not in _WARNED_DUPLICATES:
            _WARNED_DUPLICATES.add((str(root), db_id))
            others = ", ".join(str(p) for p in paths[1:])
            import logging  # here: a one-query command that warns of nothing never loads it

            logging.getLogger(__name__).warning(
                "db_id %s is found %d times under %s; using %s (not %s)",
                db_id, len(paths), root, paths[0], others,
            )  # fmt: skip
        chosen[db_id] = paths[0]
    return dict(sorted(chosen.items()))


def _plain_name(db_id: str) -> bool:
    """A db_id that names a folder right under a root: no path parts, not hidden."""
    return bool(db_id) and not db_id.startswith(".") and not any(c in db_id for c in "/\\\0")


def _remote(root: str | Path) -> str | None:
    if ":/" not in str(root):
        return None  # a plain path: the remote module stays unimported
    from sqlfoundry.db.remote import remote_url

    return remote_url(root)


class DatabaseManager:
    """Resolves db_ids to databases: SQLite files under a root, or a server.

    Args:
        root: a folder (or several) searched at any depth for SQLite files; a folder
            may be an fsspec URL (``s3://bucket/dbs``), copied into the local cache
            on first need (see :mod:`sqlfoundry.db.remote`).
        server: settings for a PostgreSQL or MySQL/MariaDB server.
        paths: explicit ``{db_id: file}`` entries, which win over the root.
    """

    def __init__(
        self,
        root: str | Path | Sequence[str | Path] | None = None,
        server: ServerSettings | None = None,
        paths: dict[str, str | Path] | None = None,
    ) -> None:
        given = [] if root is None else [root] if isinstance(root, (str, Path)) else list(root)
        # A root is a local folder or an fsspec URL (copied here on first need, on
        # every process that opens a database: see sqlfoundry.db.remote).
        self.sources: list[Path | str] = [_remote(r) or Path(r) for r in given]
        self.roots: list[Path] = [r for r in self.sources if isinstance(r, Path)]
        self.urls: list[str] = [r for r in self.sources if isinstance(r, str)]
        for folder in self.roots:
            if not folder.is_dir():
                raise ConfigError(f"database root {folder} is not a folder")
        self.root = self.roots[0] if self.roots and not self.urls else None
        self._folders: list[Path] | None = None if self.urls else self.roots
        self.server = server
        self._paths = {db_id: Path(path) for db_id, path in (paths or {}).items()}
        self._found: dict[str, Path] | None = None  # every file under the roots, once needed
        self._server_ids: list[str] | None = None
        self._schemas: dict[tuple[str, int], Schema] = {}

    @classmethod
    def for_file(cls, path: str | Path) -> DatabaseManager:
        """A manager holding one SQLite file; its db_id is the file's stem."""
        p = Path(path)
        return cls(paths={p.stem: p})

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        if self.urls:  # another machine makes its own copies
            state.update(_folders=None, _found=None)
        return state

    def folders(self) -> list[Path]:
        """The local folders searched, in order: the roots, with each URL's local copy."""
        if self._folders is None:
            from sqlfoundry.db.remote import local_copy

            self._folders = [local_copy(r) if isinstance(r, str) else r for r in self.sources]
        return self._folders

    def _server_db_ids(self) -> list[str]:
        if self.server is None:
            return []
        if self._server_ids is None:
            if self.server.databases is not None:
                self._server_ids = list(self.server.databases)
            else:
                probe = self.server.spec("")
                if self.server.kind == "postgres":
                    from sqlfoundry.db.postgres import list_databases
                else:
                    from sqlfoundry.db.mysql import list_databases
                self._server_ids = list_databases(probe)
        return self._server_ids

    @property
    def _files(self) -> dict[str, Path]:
        """db_id -> file: every SQLite file under the roots (walked on first need; the
        first root wins when two hold the same db_id), then the explicit paths."""
        if self._found is None:
            found: dict[str, Path] = {}
            for folder in reversed(self.folders()):
                found.update(find_sqlite_files(folder))
            found.update(self._paths)
            self._found = found
        return self._found

    def _file(self, db_id: str) -> Path | None:
        """The file of ``db_id``, without walking a single root when it is laid out as
        Spider's (``<root>/<db_id>/<db_id>.sqlite``, the layout that wins a tie)."""
        if db_id in self._paths:
            return self._paths[db_id]
        if self._found is None and self.root is not None and len(self.roots) == 1 \
                and _plain_name(db_id):  # fmt: skip
            root = self.root
            quick = root / db_id / f"{db_id}.sqlite"
            # A root itself named db_id may hold a shorter <db_id>.sqlite that would win.
            if root.name != db_id and quick.is_file():
                return quick
        return self._files.get(db_id)

    def db_ids(self) -> list[str]:
        """Every db_id, sorted: the SQLite files found and the server's databases."""
        return sorted(set(self._files) | set(self._server_db_ids()))

    def __contains__(self, db_id: str) -> bool:
        return self._file(db_id) is not None or db_id in self._server_db_ids()

    def spec(self, db_id: str) -> DatabaseSpec:
        """The spec for ``db_id``; raises DatabaseNotFoundError naming where it looked."""
        path = self._file(db_id)
        if path is not None:
            return DatabaseSpec(db_id=db_id, kind="sqlite", path=str(path))
        if self.server is not None and (
            self.server.databases is None or db_id in self.server.databases
        ):
            return self.server.spec(db_id)
        places = []
        if self.sources:
            places.append("under " + ", ".join(str(r) for r in self.sources))
        if self.server is not None:
            places.append(f"on the {self.server.kind} server {self.server.host}")
        where = " or ".join(places) or "(no database root or server configured)"
        raise DatabaseNotFoundError(f"unknown db_id {db_id!r}: no database {where}", db_id=db_id)

    def open(self, db_id: str) -> Database:
        """Open ``db_id`` (DatabaseNotFoundError naming where it looked)."""
        return open_database(self.spec(db_id))

    def schema(self, db_id: str, sample_values: int = 5) -> Schema:
        """Introspect ``db_id`` once and keep the result."""
        key = (db_id, sample_values)
        if key not in self._schemas:
            with self.open(db_id) as db:
                self._schemas[key] = db.introspect(sample_values=sample_values)
        return self._schemas[key]

    def specs(self, db_ids: Iterable[str]) -> dict[str, DatabaseSpec]:
        """The connection spec of each of ``db_ids``."""
        return {d: self.spec(d) for d in db_ids}
