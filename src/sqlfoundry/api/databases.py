"""What the API accepts as "the databases": a folder, a file, a server URL or a manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.db.manager import SQLITE_SUFFIXES, DatabaseManager, ServerSettings

Databases = str | Path | DatabaseManager


def open_databases(databases: Any, *, password_env: str | None = None) -> DatabaseManager:
    """A ``DatabaseManager`` for ``databases``.

    Args:
        databases: a folder searched at any depth for ``<db_id>.sqlite`` /
            ``<db_id>.db`` files (the Spider layout works as it is); one SQLite
            file (its stem is the db_id); a server URL
            (``postgresql://user@host:port`` or ``mysql://...``: each database
            on it is a db_id); an fsspec URL of a folder (``s3://bucket/dbs``,
            copied into the local cache on first need); or a ``DatabaseManager``,
            used as it is.
        password_env: for a server, the environment variable holding its password.

    Raises:
        ConfigError: none of these, or a folder or file that does not exist.
    """
    if isinstance(databases, DatabaseManager):
        return databases
    if databases is None:
        raise ConfigError("no databases given", hint="pass a folder, a SQLite file or a server URL")
    if not isinstance(databases, (str, Path)):
        raise ConfigError(
            f"databases must be a folder, a SQLite file, a server URL or a DatabaseManager, "
            f"not {type(databases).__name__}"
        )
    text = str(databases)
    if "://" in text:
        from sqlfoundry.db.remote import remote_url

        if remote_url(text):
            return DatabaseManager(root=text)
        return DatabaseManager(server=ServerSettings.from_url(text, password_env=password_env))
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix.lower() not in SQLITE_SUFFIXES:
            raise ConfigError(
                "not a SQLite database file", file=str(path), hint="name it <db_id>.sqlite or .db"
            )
        return DatabaseManager.for_file(path)
    if not path.is_dir():
        raise ConfigError(f"no such folder or file: {path}")
    return DatabaseManager(root=path)
