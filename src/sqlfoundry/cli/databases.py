"""The databases a command works on, from ``--db-root`` or ``--server``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlfoundry.cli.console import fail
from sqlfoundry.core.errors import SqlfoundryError


def database_manager(db_root: Path | None, server: str | None, password_env: str | None) -> Any:
    """The ``DatabaseManager`` for ``--db-root`` or ``--server``; fails when neither is given."""
    from sqlfoundry.db.manager import DatabaseManager, ServerSettings

    if db_root is None and server is None:
        fail("give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL")
    try:
        settings = ServerSettings.from_url(server, password_env=password_env) if server else None
        return DatabaseManager(root=db_root, server=settings)
    except SqlfoundryError as error:
        fail(error)
