"""Scripting the CLI: ``--json``, ``-q``, ``-`` and output paths checked before any work.

``--json``: one JSON object on stdout and nothing else there; ``-q``: no summary, no
progress. Errors, warnings and log records go to stderr either way. Importable without
typer, so the fast path of :mod:`sqlfoundry.cli.entry` shares it with the typer commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlfoundry.cli.console import err, escape, fail, out


class _Mode:
    json = False
    quiet = False


mode = _Mode()


def set_mode(json_out: bool = False, quiet: bool = False) -> None:
    """Switch the consoles for ``--json`` / ``-q`` (and back: every command starts here)."""
    mode.json, mode.quiet = json_out, quiet
    out.quiet = err.quiet = json_out or quiet
    out.file = None  # whatever sys.stdout is now


def emit(command: str, payload: dict[str, Any]) -> None:
    """With ``--json``: ``{"command": ..., **payload}`` as one line on stdout."""
    if mode.json:
        text = json.dumps({"command": command, **payload}, ensure_ascii=False, default=str)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def wrote(path: Path | str, console: Any = None) -> None:
    """The "wrote PATH" line of a summary (stderr unless told; "standard output" for ``-``)."""
    name = "standard output" if str(path) == "-" else str(path)
    (console or err).print(f"wrote {escape(name)}", highlight=False, soft_wrap=True)


def check_outputs(
    files: dict[str, Path | None] | None = None, folders: dict[str, Path | None] | None = None
) -> list[str]:
    """Check every output path before any work starts; fail with one line naming the first
    that cannot be written. Keys are the options (``--out``) for the messages.

    Returns the paths as the JSON summary lists them. When a file output is ``-`` the
    human summary moves to stderr, and ``--json`` is refused (both want stdout).
    """
    from sqlfoundry.core.errors import OutputError
    from sqlfoundry.core.io import check_output, is_stdio

    files = {k: v for k, v in (files or {}).items() if v is not None}
    folders = {k: v for k, v in (folders or {}).items() if v is not None}
    to_stdout = [k for k, v in files.items() if is_stdio(v)]
    if len(to_stdout) > 1:
        fail(f"only one output can go to standard output ('-'): {', '.join(to_stdout)}")
    if to_stdout and mode.json:
        fail(f"{to_stdout[0]} - and --json both write to standard output; give a file to one")
    checks = [(k, v, False) for k, v in files.items()] + [(k, v, True) for k, v in folders.items()]
    for name, path, folder in checks:
        try:
            check_output(path, folder=folder)
        except OutputError as error:  # named by its option: "--out runs/x: ..."
            fail(OutputError(error.message, file=f"{name} {error.file}"))
    if to_stdout:
        out.file = sys.stderr
    return [str(p) for p in [*files.values(), *folders.values()]]


# The parameters of the commands that name outputs; every other path may be an input.
OUTPUT_PARAMETERS = frozenset({"out", "output", "out_dir", "run_dir", "items_path", "html"})
_INPUT_NAMES = {"input_path": "the input file", "file": "FILE", "source": "SOURCE"}


def check_inputs(**values: Any) -> None:
    """Standard input can be read once: fail when two input paths are ``-``."""
    from sqlfoundry.core.io import is_stdio

    dashes = [_INPUT_NAMES.get(k, "--" + k.replace("_", "-")) for k, v in values.items()
              if isinstance(v, Path) and is_stdio(v)]  # fmt: skip
    if len(dashes) > 1:
        fail(f"only one input can be read from standard input ('-'): {', '.join(dashes)}")


def executor_settings(file_config: dict[str, Any], kind: Any, address: str | None) -> Any:
    """The ``[executor]`` section with ``--executor`` / ``--ray-address`` on top (None: local)."""
    from sqlfoundry.core.errors import SqlfoundryError
    from sqlfoundry.core.executors import ExecutorSettings

    kind = getattr(kind, "value", kind)  # the typer enum or the fast path's text
    try:
        return ExecutorSettings.from_sources(file_config.get("executor"),
                                             {"kind": kind, "address": address})  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
