"""Prompt templates: every packaged template renders with exactly its declared variables."""

from __future__ import annotations

import pytest

from sqlfoundry.core.errors import TemplateError
from sqlfoundry.llm import (
    QUESTION_STYLES,
    load_template,
    question_generation_messages,
    question_style,
    render_prompt,
    template_names,
)
from sqlfoundry.llm.templates import parse_template

EXPECTED = {
    "sql_generation",
    "question_generation",
    "consistency_judge",
    "sql_variation",
    "cot_generation",
    "text2sql",
    "schema_linking",
    "sql_selection",
    "sql_refinement",
}


def values_for(name: str) -> dict[str, str]:
    return {v: f"<{v.upper()} VALUE>" for v in load_template(name).variables}


def test_the_expected_templates_ship():
    assert set(template_names()) >= EXPECTED


@pytest.mark.parametrize("name", template_names())
def test_every_template_renders_with_its_declared_variables(name):
    template = load_template(name)
    values = values_for(name)
    messages = template.render(**values)
    assert [m["role"] for m in messages] == [role for role, _ in template.sections]
    text = "\n".join(m["content"] for m in messages)
    for value in values.values():
        assert value in text
    # nothing left unfilled: no placeholder and no doubled dollar survives
    assert "$" not in text.replace("$$", "")
    assert all(m["content"].strip() == m["content"] for m in messages)
    assert template.description


@pytest.mark.parametrize("name", template_names())
def test_optional_variables_can_be_left_out(name):
    template = load_template(name)
    required = {v: f"<{v}>" for v in template.required}
    text = template.render_text(**required)
    for optional in template.optional:
        assert f"<{optional}>" not in text
    assert "\n\n\n" not in text  # dropped paragraphs leave no gaps


@pytest.mark.parametrize("name", template_names())
def test_missing_and_unknown_variables_are_refused(name):
    template = load_template(name)
    values = values_for(name)
    with pytest.raises(TemplateError, match="needs"):
        template.render(**{k: v for k, v in values.items() if k != template.required[0]})
    with pytest.raises(TemplateError, match="has no variable"):
        template.render(**values, quesiton="typo")


def test_empty_optional_drops_its_paragraph_only():
    messages = render_prompt(
        "consistency_judge",
        dialect="SQLite",
        schema="CREATE TABLE t (a INT);",
        question="How many rows?",
        evidence="",
        sql="SELECT count(*) FROM t",
    )
    text = messages[1]["content"]
    assert "External knowledge" not in text
    assert "Question: How many rows?" in text and "SELECT count(*) FROM t" in text
    with_evidence = render_prompt(
        "consistency_judge",
        dialect="SQLite",
        schema="S",
        question="Q",
        evidence="adult means age >= 18",
        sql="SELECT 1",
    )
    assert "External knowledge: adult means age >= 18" in with_evidence[1]["content"]


def test_text2sql_is_one_user_prompt_with_evidence_before_the_question():
    text = load_template("text2sql").render_text(
        dialect="SQLite",
        schema="CREATE TABLE singer (id INT);",
        evidence="singer refers to singer.id",
        question="How many singers are there?",
    )
    assert load_template("text2sql").sections[0][0] == "user"
    assert text.index("singer refers to") < text.index("How many singers are there?")
    assert text.index("CREATE TABLE singer") < text.index("singer refers to")
    assert "```sql" in text


def test_values_with_dollars_and_braces_are_inserted_verbatim():
    sql = "SELECT '$100' AS price, '{\"a\": 1}' AS j"
    text = load_template("sql_variation").render_text(
        dialect="PostgreSQL", schema="S", sql=sql, direction="deepen"
    )
    assert sql in text


@pytest.mark.parametrize("style", QUESTION_STYLES)
def test_every_question_style_renders(style):
    messages = question_generation_messages(
        style, dialect="SQLite", schema="S", sql="SELECT name FROM singer"
    )
    text = messages[1]["content"]
    assert f'"{style}" style' in text
    assert question_style(style)["description"] in text and question_style(style)["example"]


def test_unknown_style():
    with pytest.raises(TemplateError, match="unknown question style 'poetic'"):
        question_style("poetic")


def test_styles_file_holds_exactly_the_styles():
    from sqlfoundry.llm.templates import _styles

    assert set(_styles()) == set(QUESTION_STYLES)


def test_unknown_template():
    with pytest.raises(TemplateError, match="no prompt template 'nope'"):
        load_template("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# name: t\n# variables: a\n@user\n$a $b\n", "b not declared"),
        ("# name: t\n# variables: a, b\n@user\n$a\n", "b never used"),
        ("# name: t\n# variables: a\n# optional: c\n@user\n$a\n", "not among the variables"),
        ("# name: t\n# variables: a\n@user\ncost: $5 for $a\n", "invalid placeholder"),
        ("# name: t\n# variables: a\nhello $a\n", "before the first"),
        ("# variables: a\n@user\n$a\n", "lacks '# name:'"),
        ("# name: t\n# variables:\n", "no @system/@user"),
    ],
)
def test_malformed_templates_are_refused(text, message):
    with pytest.raises(TemplateError, match=message):
        parse_template(text)


def test_literal_dollar():
    template = parse_template("# name: t\n# variables: a\n@user\ncosts $$5 for ${a}s\n")
    assert template.render_text(a="apple") == "costs $5 for apples"
