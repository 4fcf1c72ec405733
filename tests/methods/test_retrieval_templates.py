"""The skeleton queries: everyday shapes filled from each table of a real database."""

from __future__ import annotations

from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.methods.retrieval.templates import template_samples


def test_every_table_gets_the_everyday_shapes_with_its_own_columns(demo_manager):
    samples = template_samples(demo_manager, "bookshop")
    sqls = [s.sql for s in samples]
    for expected in [
        "SELECT COUNT(*) FROM books",
        "SELECT title FROM books ORDER BY price DESC LIMIT 1",
        "SELECT AVG(price) FROM books",
        "SELECT genre, COUNT(*) FROM books GROUP BY genre",
        "SELECT genre FROM books GROUP BY genre ORDER BY COUNT(*) DESC LIMIT 1",
        "SELECT COUNT(*) FROM books WHERE genre = 'Fiction'",
        "SELECT COUNT(*) FROM customers",
    ]:
        assert expected in sqls
    assert len(sqls) == len(set(sqls))
    assert [s.id for s in samples[:2]] == ["bookshop-t0000", "bookshop-t0001"]
    assert {s.meta["origin"] for s in samples} == {"template"}
    # A foreign key gives the parent-child shapes.
    assert (
        "SELECT T1.first_name, COUNT(*) FROM authors AS T1 JOIN books AS T2 "
        "ON T1.author_id = T2.author_id GROUP BY T1.author_id"
    ) in sqls


def test_every_template_runs_on_its_database(demo_manager):
    samples = template_samples(demo_manager, "clinic")
    with SafeExecutor(demo_manager, workers=0, timeout=10) as executor:
        results = executor.run([(s.sql, s.db_id) for s in samples])
    failed = [(s.sql, r.error) for s, r in zip(samples, results, strict=True) if not r.ok]
    assert failed == []
    assert sum(1 for r in results if r.rows) >= 0.9 * len(results)
