"""The console entry's exit: what a normal exit does (threads waited for, exit handlers,
streams flushed, the status), without the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _leave_with(code: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        """
        import atexit, threading, time
        from sqlfoundry.cli.entry import leave
        atexit.register(lambda: print("exit handler ran"))
        worker = threading.Thread(target=lambda: (time.sleep(0.2), print("thread finished")))
        worker.start()
        print("x" * 200_000, end="")  # more than a pipe holds: must be flushed
        leave({code})
        print("never printed")
        """
    ).format(code=code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)  # fmt: skip


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("None", 0), ("3", 3), ("2", 2)])
def test_leave_waits_runs_handlers_flushes_and_keeps_the_status(code, status):
    done = _leave_with(code)
    assert done.returncode == status
    assert done.stdout == "x" * 200_000 + "thread finished\nexit handler ran\n"
    assert done.stderr == ""


def test_leave_with_a_message_prints_it_and_ends_with_status_1():
    done = _leave_with("'no such database: shop'")
    assert done.returncode == 1
    assert done.stderr == "no such database: shop\n"
    assert done.stdout.endswith("thread finished\nexit handler ran\n")


def test_the_command_leaves_with_its_status_and_output(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "sqlfoundry", "--help"], capture_output=True,
                        text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and "Usage" in ok.stdout
    missing = tmp_path / "absent.json"
    out = tmp_path / "out.jsonl"
    bad = subprocess.run([sys.executable, "-m", "sqlfoundry", "exec", str(missing), str(out),
                          "--db-root", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr == f"error: {missing}: no such file\n"
    assert not out.exists()


def test_a_profiled_command_exits_normally_so_the_profile_is_written(tmp_path):
    profile = tmp_path / "run.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m",
                           "sqlfoundry", "--help"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0 and "Usage" in done.stdout
    assert profile.stat().st_size > 0
