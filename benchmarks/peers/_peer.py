"""What every peer runner shares: finding the peer's checkout, skipping when it is absent.

A runner never fetches anything: it takes the path of a checkout made beforehand
(see ``benchmarks/README.md``, "Peers") and says so when the path or one of the
peer's own packages is missing.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# Where ``make bench`` looks for the checkouts when no path is given: one folder
# per peer, named as below.
PEERS = Path(os.environ.get("SQLFOUNDRY_PEERS", "/tmp/peers"))
FOLDERS = {
    "test-suite": "test-suite-sql-eval",
    "bird": "mini_dev",
    "dataflow": "DataFlow",
}


class PeerMissing(Exception):
    """The peer's checkout, or a package its code imports, is not here."""


def checkout(name: str, given: str | Path | None = None, *, marker: str) -> Path:
    """The checkout of peer ``name`` (``given``, else ``$SQLFOUNDRY_PEERS/<folder>``).

    Raises:
        PeerMissing: no such folder, or it lacks ``marker`` (a file every checkout has).
    """
    path = Path(given) if given else PEERS / FOLDERS[name]
    if not (path / marker).is_file():
        raise PeerMissing(f"{name}: no checkout at {path} (no {marker}); its rows are skipped")
    return path


def need_modules(name: str, *modules: str) -> None:
    """Raise PeerMissing naming the first of ``modules`` that cannot be imported."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise PeerMissing(
                f"{name}: its code imports {module}, which is not installed "
                "(pip install -e '.[peers]'); its rows are skipped"
            )
