"""One fake model for every prompt the README's commands send (served by the fake
OpenAI server): the methods' prompts through ``MethodResponder``, the pair
producers' through ``PairModel``, and synthesis's own (SQL generation, question
candidates, chain-of-thought, consistency) answered here, with SQL that runs on
the database the prompt shows."""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
for sub in ("llm", "methods", "synth"):
    sys.path.insert(0, str(TESTS / sub))

from fake_methods import MethodResponder, completion, kind_of  # noqa: E402
from fake_openai import FakeRequest, Reply  # noqa: E402
from producer_fakes import PairModel  # noqa: E402
from synth_testing import judge_answer, styles_asked  # noqa: E402

_TABLE = re.compile(r'CREATE TABLE\s+[`"\[]?([^\s`"\](]+)', re.IGNORECASE)
_SQL_BLOCK = re.compile(r"```sql\s*(.*?)```", re.DOTALL)


class ReadmeModel:
    """The handler: ``gold`` maps the questions the methods are asked to their SQL."""

    def __init__(self, gold: dict[str, str]) -> None:
        self.methods = MethodResponder(gold=gold, record=False)
        self.pairs = PairModel()
        self._drawn = itertools.count(1)

    def __call__(self, request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        body = request.body or {}
        messages = body.get("messages") or []
        if kind_of(messages) != "unknown":
            return self.methods(request)
        if self.pairs.kind_of(messages) != "unknown":
            return self.pairs.handler(request)
        n = int(body.get("n") or 1)
        return completion(body, [self._synth_answer(messages) for _ in range(n)])

    def _synth_answer(self, messages: list[dict[str, Any]]) -> str:
        text = "\n".join(str(m.get("content", "")) for m in messages)
        if "Verdict: yes" in text:  # the consistency judge (its checklist looks like styles)
            return judge_answer(
                text, "The query reads the right table and returns what is asked.\nVerdict: yes"
            )
        styles = styles_asked(messages)
        tables = _TABLE.findall(text)
        if styles:
            table = tables[0] if tables else "the table"
            return json.dumps({"questions": [
                {"style": s, "question": f"How many rows does the {table} table have?",
                 "evidence": ""} for s in styles]})  # fmt: skip
        if "Target complexity" in text and tables:
            # A new query each time, so none is a repeat of another; one ```sql block
            # for each query the prompt lists (one when it asks for one).
            count = len(re.findall(r"^\d+\. Target complexity", text, flags=re.M)) or 1
            drawn = [next(self._drawn) for _ in range(count)]
            return "\n".join(f"{j}.\n```sql\nSELECT * FROM {tables[k % len(tables)]} LIMIT {k}\n```"
                             for j, k in enumerate(drawn, 1))  # fmt: skip
        shown = _SQL_BLOCK.findall(text)
        if shown:
            return f"Step by step, the query counts the rows.\n```sql\n{shown[-1].strip()}\n```"
        return "```sql\nSELECT 1\n```"
