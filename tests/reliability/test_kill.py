"""kill -9 and SIGTERM of `synth`, `exec`, `eval` and `serve`: no child survives.

Each command is started, watched until its worker processes exist (then its
signal handlers are in place too), signalled, and every descendant seen while
it ran must be gone shortly after. Workers learn of a dead parent from the
kernel (PR_SET_PDEATHSIG) or by polling getppid; SIGTERM unwinds like Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from reliability_testing import CLI, alive, cli_env, descendants, wait_until

pytestmark = pytest.mark.timeout(180)

# A query that runs for seconds on any SQLite file, read-only.
SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000000) "
        "SELECT count(*) FROM c")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(kind: str, root: Path, tmp: Path) -> tuple[list[str], int]:
    """The command line, and how many children to wait for before signalling."""
    if kind == "synth":
        return ([str(CLI), "synth", "--db-root", str(root), "--num-per-db", "2000", "--workers",
                 "2", "--seed", "3", "--out", str(tmp / "run")], 2)  # fmt: skip
    if kind in ("exec", "eval"):
        lines = [f"{SLOW}\t{db}" for db in ("bookshop", "clinic", "airline") * 4]
        (tmp / "q.sql").write_text("\n".join(lines) + "\n")
        if kind == "exec":
            return ([str(CLI), "exec", str(tmp / "q.sql"), str(tmp / "out.jsonl"), "--db-root",
                     str(root), "--workers", "2", "--timeout", "120"], 1)  # fmt: skip
        (tmp / "pred.sql").write_text("\n".join(line.split("\t")[0] for line in lines) + "\n")
        return ([str(CLI), "eval", "--gold", str(tmp / "q.sql"), "--pred", str(tmp / "pred.sql"),
                 "--db-root", str(root), "--workers", "2", "--timeout", "120"], 1)  # fmt: skip
    port = _free_port()
    return ([str(CLI), "serve", "--db-root", str(root), "--no-auth", "--port", str(port)], port)


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
            return "status" in json.loads(reply.read())
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
@pytest.mark.parametrize("kind", ["synth", "exec", "eval", "serve"])
def test_no_child_survives_the_command(kind, sig, demo_root: Path, tmp_path: Path):
    command, wanted = _command(kind, demo_root, tmp_path)
    proc = subprocess.Popen(command, env=cli_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    seen: set[int] = set()
    try:

        def ready() -> bool:
            seen.update(descendants(proc.pid))
            if proc.poll() is not None:
                return True
            if kind == "serve":
                return _serving(wanted)
            return len(alive(seen)) >= wanted

        assert wait_until(ready, 120, step=0.02), f"{kind} never started its workers"
        assert proc.poll() is None, f"{kind} ended before the signal: {proc.stderr.read()}"
        seen.update(descendants(proc.pid))
        proc.send_signal(sig)
        proc.wait(timeout=60)  # SIGTERM must stop it, as Ctrl-C would
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        stderr = proc.stderr.read()
        assert "Traceback" not in stderr, stderr
    assert wait_until(lambda: not alive(seen), 20), f"{kind}: orphans left: {alive(seen)}"


def test_sigterm_leaves_a_synth_run_that_resumes(demo_root: Path, tmp_path: Path):
    """After SIGTERM mid-run the same command finishes from the checkpoints."""
    command = [str(CLI), "synth", "--db-root", str(demo_root), "--num-per-db", "40", "--workers",
               "2", "--seed", "4", "--out", str(tmp_path / "run")]  # fmt: skip
    proc = subprocess.Popen(command, env=cli_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        steps = tmp_path / "run" / "steps"
        assert wait_until(lambda: proc.poll() is not None or any(steps.glob("*/rejects-*")), 120)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    again = subprocess.run(command, env=cli_env(tmp_path), capture_output=True, text=True,
                           timeout=240)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "run" / "data.jsonl").read_text().count("\n") > 0


def test_ctrl_c_during_an_in_process_sqlite_query_stops_the_run(demo_root: Path):
    """sqlite3 turns an exception of the progress handler (where Ctrl-C lands while a
    query runs) into "interrupted"; it must come back out as KeyboardInterrupt, not as
    one failed query of a run that then goes on."""
    import os
    import threading

    from sqlfoundry.cli.entry import stop_like_ctrl_c
    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.db.pool import SafeExecutor

    # SIGTERM as the CLI handles it (SIGINT may be ignored: a background job's is).
    previous = signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    try:
        with SafeExecutor(DatabaseManager(root=demo_root), workers=0, timeout=120) as executor:
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
            with pytest.raises(KeyboardInterrupt):
                executor.run([(SLOW, "bookshop")] * 3)
    finally:
        signal.signal(signal.SIGTERM, previous)
