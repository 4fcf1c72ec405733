"""Rewrite rules, table-driven: tests/fixtures/synth/rewrites/<rule>.sql.

Each case is a block of ``# key: value`` lines (``title``, ``schema`` for the
facts a rule may need, ``expect: no rewrite``), the input query and, unless
the rule must not apply, the expected output; statements end with ``;``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlglot

from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.synth.rewrites import RULES, SchemaFacts, applicable
from sqlfoundry.synth.rewrites.base import render

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "rewrites"


@dataclass
class Case:
    rule: str
    title: str
    schema: str | None
    source: str
    expected: str | None
    where: str


def _cases() -> list[Case]:
    cases = []
    for path in sorted(FIXTURES.glob("*.sql")):
        for number, block in enumerate(path.read_text().strip().split("\n\n"), start=1):
            meta, body = {}, []
            for line in block.splitlines():
                if line.startswith("#"):
                    key, _, value = line.lstrip("# ").partition(":")
                    meta[key.strip()] = value.strip()
                else:
                    body.append(line)
            statements = [s.strip() for s in "\n".join(body).split(";\n") if s.strip()]
            statements = [s.rstrip(";") for s in statements]
            no_rewrite = meta.get("expect") == "no rewrite"
            assert len(statements) == (1 if no_rewrite else 2), f"{path.name} case {number}"
            cases.append(Case(path.stem, meta["title"], meta.get("schema"), statements[0],
                              None if no_rewrite else statements[1], f"{path.name}#{number}"))  # fmt: skip
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.where for c in CASES])
def test_rule_fixture(case: Case):
    tree = sqlglot.parse_one(case.source, read="sqlite")
    before = repr(tree)
    facts = SchemaFacts.from_spec(case.schema) if case.schema else None
    result = RULES[case.rule](tree, facts)
    assert repr(tree) == before, "a rule must not change its input tree"
    if case.expected is None:
        assert result is None, render(result)
        return
    assert result is not None, case.title
    assert render(result) == case.expected
    # the output is a query sqlglot reads back to the same text
    assert render(sqlglot.parse_one(case.expected, read="sqlite")) == case.expected


def test_every_rule_has_fixtures_that_apply_and_that_do_not():
    applied = {c.rule for c in CASES if c.expected is not None}
    assert applied == set(RULES)
    files = {p.stem for p in FIXTURES.glob("*.sql")}
    assert files == set(RULES)
    refused = {c.rule for c in CASES if c.expected is None}
    assert len(refused) >= 20  # most rules show where they stop


def test_render_writes_negations_as_people_do():
    tree = sqlglot.parse_one(
        "SELECT a FROM t WHERE a NOT IN (1, 2) AND b IS NOT NULL AND c NOT BETWEEN 1 AND 2"
        " AND NOT EXISTS (SELECT 1 FROM u) AND d NOT LIKE 'x%'"
    )
    assert render(tree) == (
        "SELECT a FROM t WHERE a NOT IN (1, 2) AND b IS NOT NULL AND c NOT BETWEEN 1 AND 2"
        " AND NOT EXISTS(SELECT 1 FROM u) AND d NOT LIKE 'x%'"
    )
    assert sqlglot.parse_one(render(tree)) == tree


def test_schema_facts_from_a_real_schema(demo_root):
    facts = SchemaFacts.from_schema(DatabaseManager(root=demo_root).schema("bookshop"))
    assert ("books", "book_id") in facts.not_null  # INTEGER PRIMARY KEY: the rowid
    assert ("books", "title") in facts.not_null
    assert ("books", "page_count") not in facts.not_null
    assert facts.primary_keys["order_items"] == ("order_id", "book_id")
    assert facts.has_column("BOOKS", "Genre")


@pytest.mark.slow
def test_rules_keep_results_on_spider_dev(spider_root):
    """Every rule on every Spider dev gold query: the output runs, and the rules that
    cannot change results never do. Only the join/IN rules may (duplicates)."""
    import sqlite3

    manager = DatabaseManager(root=spider_root / "database")
    facts: dict[str, SchemaFacts] = {}
    applied = differ = 0
    may_differ = {"join_to_in", "join_to_exists", "in_to_join"}
    differing: dict[str, int] = {}
    for item in json.loads((spider_root / "dev.json").read_text()):
        db_id = item["db_id"]
        if db_id not in manager:
            continue
        if db_id not in facts:
            facts[db_id] = SchemaFacts.from_schema(manager.schema(db_id, sample_values=0))
        path = spider_root / "database" / db_id / f"{db_id}.sqlite"
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.text_factory = lambda b: b.decode(errors="replace")
        gold = con.execute(item["query"]).fetchall()
        tree = quoted_strings_to_literals(sqlglot.parse_one(item["query"], read="sqlite"))
        for name, rewritten in applicable(tree, facts[db_id]).items():
            applied += 1
            rows = con.execute(render(rewritten)).fetchall()
            if not results_match(gold, rows, "spider", gold_orders_rows(item["query"])):
                differ += 1
                differing[name] = differing.get(name, 0) + 1
        con.close()
    assert applied > 2500
    assert set(differing) <= may_differ, differing
    assert differ <= 10
