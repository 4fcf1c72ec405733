"""Shared helpers for the benchmarks: data location, timing, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SQLFOUNDRY_SHARED", REPO.parent / "shared"))
SPIDER = SHARED / "benchmarks" / "spider"


def _compile_sources() -> None:
    """Byte-compile sqlfoundry as an install does, so start-up figures never include
    compiling source that changed (with PYTHONDONTWRITEBYTECODE set, nothing would
    write the .pyc files and every command would compile its modules again)."""
    import compileall

    compileall.compile_dir(REPO / "src", quiet=2)


_compile_sources()


def _private_cache() -> None:
    """Give this benchmark's sqlfoundry runs a cache folder of their own, removed at exit
    (a cache the caller set is kept): a benchmark neither reads what the user's cache
    holds nor leaves anything in it."""
    if os.environ.get("SQLFOUNDRY_CACHE_DIR"):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="sqlfoundry-bench-cache-")
    os.environ["SQLFOUNDRY_CACHE_DIR"] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


_private_cache()


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data missing: {path} (set SQLFOUNDRY_SHARED to the shared folder)")
    return path


def spider_dev_gold() -> list[tuple[str, str]]:
    """The 972 runnable Spider dev gold queries as (sql, db_id)."""
    lines = need(SPIDER / "dev_without_wta_1_gold.sql").read_text().splitlines()
    return [tuple(line.rsplit("\t", 1)) for line in lines if line.strip()]  # type: ignore[misc]


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, list[float]]:
    """Median wall seconds of ``repeat`` runs, and all the runs."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (user + system), to the
    microsecond (``os.times`` counts in clock ticks: 10 ms, a tenth of a short command)."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def side_by_side(
    runners: dict[str, Callable[[], object]],
    repeat: int = 5,
    cpu: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Wall seconds of every runner, ``repeat`` rounds, the runners taking turns in each
    round, so a change in the machine's load falls on all of them alike. ``cpu``, when
    given, gets each run's CPU seconds (this process and the children it waited for):
    steadier than wall time when other jobs share the cores."""
    runs: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, fn in runners.items():
            cpu_start, start = cpu_seconds(), time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
            if cpu is not None:
                cpu.setdefault(name, []).append(cpu_seconds() - cpu_start)
    return runs


def spread(runs: list[float]) -> str:
    """``median (min-max, n runs)`` of wall seconds."""
    return (f"{statistics.median(runs):.3f} s ({min(runs):.3f}-{max(runs):.3f}, "
            f"{len(runs)} runs)")  # fmt: skip


def load() -> str:
    """The load average (1, 5, 15 minutes): how busy the shared machine was."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()} · {os.cpu_count()} cores · {cpu} · Python {platform.python_version()}"
    )


def demo_dbs() -> Path:
    """The demo databases under ``examples/demo_dbs``, built first when missing."""
    demo = REPO / "examples" / "demo_dbs"
    if not (demo / "clinic" / "clinic.sqlite").exists():
        subprocess.run([sys.executable, str(REPO / "examples" / "build_demo_dbs.py"), "--out",
                        str(demo)], check=True, capture_output=True)  # fmt: skip
    return demo
