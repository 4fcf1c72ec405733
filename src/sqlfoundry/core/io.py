"""Reading record files line by line, and writing output files safely.

Readers never stop at a bad line: they yield an InputError naming file:line in
its place, so callers can count it, report it, and keep every other record.

``-`` is standard input for every reader and standard output for every writer.
Writers replace a regular file atomically (a temporary file renamed over it; for a
symlink, over the file it points to, so the link stays); a path that exists and is
not a regular file (``/dev/stdout``, a FIFO, a terminal), or that reaches a file
through /dev or /proc (``/dev/stdout`` redirected to a file), is written through,
never replaced.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from sqlfoundry.core.errors import InputError, OutputError

STDIO = "-"
"""The path that means standard input (readers) or standard output (writers)."""


class Line(NamedTuple):
    """One input record with where it came from; ``error`` is set instead of ``data`` when bad."""

    file: str
    line: int
    data: dict[str, Any] | None = None
    error: InputError | None = None


def _private_file(folder: Path, prefix: str, suffix: str) -> str:
    """Create a new empty file readable by its owner only, as ``tempfile.mkstemp`` does
    (whose import, with ``random``'s, is a good part of a small command's start-up)."""
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return name
    raise FileExistsError(f"no free temporary name in {folder}")


def is_stdio(path: str | Path | None) -> bool:
    """Whether ``path`` is ``-`` (standard input or output)."""
    return path is not None and str(path) == STDIO


def input_name(path: str | Path) -> str:
    """How errors name an input: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if is_stdio(path) else str(path)


def is_jsonl_path(path: str | Path) -> bool:
    """Whether ``path`` is read as JSON lines (``.jsonl``, ``.ndjson`` or ``.json``).

    Standard input is JSON when its first non-blank character opens an object or a list.
    """
    if is_stdio(path):
        return read_text(path).lstrip()[:1] in ("{", "[")
    return Path(path).suffix.lower() in (".jsonl", ".json", ".ndjson")


def read_jsonl(path: str | Path) -> Iterator[Line]:
    """Yield one Line per non-blank line of a JSONL file (or a JSON list file)."""
    path = Path(path)
    name = input_name(path)
    text = read_text(path)
    as_list = is_stdio(path) or path.suffix.lower() == ".json"
    if as_list and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            yield Line(
                name,
                err.lineno,
                error=InputError(f"invalid JSON: {err.msg}", file=name, line=err.lineno),
            )
            return
        for i, item in enumerate(items, start=1):
            if isinstance(item, dict):
                yield Line(name, i, data=item)
            else:
                yield Line(
                    name, i, error=InputError("item is not a JSON object", file=name, line=i)
                )
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as err:
            yield Line(
                name, number, error=InputError(f"invalid JSON: {err.msg}", file=name, line=number)
            )
            continue
        if not isinstance(item, dict):
            yield Line(
                name, number, error=InputError("line is not a JSON object", file=name, line=number)
            )
            continue
        yield Line(name, number, data=item)


def read_gold(path: str | Path) -> Iterator[Line]:
    """Yield ``{"SQL", "db_id"}`` per line of a Spider gold file (``SQL<TAB>db_id``).

    Blank lines are skipped, as the official scorers do.
    """
    path = Path(path)
    name = input_name(path)
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        sql, tab, db_id = raw.rpartition("\t")
        if not tab or not sql.strip() or not db_id.strip():
            yield Line(
                name, number, error=InputError("expected 'SQL<TAB>db_id'", file=name, line=number)
            )
            continue
        yield Line(name, number, data={"SQL": sql.strip(), "db_id": db_id.strip()})


def read_records(path: str | Path) -> Iterator[Line]:
    """JSONL / JSON by suffix, otherwise a Spider gold file."""
    return read_jsonl(path) if is_jsonl_path(path) else read_gold(path)


def sql_of(record: dict[str, Any]) -> str | None:
    """The SQL of a record, under any of the names the common formats use."""
    for key in ("SQL", "sql", "query"):
        value = record.get(key)
        if isinstance(value, str):
            return value
    return None


def read_text(path: str | Path) -> str:
    """A UTF-8 text file (``-``: standard input, read once and kept); InputError naming the
    file when it is missing or unreadable."""
    if is_stdio(path):
        return _stdin_text()
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file: {err}", file=str(path)) from err


# Standard input's text once read, by the stream it came from: one command's readers may
# look at it twice (sniffing the format, tables.json read by two scorers).
_stdin: list[tuple[Any, str]] = []


def _stdin_text() -> str:
    stream = sys.stdin
    if not _stdin or _stdin[0][0] is not stream:
        try:
            data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except (OSError, UnicodeDecodeError, AttributeError, ValueError) as err:
            raise InputError(f"cannot read standard input: {err}", file="<stdin>") from err
        _stdin[:] = [(stream, text)]
    return _stdin[0][1]


# --------------------------------------------------------------------------- writers


def _umask() -> int:
    # Linux tells it without changing it (os.umask would, for every thread).
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target(path: str | Path) -> Path:
    """The file a write to ``path`` lands in: a symlink's target (the link stays a link)."""
    return Path(os.path.realpath(path))


def _is_stream(path: str | Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder (a device, FIFO,
    socket): such a path is written through, never renamed over.

    Asked of the path as given, following links the way open() does: ``/dev/stdout`` on a
    pipe resolves to ``/proc/self/fd/pipe:[N]``, a name that is no file, yet opens fine.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        return False
    return not stat.S_ISREG(mode) or _names_an_open_file(path)


def _names_an_open_file(path: str | Path) -> bool:
    """Whether ``path`` or a link on the way is under /dev or /proc (``/dev/stdout``,
    ``/dev/fd/3``): when it lands on a regular file, that file is one a process has open
    (``> report.txt``), written through its name rather than replaced behind its back."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if current.startswith(("/dev/", "/proc/")):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return False


def _write_failed(path: str | Path, err: OSError) -> OutputError:
    return OutputError(f"cannot write: {err.strerror or err}", file=str(path))


def _reraise(path: str | Path, err: OSError) -> None:
    # A closed pipe (``| head``) is not the path's fault: the CLI ends quietly on it.
    if isinstance(err, BrokenPipeError) or err.errno == errno.EPIPE:
        raise err
    raise _write_failed(path, err) from err


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A file name to write ``path``'s content to, for writers that want a name (pyarrow, ...).

    For a regular file (or a new one, or a symlink's target) it is a temporary file in the
    same folder, renamed over the target when the block ends without error and removed
    otherwise. For ``-`` and a path that is not a regular file (a FIFO, ``/dev/stdout``)
    it is a private temporary file whose bytes are copied there at the end.
    Text goes through :func:`atomic_write_text` / :func:`open_output` instead.
    """
    if is_stdio(path) or _is_stream(path):
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory(prefix="sqlfoundry-out-") as folder:
            tmp = Path(folder) / "data"
            yield tmp
            with tmp.open("rb") as src, open_output(path, binary=True) as dst:
                shutil.copyfileobj(src, dst)
        return
    target = _target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        name = _private_file(target.parent, f".{target.name}.", ".tmp")
    except OSError as err:
        raise _write_failed(path, err) from err
    tmp = Path(name)
    try:
        yield tmp
        try:
            # the temporary file is private: keep the mode of the file replaced, else
            # give the one a plain open() would.
            mode = target.stat().st_mode & 0o7777 if target.is_file() else 0o666 & ~_umask()
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as err:
            raise _write_failed(path, err) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def open_output(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """An open file to write ``path``: standard output for ``-`` (flushed, not closed), the
    path itself when it is a FIFO or a device, otherwise a temporary file renamed over the
    regular file (a symlink's target) at the end, as :func:`atomic_path` does."""
    if is_stdio(path):
        stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    if _is_stream(path):
        try:
            fh = open(path, "wb" if binary else "w", encoding=None if binary else "utf-8")  # noqa: SIM115
        except OSError as err:
            raise _write_failed(path, err) from err
        with fh:
            yield fh
        return
    kind = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8"}
    with atomic_path(path) as tmp, tmp.open(**kind) as fh:
        yield fh
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as err:
            raise _write_failed(path, err) from err


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` as :func:`open_output` does (atomically for a regular file)."""
    _write(path, [text])


def _write(path: str | Path, chunks: Iterable[str]) -> None:
    with open_output(path) as fh:
        write_chunks(fh, path, chunks)


def write_chunks(fh: IO[Any], path: str | Path, chunks: Iterable[str]) -> None:
    """Write ``chunks`` to ``fh``, opened by :func:`open_output` for ``path``: a failure
    is an ``OutputError`` naming ``path`` (a closed pipe stays what it is)."""
    for chunk in chunks:
        try:
            fh.write(chunk)
        except OSError as err:
            _reraise(path, err)


# How a JSON Lines file written here holds a record (one encoder: json.dumps makes one per
# call).
encode_line = json.JSONEncoder(ensure_ascii=False).encode

# What orjson cannot hold (an integer past 64 bits) goes through json, in the same layout.
_COMPACT_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def checkpoint_line(value: Any) -> str:
    """How a pipeline's checkpoint holds a record: one compact JSON line (no newline).

    orjson encodes a record several times faster than json, and a run writes each
    record once per step. Imported here, not with this module: a one-item command
    never writes a checkpoint, and orjson's import is most of the time it may take.

    Raises:
        TypeError: a value neither can encode (as ``json.dumps`` raises it).
    """
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _COMPACT_LINE(value)


def decode_line(line: str | bytes) -> Any:
    """One JSON line of a checkpoint (any JSON text, in fact), with orjson.

    Raises:
        ValueError: not JSON (json's ``JSONDecodeError``, with its line and column).
    """
    import orjson

    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:  # or what only json reads: NaN, integers past 64 bits
        return json.loads(line)


def atomic_write_jsonl(path: str | Path, records: Iterable[dict[str, Any]],
                       default: Callable[[Any], Any] | None = None,
                       encode: Callable[[Any], str] | None = None) -> int:  # fmt: skip
    """Write one JSON object per line, atomically; returns the number of lines.

    Lines are streamed to the temporary file, so a large run is never held as text.
    ``default`` turns what JSON cannot hold into what it can (as ``json.dumps``'s);
    ``encode`` replaces :data:`encode_line` (:func:`checkpoint_line`, say).
    """
    if encode is None:
        encode = (
            encode_line
            if default is None
            else json.JSONEncoder(ensure_ascii=False, default=default).encode
        )
    return atomic_write_lines(path, (encode(record) for record in records))


def atomic_write_lines(path: str | Path, lines: Iterable[str]) -> int:
    """Write JSON lines already encoded (no newline of their own), atomically and
    streamed as :func:`atomic_write_jsonl` does; returns the number of lines."""
    count = 0

    def ended() -> Iterator[str]:
        nonlocal count
        for line in lines:
            count += 1
            yield line + "\n"

    _write(path, ended())
    return count


# --------------------------------------------------------------------------- checks


def check_output(path: str | Path, *, folder: bool = False) -> None:
    """Raise OutputError naming ``path`` when it cannot be written, before any work starts.

    ``folder``: the path is a folder the command fills (a run directory, an export folder).
    A file path may be ``-`` (standard output), a FIFO or a device (written through), or a
    regular file or a new one in a folder this process may write in.
    """
    if is_stdio(path):
        if folder:
            raise OutputError("a folder is needed here; '-' (standard output) is one file",
                              file=STDIO)  # fmt: skip
        return
    if _is_stream(path):
        if folder:
            raise OutputError("exists and is not a folder", file=str(path))
        _need_access(Path(path), path, "no permission to write to it")
        return
    target = _target(path)
    if target.exists():
        if folder and not target.is_dir():
            raise OutputError("exists and is not a folder", file=str(path))
        if not folder and target.is_dir():
            raise OutputError("is a folder; a file name is needed here", file=str(path))
        if folder:
            _need_access(target, path, "no permission to write in this folder")
        else:
            # A file is replaced by a rename: its folder must be writable, and the file
            # itself too, or the rename would overwrite what the user protected.
            _need_access(target, path, "no permission to write to it")
            _need_access(target.parent, path, f"no permission to write in {target.parent}")
        return
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{ancestor} is a file, not a folder", file=str(path))
    _need_access(ancestor, path, f"no permission to write in {ancestor}")


def _need_access(where: Path, path: str | Path, what: str) -> None:
    effective = os.access in os.supports_effective_ids
    if not os.access(where, os.W_OK | (os.X_OK if where.is_dir() else 0), effective_ids=effective):
        raise OutputError(what, file=str(path))
