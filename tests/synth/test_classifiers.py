"""ComponentClassifier (Spider hardness and configurable bins) and ExecutionClassifier
(pass rate of model answers, against the fake server)."""

from __future__ import annotations

from collections import Counter

import pytest
from fake_openai import error_reply
from synth_testing import answer_with, run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.classifiers import (
    OFFLINE_NOTE,
    ComponentClassifier,
    ExecutionClassifier,
    threshold_label,
)

# Spider queries with the label, and (component1, component2, others), that the
# official evaluation.py gives them.
SPIDER = [
    ("SELECT count(*) FROM singer", "easy", (0, 0, 0)),
    ("SELECT name, country, age FROM singer ORDER BY age DESC", "medium", (1, 0, 1)),
    (
        "SELECT name FROM stadium WHERE stadium_id NOT IN (SELECT stadium_id FROM concert)",
        "hard",
        (1, 1, 0),
    ),
    (
        "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id "
        "ORDER BY T2.capacity DESC LIMIT 1",
        "hard",
        (3, 0, 0),
    ),
    (
        "SELECT T2.name, T2.capacity FROM concert AS T1 JOIN stadium AS T2 "
        "ON T1.stadium_id = T2.stadium_id WHERE T1.year >= 2014 GROUP BY T2.stadium_id "
        "ORDER BY count(*) DESC LIMIT 1",
        "extra",
        (5, 0, 1),
    ),
]


def spider_batch() -> list[Sample]:
    return [
        Sample(id=f"s{i}", db_id="concert_singer", sql=sql) for i, (sql, _, _) in enumerate(SPIDER)
    ]


# --------------------------------------------------------------------------- components


def test_default_bins_give_the_official_spider_label():
    out = run(ComponentClassifier().process(spider_batch(), RunContext()))
    assert not out.rejects
    assert [s.hardness for s in out.samples] == [label for _, label, _ in SPIDER]
    assert [s.component_difficulty for s in out.samples] == [label for _, label, _ in SPIDER]
    assert [tuple(s.meta["components"].values()) for s in out.samples] == [c for *_, c in SPIDER]
    assert out.samples[0].meta["components"] == {"component1": 0, "component2": 0, "others": 0}
    assert out.samples[0].meta["provenance"] == [
        {"operator": "component_classifier", "engine": "offline"}
    ]


def test_custom_bins_over_official_levels_and_over_component_counts():
    merged = ComponentClassifier(difficulty_thresholds=[1], difficulty_labels=["simple", "complex"])
    out = run(merged.process(spider_batch(), RunContext()))
    assert [s.component_difficulty for s in out.samples] == [
        "simple", "simple", "complex", "complex", "complex"
    ]  # fmt: skip
    assert [s.hardness for s in out.samples] == [label for _, label, _ in SPIDER]

    # component1 + component2 + others: 0, 2, 2, 3, 6.
    counted = ComponentClassifier(
        score="components", difficulty_thresholds=[0, 2, 4], difficulty_labels=["a", "b", "c", "d"]
    )
    out = run(counted.process(spider_batch(), RunContext()))
    assert [s.component_difficulty for s in out.samples] == ["a", "b", "b", "c", "d"]


def test_spider_dev_gets_the_official_distribution(spider_root):
    lines = (spider_root / "dev_gold.sql").read_text().splitlines()
    batch = [
        Sample(id=str(i), db_id=line.rsplit("\t", 1)[1], sql=line.rsplit("\t", 1)[0])
        for i, line in enumerate(lines)
        if line.strip()
    ]
    out = run(ComponentClassifier().process(batch, RunContext()))
    assert not out.rejects
    # The counts the official evaluation.py gives Spider dev.
    assert Counter(s.component_difficulty for s in out.samples) == {
        "easy": 248, "medium": 446, "hard": 174, "extra": 166
    }  # fmt: skip
    assert all(s.component_difficulty == s.hardness for s in out.samples)


def test_unparseable_and_missing_sql_are_rejected(demo_ctx):
    batch = [
        Sample(id="bad", db_id="bookshop", sql="SELECT FROM WHERE"),
        Sample(id="ddl", db_id="bookshop", sql="DROP TABLE books"),
        Sample(id="none", db_id="bookshop"),
        Sample(id="ok", db_id="bookshop", sql="SELECT title FROM books WHERE price > 10"),
    ]
    out = run(ComponentClassifier().process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["ok"]
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons["none"] == "missing field: SQL"
    assert reasons["ddl"] == "cannot parse SQL: Spider hardness needs a query, got DROP"
    assert reasons["bad"].startswith("cannot parse SQL: ")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"difficulty_thresholds": [0, 1], "difficulty_labels": ["a", "b"]}, "one more entry"),
        ({"difficulty_thresholds": [1, 0], "difficulty_labels": ["a", "b", "c"]}, "increase"),
        ({"difficulty_thresholds": [2, 4, 6]}, "score='components'"),
        ({"difficulty_labels": ["a", "b", " ", "d"]}, "empty"),
        ({"score": "tokens"}, "score"),
        ({"difficulty_thresholds": [], "difficulty_labels": ["all"]}, "at least one"),
    ],
)
def test_bad_bins_fail_at_construction(params, message):
    with pytest.raises(ConfigError, match=message):
        ComponentClassifier(**params)


def test_threshold_label_follows_dataflow():
    labels = ["extra", "hard", "medium", "easy"]
    got = [threshold_label(c, [2, 5, 9], labels) for c in range(11)]
    assert got == ["extra"] * 3 + ["hard"] * 3 + ["medium"] * 4 + ["easy"]


# --------------------------------------------------------------------------- execution

REFERENCE = {
    "count": "SELECT count(*) FROM books",
    "top": "SELECT title, price FROM books ORDER BY price DESC LIMIT 3",
    "mixed": "SELECT title FROM books ORDER BY price DESC LIMIT 3",
}
RIGHT_ORDER = "SELECT title FROM books ORDER BY price DESC LIMIT 3"
WRONG_ORDER = (
    "SELECT title FROM (SELECT title, price FROM books ORDER BY price DESC LIMIT 3) ORDER BY price"
)


def answer(messages, n, index) -> str:
    prompt = messages[-1]["content"]
    if prompt == "P:count":  # 7 of 10 right
        sql = "SELECT COUNT(*) FROM books" if index < 7 else "SELECT count(*) FROM authors"
        return f"Count the books.\n```sql\n{sql};\n```"
    if prompt == "P:top":  # all right; half with the columns the other way round
        cols = "title, price" if index % 2 else "price, title"
        return f"```sql\nSELECT {cols} FROM books ORDER BY price DESC LIMIT 3\n```"
    if prompt == "P:mixed":  # 2 right, 2 unreadable, 2 failing, 4 in the wrong order
        if index < 2:
            return f"```sql\n{RIGHT_ORDER}\n```"
        if index < 4:
            return "I am not sure which table holds books."
        if index < 6:
            return "```sql\nSELECT nope FROM books\n```"
        return f"```sql\n{WRONG_ORDER}\n```"
    raise AssertionError(f"unexpected prompt {prompt!r}")


def exec_batch() -> list[Sample]:
    batch = [
        Sample(id=key, db_id="bookshop", sql=sql, prompt=f"P:{key}", meta={"source": key})
        for key, sql in REFERENCE.items()
    ]
    batch += [
        Sample(id="no-prompt", db_id="bookshop", sql=REFERENCE["count"]),
        Sample(id="no-sql", db_id="bookshop", prompt="P:count"),
        Sample(id="elsewhere", db_id="nowhere", sql="SELECT 1", prompt="P:count"),
        Sample(id="bad-ref", db_id="bookshop", sql="SELECT nope FROM books", prompt="P:count"),
    ]
    return batch


def test_pass_rate_sets_the_label(llm_ctx, fake):
    bodies = []

    def handler(request):
        if request.path == "/v1/chat/completions":
            bodies.append(request.body)
        return answer_with(answer)(request)

    fake.handler = handler
    out = run(ExecutionClassifier().process(exec_batch(), llm_ctx))
    graded = {s.id: s for s in out.samples}
    assert list(graded) == ["count", "top", "mixed"]
    assert {k: s.execution_difficulty for k, s in graded.items()} == {
        "count": "medium", "top": "easy", "mixed": "extra"
    }  # fmt: skip
    assert graded["count"].meta["execution_pass"] == {
        "correct": 7, "total": 10, "unparsed": 0, "failed": 0
    }  # fmt: skip
    assert graded["top"].meta["execution_pass"]["correct"] == 10
    mixed = graded["mixed"].meta["execution_pass"]
    assert {k: mixed[k] for k in ("correct", "total", "unparsed", "failed")} == {
        "correct": 2, "total": 10, "unparsed": 2, "failed": 2
    }  # fmt: skip
    assert mixed["parse_raw"] == "I am not sure which table holds books."
    assert mixed["parse_error"].startswith("no SQL found")
    assert graded["count"].meta["source"] == "count"
    assert graded["count"].meta["provenance"] == [
        {"operator": "execution_classifier", "engine": "llm", "n": 10}
    ]
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "no-prompt": "missing field: prompt",
        "no-sql": "missing field: SQL",
        "elsewhere": "unknown database: nowhere",
        "bad-ref": "reference SQL failed: no such column: nope",
    }
    # One request per record that reached the model, with n and a sampling temperature.
    assert len(bodies) == 4
    assert {b["n"] for b in bodies} == {10}
    assert {b["temperature"] for b in bodies} == {0.8}
    assert sorted(b["messages"][0]["content"] for b in bodies) == [
        "P:count", "P:count", "P:mixed", "P:top"
    ]  # fmt: skip
    assert all(len(b["messages"]) == 1 and b["messages"][0]["role"] == "user" for b in bodies)


def test_custom_bins_and_fewer_generations(llm_ctx, fake):
    fake.handler = answer_with(answer)
    op = ExecutionClassifier(
        num_generations=8, difficulty_thresholds=[7], difficulty_labels=["hard", "easy"]
    )
    # n=8: 7 right answers (indices 0-6) out of 8, so not all: hard.
    out = run(op.process([exec_batch()[0]], llm_ctx))
    assert out.samples[0].execution_difficulty == "hard"
    assert out.samples[0].meta["execution_pass"]["correct"] == 7
    assert out.samples[0].meta["execution_pass"]["total"] == 8


def test_greedy_sampling_is_warned_about(llm_ctx, fake, caplog):
    fake.handler = answer_with(answer)
    record = exec_batch()[0]

    async def grade(op):
        caplog.clear()
        out = await op.process([record], llm_ctx)
        return out.samples[0].execution_difficulty, "temperature 0" in caplog.text

    async def both():  # one event loop: the client's connections belong to it
        # None takes the LLM config's temperature, 0 in the test config.
        return await grade(ExecutionClassifier(temperature=None)), await grade(
            ExecutionClassifier()
        )

    assert run(both()) == (("medium", True), ("medium", False))


def test_a_failed_request_keeps_the_record_ungraded(llm_ctx, fake):
    def handler(request):
        body = request.body or {}
        if body.get("messages", [{}])[0].get("content") == "P:long":
            return error_reply(400, "This model's maximum context length is 4096 tokens",
                               code="context_length_exceeded")  # fmt: skip
        return answer_with(answer)(request)

    fake.handler = handler
    batch = [
        Sample(id="long", db_id="bookshop", sql=REFERENCE["count"], prompt="P:long"),
        exec_batch()[0],
    ]
    out = run(ExecutionClassifier().process(batch, llm_ctx))
    assert not out.rejects
    long, count = out.samples
    assert long.execution_difficulty is None
    assert "maximum context length" in long.meta["execution_difficulty_error"]
    assert "execution_pass" not in long.meta
    assert count.execution_difficulty == "medium"


def test_offline_leaves_the_label_null_and_says_why(demo_ctx):
    batch = exec_batch()
    out = run(ExecutionClassifier().process(batch, demo_ctx))
    assert not out.rejects
    assert [s.id for s in out.samples] == [s.id for s in batch]
    for sample in out.samples:
        assert sample.execution_difficulty is None
        assert sample.meta["execution_difficulty_note"] == OFFLINE_NOTE
        assert sample.meta["engine"] == "offline"
    assert "offline" in OFFLINE_NOTE and "LLM" in OFFLINE_NOTE
    assert batch[0].meta == {"source": "count"}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"num_generations": 9}, "below num_generations"),
        ({"difficulty_thresholds": [2, 5]}, "one more entry"),
        ({"difficulty_thresholds": [5, 5, 9]}, "increase"),
        ({"num_generations": 0}, "num_generations"),
        ({"compare": "fuzzy"}, "compare"),
    ],
)
def test_execution_params_are_checked(params, message):
    with pytest.raises(ConfigError, match=message):
        ExecutionClassifier(**params)


def test_names_are_registered():
    assert isinstance(build("component_classifier"), ComponentClassifier)
    assert isinstance(build("execution_classifier", {"engine": "offline"}), ExecutionClassifier)
