"""The sql_generator operator: seeds in, verified SQL out, offline and with an LLM."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import Counter

import pytest
from synth_testing import answer_with, run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.sql.hardness import spider_hardness
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.quality import CHECK_KINDS
from sqlfoundry.synth.semantic_filter import ALL_CHECKS, SQLSemanticFilter
from sqlfoundry.synth.sql_generator import SQLGenerator

DEMO = ("bookshop", "clinic", "airline")


def seeds(*db_ids: str) -> list[Sample]:
    return [Sample(id=db, db_id=db) for db in db_ids]


def test_registered_with_its_defaults():
    op = build("sql_generator")
    assert isinstance(op, SQLGenerator)
    assert op.params.num_per_db == 100
    assert op.params.difficulty_mix == {"easy": 0.25, "medium": 0.25, "hard": 0.25, "extra": 0.25}
    assert op.params.engine == "auto" and op.params.dialect == "auto"


@pytest.mark.parametrize(
    "params",
    [{"difficulty_mix": {"trivial": 1.0}}, {"difficulty_mix": {"easy": 0}}, {"dialect": "oracle"},
     {"num_per_db": 0}, {"samples": 3}],
)  # fmt: skip
def test_bad_parameters_fail_when_built(params):
    with pytest.raises(ConfigError):
        SQLGenerator(**params)


def test_offline_fills_the_quotas_with_queries_that_return_rows(demo_ctx):
    out = run(SQLGenerator(num_per_db=20).process(seeds(*DEMO), demo_ctx))
    # Candidates the semantic checks turned down are rejects with the check's reason...
    assert out.rejects and all(r.operator == "sql_generator" for r in out.rejects)
    assert {r.reason.split(":", 1)[0] for r in out.rejects} <= set(CHECK_KINDS)
    assert all(r.sample.id.startswith(f"{r.sample.db_id}-candidate-") for r in out.rejects)
    # ... and the filter step drops each of them for the same reason.
    again = run(SQLSemanticFilter(checks=list(ALL_CHECKS)).process(
        [r.sample for r in out.rejects], demo_ctx))  # fmt: skip
    assert again.samples == []
    assert [r.reason for r in again.rejects] == [r.reason for r in out.rejects]
    assert len(out.samples) == 60
    for db in DEMO:
        mine = [s for s in out.samples if s.db_id == db]
        assert [s.id for s in mine] == [f"{db}-{k:05d}" for k in range(20)]
        assert Counter(s.meta["target_level"] for s in mine) == {
            "easy": 5,
            "medium": 5,
            "hard": 5,
            "extra": 5,
        }
        assert len({normalize(s.sql) for s in mine}) == 20
    results = run(demo_ctx.execute([(s.sql, s.db_id) for s in out.samples]))
    assert all(r.ok and r.rows for r in results)
    for s in out.samples:
        assert s.hardness == spider_hardness(s.sql) == s.meta["target_level"]
        assert s.meta["engine"] == "offline"
        assert s.meta["provenance"] == [
            {"operator": "sql_generator", "engine": "offline", "seed": 7}
        ]
        assert set(s.meta["style"]) >= {"aliases", "case", "count", "join"}
        assert s.meta["attempts"] >= 1 and s.question is None


def test_same_seed_same_sql_in_process_and_in_worker_processes(demo_root, demo_ctx):
    inline = run(SQLGenerator(num_per_db=12).process(seeds(*DEMO), demo_ctx)).samples
    manager = DatabaseManager(root=demo_root)
    with SafeExecutor(manager, workers=2, timeout=10) as executor:
        pooled_ctx = RunContext(databases=manager, executor=executor, seed=7)
        pooled = run(SQLGenerator(num_per_db=12).process(seeds(*DEMO), pooled_ctx)).samples
        other_ctx = RunContext(databases=manager, executor=executor, seed=8)
        other = run(SQLGenerator(num_per_db=12).process(seeds(*DEMO), other_ctx)).samples
    assert [(s.id, s.sql) for s in pooled] == [(s.id, s.sql) for s in inline]
    assert sum(a.sql != b.sql for a, b in zip(inline, other, strict=True)) > 24


def test_difficulty_mix_and_dialect(demo_ctx):
    out = run(SQLGenerator(num_per_db=6, difficulty_mix={"easy": 1, "extra": 2}, dialect="postgres")
              .process(seeds("bookshop"), demo_ctx))  # fmt: skip
    assert Counter(s.meta["target_level"] for s in out.samples) == {"easy": 2, "extra": 4}
    for s in out.samples:
        parse_one(s.sql, "postgres")
        assert s.hardness == s.meta["target_level"]


def test_unknown_and_empty_databases_are_rejected(demo_root, tmp_path):
    empty = tmp_path / "empty" / "empty.sqlite"
    empty.parent.mkdir()
    conn = sqlite3.connect(empty)
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.close()
    manager = DatabaseManager(root=[demo_root, tmp_path])
    with SafeExecutor(manager, workers=0) as executor:
        ctx = RunContext(databases=manager, executor=executor, seed=1)
        batch = [Sample(id="x", db_id="nope"), Sample(id="e", db_id="empty"), *seeds("clinic")]
        out = run(SQLGenerator(num_per_db=4).process(batch, ctx))
    assert [(r.sample.id, r.reason) for r in out.rejects] == [
        ("x", "unknown database: 'nope'"),
        ("e", "no usable tables: every table is empty or unreadable"),
    ]
    assert [s.id for s in out.samples] == [f"clinic-{k:05d}" for k in range(4)]


# ---------------------------------------------------------------------------- LLM engine


def scripted(answers: list[str], prompts: list[list[dict]]):
    """A fake-model function giving ``answers`` in order and recording each prompt."""
    lock = threading.Lock()

    def fn(messages, n, index):
        with lock:
            prompts.append(messages)
            return answers[len(prompts) - 1]

    return answer_with(fn)


def wanted_in(messages: list[dict]) -> int:
    """How many queries a generation prompt asks for (its numbered list, else one)."""
    return len(re.findall(r"^\d+\. Target complexity", messages[-1]["content"], flags=re.M)) or 1


def listing(fn):
    """An ``answer_with`` function answering each wanted query with ``fn(messages, i, j)``,
    as numbered ```sql blocks when a prompt asks for several."""

    def answer(messages, n, i):
        count = wanted_in(messages)
        blocks = [f"```sql\n{fn(messages, i, j)}\n```" for j in range(count)]
        return (
            blocks[0] if count == 1 else "\n".join(f"{j + 1}.\n{b}" for j, b in enumerate(blocks))
        )

    return answer


def test_llm_engine_keeps_runnable_queries_and_rejects_the_rest(llm_ctx, fake):
    prompts: list[list[dict]] = []
    fake.handler = scripted(
        [
            "Sure! Look at the books table for that.",
            "```sql\nSELECT title FROM books WHERE genre = 'Fiction';\n```",
            "```sql\nDELETE FROM books\n```",
            "Here it is:\n```sql\nSELECT name FROM publishers ORDER BY founded_year LIMIT 3\n```",
        ],
        prompts,
    )
    # Four wanted queries go out in four rounds of one, so the answers come in order.
    out = run(SQLGenerator(num_per_db=4, temperature=0.5).process(seeds("bookshop"), llm_ctx))
    assert [(s.id, s.sql) for s in out.samples] == [
        ("bookshop-00001", "SELECT title FROM books WHERE genre = 'Fiction'"),
        ("bookshop-00003", "SELECT name FROM publishers ORDER BY founded_year LIMIT 3"),
    ]
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons["bookshop-00000"].startswith("unparsable answer: ")
    assert out.rejects[0].sample.meta["parse_raw"] == "Sure! Look at the books table for that."
    assert reasons["bookshop-00002"].startswith("not a read-only query: ")
    levels = [s.meta["target_level"] for s in out.samples] + [
        r.sample.meta["target_level"] for r in out.rejects
    ]
    assert sorted(levels) == ["easy", "extra", "hard", "medium"]
    for s in out.samples:
        assert s.hardness == spider_hardness(s.sql)
        assert s.meta["provenance"] == [
            {"operator": "sql_generator", "engine": "llm", "requested": 4}
        ]
    user = [m["content"] for m in prompts[3] if m["role"] == "user"][0]
    assert "CREATE TABLE books" in user and "SQLite" in user
    assert "- SELECT title FROM books WHERE genre = 'Fiction'" in user  # already kept: avoid it
    first = [m["content"] for m in prompts[0] if m["role"] == "user"][0]
    assert "Do not repeat" not in first  # nothing to avoid yet


def test_llm_engine_checks_by_running_and_drops_repeats(llm_ctx, fake):
    prompts: list[list[dict]] = []
    fake.handler = scripted(
        [
            "```sql\nSELECT nope FROM patients\n```",
            "```sql\nSELECT first_name FROM patients WHERE city = 'Atlantis'\n```",
            "```sql\nSELECT COUNT(*) FROM doctors\n```",
            "```sql\nselect count(*)   from doctors\n```",
        ],
        prompts,
    )
    out = run(SQLGenerator(num_per_db=4).process(seeds("clinic"), llm_ctx))
    assert [s.sql for s in out.samples] == ["SELECT COUNT(*) FROM doctors"]
    assert [r.reason.split(":")[0] for r in out.rejects] == [
        "execution failed",
        "empty result",
        "duplicate SQL",
    ]
    assert "nope" in out.rejects[0].reason


def test_llm_engine_rejects_a_database_it_got_nothing_for(llm_ctx, fake):
    fake.handler = answer_with(lambda messages, n, index: "I am not sure.")
    out = run(
        SQLGenerator(num_per_db=2).process(
            [*seeds("airline"), Sample(id="z", db_id="zzz")], llm_ctx
        )
    )
    assert out.samples == []
    reasons = Counter(r.reason.split(":")[0] for r in out.rejects)
    assert reasons == {
        "unparsable answer": 2,
        "unknown database": 1,
        "no usable SQL from the LLM for this database": 1,
    }


def test_llm_engine_needs_an_llm(demo_ctx):
    with pytest.raises(ConfigError):
        run(SQLGenerator(engine="llm").process(seeds("bookshop"), demo_ctx))


def test_llm_engine_asks_once_for_wanted_queries_with_the_same_prompt(llm_ctx, fake):
    # 40 easy queries: in the first round nothing is kept yet, so the prompts differ
    # only by their function hint, and those with the same one go out as one request.
    tables = ["books", "authors", "publishers"]
    fake.handler = answer_with(lambda messages, n, i: (
        f"```sql\nSELECT * FROM {tables[i % 3]} LIMIT {len(messages[-1]['content']) % 97 + i}\n```"))  # fmt: skip
    op = SQLGenerator(num_per_db=40, difficulty_mix={"easy": 1.0}, queries_per_request=1)
    out = run(op.process(seeds("bookshop"), llm_ctx))
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    ns = [int(r.body.get("n") or 1) for r in chats]
    assert sum(ns) == 40 and len(chats) < 40 and max(ns) > 1
    contents = ["\n".join(m["content"] for m in r.body["messages"]) for r in chats]
    assert len(set(contents)) == len(contents)  # no prompt sent twice
    assert len(out.samples) + len(out.rejects) == 40


def test_llm_engine_hands_each_round_on_as_every_database_finishes_it(llm_ctx, fake):
    """The output goes round by round over the databases, and each round is handed on
    (to the step after, which starts on it) before the next rounds are done."""
    from sqlfoundry.core.executors.stream import handing_on

    tables = {"bookshop": ["books", "authors", "publishers"], "clinic": ["doctors", "patients"]}

    def answer(messages, i, j):
        text = messages[-1]["content"]
        names = tables["bookshop" if "CREATE TABLE books" in text else "clinic"]
        return f"SELECT * FROM {names[(i + j) % len(names)]} LIMIT {len(text) % 89 + i + 7 * j + 1}"

    fake.handler = answer_with(listing(answer))
    handed: list[list[str]] = []
    with handing_on(lambda samples: handed.append([s.id for s in samples])):
        out = run(SQLGenerator(num_per_db=20).process(seeds("bookshop", "clinic"), llm_ctx))
    assert [s.id for s in out.samples] == [i for ids in handed for i in ids]
    assert len(handed) == 4  # one hand-on per round
    # Round 1 asks for 3 of each database's 20 queries, round 2 for the next 5...
    for ids, (start, end) in zip(handed, [(0, 3), (3, 8), (8, 14), (14, 20)], strict=True):
        dbs = [i.split("-")[0] for i in ids]
        assert dbs == sorted(dbs) and set(dbs) == {"bookshop", "clinic"}  # each database's
        assert all(start <= int(i.split("-")[1]) < end for i in ids)
    assert len(out.samples) > 30


def test_llm_engine_asks_for_several_queries_in_one_request_and_checks_each(llm_ctx, fake):
    """A round's wanted queries go out in one request; each query of the answer is
    checked as a single answer is, and one the answer left out is a reject."""
    prompts: list[list[dict]] = []
    fake.handler = scripted(
        [
            # Round 1 asks for two.
            "1.\n```sql\nSELECT title FROM books WHERE genre = 'Fiction'\n```\n2.\n```sql\n"
            "SELECT name FROM publishers ORDER BY founded_year LIMIT 3\n```",
            # Round 2 asks for two: the second repeats the first.
            "1.\n```sql\nSELECT COUNT(*) FROM books\n```\n2.\n```sql\nselect count(*)  from books;\n```",
            # Round 3 asks for three: one is not read-only, one is left out.
            "1.\n```sql\nSELECT DISTINCT genre FROM books\n```\n2.\n```sql\nDELETE FROM books\n```",
            # Round 4 asks for three: a list without its ```sql blocks.
            "1. SELECT title FROM books\n2. SELECT name FROM authors\n3. SELECT 1",
        ],
        prompts,
    )
    out = run(SQLGenerator(num_per_db=10).process(seeds("bookshop"), llm_ctx))
    assert len(prompts) == 4  # 10 wanted queries, one request a round
    assert [(s.id, s.sql) for s in out.samples] == [
        ("bookshop-00000", "SELECT title FROM books WHERE genre = 'Fiction'"),
        ("bookshop-00001", "SELECT name FROM publishers ORDER BY founded_year LIMIT 3"),
        ("bookshop-00002", "SELECT COUNT(*) FROM books"),
        ("bookshop-00004", "SELECT DISTINCT genre FROM books"),
    ]
    unparsable = ("unparsable answer: no SQL found: no ```sql block and the text does not "
                  "start with SELECT/WITH")  # fmt: skip
    assert [(r.sample.id, r.reason) for r in out.rejects] == [
        ("bookshop-00003", "duplicate SQL: the LLM repeated a query"),
        ("bookshop-00005", "not a read-only query: not a query: DELETE statements are refused"),
        ("bookshop-00006", "missing query: the answer holds 2 of the 3 queries asked"),
        ("bookshop-00007", unparsable),
        ("bookshop-00008", unparsable),
        ("bookshop-00009", unparsable),
    ]
    assert out.rejects[2].sample.meta["parse_raw"].endswith("DELETE FROM books\n```")
    # Each query keeps the level it was asked at, in the order asked.
    user = [[m["content"] for m in p if m["role"] == "user"][0] for p in prompts]
    levels = {s.id: s.meta["target_level"] for s in out.samples}
    levels |= {r.sample.id: r.sample.meta["target_level"] for r in out.rejects}
    names = {"easy": "simple", "medium": "moderate", "hard": "complex", "extra": "highly complex"}
    assert user[0].startswith("Write 2 new SQL queries for the SQLite database")
    assert "1. Target complexity: " + names[levels["bookshop-00000"]] in user[0]
    assert user[2].startswith("Write 3 new SQL queries for the SQLite database")
    asked = re.findall(r"^(\d+)\. Target complexity: ([a-z ]+)", user[2], flags=re.M)
    assert asked == [
        (str(j), names[levels[f"bookshop-{k:05d}"]]) for j, k in ((1, 4), (2, 5), (3, 6))
    ]
    # What earlier rounds kept is listed to avoid.
    assert "- SELECT COUNT(*) FROM books" in user[2]
    assert "Answer with exactly 3 queries" in user[2]
    for s in out.samples:
        assert s.hardness == spider_hardness(s.sql)
        assert s.meta["provenance"] == [
            {"operator": "sql_generator", "engine": "llm", "requested": 10}
        ]


def test_llm_engine_asks_fewer_requests_than_queries(llm_ctx, fake):
    """20 wanted queries in rounds of 3, 5, 6 and 6: six requests of up to five."""
    tables = ["books", "authors", "publishers"]
    fake.handler = answer_with(listing(lambda messages, i, j: (
        f"SELECT * FROM {tables[j % 3]} LIMIT {len(messages[-1]['content']) % 97 + j + 1}")))  # fmt: skip
    out = run(SQLGenerator(num_per_db=20).process(seeds("bookshop"), llm_ctx))
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    asked = [wanted_in(r.body["messages"]) for r in chats]
    # a round's requests go at once: the last two rounds' in either order
    assert asked[:2] == [3, 5] and sorted(asked[2:4]) == sorted(asked[4:]) == [1, 5]
    assert len(out.samples) + len(out.rejects) == 20
    assert len(out.samples) >= 15
