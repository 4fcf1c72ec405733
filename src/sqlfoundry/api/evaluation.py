"""``sqlfoundry.evaluate`` and ``sqlfoundry.load_benchmark``: scoring in one call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.api.databases import Databases, open_databases
from sqlfoundry.bench.evaluate import EvalRun
from sqlfoundry.bench.registry import Benchmark
from sqlfoundry.core.errors import ConfigError, InputError
from sqlfoundry.core.sample import Sample

Progress = Callable[[str, int], Callable[[int], None]]


def load_benchmark(selector: str, *, root: str | Path | None = None) -> Benchmark:
    """Load a registered benchmark, or a selection of it.

    Args:
        selector: ``bench[:subset][:filter,...]``, e.g. ``"spider:dev"``,
            ``"spider:dev:difficulty-hard,first-50"`` or
            ``"bird:minidev:db_id-california_schools"``. Benchmarks: ``spider``,
            ``spider-syn``, ``spider-dk``, ``spider-realistic``, ``bird``,
            ``kaggledbqa``, ``geoquery``, ``defog``.
        root: the folder holding the releases under their usual names
            (``spider/``, ``bird_minidev/``, ...); by default ``SQLFOUNDRY_BENCH_ROOT``.

    Returns:
        A ``Benchmark``: ``.samples`` (question, gold ``sql``, ``db_id``,
        hardness), ``.manager()`` (its databases), ``.mode``, ``.tables_json``.

    Raises:
        ConfigError: an unknown benchmark, subset or filter, or no root known;
            InputError: a file of the release cannot be read.

    Example::

        bench = sqlfoundry.load_benchmark("spider:dev:first-20", root="data/benchmarks")
        print(len(bench.samples), bench.samples[0].question)
    """
    from sqlfoundry.bench.registry import BenchRoots, load

    roots = BenchRoots.from_sources()
    if root is not None:
        roots.base = Path(root)
    return load(selector, roots)


def evaluate(
    predictions: str | Path | Iterable[Any],
    gold: str | Path | Benchmark | Iterable[Mapping[str, Any] | Sample] | None = None,
    *,
    databases: Databases | None = None,
    bench: str | Benchmark | None = None,
    mode: str | None = None,
    metrics: Sequence[str] = ("ex",),
    tables: str | Path | None = None,
    dialect: str | None = None,
    workers: int | None = None,
    timeout: float = 30.0,
    ves_iterations: int = 100,
    password_env: str | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Score predictions against gold, as ``sqlfoundry eval`` does.

    Args:
        predictions: a prediction file (one SQL per line, JSONL with ``pred_sql``,
            or BIRD's JSON), or predictions in memory, one per gold item in order:
            SQL strings, None for a missing one, dicts like JSONL lines, or
            Samples with ``pred_sql`` (what :func:`sqlfoundry.run_method` returns).
        gold: a gold file (Spider's ``SQL<TAB>db_id`` or JSON/JSONL), gold records
            in memory (dicts with ``db_id`` and ``SQL``/``sql``/``query``, or
            Samples), or a loaded ``Benchmark``. Give ``gold`` or ``bench``.
        databases: where the gold's databases are (a folder, a file, a server URL
            or a ``DatabaseManager``); a benchmark brings its own.
        bench: a benchmark selector (``"spider:dev"``) or a loaded ``Benchmark``.
        mode: ``spider``, ``bird`` or ``strict`` result comparison (default: the
            benchmark's, else ``spider``).
        metrics: any of ``ex``, ``em`` (needs ``tables``), ``ves``, ``linking``.
        tables: the benchmark's ``tables.json`` (for EM; a benchmark brings its own).
        dialect: the SQL dialect of the queries (default: the benchmark's, else sqlite).
        workers: worker processes; timeout: seconds per query;
        ves_iterations: timing rounds per item for VES.
        progress: ``progress(stage, total)`` returning an ``advance(n)`` callback.

    Returns:
        An ``EvalRun``: ``.report`` (``ex``, ``em``, breakdowns, the EX x EM
        confusion, failure categories), ``.verdicts`` (one per item),
        ``.warnings`` and ``.html()``.

    Raises:
        ConfigError: no gold, no databases, an unknown mode or metric;
            InputError: an unreadable gold file or record.

    Example::

        run = sqlfoundry.evaluate(["SELECT count(*) FROM book"],
                                  [{"db_id": "bookshop", "SQL": "SELECT count(*) FROM book"}],
                                  databases="examples/demo_dbs")
        print(run.report["ex"])   # 1.0
    """
    from sqlfoundry.bench.evaluate import align, gold_from_samples
    from sqlfoundry.bench.evaluate import evaluate as run_evaluation
    from sqlfoundry.bench.inputs import predictions_of, read_gold_file, read_predictions
    from sqlfoundry.db.compare import MODES

    benchmark = load_benchmark(bench) if isinstance(bench, str) else bench
    if benchmark is None and isinstance(gold, Benchmark):
        benchmark = gold
    if benchmark is not None:
        gold_entries = gold_from_samples(benchmark.samples)
        manager = (
            open_databases(databases, password_env=password_env)
            if databases is not None
            else benchmark.manager()
        )
        mode = mode or benchmark.mode
        tables = tables or benchmark.tables_json
        dialect = dialect or benchmark.dialect
        name = benchmark.name
    elif gold is not None:
        if databases is None:
            raise ConfigError("evaluate() needs databases= for the gold's db_ids")
        if isinstance(gold, (str, Path)):
            gold_entries, name = read_gold_file(gold), str(gold)
        else:
            gold_entries, name = _gold_records(gold), "records"
        manager = open_databases(databases, password_env=password_env)
    else:
        raise ConfigError("evaluate() needs gold= (a file, records or a Benchmark) or bench=")
    mode = mode or "spider"
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}", hint=f"choose one of {', '.join(MODES)}")
    if isinstance(predictions, (str, Path)):
        preds = read_predictions(predictions)
    else:
        preds = predictions_of(getattr(predictions, "samples", predictions))
    items, warnings, by_index = align(gold_entries, preds)
    run = run_evaluation(items, manager, mode=mode, metrics=list(metrics),
                         dialect=dialect or "sqlite", workers=workers, timeout=timeout,
                         tables_json=Path(tables) if tables else None,
                         ves_iterations=ves_iterations, predictions=by_index, progress=progress,
                         name=name)  # fmt: skip
    run.warnings = warnings
    run.report["warnings"] = warnings
    return run


def _gold_records(records: Iterable[Mapping[str, Any] | Sample]) -> list[Any]:
    from sqlfoundry.bench.evaluate import gold_from_samples
    from sqlfoundry.core.io import sql_of

    samples = []
    for number, item in enumerate(records, start=1):
        if isinstance(item, Sample):
            samples.append(item)
            continue
        data = dict(item) if isinstance(item, Mapping) else {}
        sql, db_id = sql_of(data), data.get("db_id")
        if not isinstance(sql, str) or not isinstance(db_id, str):
            raise InputError(f"gold record {number} needs 'db_id' and 'SQL' (or 'sql' / 'query')")
        samples.append(Sample(id=f"gold-{number}", db_id=db_id, sql=sql.strip(),
                              question=data.get("question"), difficulty=data.get("difficulty"),
                              meta={"source": f"gold {number}"}))  # fmt: skip
    return gold_from_samples(samples)
