"""SQLSemanticFilter: answers that mislead, found by execution on the demo databases and on
the local PostgreSQL and MariaDB servers; contrived filters read from the SQL."""

from __future__ import annotations

import pytest
from synth_testing import run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.synth.contrived import contrived_filters, is_round
from sqlfoundry.synth.pipelines import SynthSettings, step_list
from sqlfoundry.synth.semantic_filter import ALL_CHECKS, SQLSemanticFilter


def pair(id: str, db_id: str, sql: str, question: str | None = None) -> Sample:
    return Sample(id=id, db_id=db_id, sql=sql, question=question)


# (id, db, SQL, question, reject reason or None)
DEMO = [
    ("tie", "bookshop",
     "SELECT genre FROM books GROUP BY genre ORDER BY COUNT(*) DESC LIMIT 2", None, None),
    ("tie-rating", "bookshop",
     "SELECT review_id FROM reviews ORDER BY rating DESC LIMIT 1", None,
     "tie at the LIMIT cutoff: row 2 sorts like row 1"),
    ("tie-asked", "bookshop",
     "SELECT review_id FROM reviews ORDER BY rating DESC LIMIT 1",
     "Which review has the top rating (any one of the ties)?", None),
    ("fan-out", "bookshop",
     "SELECT T1.first_name FROM customers AS T1 JOIN orders AS T2 "
     "ON T1.customer_id = T2.customer_id WHERE T2.status = 'delivered'", None,
     "fan-out: 588 row(s) repeat an entity, once per row of orders, which the answer does "
     "not show"),
    ("fan-out-distinct", "bookshop",
     "SELECT DISTINCT T1.first_name FROM customers AS T1 JOIN orders AS T2 "
     "ON T1.customer_id = T2.customer_id WHERE T2.status = 'delivered'", None, None),
    ("fan-out-each", "bookshop",
     "SELECT T1.first_name FROM customers AS T1 JOIN orders AS T2 "
     "ON T1.customer_id = T2.customer_id WHERE T2.status = 'delivered'",
     "Give the customer's first name for each delivered order.", None),
    ("shows-both", "bookshop",
     "SELECT T1.first_name, T2.order_date FROM customers AS T1 JOIN orders AS T2 "
     "ON T1.customer_id = T2.customer_id", None, None),
    ("null", "bookshop", "SELECT MAX(price) FROM books WHERE price < 0", None,
     "degenerate result: a single NULL"),
    ("zeros", "bookshop",
     "SELECT genre, SUM(CASE WHEN price < 0 THEN 1 ELSE 0 END) FROM books GROUP BY genre", None,
     None),
    ("one-per-group", "bookshop",
     "SELECT book_id, AVG(price) FROM books GROUP BY book_id", None,
     "degenerate result: every group holds a single row"),
    ("tautology", "bookshop", "SELECT title FROM books WHERE price > 0", None,
     "tautology: price > 0 keeps every row"),
    ("tautology-or", "airline",
     "SELECT flight_number FROM flights WHERE status = 'landed' OR status <> 'landed'", None,
     "tautology: status = 'landed' OR status <> 'landed' keeps every row"),
    ("fine", "clinic",
     "SELECT name FROM departments WHERE floor > 2 ORDER BY name LIMIT 3", None, None),
]  # fmt: skip


def test_each_check_rejects_with_its_reason(demo_ctx):
    batch = [pair(i, db, sql, q) for i, db, sql, q, _ in DEMO]
    out = run(SQLSemanticFilter().process(batch, demo_ctx))
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons == {i: reason for i, _, _, _, reason in DEMO if reason is not None}
    kept = {s.id: s.meta["semantic"] for s in out.samples}
    assert set(kept) == {i for i, *_, reason in DEMO if reason is None}
    assert kept["fine"] == {"checks": ["ties", "fan_out", "degenerate", "tautology"], "probes": 2}
    assert out.samples[0].meta["provenance"][-1] == {
        "operator": "sql_semantic_filter", "engine": "offline"
    }  # fmt: skip
    rejected = {r.sample.id: r.sample.meta["semantic"]["problems"] for r in out.rejects}
    assert rejected["one-per-group"] == ["degenerate result: every group holds a single row"]


def test_only_zeros_is_degenerate(demo_ctx):
    sql = "SELECT SUM(CASE WHEN price < 0 THEN 1 ELSE 0 END) FROM books"
    out = run(SQLSemanticFilter().process([pair("z", "bookshop", sql)], demo_ctx))
    assert [r.reason for r in out.rejects] == ["degenerate result: only zeros"]


def test_contrived_filters_only_when_asked(demo_ctx):
    sql = "SELECT title FROM books WHERE book_id = 7"
    plain = run(SQLSemanticFilter().process([pair("k", "bookshop", sql)], demo_ctx))
    assert [s.id for s in plain.samples] == ["k"]  # people's own pairs may name an id
    strict = SQLSemanticFilter(checks=list(ALL_CHECKS))
    out = run(strict.process([pair("k", "bookshop", sql)], demo_ctx))
    assert [r.reason for r in out.rejects] == [
        "contrived filter: filter on a key column: book_id = 7"
    ]


def test_a_probe_that_fails_does_not_drop_the_record(demo_ctx):
    # ORDER BY an output alias the probe cannot project: the tie probe fails to run.
    sql = "SELECT genre AS g, COUNT(*) AS n FROM books GROUP BY g ORDER BY n DESC LIMIT 1"
    out = run(SQLSemanticFilter().process([pair("a", "bookshop", sql)], demo_ctx))
    assert [s.id for s in out.samples] + [r.sample.id for r in out.rejects] == ["a"]


def test_bad_inputs_and_parameters(demo_ctx):
    out = run(SQLSemanticFilter().process(
        [pair("none", "bookshop", ""), pair("where", "nowhere", "SELECT 1")], demo_ctx))  # fmt: skip
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "none": "missing field: SQL", "where": "unknown database: nowhere"
    }  # fmt: skip
    with pytest.raises(ConfigError, match="bad parameters for operator sql_semantic_filter"):
        build("sql_semantic_filter", {"checks": ["ties", "vibes"]})


def test_both_pipelines_run_it_and_synthesis_also_rejects_contrived_filters():
    settings = SynthSettings()
    synth = {s["op"]: s for s in step_list("synth", settings)}
    refine = {s["op"]: s for s in step_list("refine", settings)}
    assert synth["sql_semantic_filter"]["checks"] == list(ALL_CHECKS)
    assert "checks" not in refine["sql_semantic_filter"]  # the default: execution checks only
    assert list(synth).index("sql_semantic_filter") == 2
    assert list(refine).index("sql_semantic_filter") == 2


# (SQL, reasons)
CONTRIVED = [
    ("SELECT title FROM books WHERE author_id = 3", ["filter on a key column: author_id = 3"]),
    ("SELECT title FROM books WHERE genre = 'Poetry'", []),
    ("SELECT flight_id FROM flights WHERE scheduled_departure >= '2024-01-02 20:30:00'",
     ["timestamp to the minute: scheduled_departure >= '2024-01-02 20:30:00'"]),
    ("SELECT flight_id FROM flights WHERE scheduled_departure >= '2024-01-01 00:00:00'", []),
    ("SELECT name FROM airports WHERE latitude = 40.64", ["exact float equality: latitude = 40.64"]),
    ("SELECT title FROM books WHERE price > 3242.5", ["non-round threshold: price > 3242.5"]),
    ("SELECT title FROM books WHERE price BETWEEN 125 AND 2500", []),
    ("SELECT title FROM books WHERE page_count >= 72080", ["non-round threshold: page_count >= 72080"]),
    ("SELECT name FROM publishers WHERE founded_year > 1987", []),
    ("SELECT genre FROM books GROUP BY genre HAVING COUNT(*) > 17", []),
    ("SELECT genre FROM books GROUP BY genre HAVING AVG(price) > 21.37",
     ["non-round threshold: AVG(price) > 21.37"]),
    ("SELECT title FROM books WHERE publication_date < '2018-03-16'",
     ["non-round date threshold: publication_date < '2018-03-16'"]),
    ("SELECT title FROM books WHERE publication_date BETWEEN '2004-01-01' AND '2018-12-31'", []),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "reasons"), CONTRIVED)
def test_contrived_filters(demo_root, sql, reasons):
    db_id = "airline" if "flights" in sql or "airports" in sql else "bookshop"
    schema = DatabaseManager(root=demo_root).schema(db_id, sample_values=0)
    assert contrived_filters(sql, schema, "sqlite") == reasons


@pytest.mark.parametrize(
    ("value", "expected"),
    [(500, True), (48, True), (0.97, True), (125, True), (2.75, True), (1250, True),
     (5239, False), (72080, False), (3242.5, False), (42.4, False), (555, False)],
)  # fmt: skip
def test_round_numbers(value, expected):
    assert is_round(value) is expected


# ------------------------------------------------------------------ servers


SERVER = [
    ("tie", "SELECT dept_id FROM employee WHERE dept_id IS NOT NULL GROUP BY dept_id "
     "ORDER BY COUNT(*) DESC LIMIT 2", "tie at the LIMIT cutoff: row 3 sorts like row 2"),
    ("fan-out", "SELECT d.name FROM department AS d JOIN employee AS e ON d.dept_id = e.dept_id",
     "fan-out: 21 row(s) repeat an entity, once per row of employee, which the answer does "
     "not show"),
    ("null", "SELECT MAX(salary) FROM employee WHERE salary < 0", "degenerate result: a single NULL"),
    ("groups", "SELECT emp_id, AVG(salary) FROM employee GROUP BY emp_id",
     "degenerate result: every group holds a single row"),
    ("tautology", "SELECT name FROM employee WHERE hired > '2000-01-01'",
     "tautology: hired > '2000-01-01' keeps every row"),
    ("fine", "SELECT name FROM department WHERE dept_id IN (SELECT dept_id FROM employee "
     "WHERE salary > 60000)", None),
]  # fmt: skip


@pytest.mark.server
@pytest.mark.parametrize("server", ["pg_server", "mysql_server"])
def test_every_engine_is_checked_by_execution(server, request):
    settings = request.getfixturevalue(server)
    manager = DatabaseManager(server=settings)
    db_id = settings.databases[0]
    batch = [pair(i, db_id, sql) for i, sql, _ in SERVER]
    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        ctx = RunContext(databases=manager, executor=executor)
        out = run(SQLSemanticFilter().process(batch, ctx))
    reasons = {r.sample.id: r.reason.replace('"', "") for r in out.rejects}
    expected = {i: reason for i, _, reason in SERVER if reason is not None}
    # The engine prints the condition its own way; the kind and the verdict must agree.
    assert {k: v.split(":")[0] for k, v in reasons.items()} == {
        k: v.split(":")[0] for k, v in expected.items()
    }
    assert reasons["tie"] == expected["tie"] and reasons["fan-out"] == expected["fan-out"]
    assert [s.id for s in out.samples] == ["fine"]


def test_what_the_generator_checked_is_not_run_twice(demo_ctx):
    from sqlfoundry.synth.semantic_filter import checked_by_generator

    sql = "SELECT title FROM books WHERE price > 0"  # a tautology
    marked = Sample(id="m", db_id="bookshop", sql=sql, meta={"semantic": checked_by_generator(sql)})
    changed = Sample(id="c", db_id="bookshop", sql=sql,
                     meta={"semantic": checked_by_generator("SELECT title FROM books")})  # fmt: skip
    out = run(SQLSemanticFilter(checks=list(ALL_CHECKS)).process([marked, changed], demo_ctx))
    # The marked record passes as checked (the generator writes no tautology); a record
    # whose SQL changed since it was checked is checked again.
    assert [s.id for s in out.samples] == ["m"]
    assert out.samples[0].meta["provenance"][-1] == {
        "operator": "sql_semantic_filter", "engine": "offline", "reused": True
    }  # fmt: skip
    assert [r.reason for r in out.rejects] == ["tautology: price > 0 keeps every row"]


def test_contrived_filters_leave_the_callers_and_the_shared_tree_alone(demo_root):
    from sqlfoundry.sql.parse import parse_one, read_tree

    schema = DatabaseManager(root=demo_root).schema("bookshop", sample_values=0)
    # SQLite reads "Poetry" as a string here: checked as 'Poetry', on a copy of the tree.
    sql = 'SELECT title FROM books WHERE genre = "Poetry" AND author_id = 3'
    tree = parse_one(sql)
    assert contrived_filters(tree, schema, "sqlite") == ["filter on a key column: author_id = 3"]
    assert tree.sql() == parse_one(sql).sql()  # the caller's tree keeps its quoted name
    assert contrived_filters(sql, schema, "sqlite") == ["filter on a key column: author_id = 3"]
    assert read_tree(sql).sql() == parse_one(sql).sql()  # so does the shared one
