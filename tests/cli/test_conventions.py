"""What a command-line user expects: --version, -h, python -m, completion, choices that are
listed and refuse typos, and one line with the install hint when an extra is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlfoundry import __version__
from sqlfoundry.cli import app
from sqlfoundry.cli import common as cli

runner = CliRunner()
CLI = Path(sys.executable).with_name("sqlfoundry")


def run(*args: str, env: dict[str, str] | None = None, code: str | None = None):
    """The real console script (or ``python -c code``) in a subprocess."""
    command = [sys.executable, "-c", code, *args] if code else [str(CLI), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_version_and_short_help():
    assert runner.invoke(app, ["--version"]).stdout == f"sqlfoundry {__version__}\n"
    top = runner.invoke(app, ["-h"])
    assert top.exit_code == 0 and "synth" in top.stdout and "--install-completion" in top.stdout
    sub = runner.invoke(app, ["eval", "-h"])
    assert sub.exit_code == 0 and "--pred" in sub.stdout


def test_python_dash_m_is_the_same_command(tiny_sqlite):
    module = subprocess.run([sys.executable, "-m", "sqlfoundry", "--version"], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert module.returncode == 0 and module.stdout == f"sqlfoundry {__version__}\n"
    args = ["schema", str(tiny_sqlite.path), "-f", "compact"]
    via_module = subprocess.run([sys.executable, "-m", "sqlfoundry", *args], capture_output=True,
                                text=True, timeout=60)  # fmt: skip
    assert via_module.returncode == 0 and "department" in via_module.stdout
    assert via_module.stdout == run(*args).stdout


def test_shell_completion_installs_and_completes_choices(tmp_path: Path):
    # --show-completion names the shell it finds among its ancestors: give it a bash
    # parent (the "; exit $?" keeps bash from exec-ing the command), as a terminal would;
    # a suite started from cron or a detached `make` has none.
    def under_bash(option: str, env: dict[str, str] | None = None):
        return subprocess.run(["bash", "-c", f"{CLI} {option}; exit $?"], capture_output=True,
                              text=True, timeout=120, env={**os.environ, **(env or {})})  # fmt: skip

    shown = under_bash("--show-completion")
    assert shown.returncode == 0 and "_sqlfoundry_completion" in shown.stdout
    installed = under_bash("--install-completion", {"HOME": str(tmp_path), "SHELL": "/bin/bash"})
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "sqlfoundry.sh"
    assert script.is_file() and "_sqlfoundry_completion" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
    # What bash asks for when the user presses Tab after --format:
    env = {"_SQLFOUNDRY_COMPLETE": "complete_bash", "COMP_WORDS": "sqlfoundry export x --format ",
           "COMP_CWORD": "4"}  # fmt: skip
    assert run(env=env).stdout.split() == [f.value for f in cli.ExportFormat]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["synth", "--engine", "ofline"], "--engine"),
        (["eval", "--pred", "p.sql", "--mode", "loose"], "--mode"),
        (["export", "run", "--out", "o", "-f", "alpacca"], "--format"),
        (["export", "run", "--out", "o", "-f", "openai", "--target", "both"], "--target"),
        (["schema", "x.sqlite", "-f", "yaml"], "--format"),
        (["serve", "--type", "gpt"], "--type"),
        (["serve", "--log-level", "loud"], "--log-level"),
        (["search", "--out", "o", "--reward", "vibes"], "--reward"),
        (["search", "--out", "o", "--choose", "best"], "--choose"),
        (["prepare-sft", "--out", "o", "--psg-mode", "all"], "--psg-mode"),
        (["pairs", "from-schema", "--out", "o", "--dedupe", "fuzzy"], "--dedupe"),
    ],
)
def test_choices_refuse_typos_and_list_the_values(args, option):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert "is not one of" in result.output


def test_choice_enums_match_the_library():
    """Each enum mirrors a library constant; a new value in the library must show up here."""
    from sqlfoundry.db.compare import MODES
    from sqlfoundry.db.render import FORMATS
    from sqlfoundry.serve.config import GatewaySettings, ServiceType
    from sqlfoundry.synth.exporters import EXPORT_FORMATS, OpenAIOptions
    from sqlfoundry.synth.pipelines import SynthSettings

    def values(enum) -> set[str]:
        return {e.value for e in enum}

    def literal(annotation) -> set[str]:
        return set(typing.get_args(annotation))

    assert values(cli.ComparisonMode) == set(MODES)
    assert values(cli.SchemaFormat) == set(FORMATS)
    assert values(cli.ExportFormat) == set(EXPORT_FORMATS)
    # A method service names its preset or run config, which only a config file can give.
    assert values(cli.ServiceType) == literal(ServiceType) - {"method"}
    assert values(cli.EngineName) == literal(SynthSettings.model_fields["engine"].annotation)
    assert values(cli.Target) == literal(OpenAIOptions.model_fields["target"].annotation)
    assert values(cli.LogLevel) == literal(GatewaySettings.model_fields["log_level"].annotation)
    from sqlfoundry.methods.search.operator import MCTSParams
    from sqlfoundry.synth.producers.decorators import STRATEGIES
    from sqlfoundry.synth.sft.run import SftSettings

    assert values(cli.PsgMode) == literal(SftSettings.model_fields["psg_mode"].annotation)
    assert values(cli.Reward) == literal(MCTSParams.model_fields["reward"].annotation)
    assert values(cli.Choose) == literal(MCTSParams.model_fields["choose"].annotation)
    assert values(cli.Api) == literal(MCTSParams.model_fields["api"].annotation)
    assert values(cli.DedupeStrategy) == set(STRATEGIES)


# The modules named are made unimportable, as when the extra is not installed.
BLOCK = (
    "import sys\nfor name in {names!r}.split():\n    sys.modules[name] = None\n"
    "from sqlfoundry.cli import main\nsys.argv = ['sqlfoundry', *sys.argv[1:]]\nmain()\n"
)


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("fastapi", ["serve", "--db-root", "{dbs}"],
         "sqlfoundry serve needs the fastapi package, from the [serve] extra "
         "(pip install 'sqlfoundry[serve]')"),
        ("uvicorn", ["serve", "--db-root", "{dbs}"],
         "sqlfoundry serve needs the uvicorn package, from the [serve] extra "
         "(pip install 'sqlfoundry[serve]')"),
        ("psycopg", ["schema", "x", "--server", "postgresql://postgres@127.0.0.1:1"],
         "PostgreSQL support needs the psycopg package, from the [postgres] extra "
         "(pip install 'sqlfoundry[postgres]')"),
        ("pyarrow", ["export", "{data}", "-f", "parquet", "--out", "{out}"],
         "exporting parquet or hf needs the pyarrow package, from the [export] extra "
         "(pip install 'sqlfoundry[export]')"),
        ("aiohttp openai", ["llm-check", "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "m"],
         "the LLM client needs the openai package, from the [llm] extra "
         "(pip install 'sqlfoundry[llm]')"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_one_line_with_the_install_hint(
    module, args, message, tmp_path, tiny_sqlite
):
    data = tmp_path / "data.jsonl"
    data.write_text('{"id": "a", "db_id": "d", "question": "q", "SQL": "SELECT 1"}\n')
    filled = [a.format(dbs=tiny_sqlite.root, data=data, out=tmp_path / "out") for a in args]
    result = run(*filled, code=BLOCK.format(names=module))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_step_bars_follow_fractional_progress_and_repeated_operators():
    from sqlfoundry.cli.synth import _StepProgress

    bars = _StepProgress()
    reports = [("sql_generator", 0, 1), ("sql_generator", 1 / 3, 1), ("sql_generator", 2 / 3, 1),
               ("sql_generator", 1.0, 1), ("sql_generator", 1, 1), ("sql_execution_filter", 0, 2),
               ("sql_execution_filter", 1, 2), ("sql_execution_filter", 2, 2),
               ("sql_execution_filter", 0, 1), ("sql_execution_filter", 1, 1)]  # fmt: skip
    with bars:
        for report in reports:
            bars(*report)
    tasks = [(t.description, t.completed, t.total) for t in bars.progress.tasks]
    assert tasks == [("1. sql_generator", 1, 1), ("2. sql_execution_filter", 2, 2),
                     ("3. sql_execution_filter", 1, 1)]  # fmt: skip
    columns = [type(c).__name__ for c in bars.progress.columns]
    assert "TimeRemainingColumn" in columns  # the ETA


def test_run_bars_take_a_total_that_changes():
    from sqlfoundry.cli.run import _Progress

    bars = _Progress()
    with bars.bar:
        # With an LLM a stage starts before the one before it knows how many records it makes.
        for report in [
            ("dev", "generate", 0, 1),
            ("dev", "generate", 1, 3),
            ("dev", "generate", 3, 3),
        ]:
            bars(*report)
    assert [(t.description, t.completed, t.total) for t in bars.bar.tasks] == [
        ("dev: generate", 3, 3)
    ]
