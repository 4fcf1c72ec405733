"""SQLExecutionFilter on the demo databases: what is kept, what is dropped and why."""

from __future__ import annotations

import pytest
from synth_testing import run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.synth.execution_filter import SQLExecutionFilter

TOP_PRICES = "SELECT title, price FROM books ORDER BY price DESC LIMIT 3"
EMPTY = "SELECT title FROM books WHERE price < 0"
ALL_NULL = "SELECT shipped_at FROM orders WHERE status = 'cancelled'"
GENRES = "SELECT genre, count(*) FROM books GROUP BY genre"
ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"


def sample(id: str, sql: str | None, db_id: str = "bookshop") -> Sample:
    return Sample(id=id, db_id=db_id, question="q", sql=sql, meta={"source": f"in:{id}"})


def outcome(out) -> tuple[list[str], dict[str, str]]:
    return [s.id for s in out.samples], {r.sample.id: r.reason for r in out.rejects}


BATCH = [
    sample("top", TOP_PRICES),
    sample("bad-column", "SELECT nope FROM books"),
    sample("delete", "DELETE FROM books"),
    sample("two", "SELECT 1; SELECT 2"),
    sample("elsewhere", "SELECT 1", db_id="no_such_db"),
    sample("empty", EMPTY),
    sample("nulls", ALL_NULL),
    sample("blank", "   "),
    sample("none", None),
    sample("garbage", "hello there"),
    sample("top-again", TOP_PRICES),
]


def test_keeps_running_sql_and_drops_the_rest_with_reasons(demo_ctx):
    kept, rejected = outcome(run(SQLExecutionFilter().process(BATCH, demo_ctx)))
    assert kept == ["top", "empty", "nulls", "top-again"]
    assert rejected == {
        "bad-column": "execution failed: no such column: nope",
        "delete": "not a read-only query: not a query: DELETE statements are refused",
        "two": "not a read-only query: 2 statements given; only a single query is run",
        "elsewhere": "unknown database: no_such_db",
        "blank": "missing field: SQL",
        "none": "missing field: SQL",
        "garbage": "execution failed: not SQL a database can run: starts with 'hello'",
    }


def test_drop_empty_and_drop_all_null(demo_ctx):
    op = SQLExecutionFilter(drop_empty=True, drop_all_null=True)
    kept, rejected = outcome(run(op.process(BATCH, demo_ctx)))
    assert kept == ["top", "top-again"]
    assert rejected["empty"] == "empty result"
    assert rejected["nulls"] == "all values are NULL"
    # A NULL next to a value is data, not an all-NULL result.
    mixed = sample("mixed", "SELECT NULL, 1")
    assert outcome(run(op.process([mixed], demo_ctx)))[0] == ["mixed"]


def test_kept_records_carry_the_execution_summary(demo_ctx):
    out = run(SQLExecutionFilter().process([sample("top", TOP_PRICES)], demo_ctx))
    record = out.samples[0]
    execution = record.meta["execution"]
    assert execution == {
        "row_count": 3,
        "columns": ["title", "price"],
        "preview": [
            ["A History of Salt", 36.49],
            ["A Short Guide to Black Holes", 34.99],
            ["1848: The Year Everything Changed", 34.49],
        ],
    }
    assert record.meta["source"] == "in:top"
    assert record.meta["provenance"] == [{"operator": "sql_execution_filter", "engine": "offline"}]
    # The input record is not changed.
    assert BATCH[0].meta == {"source": "in:top"}


def test_max_rows_and_preview_rows(demo_ctx):
    op = SQLExecutionFilter(max_rows=3, preview_rows=1)
    batch = [sample("top", TOP_PRICES), sample("genres", GENRES)]
    out = run(op.process(batch, demo_ctx))
    kept, rejected = outcome(out)
    assert kept == ["top"]
    assert rejected == {"genres": "too many rows: more than 3"}
    assert out.samples[0].meta["execution"]["preview"] == [["A History of Salt", 36.49]]


def test_a_result_cut_at_the_executor_cap_counts_as_more(demo_root):
    manager = DatabaseManager(root=demo_root)
    with SafeExecutor(manager, workers=0, timeout=10, max_rows=5) as executor:
        ctx = RunContext(databases=manager, executor=executor)
        # Exactly the cap, but truncated: the query returns more than 5 rows.
        out = run(SQLExecutionFilter(max_rows=5).process([sample("genres", GENRES)], ctx))
        assert outcome(out) == ([], {"genres": "too many rows: more than 5"})
        out = run(SQLExecutionFilter().process([sample("genres", GENRES)], ctx))
        assert out.samples[0].meta["execution"]["row_count"] == 5
        assert out.samples[0].meta["execution"]["truncated"] is True


def test_identical_queries_run_once(demo_ctx):
    calls: list[list] = []
    real = demo_ctx.executor.run

    def counting(jobs, **kw):
        calls.append(list(jobs))
        return real(jobs, **kw)

    demo_ctx.executor.run = counting
    run(SQLExecutionFilter().process(BATCH, demo_ctx))
    assert len(calls) == 1
    jobs = calls[0]
    # 11 records: "top" twice, and three refused before running (no SQL, unknown db).
    assert len(jobs) == len(set(jobs)) == 7
    assert (TOP_PRICES, "bookshop") in jobs


def test_a_query_past_the_timeout_is_dropped(demo_root):
    manager = DatabaseManager(root=demo_root)
    with SafeExecutor(manager, workers=1, timeout=0.5) as executor:
        ctx = RunContext(databases=manager, executor=executor)
        batch = [sample("endless", ENDLESS), sample("top", TOP_PRICES)]
        kept, rejected = outcome(run(SQLExecutionFilter().process(batch, ctx)))
    assert kept == ["top"]
    assert rejected == {"endless": "execution timed out"}


def test_params_are_checked_and_the_name_is_registered():
    assert isinstance(build("sql_execution_filter", {"drop_empty": True}), SQLExecutionFilter)
    with pytest.raises(ConfigError, match="max_rows"):
        SQLExecutionFilter(max_rows=0)
    with pytest.raises(ConfigError, match="timeout"):
        SQLExecutionFilter(timeout=5)  # the executor's, not the filter's
