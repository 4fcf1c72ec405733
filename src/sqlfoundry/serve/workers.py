"""Several gateway processes on one port: ``sqlfoundry serve --workers N``.

uvicorn's supervisor starts N worker processes that accept on the same socket;
each builds the app from the same checked config (:func:`app_from_environment`),
passed down in an environment variable, never in a file, since it may hold API
keys. What they share, and how:

- API keys: every process reads the same config and the same key variables;
- the rate limit per key: one SQLite file of buckets in a private temporary
  folder (:class:`sqlfoundry.serve.limits.SharedRateLimiter`), so a key has its
  limit once in all, not once per process;
- a ``local`` service's index: built by each process for itself (reading the
  pair cache on disk when an earlier run wrote it);
- nothing else: upstream connections, the preview runner's databases and the
  garbage-collector freeze are each process's own.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The environment variable carrying the config to the worker processes.
SPEC_ENV = "SQLFOUNDRY_GATEWAY_SPEC"


def app_from_environment() -> Any:
    """The app of one worker process, from ``$SQLFOUNDRY_GATEWAY_SPEC`` (uvicorn's factory)."""
    from sqlfoundry.serve.app import create_app
    from sqlfoundry.serve.config import load_gateway_config

    spec = json.loads(os.environ[SPEC_ENV])
    config = load_gateway_config(spec["data"], base_dir=Path(spec["base_dir"]),
                                 source=spec["source"])  # fmt: skip
    limits = spec.get("limits")
    return create_app(config, shared_limits=Path(limits) if limits else None)


def serve_workers(data: Mapping[str, Any], *, base_dir: Path, source: str | None, host: str,
                  port: int, workers: int, log_level: str, access_log: bool) -> None:  # fmt: skip
    """Serve the gateway of ``data`` (a checked config document) with ``workers`` processes
    until interrupted."""
    import uvicorn

    folder = Path(tempfile.mkdtemp(prefix="sqlfoundry-gateway-"))  # private: mode 0700
    spec = {"data": data, "base_dir": str(base_dir), "source": source,
            "limits": str(folder / "limits.sqlite")}  # fmt: skip
    os.environ[SPEC_ENV] = json.dumps(spec, default=str)
    try:
        uvicorn.run("sqlfoundry.serve.workers:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level=log_level, access_log=access_log,
                    timeout_keep_alive=30, server_header=False)  # fmt: skip
    finally:
        os.environ.pop(SPEC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
