"""DIN-SQL's classification and its class-specific generation.

- ``din_sql_classifier`` (decompose): the ``din_sql_classify`` prompt sorts the
  question into EASY (one table), NON-NESTED (joins, no nesting) or NESTED
  (a nested query or set operation) and, for NESTED, names the sub-questions to
  answer first; both go to ``meta["decomposition"]``. Squrve's ``DINSQLDecomposer``.
- ``din_sql_generator`` (generate): the prompt of the record's class
  (``din_sql_easy``, ``din_sql_medium``, ``din_sql_hard``) with the schema in
  DIN-SQL's form, the schema links and, for NESTED, the sub-questions.
  NON-NESTED when no classifier ran. Squrve's ``DINSQLGenerator`` is the whole
  ``din_sql`` preset (link, classify, generate, correct).
"""

from __future__ import annotations

import re

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.parse import parse_json, strip_thinking
from sqlfoundry.llm.templates import load_template, render_prompt
from sqlfoundry.methods.calls import ask
from sqlfoundry.methods.generate.template import GeneratorParams, TemplateGenerator
from sqlfoundry.methods.schema_view import format_links
from sqlfoundry.methods.stage import Stage, StageError

LABELS = ("EASY", "NON-NESTED", "NESTED")
# The class word in the answer's prose: 'Label: "NESTED"'.
_LABEL = re.compile(r"label\s*[:=]\s*\"?\s*(NON-NESTED|NESTED|EASY)\b", re.IGNORECASE)
_SUBQUESTIONS = re.compile(r"answer to the questions\s*=\s*(\[.*?\])", re.IGNORECASE | re.DOTALL)


def read_classification(text: str) -> tuple[str, list[str]]:
    """``(label, sub_questions)`` of a classification answer.

    Raises:
        StageError: no ``Label:`` line naming one of the three classes.
    """
    body = strip_thinking(text or "")
    labels = _LABEL.findall(body)
    if not labels:
        raise StageError("unparsable classification: no 'Label: EASY / NON-NESTED / NESTED'",
                         kind="parse", raw=text)  # fmt: skip
    label = labels[-1].upper()
    subs: list[str] = []
    found = _SUBQUESTIONS.findall(body)
    if found:
        parsed = parse_json(found[-1], expect=list)
        if parsed.ok:
            subs = [str(q).strip() for q in parsed.value if str(q).strip()]
    return label, subs


@register
class DinSqlClassifier(Stage):
    """Writes ``meta["decomposition"]``: the DIN-SQL class and, when NESTED, the sub-questions."""

    name = "din_sql_classifier"
    kind = "decompose"
    method = "din_sql"
    inputs = ("question",)
    uses = ("schema_links",)
    outputs = ("meta.decomposition",)
    needs = frozenset({"llm"})

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        messages = render_prompt("din_sql_classify", question=sample.question,
                                 links=format_links(sample.schema_links) or "[]")  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        label, subs = read_classification(text)
        sample.meta["decomposition"] = {"label": label, "sub_questions": subs}


class DinSqlParams(GeneratorParams):
    template: str = "din_sql_medium"


@register
class DinSqlGenerator(TemplateGenerator):
    """Writes ``pred_sql`` with the prompt of the record's DIN-SQL class."""

    name = "din_sql_generator"
    Params = DinSqlParams
    method = "din_sql"
    uses = ("evidence", "schema_subset", "schema_links", "meta.decomposition")
    schema_form = "din"

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.by_label = {
            "EASY": load_template("din_sql_easy"),
            "NON-NESTED": load_template("din_sql_medium"),
            "NESTED": load_template("din_sql_hard"),
        }

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        label = (sample.meta.get("decomposition") or {}).get("label") or "NON-NESTED"
        self.keep(sample, await self.generate(sample, ctx, self.by_label.get(label, self.template)))
