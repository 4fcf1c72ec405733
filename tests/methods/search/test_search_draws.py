"""A completion of a partial query read as clause-segment actions with their log probabilities."""

from __future__ import annotations

import pytest

from sqlfoundry.llm.generation import Generation, TokenLogprob
from sqlfoundry.methods.search.draws import read_chat, read_completion


def chat(text: str, lps: list[float] | None = None) -> Generation:
    """A chat answer whose tokens are its words (with the spaces before them)."""
    tokens = None
    if lps is not None:
        words = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]
        assert len(words) == len(lps)
        tokens = [TokenLogprob(w, lp) for w, lp in zip(words, lps, strict=True)]
    return Generation(text=text, finish_reason="stop", logprobs=tokens)


def texts(reading):
    return [
        (s.text, None if s.logprob is None else round(s.logprob, 6)) for s in reading.draw.segments
    ]


def test_a_whole_query_answer_is_cut_after_the_prefix():
    answer = chat("SELECT name FROM singer WHERE age > 30", [-1, -2, -3, -4, -5, -6, -7, -8])
    reading = read_chat("SELECT name", answer, 10)
    assert texts(reading) == [("FROM singer", -7), ("WHERE age > 30", -26)]
    assert reading.draw.sql == "SELECT name FROM singer WHERE age > 30"
    assert reading.draw.logprob == -33


def test_case_spacing_and_a_code_fence_do_not_matter():
    text = "Here it is:\n```sql\nselect  name\nFROM singer;\n```"
    reading = read_chat("SELECT name", Generation(text=text, finish_reason="stop"), 10)
    assert texts(reading) == [("FROM singer", None)]
    assert reading.draw.sql == "SELECT name FROM singer"


def test_logprobs_follow_the_sql_inside_a_fenced_answer():
    tokens = [TokenLogprob(t, lp) for t, lp in
              [("```sql\n", -9.0), ("SELECT", -0.1), (" a", -0.2), (" FROM", -0.3), (" t", -0.4),
               ("\n```", -9.0)]]  # fmt: skip
    answer = Generation(
        text="".join(t.token for t in tokens), finish_reason="stop", logprobs=tokens
    )
    assert texts(read_chat("", answer, 10)) == [("SELECT a", pytest.approx(-0.3)),
                                                 ("FROM t", pytest.approx(-0.7))]  # fmt: skip


def test_an_answer_that_only_continues_is_read_after_the_prefix():
    reading = read_chat("SELECT name", chat("FROM singer WHERE age > 30"), 10)
    assert texts(reading) == [("FROM singer", None), ("WHERE age > 30", None)]
    assert reading.draw.sql == "SELECT name FROM singer WHERE age > 30"


def test_another_whole_query_is_not_a_completion():
    reading = read_chat("SELECT name", chat("SELECT age FROM singer"), 10)
    assert reading.draw is None and "not a completion of the prefix" in reading.problem


@pytest.mark.parametrize(
    "text, problem",
    [("I cannot answer that.", "no SQL"), ("SELECT a FROM t WHERE n = 'open", "does not tokenize")],
)
def test_unusable_answers_say_why(text, problem):
    reading = read_chat("", chat(text), 10)
    assert reading.draw is None and problem in reading.problem


def test_prose_is_not_read_as_a_continuation():
    reading = read_chat("SELECT name", chat("I cannot answer that."), 10)
    assert reading.draw is None and reading.problem == "no SQL in the answer"


def test_an_answer_equal_to_the_prefix_says_the_query_is_whole():
    reading = read_chat("SELECT count(*) FROM singer", chat("SELECT count(*) FROM singer"), 10)
    assert reading.draw.segments == () and reading.draw.sql == "SELECT count(*) FROM singer"


def test_at_the_depth_limit_the_rest_is_one_last_action():
    answer = chat("SELECT a FROM t WHERE b = 1 ORDER BY a", [-1] * 11)
    reading = read_chat("", answer, 2)
    assert texts(reading) == [("SELECT a", -2), ("FROM t WHERE b = 1 ORDER BY a", -9)]


def test_a_completions_continuation_uses_the_servers_offsets():
    tokens = [TokenLogprob(" FROM", -0.5, offset=120), TokenLogprob(" singer", -0.25, offset=125),
              TokenLogprob(" LIMIT", -1.0, offset=132), TokenLogprob(" 1", -0.5, offset=138)]  # fmt: skip
    answer = Generation(text=" FROM singer LIMIT 1;", finish_reason="stop", logprobs=tokens)
    reading = read_completion("SELECT name", answer, 10)
    assert texts(reading) == [("FROM singer", -0.75), ("LIMIT 1", -1.5)]
    assert reading.draw.sql == "SELECT name FROM singer LIMIT 1"
