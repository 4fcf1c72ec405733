"""Database folders behind an fsspec URL (``s3://bucket/spider/database``, ``gs://...``,
``file:///shared/dbs``): SQLite files (and BIRD's ``database_description`` CSVs) copied
once into a local cache, then opened there.

SQLite cannot read a file through an object store, so each machine (each Ray node)
keeps a copy: ``<cache>/databases/<hash of the URL>/`` mirrors the URL's folder
tree. A file is fetched again only when its size or its modification stamp (mtime,
ETag, ...) changed; each file is downloaded to a temporary name and renamed into
place, so actors sharing a node never see half a file. The copies are read-only
inputs: sqlfoundry never writes to a database, here or at the source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.io import atomic_path, atomic_write_text
from sqlfoundry.db.manager import SERVER_SCHEMES, SQLITE_SUFFIXES

log = logging.getLogger(__name__)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/+(.*)$", re.S)
# The stamps object stores and file systems give for "this file changed".
_STAMP_KEYS = ("ETag", "etag", "md5Hash", "LastModified", "last_modified", "mtime", "updated")
MANIFEST = ".sqlfoundry-source.json"


def remote_url(root: str | Path) -> str | None:
    """The fsspec URL ``root`` names, or None for a local folder or a server URL.

    A ``Path`` has collapsed ``s3://b/x`` to ``s3:/b/x`` (typer gives options as
    paths), so the slashes are put back; a folder that exists here is always local.
    """
    text = str(root)
    match = _SCHEME.match(text)
    if not match or len(match.group(1)) == 1 or Path(text).exists():  # "C:/..." is a drive
        return None
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme.split("+")[0] in SERVER_SCHEMES:
        return None
    if scheme in ("file", "local"):
        return f"file:///{rest.lstrip('/')}"
    return f"{scheme}://{rest}"


def cache_folder(url: str, cache_dir: Path | None = None) -> Path:
    """Where this machine keeps the copy of ``url``'s databases."""
    from sqlfoundry.core.cachedir import cache_root

    base = Path(cache_dir) if cache_dir is not None else cache_root() / "databases"
    return base / hashlib.sha256(url.encode()).hexdigest()[:16]


def _filesystem(url: str) -> tuple[Any, str]:
    from sqlfoundry.core.extras import require

    fsspec = require("fsspec", "remote", f"database folders behind a URL ({url})")
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as error:  # the protocol's own package (s3fs, gcsfs, ...)
        raise ConfigError(f"cannot open {url}: {error}",
                          hint="install the fsspec package for that protocol") from None  # fmt: skip
    except (ValueError, OSError) as error:
        raise ConfigError(f"cannot open {url}: {error}") from None


def _stamp(info: dict[str, Any]) -> str:
    for key in _STAMP_KEYS:
        if info.get(key) is not None:
            return f"{key}={info[key]}"
    return ""


def _wanted(path: str) -> bool:
    """SQLite files, and BIRD's column descriptions beside them."""
    lowered = path.lower()
    if lowered.endswith(SQLITE_SUFFIXES):
        return True
    parts = lowered.rsplit("/", 2)
    return lowered.endswith(".csv") and len(parts) == 3 and parts[1] == "database_description"


def local_copy(url: str, cache_dir: Path | None = None) -> Path:
    """The local folder holding every SQLite file under ``url`` (fetched if new or changed).

    Raises:
        ConfigError: the URL cannot be listed, holds no SQLite file, or a file cannot
            be fetched (naming the file).
    """
    fs, base = _filesystem(url)
    try:
        found = fs.find(base, detail=True)
        if not found and not fs.exists(base):
            raise FileNotFoundError("no such folder")
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot list the databases under {url}: {error}") from None
    base = base.rstrip("/")
    files = {}
    for path, info in found.items():
        if info.get("type", "file") == "file" and _wanted(path):
            relative = path[len(base) :].lstrip("/") if path.startswith(base) else Path(path).name
            if relative and not relative.startswith(".") and ".." not in Path(relative).parts:
                files[relative] = info
    if not any(name.lower().endswith(SQLITE_SUFFIXES) for name in files):
        raise ConfigError(f"no <db_id>.sqlite or .db file under {url}")
    folder = cache_folder(url, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    try:
        known = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    fetched = 0
    for relative, info in sorted(files.items()):
        target = folder / relative
        mark = {"size": info.get("size"), "stamp": _stamp(info)}
        if known.get(relative) == mark and target.is_file():
            continue
        try:
            # Renamed into place when whole: actors sharing a node never see half a file.
            with atomic_path(target) as partial:
                fs.get_file(f"{base}/{relative}", str(partial))
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot fetch {url.rstrip('/')}/{relative}: {error}") from None
        known[relative] = mark
        fetched += 1
    stale = set(known) - set(files)
    for relative in stale:  # gone at the source: gone here
        (folder / relative).unlink(missing_ok=True)
        known.pop(relative)
    if fetched or stale:
        atomic_write_text(manifest_path, json.dumps(known, sort_keys=True))
        log.info("fetched %d database file(s) from %s into %s", fetched, url, folder)
    return folder
