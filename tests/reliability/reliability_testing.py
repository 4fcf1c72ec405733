"""Helpers for the reliability suite: the CLI as a subprocess with a private
environment, and the process tree of a running command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

CLI = Path(sys.executable).with_name("sqlfoundry")


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: caches and HOME under ``tmp_path``."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "SQLFOUNDRY_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    env.update(extra)
    return env


def sqlfoundry(*args: str, env: dict[str, str], timeout: float = 240, cwd: Path | None = None):
    """Run the CLI to its end (a hang fails at ``timeout``)."""
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)  # fmt: skip


def descendants(pid: int) -> set[int]:
    """Every live process started by ``pid``, at any depth."""
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
