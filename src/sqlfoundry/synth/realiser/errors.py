"""The one error the realiser raises on purpose."""

from __future__ import annotations

from sqlfoundry.core.errors import SqlfoundryError


class RealiseError(SqlfoundryError):
    """A query the realiser cannot put into English (the message says why)."""
