"""The ``sqlfoundry`` typer app: every command group registered in one place.

Command modules only define functions; this module puts them on the app, so no
command module imports another. Heavy modules are imported inside each command,
so ``sqlfoundry --help`` and short commands start fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sqlfoundry.cli import db, evaluate, llm, pairs, run, search, serve, sft, synth
from sqlfoundry.cli.common import out, scripted, set_mode, setup_logging

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
    set_mode()  # each command sets its own --json / -q


# Every command that prints a summary takes --json and -q/--quiet (see common.scripted).
app.command("schema")(db.schema)
app.command("classify")(scripted(db.classify))
app.command("exec")(scripted(db.exec_))
app.command("eval")(scripted(evaluate.eval_))
app.command("llm-check")(scripted(llm.llm_check))
app.command("synth")(scripted(synth.synth))
app.command("refine")(scripted(synth.refine))
app.command("export")(scripted(synth.export))
app.command("serve")(serve.serve)
app.command("prepare-sft")(scripted(sft.prepare_sft))
app.command("search")(scripted(search.search))
app.command("run")(scripted(run.run))

pairs_app = typer.Typer(
    help="Question/SQL pairs from chats, SQL logs and schemas; evolved, validated, deduplicated.",
    no_args_is_help=True,
)
pairs_app.command("from-chat")(scripted(pairs.from_chat))
pairs_app.command("from-log")(scripted(pairs.from_log))
pairs_app.command("from-schema")(scripted(pairs.from_schema))
pairs_app.command("evolve")(scripted(pairs.evolve))
pairs_app.command("personas")(scripted(pairs.personas))
pairs_app.command("teachings")(scripted(pairs.teachings))
app.add_typer(pairs_app, name="pairs")
