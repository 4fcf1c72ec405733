"""The console entry point, with a fast path for the commands people run in loops.

``sqlfoundry exec`` and ``sqlfoundry eval`` are often run on a handful of items, where
importing typer (and the pydantic it builds its options with) costs more than the
work. Their arguments are read here from a table of the options they declare; the
first thing the table does not cover (``--help``, a global option, an unknown or
malformed value, a missing argument) hands the whole command line to typer, which
answers as always. ``tests/cli/test_entry.py`` holds the table to the typer commands'
own declarations.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

_INT = re.compile(r"[+-]?\d+")


def _int(text: str) -> int:
    if not _INT.fullmatch(text.strip()):
        raise ValueError(text)
    return int(text)


def _choice(*values: str) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if text not in values:
            raise ValueError(text)
        return text

    convert.choices = values  # type: ignore[attr-defined]
    return convert


# NamedTuple rather than a dataclass: dataclasses imports inspect (~8 ms of start-up).
class Param(NamedTuple):
    """One argument or option of a command as typer declares it.

    ``flags`` empty: a positional argument. ``default`` is used when neither the
    command line nor ``envvar`` gives a value; ``required`` ones must be given.
    """

    name: str
    convert: Callable[[str], Any]
    flags: tuple[str, ...] = ()
    default: Any = None
    envvar: str | None = None
    required: bool = False


_DATABASES = (
    Param("db_root", Path, ("--db-root",), envvar="SQLFOUNDRY_DB_ROOT"),
    Param("server", str, ("--server",), envvar="SQLFOUNDRY_DB_SERVER"),
    Param("db_password_env", str, ("--db-password-env",)),
)

COMMANDS: dict[str, tuple[Param, ...]] = {
    "exec": (
        Param("input_path", Path, required=True),
        Param("output", Path, required=True),
        *_DATABASES,
        Param("timeout", float, ("--timeout",), default=30.0),
        Param("workers", _int, ("--workers",), default=os.cpu_count() or 1),
        Param("max_rows", _int, ("--max-rows",), default=20),
    ),
    "eval": (
        Param("pred", Path, ("--pred",), required=True),
        Param("gold", Path, ("--gold",)),
        Param("bench", str, ("--bench",)),
        *_DATABASES,
        Param("mode", _choice("spider", "bird", "strict"), ("--mode",)),
        Param("metrics", str, ("--metrics",), default="ex"),
        Param("tables", Path, ("--tables",)),
        Param("out", Path, ("--out",)),
        Param("items_path", Path, ("--items",)),
        Param("html", Path, ("--html",)),
        Param("workers", _int, ("--workers",), default=os.cpu_count() or 1),
        Param("timeout", float, ("--timeout",), default=30.0),
        Param("ves_iterations", _int, ("--ves-iterations",), default=100),
        Param("dialect", str, ("--dialect",), default="sqlite"),
        Param("executor", _choice("local", "ray"), ("--executor",)),
        Param("ray_address", str, ("--ray-address",)),
        Param("run_dir", Path, ("--run-dir",)),
    ),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """``(command, values)`` for a command line the fast path takes; None hands it to typer."""
    if not argv or argv[0] not in COMMANDS:
        return None
    params = COMMANDS[argv[0]]
    by_flag = {flag: p for p in params for flag in p.flags}
    positional = [p for p in params if not p.flags]
    given: dict[str, str] = {}
    args = argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and arg != "-":
            flag, eq, value = arg.partition("=")
            param = by_flag.get(flag)
            if param is None:
                return None  # --help, an unknown option, "--": typer says what to do
            if not eq:
                if i + 1 >= len(args):
                    return None
                i += 1
                value = args[i]
            given[param.name] = value
        else:
            if not positional:
                return None
            given[positional.pop(0).name] = arg
        i += 1
    values: dict[str, Any] = {}
    for param in params:
        text = given.get(param.name)
        if text is None and param.envvar:
            text = os.environ.get(param.envvar) or None
        if text is None:
            if param.required:
                return None
            values[param.name] = param.default
            continue
        try:
            values[param.name] = param.convert(text)
        except ValueError:
            return None
    return argv[0], values


def _run(command: str, values: dict[str, Any]) -> None:
    from sqlfoundry.cli.console import setup_logging
    from sqlfoundry.cli.scripting import OUTPUT_PARAMETERS, check_inputs

    setup_logging(False, when_imported=True)
    check_inputs(**{k: v for k, v in values.items() if k not in OUTPUT_PARAMETERS})
    if command == "exec":
        from sqlfoundry.cli.exec_command import run_exec

        run_exec(values.pop("input_path"), values.pop("output"), values.pop("db_root"),
                 values.pop("server"), values.pop("db_password_env"), **values)  # fmt: skip
    else:
        from sqlfoundry.cli.eval_command import run_eval

        values["report_path"] = values.pop("out")
        run_eval(values.pop("pred"), values.pop("gold"), values.pop("bench"),
                 values.pop("db_root"), values.pop("server"), values.pop("db_password_env"),
                 **values)  # fmt: skip


def stop_like_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM (kill, a scheduler, a container stop) unwinds the run as Ctrl-C does:
    worker pools are closed and partial output is left as checkpoints, not torn."""
    raise KeyboardInterrupt


def main() -> None:
    """The ``sqlfoundry`` command: a library error anywhere ends in one line, exit code 2;
    a reader that closes the pipe early (``| head``) ends it quietly, as SIGPIPE would.
    A command that has ended (well or with its error) leaves through :func:`leave`."""
    import signal

    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    if sys.argv[1:] == ["--version"]:
        from sqlfoundry import __version__

        print(f"sqlfoundry {__version__}")
        return
    fast = parse(sys.argv[1:])
    try:
        if fast is None:
            from sqlfoundry.cli.main import app

            guarded(app)
        else:
            guarded(lambda: _run(*fast))
    except SystemExit as stop:
        if _watched():
            raise
        leave(stop.code)
    if not _watched():
        leave(0)


def _watched() -> bool:
    """Whether a profiler or a tracer (cProfile, coverage, a debugger) watches the process:
    it writes what it found at the normal exit, so the command does not :func:`leave`."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+: coverage's own hooks
    return monitoring is not None and any(monitoring.get_tool(i) for i in range(6))


def leave(code: object) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, without the interpreter's teardown.

    Running threads are waited for, the exit handlers run (logging's, Ray's, the worker
    pools') and both streams are flushed, as at a normal exit; then the process ends
    without freeing every module and object one by one, which takes 0.1-0.25 s after a
    synthesis run (its imports alone: sqlglot, pydantic, aiohttp...) and does nothing a
    finished command needs."""
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, the status is 1
        sys.stderr.write(f"{code}\n")
        status = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what a normal exit waits for
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader left: the shell's status for SIGPIPE
            status = status or 141
        except (OSError, ValueError):  # a full disk, a closed stream: Python's own status
            status = status or 120
    os._exit(status & 0xFF)


def guarded(command: Callable[[], Any]) -> None:
    """Run ``command`` as the console entry point does (see :func:`main`)."""
    from sqlfoundry.cli.console import fail
    from sqlfoundry.core.errors import SqlfoundryError

    try:
        try:
            command()
        finally:
            sys.stdout.flush()  # here, so a closed pipe is seen now and not at exit
    except SqlfoundryError as error:
        fail(error)  # one line, exit code 2
    except BrokenPipeError:
        stdout_closed()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM on the fast path: what typer prints
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except SystemExit:
        # typer (its own copy of click) met the closed pipe first and wrapped stdout.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            stdout_closed()
        raise


def stdout_closed() -> None:
    """A reader closed the pipe early (``| head``): nothing more can reach it, so stdout
    goes to /dev/null (the final flush cannot raise again) and the exit code is the
    shell's for "killed by SIGPIPE"."""
    import signal

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(128 + signal.SIGPIPE)
