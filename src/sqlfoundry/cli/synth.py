"""``sqlfoundry synth``, ``refine`` and ``export``: the synthesis commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from sqlfoundry.cli.common import (
    CacheDir,
    DbRoot,
    Engine,
    ExecutorOption,
    ExportFormat,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    PasswordEnv,
    RayAddress,
    Seed,
    Server,
    Target,
    Timeout,
    Workers,
    check_outputs,
    choice,
    database_manager,
    emit,
    err,
    executor_settings,
    fail,
    llm_config,
    load_config_file,
    out,
    steps_progress,
    warn,
    wrote,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError

ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML/YAML/JSON with \\[synth] (and \\[llm]) sections."),
]
RunDir = Annotated[Path, typer.Option("--out", help="Run directory (created; re-run to resume).")]
Show = Annotated[int, typer.Option("--show", help="Print this many samples at the end.")]


def synth(
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    num_per_db: Annotated[
        int | None, typer.Option("--num-per-db", help="SQL queries generated per database.")
    ] = None,
    db_ids: Annotated[
        list[str] | None, typer.Option("--db", help="Only this database (repeatable).")
    ] = None,
    engine: Engine = None,
    config: ConfigFile = None,
    seed: Seed = None,
    run_dir: RunDir = Path("runs/synth"),
    workers: Workers = None,
    timeout: Timeout = None,
    show: Show = 0,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
) -> None:
    """Synthesize verified question/SQL/prompt/CoT data from databases.

    SQLGenerator -> ExecutionFilter -> QuestionGenerator -> PromptGenerator ->
    CoTGenerator -> ComponentClassifier -> ExecutionClassifier.
    """
    from sqlfoundry.synth.records import database_seeds

    check_outputs(folders={"--out": run_dir})
    manager = database_manager(db_root, server, db_password_env)
    known = manager.db_ids()
    if db_ids:
        missing = [d for d in db_ids if d not in known]
        if missing:
            fail(f"unknown database(s): {', '.join(missing)} (found {len(known)} under the root)")
        known = list(db_ids)
    if not known:
        fail(f"no databases found under {db_root or server}")
    overrides = {"num_per_db": num_per_db, "engine": choice(engine), "seed": seed, "workers": workers,
                 "timeout": timeout}  # fmt: skip
    llm_flags = (llm_base_url, llm_model, llm_api_key_env, cache_dir)
    _run("synth", database_seeds(known), [], manager, config, overrides, llm_flags, run_dir, show,
         (executor, ray_address))  # fmt: skip


def refine(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input", help="JSON/JSONL pairs: db_id, question, SQL (or query) ('-': stdin)."
        ),
    ],
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    engine: Engine = None,
    config: ConfigFile = None,
    seed: Seed = None,
    run_dir: RunDir = Path("runs/refine"),
    workers: Workers = None,
    timeout: Timeout = None,
    show: Show = 0,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
) -> None:
    """Refine existing question/SQL pairs into verified, augmented training data.

    ExecutionFilter -> ConsistencyFilter -> VariationGenerator -> ExecutionFilter ->
    QuestionGenerator -> PromptGenerator -> CoTGenerator -> classifiers.
    """
    from sqlfoundry.synth.records import read_pairs

    check_outputs(folders={"--out": run_dir})
    manager = database_manager(db_root, server, db_password_env)
    try:
        samples, problems = read_pairs(input_path)
    except SqlfoundryError as error:
        fail(error)
    for p in problems[:5]:
        warn(f"{p['source']}: {p['reason']}")
    if len(problems) > 5:
        warn(f"… {len(problems) - 5} more unreadable lines (see rejects.jsonl)")
    overrides = {"engine": choice(engine), "seed": seed, "workers": workers, "timeout": timeout}
    llm_flags = (llm_base_url, llm_model, llm_api_key_env, cache_dir)
    _run("refine", samples, problems, manager, config, overrides, llm_flags, run_dir, show,
         (executor, ray_address))  # fmt: skip


def _run(
    mode: Literal["synth", "refine"],
    seeds: list,
    input_rejects: list[dict[str, Any]],
    manager: Any,
    config: Path | None,
    overrides: dict[str, Any],
    llm_flags: tuple,
    run_dir: Path,
    show: int,
    executor_flags: tuple = (None, None),
) -> None:
    from sqlfoundry.synth.outcome import empty_run_problem
    from sqlfoundry.synth.pipelines import SynthSettings, build_pipeline
    from sqlfoundry.synth.records import output_record
    from sqlfoundry.synth.report import spread_samples
    from sqlfoundry.synth.run import run_mode

    file_config = load_config_file(config)
    where = executor_settings(file_config, *executor_flags)
    try:
        settings = SynthSettings.from_sources(file_config.get("synth"), overrides)
        pipeline = build_pipeline(mode, settings)  # every parameter checked before any work
        llm = llm_config(file_config, *llm_flags, config) if settings.engine == "llm" else None
    except SqlfoundryError as error:
        fail(error)

    try:
        with _StepProgress() as progress:
            run = run_mode(mode, seeds, manager, settings, run_dir, llm=llm, pipeline=pipeline,
                           input_rejects=input_rejects, progress=progress,
                           executor=where)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    summary, usage = run.summary, run.usage
    _print_summary(summary, run_dir)
    if usage is not None:
        from sqlfoundry.llm.usage import print_usage

        print_usage(usage, console=err)
    shown = [output_record(s) for s in spread_samples(run.iter_samples(), show)] if show else []
    for record in shown:
        _print_sample(record)
    emit(mode, {"run_dir": str(run_dir), "written": [str(run_dir / n) for n in RUN_FILES],
                     "summary": summary, "usage": usage.to_dict() if usage is not None else None,
                     "samples": shown})  # fmt: skip
    problem = empty_run_problem(summary["records"], run.stored_rejects(), settings.engine,
                                summary["inputs"])  # fmt: skip
    if problem is not None:
        fail(problem, code=1)


RUN_FILES = ("data.jsonl", "rejects.jsonl", "summary.json", "report.html")


class _StepProgress:
    """One rich progress bar per pipeline step, on stderr, with the time left.

    The count is of batches; a long batch that reports its own progress (the first
    synthesis step, one database at a time) moves the bar between them. With an LLM
    the steps run at the same time, so reports of several steps come in turn; a step's
    count of batches grows or shrinks as the step before it finds how many records
    it makes.
    """

    def __init__(self) -> None:
        self.progress = steps_progress("[bold]{task.description:<24}")
        self.tasks: dict[str, Any] = {}  # the latest step of each operator
        self.ended: set[str] = set()  # operators whose latest step has done every batch
        self.steps = 0

    def __enter__(self) -> _StepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, operator: str, done: float, total: int) -> None:
        # Every step starts with a report of 0 done; a second step of one operator gets a
        # bar of its own once the first has ended (a running step may report 0 again).
        if operator not in self.tasks or (done == 0 and operator in self.ended):
            self.steps += 1
            self.tasks[operator] = self.progress.add_task(f"{self.steps}. {operator}", total=total)
            self.ended.discard(operator)
        self.progress.update(self.tasks[operator], completed=done, total=total)
        if total and done >= total:
            self.ended.add(operator)


def _print_summary(summary: dict[str, Any], run_dir: Path) -> None:
    steps = Table(title=f"{summary['mode']} run ({summary['engine']} engine)", title_justify="left")
    for column in ("step", "in", "out", "rejected", "seconds", ""):
        steps.add_column(column, justify="left" if column in ("step", "") else "right")
    for i, s in enumerate(summary["steps"], start=1):
        steps.add_row(f"{i}. {s['operator']}", str(s["in"]), str(s["out"]), str(s["rejected"]),
                      f"{s['seconds']:.2f}", "reused" if s["reused"] else "")  # fmt: skip
    err.print(steps)
    if summary["rejects"]:
        rejects = Table(title="rejects by reason", title_justify="left")
        rejects.add_column("operator")
        rejects.add_column("reason")
        rejects.add_column("count", justify="right")
        rejects.add_column("e.g.")
        for op, rows in summary["rejects"].items():
            for r in rows[:6]:
                rejects.add_row(op, escape(r["reason"]), str(r["count"]),
                                escape(r["examples"][0][:90]) if r["examples"] else "")  # fmt: skip
        err.print(rejects)
    levels = summary["component_difficulty"]
    total = sum(levels.values()) or 1
    mix = " · ".join(f"{k} {v} ({100 * v / total:.0f}%)" for k, v in levels.items())
    err.print(f"difficulty: {mix}")
    exec_levels = summary["execution_difficulty"]
    if not all(k.startswith("not graded") for k in exec_levels):
        err.print("execution difficulty: " + " · ".join(f"{k} {v}" for k, v in exec_levels.items()))
    figures = summary.get("quality") or {}
    if figures.get("questions"):
        dropped = sum((figures.get("semantic_checks") or {}).get("dropped", {}).values())
        err.print(f"quality: {figures['mean_words']} words per question · "
                  f"{100 * figures['whose_share']:.0f}% with \"whose\" · "
                  f"{dropped} dropped by the semantic filter")  # fmt: skip
        generator = figures.get("generator_checks")
        if generator:
            kinds = ", ".join(
                f"{k.replace('_', '-')} {n}" for k, n in generator["dropped"].items() if n
            )
            err.print(f"semantic checks in the generator: {sum(generator['dropped'].values())} of "
                      f"{generator['checked']} candidates turned down"
                      + (f" ({kinds})" if kinds else ""))  # fmt: skip
    rate = summary["samples_per_second"]
    err.print(f"[bold]{summary['records']}[/] records from {summary['inputs']} inputs in "
              f"{summary['seconds']:.1f} s ({rate} samples/s)")  # fmt: skip
    for name in RUN_FILES:
        wrote(run_dir / name)


def _print_sample(record: dict[str, Any]) -> None:
    from sqlfoundry.synth.report import UNCLASSIFIED

    level = record.get("sql_component_difficulty") or UNCLASSIFIED
    out.rule(f"{record['db_id']} · {level}")
    out.print(f"[bold]Q:[/] {escape(record.get('question') or '')}", soft_wrap=True)
    out.print(f"[bold]SQL:[/] {escape(record.get('SQL') or '')}", highlight=False, soft_wrap=True)
    cot = record.get("cot_reasoning") or ""
    if cot:
        lines = cot.splitlines()
        head = "\n".join(lines[:6]) + ("\n…" if len(lines) > 6 else "")
        out.print(f"[bold]CoT:[/]\n{escape(head)}", highlight=False, soft_wrap=True)


# The formats that write one file, which ``--out -`` sends to standard output.
ONE_FILE_FORMATS = ("openai", "omnisql", "jsonl", "csv", "parquet")


def export(
    source: Annotated[
        Path,
        typer.Argument(help="A run directory (its data.jsonl), a data.jsonl file, or '-' (stdin)."),
    ],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="The training format.")],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder to write into; '-': stdout, for the one-file formats "
            f"({', '.join(ONE_FILE_FORMATS)}).",
        ),
    ],
    target: Annotated[
        Target | None,
        typer.Option(
            help="Chat formats: answer with the CoT (cot, default) or the SQL alone (sql)."
        ),
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="Chat formats: a system prompt for every record.")
    ] = None,
) -> None:
    """Write a run's records in a training format."""
    from sqlfoundry.core.io import is_stdio, read_jsonl

    to_stdout = is_stdio(out_dir)
    if to_stdout and fmt.value not in ONE_FILE_FORMATS:
        fail(f"--format {fmt.value} writes several files; give --out FOLDER "
             f"('-' takes {', '.join(ONE_FILE_FORMATS)})")  # fmt: skip
    if to_stdout:
        check_outputs(files={"--out": out_dir})
    else:
        check_outputs(folders={"--out": out_dir})
    path = source / "data.jsonl" if not is_stdio(source) and source.is_dir() else source
    records, bad = [], []
    try:
        for line in read_jsonl(path):
            if line.error is not None or not isinstance(line.data, dict):
                bad.append(f"{line.file}:{line.line}")
            else:
                records.append(line.data)
    except SqlfoundryError as error:
        fail(error)
    if bad:
        warn(f"{len(bad)} unreadable line(s) skipped, first {bad[0]}")
    options = {
        k: v for k, v in {"target": choice(target), "system": system}.items() if v is not None
    }
    try:
        report = _export(records, fmt.value, out_dir, options)
    except SqlfoundryError as error:
        fail(error)
    err.print(escape(report.summary()), soft_wrap=True)
    for file in report.files:
        wrote(file)
    emit("export", {"written": [str(f) for f in report.files], "unreadable": len(bad),
                    "report": report.to_dict()})  # fmt: skip


def _export(records: list[dict[str, Any]], fmt: str, out_dir: Path, options: dict[str, Any]) -> Any:
    """``export_report`` into ``out_dir``, or for ``-`` into a temporary folder whose one
    file is then copied to standard output."""
    import shutil
    import tempfile

    from sqlfoundry.core.io import is_stdio, open_output
    from sqlfoundry.synth.exporters import export_report

    if not is_stdio(out_dir):
        return export_report(records, fmt, out_dir, **options)
    with tempfile.TemporaryDirectory(prefix="sqlfoundry-export-") as folder:
        report = export_report(records, fmt, folder, **options)
        (file,) = report.files
        with file.open("rb") as src, open_output(out_dir, binary=True) as dst:
            shutil.copyfileobj(src, dst)
    report.files = [out_dir]
    return report
