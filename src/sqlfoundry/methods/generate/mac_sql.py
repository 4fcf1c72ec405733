"""``mac_sql_decomposer``: MAC-SQL's Decomposer (template ``mac_sql_decompose``).

One answer holds the sub-questions, each followed by its SQL; the last SQL
answers the question and becomes ``pred_sql``, the sub-questions go to
``meta["decomposition"]``. The schema is shown in MAC-SQL's form (``# Table``
blocks with descriptions and value examples), cut to the Selector's
``schema_subset`` when one ran. Squrve's ``MACSQLDecomposer``.
"""

from __future__ import annotations

import re

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.parse import strip_thinking
from sqlfoundry.methods.generate.template import GeneratorParams, TemplateGenerator

_SUB_QUESTION = re.compile(
    r"^\s*sub[ -]?question\s*\d+\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)


def sub_questions(text: str) -> list[str]:
    """The ``Sub question N: ...`` lines of an answer, in order."""
    return [q for q in _SUB_QUESTION.findall(strip_thinking(text or "")) if q]


class MacSqlParams(GeneratorParams):
    template: str = "mac_sql_decompose"


@register
class MacSqlDecomposer(TemplateGenerator):
    """Writes ``pred_sql`` (the last sub-question's SQL) and ``meta["decomposition"]``."""

    name = "mac_sql_decomposer"
    Params = MacSqlParams
    kind = "decompose"
    method = "mac_sql"
    outputs = ("pred_sql", "candidates", "meta.decomposition")
    schema_form = "mac"

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        texts = await self.answers(sample, ctx)
        self.keep(sample, self.read_answers(sample, texts))
        sample.meta["decomposition"] = {"sub_questions": sub_questions(texts[0])}
