"""Progressive SQL generation: which items are cut, where, and the operators that do it."""

from __future__ import annotations

import pytest
from synth_testing import answer_with, run

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.sft import psg
from sqlfoundry.synth.sft.operators import PSGCutter, PSGSelector, Sqlo1Prompt

EASY = "SELECT count(*) FROM books"
HARD = "SELECT title FROM books WHERE price > (SELECT avg(price) FROM books) ORDER BY title LIMIT 3"
THREE = ("SELECT c.last_name FROM customers AS c JOIN orders AS o ON c.customer_id = o.customer_id "
         "JOIN order_items AS i ON o.order_id = i.order_id")  # fmt: skip


@pytest.mark.parametrize(
    "sql, need, why",
    [(EASY, False, "1 table(s), hardness easy"), (HARD, True, "Spider hardness extra"),
     (THREE, True, "the gold reads 3 tables")],
)  # fmt: skip
def test_the_rule_without_a_model(sql, need, why):
    assert psg.offline_need(sql) == (need, why)


def test_a_random_cut_is_never_the_empty_prefix_and_is_seeded():
    cuts = {psg.random_cut(HARD, psg.record_rng(seed, "r1", "cut")) for seed in range(40)}
    assert cuts == {(1, "SELECT title"), (2, "SELECT title FROM books"),
                    (3, "SELECT title FROM books WHERE price > ("),
                    (4, "SELECT title FROM books WHERE price > (SELECT avg(price)"),
                    (5, "SELECT title FROM books WHERE price > (SELECT avg(price) FROM books)"),
                    (6, "SELECT title FROM books WHERE price > (SELECT avg(price) FROM books) "
                        "ORDER BY title")}  # fmt: skip
    again = [psg.random_cut(HARD, psg.record_rng(5, "r1", "cut")) for _ in range(3)]
    assert len(set(again)) == 1
    assert psg.random_cut("SELECT 1", psg.record_rng(0, "r", "cut")) is None
    assert psg.every_cut(EASY) == [(1, "SELECT count(*)")]


def items(*sqls: str) -> list[Sample]:
    return [Sample(id=f"r{i}", db_id="bookshop", question=f"question {i}?", sql=sql)
            for i, sql in enumerate(sqls)]  # fmt: skip


def prompted(ctx, samples):
    return run(Sqlo1Prompt().process(samples, ctx)).samples


def test_the_prompt_step_writes_the_prompt_and_a_tidy_target(demo_ctx):
    spaced = [Sample(id="s", db_id="bookshop", question="How many books?",
                     sql="SELECT  count(*)\n FROM  books")]  # fmt: skip
    out = run(Sqlo1Prompt().process(spaced + [Sample(id="n", db_id="bookshop", sql=EASY),
                                              Sample(id="u", db_id="nowhere", question="q?")],
                                    demo_ctx))  # fmt: skip
    (kept,) = out.samples
    assert kept.sql == "SELECT count(*) FROM books"
    assert kept.prompt.endswith("Question:\nHow many books?\n\nAnswer with the SQL query only, "
                                "no explanation.\n\nThe incomplete SQL query:")  # fmt: skip
    assert (
        "CREATE TABLE order_items (order_id NUMBER, book_id NUMBER, quantity NUMBER, "
        in kept.prompt
    )
    assert kept.meta["sqlo1"] == {"incomplete_sql": ""}
    assert [(r.sample.id, r.reason) for r in out.rejects] == [
        ("n", "missing field: question"),
        ("u", "database nowhere: unknown db_id 'nowhere': no database under "
              f"{demo_ctx.databases.root}"),
    ]  # fmt: skip


def select(ctx, samples):
    return run(PSGSelector(engine="offline").process(samples, ctx)).samples


@pytest.mark.parametrize("mode", ["need", "progressive", "ratio"])
def test_the_cutter_modes(demo_ctx, mode):
    samples = select(demo_ctx, prompted(demo_ctx, items(EASY, HARD, THREE)))
    out = run(PSGCutter(mode=mode, ratio=0.5).process(samples, demo_ctx)).samples
    full = [s for s in out if not s.meta["sqlo1"]["incomplete_sql"]]
    cut = [s for s in out if s.meta["sqlo1"]["incomplete_sql"]]
    assert [s.id for s in full] == ["r0", "r1", "r2"]  # every item keeps its whole-query example
    for s in cut:
        info = s.meta["sqlo1"]
        base = next(f for f in full if f.id == info["psg_of"])
        assert s.id == f"{base.id}:psg{info['cut']}" and s.sql == base.sql
        assert base.sql.startswith(info["incomplete_sql"]) and info["incomplete_sql"] != base.sql
        assert s.prompt == base.prompt + "\n" + info["incomplete_sql"]
    owners = [s.meta["sqlo1"]["psg_of"] for s in cut]
    if mode == "need":
        assert owners == ["r1", "r2"]  # one random cut of each item the rule picked
    elif mode == "progressive":
        assert owners == ["r1"] * 6 + ["r2"]  # every cut of those items (joins stay in FROM)
    else:
        # each item picked with probability 0.5 from its own seeded stream
        assert owners == [s.id for s in full
                          if psg.record_rng(demo_ctx.seed, s.id, "ratio").random() < 0.5]  # fmt: skip


def test_cuts_follow_the_seed(demo_ctx):
    samples = select(demo_ctx, prompted(demo_ctx, items(HARD, HARD, HARD, HARD, HARD, HARD)))

    def cuts(seed: int) -> list[str]:
        demo_ctx.seed = seed
        out = run(PSGCutter().process(samples, demo_ctx)).samples
        return [s.meta["sqlo1"]["incomplete_sql"] for s in out if s.meta["sqlo1"]["incomplete_sql"]]

    assert cuts(1) == cuts(1) and cuts(1) != cuts(2)
    assert PSGCutter().signature(demo_ctx) != PSGCutter().signature(type(demo_ctx)(seed=3))


def test_sqlo1s_rule_with_a_model(llm_ctx, fake):
    # the zero-shot answers: one that fails, one that runs, one that runs on a 3-table gold,
    # and one that is not SQL
    answers = {"question 0?": "```sql\nSELECT nme FROM books\n```", "question 1?": EASY,
               "question 2?": EASY, "question 3?": "I am not sure."}  # fmt: skip
    fake.handler = answer_with(
        lambda messages, n, i: next(a for q, a in answers.items() if q in messages[-1]["content"])
    )
    samples = prompted(llm_ctx, items(EASY, EASY, THREE, EASY))
    out = run(PSGSelector(engine="llm").process(samples, llm_ctx)).samples
    got = [(s.meta["sqlo1"]["psg_need"], s.meta["sqlo1"]["psg_reason"]) for s in out]
    assert got[0] == (True, "the zero-shot answer fails (error: no such column: nme)")
    assert got[1] == (False, "the zero-shot answer runs and the gold reads few tables")
    assert got[2] == (True, "the gold reads 3 tables")
    assert got[3][0] is True and got[3][1].startswith("no SQL in the zero-shot answer")
    assert out[0].meta["sqlo1"]["zero_shot"] == {"sql": "SELECT nme FROM books",
                                                 "status": "error: no such column: nme"}  # fmt: skip
    sent = [r.body for r in fake.requests if r.path == "/v1/chat/completions"]
    assert len(sent) == 4 and all(b["temperature"] == 0.0 for b in sent)
    assert sent[0]["messages"] == [{"role": "user", "content": samples[0].prompt}]
