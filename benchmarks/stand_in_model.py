"""A stand-in model for the LLM synthesis benchmarks: answers sqlfoundry's and DataFlow's prompts.

A handler for the fake OpenAI-compatible endpoint (``tests/llm/fake_openai.py``),
run in its own process (``python stand_in_model.py TESTS_LLM_DIR LOG LATENCY``;
it prints ``PORT n``). Both pipelines get the same model, so their request counts
and kept samples compare:

- SQL generation (sqlfoundry's ``sql_generation``, DataFlow's SQL synthesis prompt):
  one query drawn from a finite pool built from the CREATE TABLE statements in the
  prompt (counts, columns, groups, extremes, distinct values, per table), as a
  model at temperature ~0.8 repeats itself; a query the prompt lists to avoid is
  not drawn again, as a model told so would not write it. sqlfoundry's
  ``sql_generation_several`` (a numbered list of wanted queries) gets that many
  numbered ```sql blocks, distinct within the answer; one such answer in
  ``SHORT_EVERY`` stops a query short, as a model does now and then.
- questions (sqlfoundry's JSON styles, DataFlow's ``[QUESTION-START]`` blocks),
  judges (``Verdict: yes``, under ``Pair N`` for each pair of a several-pairs prompt;
  DataFlow's ``<Conclusion> YES </Conclusion>``) and chains of thought that end in
  the prompt's SQL;
- anything else (the execution classifiers' text-to-SQL prompts): a query from
  the pool of the prompt's schema, varied across the ``n`` samples.

Each answer is logged as one JSON line: ``{"kind", "t", "n"}`` (embeddings too).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import time

_TABLE = re.compile(r'CREATE TABLE\s+[`"\[]?(\w+)[`"\]]?\s*\((.*?)\n\s*\)', re.S | re.I)
_NOT_COLUMNS = {"PRIMARY", "FOREIGN", "UNIQUE", "CONSTRAINT", "CHECK", "KEY"}
_SQL_BLOCK = re.compile(r"```sql\s*(.*?)\s*```", re.S)


def schema_of(text: str) -> dict[str, list[str]]:
    """Table -> columns, from every CREATE TABLE statement in a prompt."""
    tables: dict[str, list[str]] = {}
    for name, body in _TABLE.findall(text):
        columns = []
        for line in body.splitlines():
            word = line.strip().split(" ", 1)[0].strip('`"[],')
            if word and word.upper() not in _NOT_COLUMNS and re.fullmatch(r"\w+", word):
                columns.append(word)
        if columns:
            tables.setdefault(name, columns)
    return tables


def pool(tables: dict[str, list[str]]) -> list[str]:
    """The queries the stand-in model knows for a schema."""
    queries = []
    for table, columns in tables.items():
        queries.append(f"SELECT count(*) FROM {table}")
        for column in columns:
            queries += [
                f"SELECT {column} FROM {table}",
                f"SELECT DISTINCT {column} FROM {table}",
                f"SELECT {column}, count(*) FROM {table} GROUP BY {column}",
                f"SELECT max({column}) FROM {table}",
                f"SELECT min({column}) FROM {table}",
            ]
    return queries or ["SELECT 1"]


@functools.lru_cache(maxsize=64)
def pool_of(text: str) -> list[str]:
    """:func:`pool` of a prompt's schema, read once for the ``n`` samples of a request."""
    return pool(schema_of(text))


def draw(text: str, index: int, avoid: str = "") -> str:
    """A query from the prompt's pool, varied by the sample index; not one in ``avoid``."""
    queries = pool_of(text)
    seed = int(hashlib.sha256(f"{text}\0{index}\0{time.time_ns()}".encode()).hexdigest(), 16)
    for attempt in range(len(queries)):
        sql = queries[(seed + attempt * 7919) % len(queries)]
        if sql not in avoid:
            return sql
    return queries[seed % len(queries)]


SHORT_EVERY = 20
_WANTED = re.compile(r"^\d+\. Target complexity", re.M)


def several(text: str, index: int, avoid: str) -> str:
    """Numbered ```sql blocks for the wanted queries a prompt lists, none repeated."""
    count = len(_WANTED.findall(text))
    digest = int(hashlib.sha256(f"{text}\0{index}".encode()).hexdigest(), 16)
    if digest % SHORT_EVERY == 0:
        count -= 1
    written: list[str] = []
    for j in range(count):
        written.append(draw(text, index * 100 + j, avoid + "\n".join(written)))
    return "\n".join(f"{j}.\n```sql\n{sql}\n```" for j, sql in enumerate(written, 1))


def answer(text: str, index: int) -> tuple[str, str]:
    """(kind, content) for one sample of a chat prompt."""
    if "Target complexity" in text:  # sqlfoundry's SQL generation
        avoid = text.split("Do not repeat", 1)[1] if "Do not repeat" in text else ""
        if _WANTED.search(text):
            return "sql_generation", several(text, index, avoid)
        return "sql_generation", f"```sql\n{draw(text, index, avoid)}\n```"
    if "SQL Query Requirements" in text:  # DataFlow's SQL synthesis
        return "sql_generation", f"Step by step.\n```sql\n{draw(text, index)}\n```"
    if "Verdict: yes" in text:  # sqlfoundry's judge: one pair, or "Pair 1".."Pair N"
        verdict = "It asks for what the query returns.\nVerdict: yes"
        pairs = len(re.findall(r"^Pair \d+\nQuestion: ", text, flags=re.M))
        if not pairs:
            return "judge", verdict
        return "judge", "\n".join(f"Pair {k}\n{verdict}" for k in range(1, pairs + 1))
    if "<Conclusion>" in text:
        return (
            "judge",
            "It asks for what the query returns.\n```\n<Conclusion> YES </Conclusion>\n```",
        )
    if "[QUESTION-START]" in text:
        return "question", ("[EXPLANATION-START]It lists rows.[EXPLANATION-END]\n"
                            f"[QUESTION-START]Which rows are listed (variant {index})?[QUESTION-END]\n"
                            "[EXTERNAL-KNOWLEDGE-START][EXTERNAL-KNOWLEDGE-END]")  # fmt: skip
    if "SQL query:" in text and "style" in text.lower():  # sqlfoundry's question prompts
        styles = re.findall(r"^\d+\. ([\w-]+): ", text, flags=re.M)
        if not styles:  # one style asked: one question
            return "question", json.dumps({"question": f"Which rows are listed ({index})?",
                                           "evidence": ""})  # fmt: skip
        return "question", json.dumps({"questions": [
            {"style": s, "question": f"Which rows are listed ({s}, variant {index})?",
             "evidence": ""} for s in styles]})  # fmt: skip
    if "Correct SQL query:" in text or "[Reference Solution]" in text:  # chains of thought
        blocks = _SQL_BLOCK.findall(text)
        sql = blocks[-1] if blocks else "SELECT 1"
        return "cot", f"1. Find the rows asked for.\n2. Write the query.\n```sql\n{sql}\n```"
    return "text_to_sql", f"```sql\n{draw(text, index)}\n```"


def handler(request, log):
    """The fake endpoint's hook: chat answers from :func:`answer`; embeddings left to it."""
    if request.path == "/v1/embeddings":
        log.write(json.dumps({"kind": "embeddings", "t": time.time(), "n": 1}) + "\n")
        return None
    if request.path != "/v1/chat/completions":
        return None
    from fake_openai import Reply

    body = request.body or {}
    n = int(body.get("n") or 1)
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    kinds, choices = set(), []
    for i in range(n):
        kind, content = answer(text, i)
        kinds.add(kind)
        choices.append({"index": i, "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop"})  # fmt: skip
    log.write(json.dumps({"kind": kinds.pop(), "t": time.time(), "n": n}) + "\n")
    usage = {"prompt_tokens": 100, "completion_tokens": 20 * n, "total_tokens": 100 + 20 * n}
    return Reply(json={"id": "x", "object": "chat.completion", "created": 0,
                       "model": body.get("model"), "choices": choices, "usage": usage})  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    from fake_openai import FakeOpenAI

    log_file = open(sys.argv[2], "w", buffering=1)  # noqa: SIM115 (open while serving)
    server = FakeOpenAI(latency=float(sys.argv[3]), record=False)
    server.handler = lambda request: handler(request, log_file)
    server.start()
    print(f"PORT {server.port}", flush=True)
    while True:
        time.sleep(3600)
