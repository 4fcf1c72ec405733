"""Answers for every prompt kind the Text-to-SQL methods send, for the fake OpenAI server.

``MethodResponder`` plugs into ``FakeOpenAI.handler``. It recognises the prompt
kind from the system message (each template's own voice) and answers in the
format that prompt asks for, built from a gold table ``question -> SQL``:
schema links from the gold SQL's references and literals (JSON, DIN-SQL's
``Schema_links:`` line, MAC-SQL's keep/drop table), DIN-SQL's class with its
sub-questions, keyword lists, reasoned SQL answers, repairs, selections.

It can also misbehave per kind (``malformed = {"din_sql_classify": "..."}``:
that text instead of the answer) and answer differently per sample
(``variants = {question: [sql, ...]}``: sample ``i`` of a request, or the
request's ``seed``, picks the SQL), so self-consistency has something to vote
on. ``kinds`` counts the requests of each kind.

Run standalone for the benchmark: ``python tests/methods/fake_methods.py --gold
FILE`` (JSONL of question / SQL) serves on a free port and prints ``PORT <n>``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import FakeOpenAI, FakeRequest, Reply, serve_forever, token_spans  # noqa: E402
from sqlglot import exp  # noqa: E402

from sqlfoundry.sql.parse import parse_one  # noqa: E402
from sqlfoundry.sql.references import referenced_columns, referenced_tables  # noqa: E402

# The system message of each template says which prompt it is.
KINDS = (
    ("din_sql_link", "You link questions to database schemas."),
    ("din_sql_classify", "You decide how hard a SQL query will be"),
    ("din_sql_easy", "queries that read a single table"),
    ("din_sql_medium", "queries that join tables"),
    ("din_sql_hard", "queries that need a nested query"),
    ("din_sql_correct", "queries for bugs before they run"),
    ("mac_sql_select", "You are a database administrator who prepares a large schema"),
    ("mac_sql_decompose", "by breaking a question into sub-questions"),
    ("mac_sql_refine", "You repair"),
    ("chess_keywords", "You pick out the words of a question"),
    ("chess_generate", "who writes correct"),
    ("chess_revise", "You revise"),
    ("few_shot", "You translate questions into"),
    ("schema_linking", "You link natural-language questions to database schemas."),
    ("sql_selection", "choosing which of several candidate queries"),
    ("sql_pairwise", "comparing two"),
    ("sql_refinement", "You fix SQL queries."),
)
GENERATION = {"din_sql_easy", "din_sql_medium", "din_sql_hard", "chess_generate", "few_shot",
              "text2sql", "mac_sql_decompose"}  # fmt: skip
REPAIR = {"din_sql_correct", "mac_sql_refine", "chess_revise", "sql_refinement"}
# SQL-o1's schema-aware prompt has no system message; its last line names the slot.
SQLO1_SLOT = "The incomplete SQL query:"
SQLO1_LOGPROB = -0.05


def kind_of(messages: list[dict[str, Any]]) -> str:
    system = " ".join(m.get("content", "") for m in messages if m.get("role") == "system")
    for kind, marker in KINDS:
        if marker in system:
            return kind
    user = " ".join(m.get("content", "") for m in messages)
    if "Task overview:" in user:
        return "text2sql"
    if SQLO1_SLOT in user:
        return "sqlo1"
    return "unknown"


def completion(body: dict[str, Any], texts: list[str]) -> Reply:
    """A chat completion with one choice per text; usage counts words, as the fake does.

    With ``logprobs`` asked, each token (a word with the spaces before it) gets
    ``SQLO1_LOGPROB``, so the tokens add up to the text.
    """
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    done = sum(len(t.split()) for t in texts)
    choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
               for i, t in enumerate(texts)]  # fmt: skip
    if body.get("logprobs"):
        for choice, text in zip(choices, texts, strict=True):
            choice["logprobs"] = {"content": [{"token": token, "logprob": SQLO1_LOGPROB,
                                               "bytes": list(token.encode()), "top_logprobs": []}
                                              for _, token in token_spans(text)]}  # fmt: skip
    return Reply(json={"id": "chatcmpl-m", "object": "chat.completion", "created": 0,
                       "model": body.get("model"), "choices": choices,
                       "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                                 "total_tokens": prompt + done}})  # fmt: skip


@dataclass
class GoldFacts:
    """What an answer about one question is built from."""

    sql: str
    tables: list[str]
    columns: list[str]
    values: list[str]
    label: str


def facts(sql: str) -> GoldFacts:
    tree = parse_one(sql)
    tables = sorted(referenced_tables(tree))
    columns = sorted(f"{t}.{c}" for t, c in referenced_columns(tree) if t and c != "*")
    values = []
    for literal in tree.find_all(exp.Literal):
        values.append(literal.this)
    nested = any(True for _ in tree.find_all(exp.Subquery, exp.Union, exp.Intersect, exp.Except))
    label = "NESTED" if nested else ("NON-NESTED" if len(tables) > 1 else "EASY")
    return GoldFacts(sql, tables, columns, values, label)


@dataclass
class MethodResponder:
    """The handler (see the module doc)."""

    gold: dict[str, str]
    variants: dict[str, list[str]] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)
    kinds: Counter = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    record: bool = True

    def __post_init__(self) -> None:
        # Longest first, so a question that contains another is found as itself.
        self._questions = sorted(self.gold, key=len, reverse=True)
        self._facts: dict[str, GoldFacts] = {}

    def __call__(self, request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        body = request.body or {}
        messages = body.get("messages") or []
        kind = kind_of(messages)
        self.kinds[kind] += 1
        if self.record:
            self.bodies.append(body)
        n = int(body.get("n") or 1)
        if kind in self.malformed:
            return completion(body, [self.malformed[kind]] * n)
        text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        question = next((q for q in self._questions if q in text), None)
        if question is None:
            return completion(body, ["I cannot tell which question this is."] * n)
        answers = [self.answer(kind, question, text, i, body.get("seed")) for i in range(n)]
        return completion(body, answers)

    def facts(self, question: str) -> GoldFacts:
        if question not in self._facts:
            self._facts[question] = facts(self.gold[question])
        return self._facts[question]

    def sql_for(self, question: str, index: int, seed: Any) -> str:
        options = self.variants.get(question)
        if not options:
            return self.gold[question]
        pick = (seed if isinstance(seed, int) else 0) + index
        return options[pick % len(options)]

    def answer(self, kind: str, question: str, text: str, index: int, seed: Any) -> str:
        f = self.facts(question)
        sql = self.sql_for(question, index, seed)
        if kind == "schema_linking":
            return json.dumps({"tables": f.tables, "columns": f.columns, "values": f.values})
        if kind == "din_sql_link":
            items = f.columns + [f"'{v}'" if not _number(v) else v for v in f.values]
            return (f'In the question "{question}", we are asked for {", ".join(f.columns) or "rows"}.\n'
                    f"So the Schema_links are:\nSchema_links: [{','.join(items)}]")  # fmt: skip
        if kind == "din_sql_classify":
            subs = '["What is the inner result?"]' if f.label == "NESTED" else '[""]'
            return (f"The SQL query needs these tables = [{','.join(f.tables)}], and we need the "
                    f"answer to the questions = {subs}.\nLabel: \"{f.label}\"")  # fmt: skip
        if kind == "mac_sql_select":
            choice = {
                t: ("keep_all" if t.lower() in f.tables else "drop_all") for t in _tables_in(text)
            }
            return "```json\n" + json.dumps(choice) + "\n```\nQuestion Solved."
        if kind == "mac_sql_decompose":
            return f"Sub question 1: {question}\nSQL\n```sql\n{sql}\n```\n\nQuestion Solved."
        if kind == "chess_keywords":
            words = [w.strip("?.,") for w in question.split() if w[:1].isupper()] + f.values
            return "```python\n" + json.dumps(list(dict.fromkeys(words))) + "\n```"
        if kind == "din_sql_easy":
            return f"SQL: {sql}"
        if kind in GENERATION:
            return f"Let's think step by step. The query reads {', '.join(f.tables)}.\n```sql\n{sql}\n```"
        if kind in REPAIR:
            return f"The query should read as follows.\n```sql\n{self.gold[question]}\n```"
        if kind == "sql_selection":
            return _choose_listwise(text, self.gold[question])
        if kind == "sql_pairwise":
            return _choose_pairwise(text, self.gold[question])
        if kind == "sqlo1":
            return _complete_prefix(text, sql)
        return "I do not know this prompt."


def _complete_prefix(text: str, sql: str) -> str:
    """SQL-o1's answer: the whole query, starting with the prompt's incomplete one."""
    prefix = text.rsplit(SQLO1_SLOT, 1)[1].strip()
    if sql.startswith(prefix):
        return sql
    return f"{prefix} {sql}" if prefix else sql


def _number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _tables_in(text: str) -> list[str]:
    return re.findall(r"^# Table: (\S+)", text, flags=re.MULTILINE)


def _norm(sql: str) -> str:
    return " ".join(sql.split()).lower()


def _blocks(text: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)\n```", text, flags=re.DOTALL)


def _choose_listwise(text: str, gold: str) -> str:
    blocks = _blocks(text)
    choice = next((i for i, b in enumerate(blocks, start=1) if _norm(b) == _norm(gold)), 1)
    return (
        f'Candidate {choice} answers the question.\n{{"choice": {choice}, "reason": "it matches"}}'
    )


def _choose_pairwise(text: str, gold: str) -> str:
    blocks = _blocks(text)
    choice = "B" if len(blocks) > 1 and _norm(blocks[1]) == _norm(gold) else "A"
    return f'They differ in their filters.\n{{"choice": "{choice}", "reason": "closer to the question"}}'


def serve(gold_path: Path, latency: float = 0.0) -> None:
    """Serve the responder over a JSONL gold file until killed, printing ``PORT <n>``."""
    gold = {}
    for line in gold_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            gold[record["question"]] = record["SQL"]
    fake = FakeOpenAI(latency=latency, record=False)
    fake.handler = MethodResponder(gold, record=False)
    serve_forever(fake)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The fake endpoint with the methods' answers.")
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    serve(args.gold, args.latency)
