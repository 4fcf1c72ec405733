"""One evaluation run: items in, verdicts and a report out."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlfoundry.bench import metrics as m
from sqlfoundry.bench.execution import (
    FAILURE_CATEGORIES,
    MISSING,
    EvalItem,
    ItemVerdict,
    evaluate_execution,
)
from sqlfoundry.bench.inputs import GoldEntry, Prediction
from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.db.pool import SafeExecutor

if TYPE_CHECKING:
    from sqlfoundry.core.sample import Sample
    from sqlfoundry.db.manager import DatabaseManager

log = logging.getLogger(__name__)

METRICS = ("ex", "em", "ves", "linking", "ex_squrve")

# Distinct gold queries from which their hardness is read in another process.
BACKGROUND_GRADING = 200

ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass
class EvalRun:
    """One evaluation's result.

    Attributes:
        verdicts: one per gold item, in order (``ex``, ``em``, ``error``, the SQL,
            the first rows of each result).
        report: the aggregate report (``ex``, ``em``, ``by_difficulty``,
            ``by_db``, ``confusion``, ``failures``, ``errors``...), as
            ``sqlfoundry eval --out`` writes it.
        warnings: problems with the inputs (e.g. fewer predictions than gold items).
    """

    verdicts: list[ItemVerdict]
    report: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def html(self) -> str:
        """The self-contained HTML report (as ``sqlfoundry eval --html`` writes it)."""
        from sqlfoundry.bench.html import render_html

        return render_html(self.report, self.verdicts, self.warnings)


def gold_from_samples(samples: Sequence[Sample]) -> list[GoldEntry]:
    """Gold entries from a loaded benchmark's samples (``Benchmark.samples``)."""
    return [
        GoldEntry(db_id=s.db_id, sql=s.sql or "", where=s.meta.get("source", s.id),
                  difficulty=s.difficulty, question=s.question, hardness=s.hardness,
                  alternatives=s.meta.get("gold_alternatives") or [])
        for s in samples
    ]  # fmt: skip


def align(
    gold: Sequence[GoldEntry], preds: Sequence[Prediction]
) -> tuple[list[EvalItem], list[str], dict[int, Prediction]]:
    """Pair gold and predictions by position; say so when the counts differ.

    An item whose gold entry has no hardness gets it from :func:`evaluate` (or
    :func:`grade_hardness`), which reads it from the gold SQL while the queries run.
    """
    warnings = []
    if len(preds) < len(gold):
        warnings.append(
            f"the prediction file has {len(preds)} entries for {len(gold)} gold items: "
            f"the last {len(gold) - len(preds)} count as missing predictions"
        )
    elif len(preds) > len(gold):
        warnings.append(
            f"the prediction file has {len(preds) - len(gold)} more entries than the gold "
            f"file ({len(gold)}); the extra ones are ignored"
        )
    items, by_index = [], {}
    for i, entry in enumerate(gold):
        pred = preds[i] if i < len(preds) else None
        items.append(
            EvalItem(
                index=i,
                db_id=entry.db_id,
                gold=entry.sql,
                pred=None if pred is None or pred.sql is None else pred.sql,
                hardness=entry.hardness,
                grade=entry.hardness is None,
                difficulty=entry.difficulty,
                candidates=pred.candidates if pred else [],
                gold_alternatives=entry.alternatives,
                meta={"where": entry.where, "pred_error": pred.error if pred else None},
            )
        )
        if pred is not None:
            by_index[i] = pred
    return items, warnings, by_index


def _hardness_of(sqls: Sequence[str]) -> list[str | None]:
    """Spider hardness of each query (None where it does not parse)."""
    from sqlfoundry.sql.hardness import spider_hardness

    grades: list[str | None] = []
    for sql in sqls:
        try:
            grades.append(spider_hardness(sql))
        except SqlfoundryError:
            grades.append(None)
    return grades


def grade_hardness(
    items: Sequence[EvalItem], workers: int = 0, cache: Path | None | bool = True
) -> Callable[[], None]:
    """Start reading the Spider hardness of the items still to be graded (``grade``).

    Parsing is the costly part of an evaluation after running the queries, and it
    needs no database: grades read before are taken from the cache
    (:mod:`sqlfoundry.bench.grades`; ``cache`` is its folder, True for the default,
    False for none), and with ``workers`` >= 2 and enough distinct golds left the
    rest are parsed in another process while this one runs the queries. A repeated
    gold parses once.

    Returns:
        A function that waits for the grades and sets each item's ``hardness``.
    """
    todo = [item for item in items if item.grade]
    sqls = list(dict.fromkeys(item.gold for item in todo))
    if not sqls:
        return lambda: None
    store = None
    known: dict[str, str | None] = {}
    if cache is not False:
        from sqlfoundry.bench.grades import GradeCache
        from sqlfoundry.core.cachedir import cache_root

        store = GradeCache(cache_root() / "grades" if cache is True else Path(cache))
        known = store.known(sqls)
    missing = [sql for sql in sqls if sql not in known]

    def finish(grades: list[str | None]) -> None:
        found = dict(zip(missing, grades, strict=True))
        if store is not None and found:
            store.remember(found)
        _set_hardness(todo, {**known, **found})

    if not missing:
        return lambda: finish([])
    if workers < 2 or len(missing) < BACKGROUND_GRADING:
        return lambda: finish(_hardness_of(missing))
    from sqlfoundry.core.cpu import in_background

    pending = in_background(_hardness_of, missing)
    return lambda: finish(pending())


def _set_hardness(todo: list[EvalItem], by_sql: dict[str, str | None]) -> None:
    for item in todo:
        item.hardness, item.grade = by_sql[item.gold], False


def evaluate(
    items: Sequence[EvalItem],
    manager: DatabaseManager,
    *,
    mode: str = "spider",
    metrics: Sequence[str] = ("ex",),
    dialect: str = "sqlite",
    workers: int | None = None,
    timeout: float = 30.0,
    tables_json: Path | None = None,
    ves_iterations: int = 100,
    predictions: dict[int, Prediction] | None = None,
    progress: ProgressFactory | None = None,
    name: str | None = None,
    executor: Any = None,
    run_dir: Path | None = None,
) -> EvalRun:
    """Score ``items``: EX always, EM / VES / schema linking when asked for.

    Args:
        executor, run_dir: with either, EX runs as an ``execution_match`` pipeline on
            that executor (``"ray"``, ``ExecutorSettings``...), checkpointed in
            ``run_dir`` (a temporary folder when not given); without them it runs
            here, in one pass (the fast path).
    """
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(sorted(unknown))}",
                          hint=f"choose from {', '.join(METRICS)}")  # fmt: skip
    if "em" in metrics and tables_json is None:
        raise ConfigError("EM needs the benchmark's tables.json", hint="pass --tables FILE")
    em_schemas = None
    if "em" in metrics:  # read before any query runs, so a bad file fails fast
        from sqlfoundry.sql.spider_sql import load_spider_schemas

        em_schemas = load_spider_schemas(tables_json)
    start = time.perf_counter()
    tick = progress("execute", 0) if progress else None
    graded = grade_hardness(items, (os.cpu_count() or 1) if workers is None else workers)
    if executor is not None or run_dir is not None:
        verdicts = _pipeline_execution(items, manager, executor, run_dir, mode=mode,
                                       dialect=dialect, workers=workers, timeout=timeout,
                                       squrve="ex_squrve" in metrics)  # fmt: skip
    else:
        with SafeExecutor(manager, workers=workers, timeout=timeout, max_rows=None) as sql:
            verdicts = evaluate_execution(items, sql, mode=mode, dialect=dialect, progress=tick,
                                          squrve="ex_squrve" in metrics)  # fmt: skip
    graded()
    for item, verdict in zip(items, verdicts, strict=True):
        verdict.hardness = item.hardness
    for item, verdict in zip(items, verdicts, strict=True):
        # A prediction line that could not be read is wrong for that reason.
        if item.meta.get("pred_error") and verdict.error in (MISSING, None):
            verdict.ex, verdict.error = False, item.meta["pred_error"]
    shown = ["ex"]
    if "em" in metrics:
        _exact_match(items, verdicts, em_schemas, tables_json)
        shown.append("em")
    if "ex_squrve" in metrics:
        shown.append("ex_squrve")
    report = build_report(verdicts, mode=mode, shown=shown, name=name)
    if "ves" in metrics:
        tick = progress("time (VES)", sum(v.ex for v in verdicts)) if progress else None
        from sqlfoundry.bench.ves import measure_time_ratios

        measure_time_ratios(verdicts, manager, iterations=ves_iterations, timeout=timeout,
                            progress=tick)  # fmt: skip
        report.update(m.ves_scores(verdicts))
        report["ves_iterations"] = ves_iterations
    if "linking" in metrics:
        report["schema_linking"] = _linking(items, predictions or {}, manager, dialect)
    oracle = m.oracle_metrics(verdicts)
    if oracle:
        report["oracle"] = oracle
    report["seconds"] = round(time.perf_counter() - start, 3)
    return EvalRun(verdicts, report)


def _pipeline_execution(items: Sequence[EvalItem], manager: DatabaseManager, executor: Any,
                        run_dir: Path | None, *, mode: str, dialect: str, workers: int | None,
                        timeout: float, squrve: bool) -> list[ItemVerdict]:  # fmt: skip
    """EX through a one-step ``execution_match`` pipeline on ``executor``."""
    import tempfile

    from sqlfoundry.bench.match_operator import ExecutionMatch, item_sample, verdict_of
    from sqlfoundry.core.context import RunContext
    from sqlfoundry.core.executors import make_executor
    from sqlfoundry.core.pipeline import Pipeline
    from sqlfoundry.core.sync import run_sync
    from sqlfoundry.llm.context_spec import ContextSpec

    chosen = make_executor(executor)
    remote = chosen.kind != "local"
    pipeline = Pipeline([ExecutionMatch(mode=mode, dialect=dialect, squrve=squrve)])
    samples = [item_sample(item) for item in items]
    spec = ContextSpec(databases=manager, workers=0, timeout=timeout, max_rows=None)
    with SafeExecutor(manager, workers=0 if remote else workers, timeout=timeout,
                      max_rows=None) as sql, tempfile.TemporaryDirectory() as scratch:  # fmt: skip
        ctx = RunContext(databases=manager, executor=sql, pipeline_executor=chosen, spec=spec)
        try:
            result = run_sync(lambda: pipeline.arun(samples, run_dir or scratch, ctx))
            return [verdict_of(s) for s in result.iter_samples()]
        finally:
            if chosen is not executor:
                chosen.close()


def _exact_match(
    items: Sequence[EvalItem],
    verdicts: Sequence[ItemVerdict],
    schemas: dict,
    tables_json: Path,
) -> None:
    from sqlfoundry.sql.exact_match import exact_match

    for item, verdict in zip(items, verdicts, strict=True):
        schema = schemas.get(item.db_id)
        if schema is None:
            verdict.em, verdict.em_error = False, f"db_id {item.db_id!r} is not in {tables_json}"
            continue
        if not item.pred:
            verdict.em = False
            continue
        result = exact_match(item.gold, item.pred, schema)
        verdict.em = result.match
        verdict.em_error = result.error or (
            f"the official parser rejects the prediction ({result.pred_error})"
            if result.pred_error
            else None
        )


def _linking(
    items: Sequence[EvalItem],
    predictions: dict[int, Prediction],
    manager: DatabaseManager,
    dialect: str,
) -> dict[str, Any]:
    """Recall / precision of predicted tables and columns against what the gold SQL uses."""
    from sqlfoundry.sql.references import referenced_columns, referenced_tables

    table_pairs, column_pairs = [], []
    for item in items:
        pred = predictions.get(item.index)
        if pred is None or (pred.tables is None and pred.columns is None):
            continue
        try:
            schema = manager.schema(item.db_id, sample_values=0).column_map()
        except SqlfoundryError:
            schema = None
        try:
            gold_tables = {t.lower() for t in referenced_tables(item.gold, dialect)}
            gold_columns = {
                (t.lower(), c.lower())
                for t, c in referenced_columns(item.gold, dialect, schema)
                if c != "*"
            }
        except SqlfoundryError:
            continue
        if pred.tables is not None:
            table_pairs.append((gold_tables, pred.tables))
        if pred.columns is not None:
            column_pairs.append((gold_columns, pred.columns))
    return {"tables": m.linking_scores(table_pairs), "columns": m.linking_scores(column_pairs)}


def build_report(
    verdicts: Sequence[ItemVerdict], *, mode: str, shown: Sequence[str], name: str | None
) -> dict[str, Any]:
    """The aggregate report: accuracy per metric, breakdowns, failure categories, the
    EX x EM confusion (with EM) and the items that failed to run."""
    count = len(verdicts)
    report: dict[str, Any] = {"benchmark": name, "mode": mode, "count": count}
    for metric in shown:
        report[metric] = m.share(sum(bool(getattr(v, metric)) for v in verdicts), count)
    by_hardness = m.breakdown(verdicts, "hardness", shown)
    # Labels the data came with (BIRD's simple / moderate / challenging) come first.
    given = any(v.difficulty for v in verdicts)
    report["by_difficulty"] = m.breakdown(verdicts, "difficulty", shown) if given else by_hardness
    report["by_hardness"] = by_hardness
    report["by_db"] = m.breakdown(verdicts, "db_id", shown)
    report["failures"] = failure_counts(verdicts)
    if "em" in shown:
        report["confusion"] = confusion(verdicts)
    report["errors"] = [
        {"index": v.index, "db_id": v.db_id, "error": v.error} for v in verdicts if v.error
    ]
    return report


def failure_counts(verdicts: Sequence[ItemVerdict]) -> dict[str, int]:
    """Wrong items per category (results differ, prediction failed, ...), in report order;
    categories with no item are left out."""
    counts = Counter(v.category for v in verdicts if not v.ex)
    return {c: counts[c] for c in FAILURE_CATEGORIES if counts[c]}


def confusion(verdicts: Sequence[ItemVerdict]) -> dict[str, int]:
    """EX against EM: ``ex_em`` (both right), ``ex_not_em`` (right rows, another query),
    ``em_not_ex`` (the official exact-set match, yet wrong rows) and ``neither``."""
    cells = Counter((bool(v.ex), bool(v.em)) for v in verdicts)
    return {"ex_em": cells[True, True], "ex_not_em": cells[True, False],
            "em_not_ex": cells[False, True], "neither": cells[False, False]}  # fmt: skip
