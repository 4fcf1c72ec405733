"""The CLI's output: two consoles, markup escaping, the error exit, progress bars, logging.

Rich is imported only when it draws something a plain write cannot: a terminal
(colours, live bars) or a renderable such as a table. A line of markup sent to a
pipe or a file is written as rich would write it there, tags removed, so a
short command's start-up does not pay for rich (~20 ms of imports).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NoReturn

# A rich markup tag: ``[bold]``, ``[/]``, ``[bold red]``, ``[link=...]``; a backslash
# right before one makes it literal text.
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^\[]*?\])")

# Variables with which rich decides for itself whether it writes to a terminal.
_FORCED = frozenset({"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"})


def escape(text: str) -> str:
    """``text`` with every ``[...]`` that rich would read as a tag made literal."""

    def literal(found: re.Match[str]) -> str:
        slashes = found[1]
        return f"{slashes}{slashes}\\{found[2]}"

    text = _TAG.sub(literal, text)
    # A lone trailing backslash would escape whatever markup follows the text.
    if text.endswith("\\") and not text.endswith("\\\\"):
        text += "\\"
    return text


def plain(markup: str) -> str:
    """What rich writes for ``markup`` where there are no styles: tags gone, escapes undone."""

    def untag(found: re.Match[str]) -> str:
        slashes = found[1]
        kept = slashes[: len(slashes) // 2]
        return kept + found[2] if len(slashes) % 2 else kept

    return _TAG.sub(untag, markup)


class LazyConsole:
    """A rich ``Console`` on stdout or stderr, made on first need.

    ``print(text, highlight=False, soft_wrap=True)`` of a string to a stream that is
    not a terminal writes the plain text itself; anything else goes to rich.
    """

    def __init__(self, stderr: bool = False) -> None:
        self.stderr = stderr
        self._quiet = False
        self._file: Any = None
        self._rich: Any = None

    @property
    def quiet(self) -> bool:
        """With --json / -q: print nothing (rich's own printing included)."""
        return self._quiet

    @quiet.setter
    def quiet(self, value: bool) -> None:
        self._quiet = value
        if self._rich is not None:
            self._rich.quiet = value

    @property
    def file(self) -> Any:
        """The stream written to: the one set, else stderr or stdout as it is now (tests
        swap them)."""
        if self._file is not None:
            return self._file
        return sys.stderr if self.stderr else sys.stdout

    @file.setter
    def file(self, stream: Any) -> None:
        """Send the output elsewhere (None: back to the console's own stream)."""
        self._file = stream
        if self._rich is not None:
            self._rich.file = stream  # None: rich follows sys.stdout / sys.stderr again

    @property
    def is_terminal(self) -> bool:
        """Whether the stream is a terminal, as rich would judge it."""
        if self._rich is not None or _FORCED.intersection(os.environ):
            return bool(self.rich.is_terminal)
        isatty = getattr(self.file, "isatty", None)
        return bool(isatty and isatty())

    @property
    def rich(self) -> Any:
        """The rich Console itself."""
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=self.stderr, file=self._file, quiet=self._quiet)
        return self._rich

    def print(self, *objects: Any, highlight: bool | None = None, soft_wrap: bool = False,
              **options: Any) -> None:  # fmt: skip
        """rich's ``Console.print``; a plain write when rich would add nothing."""
        if self.quiet:
            return
        simple = (len(objects) == 1 and isinstance(objects[0], str) and not options
                  and highlight is False and soft_wrap)  # fmt: skip
        if simple and not self.is_terminal:
            stream = self.file
            stream.write(plain(objects[0]) + "\n")
            stream.flush()
            return
        self.rich.print(*objects, highlight=highlight, soft_wrap=soft_wrap, **options)

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        """A table whose first column is text and the others figures: rich's on a
        terminal, elsewhere plain columns (figures to the right) under a rule."""
        if self.quiet:
            return
        if self.is_terminal:
            from rich.table import Table

            table = Table(title=title, title_justify="left")
            for i, header in enumerate(headers):
                table.add_column(header, justify="right" if i else "left")
            for row in rows:
                table.add_row(*row)
            self.rich.print(table)
            return
        widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

        def line(cells: list[str]) -> str:
            first, *rest = cells
            return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in
                                                         zip(rest, widths[1:], strict=True))])  # fmt: skip

        text = [title, line(headers), "  ".join("-" * w for w in widths), *map(line, rows)]
        self.file.write("\n".join(text) + "\n")
        self.file.flush()

    def __getattr__(self, name: str) -> Any:
        # rule(), status(), width... are rich's.
        return getattr(self.rich, name)


out = LazyConsole()  # human summaries on stdout (stderr while stdout carries data or JSON)
err = LazyConsole(stderr=True)  # progress, tables and "wrote ..." lines: off with --json / -q
alerts = LazyConsole(stderr=True)  # errors, warnings and log records: never off


def fail(error: Exception | str, code: int = 2) -> NoReturn:
    """Print one error line and leave with ``code``."""
    alerts.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def warn(text: str) -> None:
    """One warning line on stderr (shown with -q and --json too)."""
    alerts.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


class _NoProgress:
    """What a progress bar does where nobody sees it: nothing."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    task_ids = (0,)
    tasks = ()

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        return None

    def update(self, task: int, **fields: Any) -> None:
        return None


def progress_bar(description: str, total: int) -> tuple[Any, Any]:
    """A rich progress bar on stderr (nothing when stderr is not a terminal) and its advance()."""
    progress = steps_progress(unit="") if err.is_terminal and not err.quiet else _NoProgress()
    task = progress.add_task(description, total=total)
    return progress, lambda n: progress.advance(task, n)


def steps_progress(description: str = "[bold]{task.description}", unit: str = "batches") -> Any:
    """Rich progress bars on stderr: what runs, its bar, ``N/M unit`` done, the time spent
    and the time left (off when stderr is not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    TextColumn(unit), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err.rich, transient=False,
                    disable=err.quiet or not err.is_terminal)  # fmt: skip


def setup_logging(verbose: bool, *, when_imported: bool = False) -> None:
    """Log records to stderr: debug with ``--verbose``, else warnings; through rich on a
    terminal, as plain ``LEVEL message`` lines elsewhere.

    ``when_imported``: configure once something imports :mod:`logging`, not now. Its
    import (traceback, tokenize, threading: ~7 ms) is a good part of what a one-query
    ``exec`` pays above bare Python, and such a command usually logs nothing.
    """
    if when_imported and "logging" not in sys.modules:
        sys.meta_path.insert(0, _ConfigureOnImport(verbose))
        return
    import logging

    _configure(logging, verbose)


def _configure(logging: Any, verbose: bool) -> None:
    if alerts.is_terminal:
        from rich.logging import RichHandler

        handler = RichHandler(console=alerts.rich, show_path=False, show_time=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    # sqlglot warns on every statement it falls back on; our own messages say more.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


class _ConfigureOnImport:
    """An import finder that lets :mod:`logging` load as usual, then configures it
    before whoever imported it can log."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module
        verbose = self.verbose

        def load_and_configure(module: Any) -> None:
            load(module)
            _configure(module, verbose)

        spec.loader.exec_module = load_and_configure  # type: ignore[method-assign]
        return spec
