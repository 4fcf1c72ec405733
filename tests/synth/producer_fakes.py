"""A scripted model for the pair producers' prompts, served by the fake OpenAI server.

``PairModel().handler`` plugs into ``FakeOpenAI.handler``. It tells each prompt
kind by the system text of its template (read from the prompt library, so a
reworded template still matches) and answers in the form the prompt asks for,
with SQL that runs on the demo databases:

* ``pair_questions``: ``count`` questions "How many rows does the <table> table
  have (<complexity>, <k>)?", one table of the DDL after another;
* ``pair_sql``: the SQL registered for the question (``SELECT count(*) FROM <table>``
  for the questions above, the evolved SQL for evolved ones), or
  ``UNANSWERABLE: ...`` for a question it does not know;
* ``pair_sql_retry``: the registered SQL again, now right;
* ``pair_depth_evolution``: the question "made harder" by the technique, its SQL
  the original wrapped (a count of its rows, or its first five rows for add-filter);
  a hypothetical is registered as unanswerable;
* ``pair_paraphrase``: one paraphrase per requested style, with evidence for
  vague and metaphorical ones;
* ``pair_context_resolution``: "Standalone: <the last user turn>";
* ``pair_topic_change``: a change when the message says "overall";
* ``question_generation``: "Which rows does this query list (<first table>)?";
* ``persona_generation``: two good personas, one with an unknown style, one without a role;
* ``teachings_generation``: two grounded teachings and one about a column that does not exist.

``malformed`` holds the kinds to answer with prose instead (a malformed answer);
``wrong_first`` the questions whose first SQL names a missing column (so the
retry path runs), ``always_wrong`` those whose SQL never gets right, and
``refuse`` text that makes a question unanswerable; ``no_evidence`` leaves
vague paraphrases without their evidence. ``kinds`` counts the requests per kind.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import FakeRequest, Reply  # noqa: E402

from sqlfoundry.llm import load_template  # noqa: E402

KINDS = (
    "pair_questions",
    "pair_sql",
    "pair_paraphrase",
    "pair_depth_evolution",
    "pair_context_resolution",
    "pair_topic_change",
    "persona_generation",
    "teachings_generation",
    "question_generation",
)
PROSE = "I am sorry, I cannot help with that request."


def _system_prefix(name: str) -> str:
    """The template's system text up to its first placeholder: enough to recognise it."""
    role, text = load_template(name).sections[0]
    assert role == "system", name
    return text.split("$", 1)[0][:60]


class PairModel:
    """Answers every pair-producer prompt; see the module doc."""

    def __init__(self) -> None:
        self.prefixes = {name: _system_prefix(name) for name in KINDS}
        self.sql_for: dict[str, str] = {}
        self.malformed: set[str] = set()
        self.wrong_first: set[str] = set()
        self.always_wrong: set[str] = set()
        self.refuse: set[str] = set()
        self.no_evidence = False
        self.kinds: Counter[str] = Counter()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    def kind_of(self, messages: list[dict[str, Any]]) -> str:
        system = str(messages[0].get("content", "")) if messages else ""
        for name, prefix in self.prefixes.items():
            if system.startswith(prefix):
                if name == "pair_sql" and len(messages) > 2:
                    return "pair_sql_retry"
                return name
        return "unknown"

    def handler(self, request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        body = request.body or {}
        messages = body.get("messages", [])
        kind = self.kind_of(messages)
        with self._lock:
            self.kinds[kind] += 1
            text = PROSE if kind in self.malformed else self.answer(kind, messages)
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": "stop"}  # fmt: skip
        usage = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
        return Reply(json={"id": "x", "object": "chat.completion", "created": 0,
                           "model": body.get("model"), "choices": [choice], "usage": usage})  # fmt: skip

    def answer(self, kind: str, messages: list[dict[str, Any]]) -> str:
        user = str(messages[1].get("content", "")) if len(messages) > 1 else ""
        method = getattr(self, "_" + kind, None)
        return method(user, messages) if method else "no idea"

    # ------------------------------------------------------------------ answers

    def _pair_questions(self, user: str, messages: list) -> str:
        count = int(re.search(r"Write (\d+) different questions", user).group(1))
        level = re.search(r'at the "([^"]+)" level', user).group(1)
        tables = re.findall(r"CREATE TABLE \"?(\w+)", user)
        questions = []
        for k in range(count):
            table = tables[k % len(tables)]
            question = f"How many rows does the {table} table have ({level}, {k})?"
            self.sql_for.setdefault(question, f"SELECT count(*) FROM {table}")
            questions.append(question)
        return json.dumps({"questions": questions})

    def _pair_sql(self, user: str, messages: list) -> str:
        question = user.split("Question: ", 1)[1].split("\n", 1)[0].strip()
        sql = self.sql_for.get(question)
        if sql is None or any(text in question for text in self.refuse):
            return "UNANSWERABLE: the database has no data for this question"
        if question in self.wrong_first or question in self.always_wrong:
            return "```sql\nSELECT no_such_column FROM " + sql.rsplit(" FROM ", 1)[1] + "\n```"
        return f"Here it is.\n```sql\n{sql}\n```"

    def _pair_sql_retry(self, user: str, messages: list) -> str:
        answer = self._pair_sql(user, messages)
        question = user.split("Question: ", 1)[1].split("\n", 1)[0].strip()
        return (
            answer
            if question in self.always_wrong
            else answer.replace("no_such_column", "count(*)")
        )

    def _pair_depth_evolution(self, user: str, messages: list) -> str:
        question = user.split("Original question: ", 1)[1].split("\n", 1)[0].strip()
        sql = user.split("```sql\n", 1)[1].split("\n```", 1)[0].strip()
        technique = user.split("Technique: ", 1)[1].split("\n", 1)[0].strip()
        evolved = f"{question} (made harder: {technique})"
        if technique == "add-filter":
            self.sql_for[evolved] = f"SELECT * FROM ({sql}) AS t LIMIT 5"
        elif technique != "hypothetical":
            self.sql_for[evolved] = f"SELECT count(*) FROM ({sql}) AS t"
        return json.dumps({"question": evolved})

    def _pair_paraphrase(self, user: str, messages: list) -> str:
        question = user.split("Original question: ", 1)[1].split("\n", 1)[0].strip()
        styles = re.findall(r"^\d+\. (\w+):", user, flags=re.MULTILINE)
        items = []
        for style in styles:
            vague = style in ("vague", "metaphorical") and not self.no_evidence
            evidence = "X means the table's rows" if vague else ""
            items.append(
                {"style": style, "question": f"[{style}] {question}", "evidence": evidence}
            )
        return json.dumps({"paraphrases": items})

    def _pair_context_resolution(self, user: str, messages: list) -> str:
        turns = re.findall(r"^\[\d+\] User: (.*)$", user, flags=re.MULTILINE)
        return json.dumps({"question": f"Standalone: {turns[-1]}"})

    def _pair_topic_change(self, user: str, messages: list) -> str:
        message = user.split("New user message:\n", 1)[1].split("\n", 1)[0]
        change = "overall" in message
        return json.dumps(
            {"topic_change": change, "reason": "new subject" if change else "refines"}
        )

    def _question_generation(self, user: str, messages: list) -> str:
        table = re.search(r"FROM (\w+)", user.split("SQL query:", 1)[1]).group(1)
        return json.dumps(
            {"question": f"Which rows does this query list ({table})?", "evidence": ""}
        )

    def _persona_generation(self, user: str, messages: list) -> str:
        table = re.findall(r"CREATE TABLE \"?(\w+)", user)[0]
        return json.dumps({"personas": [
            {"role": "Buyer", "perspective": "Restocks what sells.", "styles": ["concise", "formal"],
             "tables": [table, "no_such_table"]},
            {"role": "Auditor", "perspective": "Checks totals.", "styles": ["made-up", "vague"]},
            {"role": "Nobody", "perspective": "Has no style.", "styles": ["made-up"]},
            {"perspective": "No role at all.", "styles": ["formal"]},
        ]})  # fmt: skip

    def _teachings_generation(self, user: str, messages: list) -> str:
        table = re.findall(r"CREATE TABLE \"?(\w+)", user)[0]
        return json.dumps({"teachings": [
            {"kind": "guardrail", "text": f"Never list every row of {table}.", "refs": [table]},
            {"kind": "style guide", "text": f"Name {table} in full.", "refs": [table]},
            {"kind": "hint", "text": "Use the secret column.", "refs": [f"{table}.secret_column"]},
            {"kind": "gossip", "text": f"{table} is nice.", "refs": [table]},
        ]})  # fmt: skip
