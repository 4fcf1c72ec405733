"""The ``sqlfoundry`` typer app: every command group registered in one place.

Command modules only define functions; this module puts them on the app, so no
command module imports another. Heavy modules are imported inside each command,
so ``sqlfoundry --help`` and short commands start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from sqlfoundry.cli import db, evaluate, llm, serve, synth
from sqlfoundry.cli.common import err, setup_logging
from sqlfoundry.core.errors import SqlfoundryError

app = typer.Typer(
    name="sqlfoundry",
    help="Text-to-SQL data toolkit: synthesize, run methods, evaluate, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
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


def main() -> None:
    """The console entry point: a library error anywhere ends in one line, exit code 2."""
    try:
        app()
    except SqlfoundryError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(2)
