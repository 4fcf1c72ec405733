"""Output parsers, table-driven: SQL, JSON and yes/no verdicts out of model text."""

from __future__ import annotations

import pytest

from sqlfoundry.llm import pair_sections, parse_json, parse_sql, parse_yes_no

SQL_CASES = [
    # (model text, expected SQL or None when parsing must fail)
    ("```sql\nSELECT 1;\n```", "SELECT 1"),
    (
        "Reasoning...\n```sql\nSELECT a FROM t\n```\nFixed:\n```sql\nSELECT b FROM t;\n```",
        "SELECT b FROM t",
    ),
    ("```SQL\nselect * from t\n```", "select * from t"),
    ("```sqlite\nSELECT 2\n```", "SELECT 2"),
    ("```postgresql\nSELECT now()\n```", "SELECT now()"),
    ("Here:\n```\nSELECT 3\n```", "SELECT 3"),
    ("```python\nprint(1)\n```\n```sql\nSELECT 4\n```", "SELECT 4"),
    ("SELECT name FROM singer WHERE age > 30;", "SELECT name FROM singer WHERE age > 30"),
    ("  with x as (select 1) select * from x", "with x as (select 1) select * from x"),
    ("SQL: SELECT 5", "SELECT 5"),
    ("Final answer: SELECT 6", "SELECT 6"),
    ("<think>maybe ```sql\nSELECT wrong\n```</think>\n```sql\nSELECT right\n```", "SELECT right"),
    ("```sql\nSELECT cut off at max_tokens", "SELECT cut off at max_tokens"),
    ("```sql\nSELECT 1;;\n```", "SELECT 1"),
    ("I cannot answer that.", None),
    ("", None),
    (None, None),
    ("```sql\n\n```", None),
    ("```python\nprint(1)\n```", None),
    ("<think>SELECT 1</think>", None),
]


@pytest.mark.parametrize(("text", "expected"), SQL_CASES)
def test_parse_sql(text, expected):
    result = parse_sql(text)
    assert result.ok is (expected is not None)
    assert result.value == expected
    assert result.raw == (text or "")
    if not result.ok:
        assert result.error and result.meta() == {
            "parse_error": result.error,
            "parse_raw": result.raw,
        }
    else:
        assert result.error is None and result.meta() == {}


JSON_CASES = [
    ('{"question": "How many?", "evidence": ""}', {"question": "How many?", "evidence": ""}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Sure! ```json\n{"a": 1}\n``` and finally ```json\n{"a": 2}\n```', {"a": 2}),
    ("```\n[1, 2]\n```", [1, 2]),
    (
        'The links are {"tables": ["t"], "columns": ["t.a"]} as asked.',
        {"tables": ["t"], "columns": ["t.a"]},
    ),
    ('first {"x": 1} then {"x": 2}', {"x": 2}),
    (
        'analysis...\n{"choice": 2, "reason": "uses {braces} in text"}',
        {"choice": 2, "reason": "uses {braces} in text"},
    ),
    ('<think>{"draft": true}</think>{"final": true}', {"final": True}),
    ('```json\n{"a": 1,}\n```', None),
    ("no json here", None),
    ("{not: json}", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), JSON_CASES)
def test_parse_json(text, expected):
    result = parse_json(text)
    assert result.ok is (expected is not None), result.error
    assert result.value == expected
    assert result.raw == text


def test_parse_json_expected_type():
    assert parse_json("[1]", expect=dict).error == "expected JSON dict, got list"
    assert parse_json('{"a": 1}', expect=(dict, list)).ok


YES_NO_CASES = [
    ("Yes", True),
    ("no.", False),
    ("YES, the query is right.", True),
    ("The joins look right.\nThe filter is missing.\nVerdict: no", False),
    ("Checks...\nVerdict: yes", True),
    ("Final verdict: **Yes**", True),
    ("Answer: No", False),
    ('{"verdict": "yes", "reason": "..."}', True),
    ('{"consistent": false}', False),
    ('```json\n{"answer": "no"}\n```', False),
    ("Verdict: no\n...on reflection...\nVerdict: yes", True),
    ("<think>yes? no?</think>\nNo", False),
    ("The result is correct", True),
    ("True", True),
    ("inconsistent", False),
    ("Verdict: not equivalent", False),
    ("I am not sure.", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), YES_NO_CASES)
def test_parse_yes_no(text, expected):
    result = parse_yes_no(text)
    assert result.ok is (expected is not None)
    assert result.value is expected


# ------------------------------------------------------------------ several pairs


def test_pair_sections_cut_an_answer_at_its_pair_headings():
    text = ("<think>Pair 1 looks odd</think>Pair 1\nRight table.\nVerdict: yes\n\n"
            "**Pair 2:** wrong aggregate.\nVerdict: no\n### Pair #3 -\nfine\nVerdict: yes")  # fmt: skip
    assert pair_sections(text, 3) == ["Right table.\nVerdict: yes",
                                      "wrong aggregate.\nVerdict: no", "fine\nVerdict: yes"]  # fmt: skip


def test_pair_sections_mark_what_the_answer_leaves_out():
    # pair 2 missing, pair 4 beyond the count, pair 1 twice (the first counts)
    text = "Pair 1\nyes\nPair 3\nno\nPair 1\nno\nPair 4\nyes"
    assert pair_sections(text, 3) == ["yes", None, "no"]
    assert pair_sections("", 2) == [None, None]
    assert pair_sections(None, 1) == [None]


def test_pair_sections_without_headings_need_one_verdict_a_pair():
    text = "The first is right.\nVerdict: yes\nThe second counts names.\nVerdict: no"
    assert pair_sections(text, 2) == ["The first is right.\nVerdict: yes",
                                      "The second counts names.\nVerdict: no"]  # fmt: skip
    assert pair_sections(text, 3) == [None, None, None]  # cannot tell which is which
    assert pair_sections("They all look fine.", 2) == [None, None]
