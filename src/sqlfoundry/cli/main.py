"""The ``sqlfoundry`` typer app: every command group registered in one place.

Command modules only define functions; this module puts them on the app, so no
command module imports another. Heavy modules are imported inside each command,
so ``sqlfoundry --help`` and short commands start fast.
"""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer
from rich.markup import escape

from sqlfoundry.cli import db, evaluate, llm, pairs, run, search, serve, sft, synth
from sqlfoundry.cli.common import err, out, setup_logging
from sqlfoundry.core.errors import SqlfoundryError

app = typer.Typer(
    name="sqlfoundry",
    help="Text-to-SQL data toolkit: synthesize, run methods, evaluate, serve.",
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from sqlfoundry import __version__

        out.print(f"sqlfoundry {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    setup_logging(verbose)


app.command("schema")(db.schema)
app.command("classify")(db.classify)
app.command("exec")(db.exec_)
app.command("eval")(evaluate.eval_)
app.command("llm-check")(llm.llm_check)
app.command("synth")(synth.synth)
app.command("refine")(synth.refine)
app.command("export")(synth.export)
app.command("serve")(serve.serve)
app.command("prepare-sft")(sft.prepare_sft)
app.command("search")(search.search)
app.command("run")(run.run)

pairs_app = typer.Typer(
    help="Question/SQL pairs from chats, SQL logs and schemas; evolved, validated, deduplicated.",
    no_args_is_help=True,
)
pairs_app.command("from-chat")(pairs.from_chat)
pairs_app.command("from-log")(pairs.from_log)
pairs_app.command("from-schema")(pairs.from_schema)
pairs_app.command("evolve")(pairs.evolve)
pairs_app.command("personas")(pairs.personas)
pairs_app.command("teachings")(pairs.teachings)
app.add_typer(pairs_app, name="pairs")


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    # SIGTERM (kill, a scheduler, a container stop) unwinds the run as Ctrl-C does:
    # worker pools are closed and partial output is left as checkpoints, not torn.
    raise KeyboardInterrupt


def main() -> None:
    """The console entry point: a library error anywhere ends in one line, exit code 2."""
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        app()
    except SqlfoundryError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(2)
