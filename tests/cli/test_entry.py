"""The console entry point's fast path for ``exec`` and ``eval``: it reads exactly the
options the typer commands declare, answers as they do, and imports only what it uses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from sqlfoundry.cli import app
from sqlfoundry.cli.entry import COMMANDS, parse

CLI = Path(sys.executable).with_name("sqlfoundry")

# Modules a one-item exec or eval has no use for (the typer CLI, the gateway, models).
HEAVY = ("typer", "click", "pydantic", "rich.progress", "rich.logging", "asyncio", "aiohttp", "openai", "fastapi", "uvicorn", "numpy", "torch",
         "sentence_transformers", "datasketch", "psycopg", "pymysql")  # fmt: skip


def _imported(args: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", done.stderr, re.M))


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLFOUNDRY_")}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"),
               SQLFOUNDRY_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    return env


def _kind(convert) -> str:
    if getattr(convert, "choices", None):
        return "choice:" + ",".join(convert.choices)
    return {Path: "Path", str: "str", float: "float"}.get(convert, "int")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_is_what_the_typer_command_declares(name):
    command = typer.main.get_command(app).commands[name]
    declared = []
    for p in command.params:
        if p.name in ("json_out", "quiet"):
            continue  # --json and -q are typer's to take (see below)
        bare = p.type_descriptor.annotation
        kind = {Path: "Path", str: "str", float: "float", int: "int"}.get(bare)
        if kind is None:  # an enum of choices
            kind = "choice:" + ",".join(e.value for e in bare)
        flags = tuple(p.opts) if p.param_type_name == "option" else ()
        declared.append((p.name, flags, kind, p.envvar, p.default, bool(p.required)))
    table = [(p.name, p.flags, _kind(p.convert), p.envvar, p.default, p.required)
             for p in COMMANDS[name]]  # fmt: skip
    assert table == declared


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "--help"],
        ["exec", "in.sql", "-h"],
        ["--verbose", "exec", "in.sql", "out.jsonl"],
        ["exec", "in.sql"],  # the output is missing: typer says so
        ["exec", "in.sql", "out.jsonl", "extra"],
        ["exec", "in.sql", "out.jsonl", "--workers", "two"],
        ["exec", "in.sql", "out.jsonl", "--workers"],
        ["exec", "in.sql", "out.jsonl", "--no-such-option", "1"],
        ["eval", "--gold", "g.sql"],  # no --pred
        ["eval", "--pred", "p.sql", "--mode", "loose"],
        ["synth", "--db-root", "x"],
        ["exec", "in.sql", "out.jsonl", "--json"],
        ["eval", "--pred", "p.sql", "--gold", "g.sql", "-q"],
    ],
)
def test_anything_the_table_does_not_cover_goes_to_typer(argv):
    assert parse(argv) is None


def test_values_defaults_and_environment(monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_DB_ROOT", "/data/dbs")
    monkeypatch.delenv("SQLFOUNDRY_DB_SERVER", raising=False)
    command, values = parse(["exec", "in.sql", "--timeout=2.5", "out.jsonl", "--workers", "0"])
    assert command == "exec"
    assert values == {"input_path": Path("in.sql"), "output": Path("out.jsonl"),
                      "db_root": Path("/data/dbs"), "server": None, "db_password_env": None,
                      "timeout": 2.5, "workers": 0, "max_rows": 20}  # fmt: skip
    _, values = parse(["eval", "--pred", "p", "--gold", "g", "--mode", "bird", "--db-root", "d"])
    assert (values["mode"], values["db_root"], values["metrics"]) == ("bird", Path("d"), "ex")


def _one_item(tmp_path: Path, spider_root: Path) -> tuple[Path, Path, Path]:
    gold, pred = tmp_path / "gold.sql", tmp_path / "pred.sql"
    # DISTINCT and ORDER BY: spider mode rewrites them (without sqlglot, see below).
    gold.write_text("SELECT DISTINCT country FROM singer ORDER BY country\tconcert_singer\n")
    pred.write_text("SELECT DISTINCT country FROM singer ORDER BY country\n")
    return gold, pred, spider_root / "database"


def _commands(tmp_path: Path, spider_root: Path) -> dict[str, list[str]]:
    gold, pred, root = _one_item(tmp_path, spider_root)
    return {
        "exec": ["exec", str(gold), str(tmp_path / "out.jsonl"), "--db-root", str(root)],
        "eval": ["eval", "--gold", str(gold), "--pred", str(pred), "--db-root", str(root)],
    }


@pytest.mark.parametrize("name", ["exec", "eval"])
def test_a_one_item_command_imports_nothing_it_does_not_use(name, tmp_path, spider_root):
    args = _commands(tmp_path, spider_root)[name]
    imported = _imported(["-m", "sqlfoundry", *args], _env(tmp_path))
    assert "sqlfoundry.db.pool" in imported  # the parse above read real output
    heavy = sorted(m for m in imported if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY)))
    assert heavy == []
    # sqlglot's optimizer beyond the few pieces its expression classes import themselves.
    own = {m for m in _imported(["-c", "import sqlglot"], _env(tmp_path)) if "optimizer" in m}
    assert sorted(m for m in imported if m.startswith("sqlglot.optimizer") and m not in own) == []
    # A pipe gets plain text and no rich. A plain SELECT passes the guard without sqlglot;
    # eval parses a gold's hardness once, and a second run finds it in the cache; the
    # DISTINCT and ORDER BY of a plain query are found without it.
    assert not {m for m in imported if m.split(".")[0] == "rich"}
    # One item runs in this process: no worker pool, so no multiprocessing.
    assert not {m for m in imported if m.split(".")[0] == "multiprocessing"}
    if name == "exec":  # logging loads only when something logs; no dataclasses, no tempfile
        assert not {"logging", "dataclasses", "inspect", "tempfile"} & imported
    if name == "eval":
        assert "sqlglot" in imported
        imported = _imported(["-m", "sqlfoundry", *args], _env(tmp_path))
    assert not {m for m in imported if m.split(".")[0] == "sqlglot"}


@pytest.mark.parametrize("name", ["exec", "eval"])
def test_the_fast_path_answers_as_the_typer_command(name, tmp_path, spider_root):
    from typer.testing import CliRunner

    args = _commands(tmp_path, spider_root)[name]
    fast = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120,
                          env=_env(tmp_path))  # fmt: skip
    typed = CliRunner().invoke(app, args, env=_env(tmp_path))
    assert fast.returncode == typed.exit_code == 0, fast.stderr
    seconds = re.compile(r"\d+\.\d+ s\b")
    assert seconds.sub("N s", fast.stdout) == seconds.sub("N s", typed.stdout)
    assert seconds.sub("N s", fast.stderr) == seconds.sub("N s", typed.stderr)


def test_a_warning_on_the_fast_path_is_formatted_as_everywhere(tmp_path, spider_root):
    """Logging is configured when first imported (here: by the duplicate-db_id warning)."""
    root = tmp_path / "dbs"
    source = spider_root / "database" / "concert_singer" / "concert_singer.sqlite"
    (root / "sub").mkdir(parents=True)
    shutil.copyfile(source, root / "sub" / "concert_singer.sqlite")
    shutil.copyfile(source, root / "concert_singer.db")
    gold, _, _ = _one_item(tmp_path, spider_root)
    args = ["exec", str(gold), str(tmp_path / "out.jsonl"), "--db-root", str(root)]
    fast = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120,
                          env=_env(tmp_path))  # fmt: skip
    assert fast.returncode == 0, fast.stderr
    warning = (f"WARNING  db_id concert_singer is found 2 times under {root}; using "
               f"{root / 'sub' / 'concert_singer.sqlite'} (not {root / 'concert_singer.db'})\n")  # fmt: skip
    assert fast.stderr.startswith(warning)  # "LEVEL    message", as setup_logging formats
    assert fast.stderr.count("\n") == 3  # the warning, the summary, the file written


def test_a_bad_input_is_one_line_on_the_fast_path(tmp_path, spider_root):
    args = _commands(tmp_path, spider_root)["exec"]
    args[1] = str(tmp_path / "missing.sql")
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120,
                          env=_env(tmp_path))  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: ") and "missing.sql" in done.stderr
