"""Benchmark registry, selection strings and loaders, on the real public releases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sqlfoundry.bench import loaders
from sqlfoundry.bench.registry import BenchRoots, load, parse_selector
from sqlfoundry.core.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def roots(bench_root: Path) -> BenchRoots:
    return BenchRoots(base=bench_root)


# ----------------------------------------------------------------- selection strings

SELECTORS = [
    ("spider", ("spider", "dev", [])),
    ("spider:train", ("spider", "train", [])),
    ("spider:dev:difficulty-hard", ("spider", "dev", [("difficulty", "hard")])),
    (
        "bird:minidev:db_id-california_schools,first-5",
        ("bird", "minidev", [("db_id", "california_schools"), ("first", "5")]),
    ),
    ("geoquery:test", ("geoquery", "test", [])),
    ("defog:questions_gen", ("defog", "questions_gen", [])),
]


@pytest.mark.parametrize(("selector", "parsed"), SELECTORS)
def test_parse_selector(selector, parsed):
    assert parse_selector(selector) == parsed


BAD = [
    ("sparrow:dev", "unknown benchmark 'sparrow'", "choose one of spider, spider-syn"),
    ("spider:test", "benchmark spider has no subset 'test'", "choose one of dev, train"),
    (
        "spider:dev:hardness-easy",
        "bad filter 'hardness-easy'",
        "use difficulty-X, db_id-X or first-N",
    ),
    ("spider:dev:first-ten", "bad filter 'first-ten': first-N needs a number", None),
    ("bird:minidev:easy", "bad filter 'easy'", "use difficulty-X"),
]


@pytest.mark.parametrize(("selector", "message", "hint"), BAD)
def test_bad_selectors_say_what_to_use(selector, message, hint):
    with pytest.raises(ConfigError) as info:
        parse_selector(selector)
    assert message in info.value.message
    if hint:
        assert hint in (info.value.hint or "")


def test_no_root_configured_gives_the_variable_to_set():
    with pytest.raises(ConfigError) as info:
        load("spider:dev", BenchRoots.from_sources(env={}))
    assert info.value.message == "no folder known for benchmark 'spider'"
    assert "SQLFOUNDRY_BENCH_ROOT" in info.value.hint and "spider/" in info.value.hint


def test_roots_from_config_and_environment(tmp_path: Path):
    config = {"root": "/data/bench", "roots": {"spider-syn": "/data/syn"}}
    env = {"SQLFOUNDRY_SPIDER_DK_ROOT": "/env/dk", "SQLFOUNDRY_BIRD_DB_ROOT": "/env/bird_dbs"}
    roots = BenchRoots.from_sources(config, env)
    assert roots.folder("spider") == Path("/data/bench/spider")
    assert roots.folder("spider-syn") == Path("/data/syn")
    assert roots.folder("spider-dk") == Path("/env/dk")
    assert roots.bird_databases == Path("/env/bird_dbs")
    # The environment's base wins over the config's.
    assert (
        BenchRoots.from_sources(config, {"SQLFOUNDRY_BENCH_ROOT": str(tmp_path)}).folder("bird")
        == tmp_path / "bird_minidev"
    )


def test_missing_benchmark_file_names_it(tmp_path: Path):
    with pytest.raises(InputError) as info:
        load("spider-realistic", BenchRoots(base=tmp_path))
    assert info.value.message == "benchmark file not found"
    assert info.value.file == str(tmp_path / "spider_realistic" / "spider-realistic.json")


# ----------------------------------------------------------------- filters on real data


def test_spider_dev_hard_filter(roots):
    bench = load("spider:dev:difficulty-hard", roots)
    assert len(bench.samples) == 174
    assert {s.hardness for s in bench.samples} == {"hard"}
    assert bench.mode == "spider" and bench.name == "spider:dev"


def test_spider_dev_hardness_distribution(roots):
    bench = load("spider:dev", roots)
    assert Counter(s.hardness for s in bench.samples) == {
        "easy": 248, "medium": 446, "hard": 174, "extra": 166,
    }  # fmt: skip


def test_bird_db_filter_and_first_n(roots):
    bench = load("bird:minidev:db_id-california_schools", roots)
    assert len(bench.samples) == 30
    assert {s.db_id for s in bench.samples} == {"california_schools"}
    first = load("bird:minidev:db_id-california_schools,first-4", roots)
    assert [s.id for s in first.samples] == [s.id for s in bench.samples[:4]]


def test_bird_difficulty_filter_uses_the_given_labels(roots):
    bench = load("bird:minidev:difficulty-challenging", roots)
    assert len(bench.samples) == 102
    assert {s.difficulty for s in bench.samples} == {"challenging"}


# ----------------------------------------------------------------- loaders


@pytest.mark.parametrize(
    ("selector", "count", "mode", "db_ids"),
    [
        ("spider:dev", 1034, "spider", 20),
        ("spider-syn:dev", 1034, "spider", 20),
        ("spider-dk", 535, "spider", 10),
        ("spider-realistic", 508, "spider", 19),
        ("bird:minidev", 500, "bird", 11),
        ("bird:dev", 1534, "bird", 11),
        ("kaggledbqa", 87, "spider", None),
        ("geoquery", 877, "spider", 1),
        ("defog:questions_gen", 210, "spider", 11),
    ],
)
def test_loader_counts(roots, selector, count, mode, db_ids):
    bench = load(selector, roots)
    assert len(bench.samples) == count
    assert bench.mode == mode
    assert all(s.sql and s.db_id for s in bench.samples)
    assert len({s.id for s in bench.samples}) == count
    if db_ids is not None:
        assert len({s.db_id for s in bench.samples}) == db_ids


def test_spider_dev_first_item(roots):
    first = load("spider:dev", roots).samples[0]
    assert (first.id, first.db_id, first.question, first.sql, first.hardness) == (
        "spider-dev-0",
        "concert_singer",
        "How many singers do we have?",
        "SELECT count(*) FROM singer",
        "easy",
    )


def test_spider_syn_uses_the_synonym_question(roots):
    first = load("spider-syn:dev", roots).samples[0]
    assert first.question == "How many vocalists do we have?"
    assert first.sql == "SELECT count(*) FROM singer"


def test_spider_train_without_questions_reads_the_gold_file(roots):
    bench = load("spider:train", roots)
    assert len(bench.samples) == 8659
    assert bench.samples[0].question is None
    assert bench.samples[0].meta["source"].endswith("train_gold.sql:1")


def test_bird_minidev_labels_and_ids(roots):
    bench = load("bird:minidev", roots)
    assert Counter(s.difficulty for s in bench.samples) == {
        "simple": 148, "moderate": 250, "challenging": 102,
    }  # fmt: skip
    first = bench.samples[0]
    assert first.db_id == "debit_card_specializing"
    assert first.evidence and first.meta["question_id"] == 1471
    # The BIRD databases are not in the shared folder: the roots are given, none exist.
    assert bench.tables_json.name == "dev_tables.json" and bench.tables_json.is_file()


def test_geoquery_variables_are_filled_in(roots):
    bench = load("geoquery", roots)
    first = bench.samples[0]
    assert first.question == "what is the biggest city in arizona"
    assert first.sql == (
        "SELECT CITYalias0.CITY_NAME FROM CITY AS CITYalias0 WHERE CITYalias0.POPULATION = "
        "( SELECT MAX( CITYalias1.POPULATION ) FROM CITY AS CITYalias1 WHERE "
        'CITYalias1.STATE_NAME = "arizona" ) AND CITYalias0.STATE_NAME = "arizona"'
    )
    placeholders = ("state_name0", "city_name0", "river_name0", "country_name0")
    assert not any(p in (s.sql + s.question) for s in bench.samples for p in placeholders)
    splits = Counter(s.meta["split"] for s in bench.samples)
    assert sum(splits.values()) == 877
    assert len(load("geoquery:train", roots).samples) == splits["train"]


def test_defog_column_templates_are_expanded(roots):
    bench = load("defog:questions_gen", roots)
    assert bench.dialect == "postgres"
    for sample in bench.samples:
        alternatives = sample.meta["gold_alternatives"]
        assert alternatives and sample.sql == alternatives[0]
        assert not any("{" in a or "}" in a for a in alternatives), sample.id
    # "SELECT {domain.name,domain.did}, AVG(...) ... GROUP BY {};" gives three golds.
    item = bench.samples[3]
    tail = (
        ", AVG(publication.reference_num) AS average_references FROM domain_publication "
        "JOIN publication ON domain_publication.pid = publication.pid JOIN domain ON "
        "domain.did = domain_publication.did GROUP BY "
    )
    assert item.meta["gold_alternatives"] == [
        f"SELECT domain.name{tail}domain.name",
        f"SELECT domain.did{tail}domain.did",
        f"SELECT domain.name, domain.did{tail}domain.name, domain.did",
    ]


EXPANSIONS = [
    ("SELECT a FROM t", ["SELECT a FROM t"]),
    ("SELECT {a, b} FROM t", ["SELECT a FROM t", "SELECT b FROM t", "SELECT a, b FROM t"]),
    (
        "SELECT {x.a,x.b}, count(*) FROM x GROUP BY {}",
        [
            "SELECT x.a, count(*) FROM x GROUP BY x.a",
            "SELECT x.b, count(*) FROM x GROUP BY x.b",
            "SELECT x.a, x.b, count(*) FROM x GROUP BY x.a, x.b",
        ],
    ),
    ("SELECT {a} FROM t", ["SELECT a FROM t"]),
]


@pytest.mark.parametrize(("sql", "expected"), EXPANSIONS)
def test_expand_column_templates(sql, expected):
    assert loaders.expand_column_templates(sql) == expected


def test_benchmark_manager_finds_spider_databases(roots):
    bench = load("spider:dev:first-3", roots)
    manager = bench.manager()
    assert "concert_singer" in manager and "wta_1" not in manager


# ----------------------------------------------------------------- custom files


def test_custom_loader_reads_json_jsonl_and_gold_files(tmp_path: Path):
    items = [
        {"db_id": "shop", "question": "How many shops?", "SQL": "SELECT count(*) FROM shop"},
        {"db_id": "shop", "question": "Names?", "query": "SELECT name FROM shop "},
    ]
    (tmp_path / "a.json").write_text(json.dumps(items))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    (tmp_path / "a.sql").write_text(
        "SELECT count(*) FROM shop\tshop\nSELECT name FROM shop\tshop\n"
    )
    for name in ("a.json", "a.jsonl"):
        samples = loaders.custom(tmp_path / name)
        assert [(s.id, s.db_id, s.question, s.sql) for s in samples] == [
            ("custom-0", "shop", "How many shops?", "SELECT count(*) FROM shop"),
            ("custom-1", "shop", "Names?", "SELECT name FROM shop"),
        ]
    gold = loaders.custom(tmp_path / "a.sql")
    assert [(s.db_id, s.sql, s.question) for s in gold] == [
        ("shop", "SELECT count(*) FROM shop", None),
        ("shop", "SELECT name FROM shop", None),
    ]
    assert gold[1].meta["source"] == f"{tmp_path / 'a.sql'}:2"


def test_custom_loader_names_the_bad_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"db_id": "shop", "SQL": "SELECT 1"}\n{"db_id": "shop"}\n')
    with pytest.raises(InputError) as info:
        loaders.custom(path)
    assert "needs 'db_id' and 'query' or 'SQL'" in info.value.message
    assert info.value.file == str(path)


# ----------------------------------------------------------------- Squrve's filter grammar

SQURVE_SELECTORS = [
    ("spider:dev:db_size-me-30.difficulty-easy.has_label",
     [("db_size", "me-30"), ("difficulty", "easy"), ("has_label", "query")]),
    ("spider:dev:db_size-100", [("db_size", "l-100")]),  # no operator: Squrve's default, <
    ("spider:dev:ques_length-m-150,query_length-le-30", [("ques_length", "m-150"), ("query_length", "le-30")]),
    ("bird:dev:db_type-sqlite.has_label-evidence", [("db_type", "sqlite"), ("has_label", "evidence")]),
]  # fmt: skip


@pytest.mark.parametrize(("selector", "filters"), SQURVE_SELECTORS)
def test_squrve_filter_grammar(selector, filters):
    assert parse_selector(selector)[2] == filters


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("spider:dev:db_size-x-3", "db_size takes [OP-]N with OP one of l, e, m, le, me"),
        ("spider:dev:ques_length-m-many", "ques_length takes [OP-]N"),
        ("spider:dev:has_label-sql_tree", "bad filter 'has_label-sql_tree'"),
    ],
)
def test_bad_squrve_filters_say_what_is_accepted(selector, message):
    with pytest.raises(ConfigError) as info:
        parse_selector(selector)
    assert message in f"{info.value.message} {info.value.hint}"


def test_squrve_filters_on_real_data(roots):
    # db_size counts a database's columns (tables.json): network_1 has 7, voter_1 9.
    small = load("spider:dev:db_size-l-10", roots)
    assert {s.db_id for s in small.samples} == {"network_1", "voter_1"} and len(small.samples) == 71
    assert len(load("spider:dev:db_size-me-30", roots).samples) == 226
    long = load("spider:dev:ques_length-m-150", roots)
    assert len(long.samples) == 3 and all(len(s.question) > 150 for s in long.samples)
    short = load("spider:dev:query_length-le-30.difficulty-easy", roots)
    assert len(short.samples) == 35 and max(len(s.sql) for s in short.samples) <= 30
    assert load("spider:dev:db_type-postgres", roots).samples == []
    assert len(load("bird:minidev:has_label-evidence", roots).samples) == 498
    assert len(load("spider:dev:", roots).samples) == 1034  # Squrve's empty filter
