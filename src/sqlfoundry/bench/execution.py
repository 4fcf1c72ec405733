"""Execution accuracy (EX): run gold and predicted SQL, compare the results.

Modes (see :mod:`sqlfoundry.db.compare`):

``spider``
    test-suite-sql-eval's ``evaluate`` / ``eval_exec_match`` on one database,
    without value plugging and with ``keep_distinct=False``. The queries are
    rewritten as the official rewrites them before running (see
    :func:`spider_prepare`): a prediction's `` value `` placeholder becomes
    `` 1 ``; operators split by a space are joined (``> =`` to ``>=``...); every
    DISTINCT keyword is dropped; and
    ``YEAR(CURDATE())`` becomes ``2020``. Row order counts only when the gold
    query has ORDER BY.
``bird``
    BIRD's ``set(predicted) == set(gold)`` on the queries as written.
``strict``
    ordered rows, same column order.

Every item counts. Where an official scorer would crash, hang, skip a line,
run a write or score the first of several statements, the prediction here is
wrong and the item says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import WriteRejectedError
from sqlfoundry.db.base import ExecResult, failed, json_value
from sqlfoundry.db.compare import results_match, squrve_equal
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.sql.plain_scan import Scan, scan

PREVIEW_ROWS = 5
MISSING = "missing prediction: the prediction file has fewer entries than the gold file"
EMPTY = "empty prediction"

# Why an item is not EX-correct, in the order reports list them.
RESULTS_DIFFER = "results differ"
NO_PREDICTION = "no prediction"
FAILURE_CATEGORIES = (
    RESULTS_DIFFER,
    "prediction failed",
    "prediction refused",
    NO_PREDICTION,
    "timed out",
    "database missing",
    "gold query failed",
)


def failure_category(error: str | None) -> str:
    """The category of a wrong item's ``error`` (one of :data:`FAILURE_CATEGORIES`).

    The texts are the ones this module writes (``_failure`` and ``_judge``);
    anything else (an unreadable prediction line) counts as no prediction.
    """
    if error is None:
        return RESULTS_DIFFER
    if error.startswith("database missing"):
        return "database missing"
    if " timed out" in error.split(":", 1)[0]:
        return "timed out"
    if error.startswith("gold"):
        return "gold query failed"
    if error.startswith("prediction refused"):
        return "prediction refused"
    if error.startswith("prediction failed"):
        return "prediction failed"
    return NO_PREDICTION


@dataclass
class EvalItem:
    """One gold query and what was predicted for it.

    ``pred`` is None when the prediction file ran out; ``candidates`` are extra
    predictions for the oracle metrics; ``gold_alternatives`` are other
    acceptable gold queries (Defog lists several). ``grade``: the Spider hardness
    is still to be read from the gold (see ``bench.evaluate.grade_hardness``).
    """

    index: int
    db_id: str
    gold: str
    pred: str | None
    hardness: str | None = None
    difficulty: str | None = None
    candidates: list[str] = field(default_factory=list)
    gold_alternatives: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    grade: bool = False


@dataclass
class ItemVerdict:
    index: int
    db_id: str
    ex: bool
    error: str | None
    hardness: str | None
    difficulty: str | None
    gold_sql: str
    pred_sql: str | None
    gold_preview: dict[str, Any] | None = None
    pred_preview: dict[str, Any] | None = None
    candidates_correct: list[bool] = field(default_factory=list)
    em: bool | None = None
    em_error: str | None = None
    ves_ratio: float | None = None
    # Squrve's looser execution match (extra predicted columns allowed); never EX.
    ex_squrve: bool | None = None

    @property
    def category(self) -> str | None:
        """Why the item is wrong (see :data:`FAILURE_CATEGORIES`); None when EX-correct."""
        return None if self.ex else failure_category(self.error)

    def to_dict(self) -> dict[str, Any]:
        """The item as one line of ``items.jsonl``."""
        out = {
            "index": self.index,
            "db_id": self.db_id,
            "ex": self.ex,
            "error": self.error,
            "hardness": self.hardness,
            "difficulty": self.difficulty,
            "gold_sql": self.gold_sql,
            "pred_sql": self.pred_sql,
            "failure": self.category,
        }
        if self.em is not None:
            out["em"] = self.em
            if self.em_error:
                out["em_error"] = self.em_error
        if self.ves_ratio is not None:
            out["ves_time_ratio"] = round(self.ves_ratio, 4)
        if self.ex_squrve is not None:
            out["ex_squrve"] = self.ex_squrve
        if self.candidates_correct:
            out["candidates_correct"] = self.candidates_correct
        out["gold_result"] = self.gold_preview
        out["pred_result"] = self.pred_preview
        return out


# The official scorer joins operators split by a space before running anything.
_SPACING_FIXES = (("> =", ">="), ("< =", "<="), ("! =", "!="))
_YEAR_OF_TODAY = ("YEAR", "(", "CURDATE", "(", ")", ")")
# Words that make a statement change something. The official drops whatever
# follows the first statement unrun; here a write there still refuses the
# prediction, so no prediction that writes ever scores. Conservative on
# purpose: a read-only REPLACE(...) call after the first statement refuses too.
_WRITE_WORDS = frozenset(
    "INSERT UPDATE DELETE MERGE REPLACE UPSERT CREATE DROP ALTER TRUNCATE RENAME ATTACH DETACH "
    "PRAGMA GRANT REVOKE VACUUM REINDEX ANALYZE COPY CALL EXEC EXECUTE LOAD INTO".split()
)


# What a text must contain for the tokens to need a rewrite: ``;`` (a statement's
# end), ORDER (BY), DISTINCT or CURDATE. A text with none of them runs as it is.
_REWRITE_MARKS = (";", "ORDER", "DISTINCT", "CURDATE")


def _year_of_today_at(tokens: list, i: int) -> bool:
    window = tokens[i : i + len(_YEAR_OF_TODAY)]
    return len(window) == len(_YEAR_OF_TODAY) and all(
        t.text.upper() == want for t, want in zip(window, _YEAR_OF_TODAY, strict=True)
    )


def spider_prepare(sql: str, dialect: str = "sqlite", *, prediction: bool = False) -> str:
    """The text test-suite-sql-eval runs for ``sql``, rewritten in its order.

    1. a prediction's `` value `` becomes `` 1 `` (``evaluation.py`` does this to
       every prediction, for models that predict value slots);
    2. ``> =``, ``< =``, ``! =`` are joined (``postprocess``);
    3. every DISTINCT keyword is cut out (``remove_distinct`` rebuilds the
       text from ``sqlparse.parse(s)[0]`` without its DISTINCT tokens). The
       official keeps only that first statement, so ``SELECT ...; junk`` runs
       as ``SELECT ...;``; here a second statement raises WriteRejectedError
       instead (a prediction is one query; what follows is not silently
       dropped). Empty statements (``SELECT ...;;``) are not counted;
    4. ``YEAR(CURDATE())`` becomes ``2020`` with the spaces after it
       (``replace_cur_year``).

    Steps 1 and 2 replace text, exactly as the official does (inside string
    literals too). Steps 3 and 4 work on sqlglot's tokens, so nothing inside a
    string literal changes (a plain text is read by :mod:`sqlfoundry.sql.plain_scan`,
    which finds the same tokens without importing sqlglot); after steps 1 and 2,
    text the tokenizer cannot read is run as it is and the database judges it.

    Raises:
        WriteRejectedError: there is a statement after the first one.
    """
    return _spider_prepare(sql, dialect, prediction)[0]


def _spider_prepare(sql: str, dialect: str, prediction: bool) -> tuple[str, bool]:
    """:func:`spider_prepare`'s text, and whether it has ORDER BY (as ``db.compare.gold_orders_rows`` decides)."""
    if prediction:
        sql = sql.replace(" value ", " 1 ")
    for bad, good in _SPACING_FIXES:
        sql = sql.replace(bad, good)
    upper = sql.upper()
    if not any(mark in upper for mark in _REWRITE_MARKS):
        return sql, False  # the tokens would change nothing: no need to make them
    if dialect == "sqlite":
        found = scan(sql)
        if found is not None:  # read as sqlglot would, without importing it
            return _rewritten(sql, found), found.orders
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    from sqlfoundry.sql.parse import tokens_of

    try:
        tokens = tokens_of(sql, dialect)
    except TokenError:
        return sql, "order by" in sql.lower()
    check_year = "CURDATE" in sql.upper()
    orders = False
    # Cut pieces out of the original text, so nothing else changes.
    out, last, i = [], 0, 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.token_type
        if kind == TokenType.SEMICOLON:
            writes = [t.text.upper() for t in tokens[i + 1 :] if t.text.upper() in _WRITE_WORDS]
            if writes:
                raise WriteRejectedError(
                    f"a statement after the first one writes ({writes[0]}); "
                    "only read-only queries run",
                    sql=sql,
                )
            statements = _statement_count(tokens[i:])
            if statements > 1:
                # test-suite would score the first and drop the rest unseen.
                raise WriteRejectedError(
                    f"{statements} statements given; only a single query is scored "
                    "(test-suite-sql-eval would run the first alone)",
                    sql=sql,
                )
            return "".join(out) + sql[last : token.end + 1], orders
        if kind == TokenType.ORDER_BY:
            orders = True
        elif kind == TokenType.DISTINCT:
            out.append(sql[last : token.start])
            last = token.end + 1
        elif check_year and _year_of_today_at(tokens, i):
            out.append(sql[last : token.start] + "2020")
            last = tokens[i + len(_YEAR_OF_TODAY) - 1].end + 1
            while last < len(sql) and sql[last].isspace():
                last += 1
            i += len(_YEAR_OF_TODAY)
            continue
        i += 1
    out.append(sql[last:])
    return "".join(out), orders


def _rewritten(sql: str, found: Scan) -> str:
    """``sql`` without its DISTINCT keywords, up to its first ``;``: the token loop's text."""
    out, last = [], 0
    for start, end in found.distinct:
        out.append(sql[last:start])
        last = end
    out.append(sql[last:] if found.semicolon is None else sql[last : found.semicolon + 1])
    return "".join(out)


def _statement_count(tokens: list) -> int:
    """Statements in ``tokens``, which start at the first statement's semicolon."""
    from sqlglot.tokens import TokenType

    count, pending = 1, False
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            count, pending = count + pending, False
        else:
            pending = True
    return count + pending


def _preview(result: ExecResult | None) -> dict[str, Any] | None:
    if result is None or not result.ok:
        return None
    return {
        "columns": result.columns,
        "row_count": len(result.rows),
        "rows": [[json_value(v) for v in r] for r in result.rows[:PREVIEW_ROWS]],
    }


def _failure(result: ExecResult, who: str) -> str:
    if result.error_type == "DatabaseNotFoundError":
        return f"database missing: {result.error}"
    if result.status == "rejected":
        return f"{who} refused, not run: {result.error}"
    if result.status == "timeout":
        return f"{who} timed out: {result.error}"
    return f"{who} failed: {result.error}"


def evaluate_execution(
    items: Sequence[EvalItem],
    executor: SafeExecutor,
    *,
    mode: str = "spider",
    dialect: str = "sqlite",
    progress: Callable[[int], None] | None = None,
    squrve: bool = False,
) -> list[ItemVerdict]:
    """Judge every item by execution. Identical (SQL, database) pairs run once.

    ``squrve`` also judges each item by Squrve's looser match
    (:func:`sqlfoundry.db.compare.squrve_equal`) into ``ex_squrve``.
    """
    prepared: dict[tuple[str, bool], tuple[str, bool] | WriteRejectedError] = {}
    jobs: dict[tuple[str, str], int] = {}
    refused: dict[tuple[str, str], ExecResult] = {}
    orders: dict[tuple[str, str], bool] = {}

    def job(sql: str, db_id: str, prediction: bool = True) -> tuple[str, str]:
        # The value slot is the only difference between a gold and a prediction.
        cache_key = (sql, prediction and " value " in sql)
        done = prepared.get(cache_key)
        if done is None:
            done = (sql, False)
            if mode == "spider":
                try:
                    done = _spider_prepare(sql, dialect, cache_key[1])
                except WriteRejectedError as err:
                    done = err
            prepared[cache_key] = done
        if isinstance(done, WriteRejectedError):
            # Refused here, never sent to a database.
            key = ("\0refused\0" + sql, db_id)
            refused[key] = failed(done, 0.0, db_id)
            return key
        key = (done[0], db_id)
        orders[key] = done[1]
        jobs.setdefault(key, len(jobs))
        return key

    plans = []
    for item in items:
        golds = [job(g, item.db_id, False) for g in (item.gold_alternatives or [item.gold])]
        pred = job(item.pred, item.db_id) if item.pred and item.pred.strip() else None
        cands = [job(c, item.db_id) if c and c.strip() else None for c in item.candidates]
        plans.append((golds, pred, cands))
    keys = list(jobs)
    results = executor.run(keys, progress=progress)
    by_key = dict(zip(keys, results, strict=True))
    by_key.update(refused)

    verdicts = []
    for item, (golds, pred_key, cand_keys) in zip(items, plans, strict=True):
        gold_results = [by_key[g] for g in golds]
        pred_result = by_key[pred_key] if pred_key else None
        gold_orders = [mode == "spider" and orders.get(g, False) for g in golds]
        ex, error = _judge(item, gold_results, gold_orders, pred_result, mode)
        candidates_correct = []
        for key in cand_keys:
            ok = False
            if key is not None:
                ok, _ = _judge(item, gold_results, gold_orders, by_key[key], mode)
            candidates_correct.append(ok)
        verdicts.append(
            ItemVerdict(
                index=item.index,
                db_id=item.db_id,
                ex=ex,
                error=error,
                hardness=item.hardness,
                difficulty=item.difficulty,
                gold_sql=item.gold,
                pred_sql=item.pred,
                gold_preview=_preview(gold_results[0]),
                pred_preview=_preview(pred_result),
                candidates_correct=candidates_correct,
                ex_squrve=_squrve_match(gold_results[0], pred_result) if squrve else None,
            )
        )
    return verdicts


def _squrve_match(gold: ExecResult, pred: ExecResult | None) -> bool:
    if pred is None or not pred.ok or not gold.ok:
        return False
    return squrve_equal(gold.rows, pred.rows, len(gold.columns), len(pred.columns))


def _judge(
    item: EvalItem,
    gold_results: list[ExecResult],
    gold_orders: list[bool],
    pred_result: ExecResult | None,
    mode: str,
) -> tuple[bool, str | None]:
    """Whether the prediction matches any gold; ``gold_orders``: row order counts for that gold."""
    if item.pred is None:
        return False, MISSING
    if pred_result is None:
        return False, EMPTY
    if not gold_results[0].ok and gold_results[0].error_type == "DatabaseNotFoundError":
        return False, _failure(gold_results[0], "gold")
    if not any(g.ok for g in gold_results):
        # Nothing to compare with: say so rather than blame the prediction.
        return False, _failure(gold_results[0], "gold query")
    if not pred_result.ok:
        return False, _failure(pred_result, "prediction")
    gold_error = None
    for gold, order in zip(gold_results, gold_orders, strict=True):
        if not gold.ok:
            gold_error = gold_error or _failure(gold, "gold query")
            continue
        if results_match(gold.rows, pred_result.rows, mode, order_matters=order):
            return True, None
    return False, gold_error
