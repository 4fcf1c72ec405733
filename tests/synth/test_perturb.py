"""Perturbed copies for variant equivalence: made in a temporary folder, the user's
database untouched, constraints kept; and what the variation generator does with them."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

from synth_testing import answer_with, run

from sqlfoundry.core.sample import Sample
from sqlfoundry.db.base import DatabaseSpec
from sqlfoundry.synth.perturb import PerturbedCopies, perturbed_copy
from sqlfoundry.synth.variation_generator import SQLVariationGenerator


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(conn: sqlite3.Connection, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def test_a_copy_changes_data_keeps_keys_and_leaves_the_original_alone(demo_root, tmp_path):
    source = demo_root / "bookshop" / "bookshop.sqlite"
    before = (digest(source), source.stat().st_mtime_ns)
    target = tmp_path / "copy.sqlite"
    perturbed_copy(source, target, random.Random(1))
    assert (digest(source), source.stat().st_mtime_ns) == before
    original, copy = sqlite3.connect(source), sqlite3.connect(target)
    for table in ("authors", "books", "orders", "order_items", "reviews"):
        assert (
            0
            < count(copy, f"SELECT COUNT(*) FROM {table}")
            < count(original, f"SELECT COUNT(*) FROM {table}")
        ), table
    # Every foreign key still points at a row.
    for child, column, parent, key in (("books", "author_id", "authors", "author_id"),
                                       ("order_items", "order_id", "orders", "order_id"),
                                       ("reviews", "book_id", "books", "book_id")):  # fmt: skip
        orphans = count(copy, f"SELECT COUNT(*) FROM {child} WHERE {column} IS NOT NULL AND "
                              f"{column} NOT IN (SELECT {key} FROM {parent})")  # fmt: skip
        assert orphans == 0, child
    # Keys are the originals'; non-key values moved.
    kept = dict(copy.execute("SELECT book_id, author_id FROM books").fetchall())
    truth = dict(original.execute("SELECT book_id, author_id FROM books").fetchall())
    assert all(truth[k] == v for k, v in kept.items())
    prices = dict(copy.execute("SELECT book_id, price FROM books").fetchall())
    old_prices = dict(original.execute("SELECT book_id, price FROM books").fetchall())
    assert 0 < sum(prices[k] != old_prices[k] for k in prices) < len(prices)


def test_copies_live_in_a_temporary_folder_and_repeat_with_the_seed(demo_root):
    spec = DatabaseSpec(db_id="clinic", kind="sqlite",
                        path=str(demo_root / "clinic" / "clinic.sqlite"))  # fmt: skip
    first, second = PerturbedCopies(copies=2, seed=3), PerturbedCopies(copies=2, seed=3)
    paths = first.paths(spec)
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    assert all(demo_root not in p.parents for p in paths)
    dumps = ["\n".join(sqlite3.connect(p).iterdump()) for p in paths]
    assert dumps == ["\n".join(sqlite3.connect(p).iterdump()) for p in second.paths(spec)]
    assert dumps[0] != dumps[1]
    folder = paths[0].parent
    first.close()
    second.close()
    assert not folder.exists()
    server = DatabaseSpec(db_id="x", kind="postgres", host="127.0.0.1", port=5432)
    assert PerturbedCopies().paths(server) == []


DEPARTMENTS = "SELECT name FROM departments WHERE floor = 3"


def test_a_rewrite_that_agrees_only_by_luck_is_dropped(llm_ctx, fake, demo_root):
    conn = sqlite3.connect(demo_root / "clinic" / "clinic.sqlite")
    ids = [r[0] for r in conn.execute("SELECT department_id FROM departments WHERE floor = 3")]
    lucky = f"SELECT name FROM departments WHERE department_id IN ({', '.join(map(str, ids))})"
    honest = "SELECT name FROM departments WHERE 3 = floor"
    answers = [f"```sql\n{lucky}\n```", f"```sql\n{honest}\n```"]
    fake.handler = answer_with(lambda messages, n, index: answers[index])
    op = SQLVariationGenerator(engine="llm", llm_mode="rewrite", n=2)
    seed = Sample(id="d", db_id="clinic", sql=DEPARTMENTS, question="Which departments are on "
                  "the third floor?")  # fmt: skip
    out = run(op.process([seed], llm_ctx))
    # Both return the same rows on the database; only the honest one on the copies.
    assert [s.sql for s in out.samples] == [DEPARTMENTS, honest]
    assert out.samples[0].meta["variation_checks"] == {
        "candidates": 2, "kept": 1, "failed": {"result differs on a perturbed copy": 1},
        "perturbed": "2 perturbed copies",
    }  # fmt: skip
    assert out.samples[1].question == "Which departments are on the third floor?"


def test_queries_that_only_agree_on_nothing_are_not_equivalent(demo_ctx):
    empty = "SELECT title FROM books WHERE price < 0 AND genre = 'Poetry'"
    out = run(SQLVariationGenerator(engine="offline").process(
        [Sample(id="e", db_id="bookshop", sql=empty, question="q?")], demo_ctx))  # fmt: skip
    assert [s.id for s in out.samples] == ["e"]
    assert out.samples[0].meta["variation_checks"]["problem"] == (
        "seed SQL returns no rows: equivalence cannot be told"
    )
