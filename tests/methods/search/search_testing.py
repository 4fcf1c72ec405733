"""A scripted model for the tree search tests, served by the fake OpenAI endpoint.

``ScriptedModel`` answers the schema-aware prompt from a table: for each
incomplete query (the prompt's last line), the answers the model gives, each a
list of ``(token, logprob)`` pairs. For chat an answer is the whole query (a
model trained on SQL-o1's data answers that way); for ``/completions`` it is
the continuation. Sample ``i`` of a request is answer ``i`` modulo their
number, or, with ``shuffle``, one drawn with the request's seed, so a seeded
search is reproducible and another seed samples differently. ``echo`` requests
(scoring a whole query) get the logprobs in ``scores`` (or -0.05 a token).
"""

from __future__ import annotations

import random
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "llm"))

from fake_openai import FakeRequest, Reply, error_reply, token_spans  # noqa: E402

SLOT = "The incomplete SQL query:"

Answer = list[tuple[str, float]]


def answer(sql: str, *lps: float) -> Answer:
    """``sql`` cut into tokens (a word with the spaces before it), one logprob each."""
    spans = [token for _, token in token_spans(sql)]
    assert len(spans) == len(lps), f"{len(spans)} tokens in {sql!r}, {len(lps)} logprobs"
    return list(zip(spans, lps, strict=True))


# A script the tree grows on over four iterations (worked through in test_search_mcts.py).
GROWING = {
    "": [answer("SELECT count(*) FROM singer", -0.1, -0.1, -0.2, -0.2),
         answer("SELECT name FROM singer", -0.5, -0.5, -0.1, -0.1)],
    "SELECT count(*)": [answer("SELECT count(*) FROM singer WHERE age > 30",
                               -0.01, -0.01, -0.1, -0.1, -0.3, -0.3, -0.3, -0.3)],
    "SELECT count(*) FROM singer": [answer("SELECT count(*) FROM singer", -0.01, -0.01, -0.01, -0.01)],
    "SELECT name": [answer("SELECT name FROM singer", -0.01, -0.01, -0.1, -0.1)],
}  # fmt: skip


def incomplete_of(text: str) -> str:
    """The prompt's incomplete query: what follows its last slot line."""
    return text.rsplit(SLOT, 1)[1].strip()


@dataclass
class ScriptedModel:
    answers: dict[str, list[Answer]]
    scores: dict[str, list[float]] = field(default_factory=dict)
    logprobs: bool = True
    shuffle: bool = False
    asked: list[str] = field(default_factory=list)

    def handler(self, request: FakeRequest) -> Reply | None:
        """The fake server's hook; a prefix the script lacks is a 400 naming it."""
        try:
            return self._handle(request)
        except LookupError as err:
            return error_reply(400, str(err))

    def _handle(self, request: FakeRequest) -> Reply | None:
        body = request.body or {}
        if request.path == "/v1/chat/completions":
            prompt = body["messages"][-1]["content"]
            return self._reply(body, prompt, chat=True)
        if request.path == "/v1/completions":
            if body.get("echo"):
                return self._echo(body)
            return self._reply(body, body["prompt"], chat=False)
        return None

    def _pick(self, body: dict[str, Any], prefix: str, n: int) -> list[Answer]:
        self.asked.append(prefix)
        options = self.answers.get(prefix)
        if not options:
            raise LookupError(f"the script has no answer for the prefix {prefix!r}")
        if self.shuffle:
            rng = random.Random(body.get("seed"))
            return [rng.choice(options) for _ in range(n)]
        return [options[i % len(options)] for i in range(n)]

    def _reply(self, body: dict[str, Any], prompt: str, chat: bool) -> Reply:
        n = int(body.get("n") or 1)
        choices = []
        for i, tokens in enumerate(self._pick(body, incomplete_of(prompt), n)):
            text = "".join(t for t, _ in tokens)
            choice: dict[str, Any] = {"index": i, "finish_reason": "stop", "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
                if self.logprobs and body.get("logprobs"):
                    choice["logprobs"] = {"content": [{"token": t, "logprob": lp, "top_logprobs": []}
                                                      for t, lp in tokens]}  # fmt: skip
            else:
                choice["text"] = text
                if self.logprobs and body.get("logprobs") is not None:
                    offsets, at = [], 0
                    for t, _ in tokens:
                        offsets.append(at)
                        at += len(t)
                    choice["logprobs"] = {"tokens": [t for t, _ in tokens],
                                          "token_logprobs": [lp for _, lp in tokens],
                                          "top_logprobs": [{} for _ in tokens],
                                          "text_offset": offsets}  # fmt: skip
            choices.append(choice)
        usage = {"prompt_tokens": 100, "completion_tokens": 10 * n, "total_tokens": 100 + 10 * n}
        key = "chat.completion" if chat else "text_completion"
        return Reply(json={"id": "x", "object": key, "model": body.get("model"),
                           "choices": choices, "usage": usage})  # fmt: skip

    def _echo(self, body: dict[str, Any]) -> Reply:
        text = body["prompt"]
        head, sql = text.rsplit(SLOT + "\n", 1)
        head += SLOT + "\n"
        spans = token_spans(sql)
        lps = self.scores.get(sql, [-0.05] * len(spans))
        tokens = [head] + [t for _, t in spans] + ["<next>"]
        values = [None, *lps, -9.0]
        offsets = [0] + [len(head) + o for o, _ in spans] + [len(text)]
        choice = {"index": 0, "text": text + "<next>", "finish_reason": "length",
                  "logprobs": {"tokens": tokens, "token_logprobs": values,
                               "top_logprobs": [None] * len(tokens), "text_offset": offsets}}  # fmt: skip
        return Reply(json={"id": "e", "object": "text_completion", "choices": [choice],
                           "usage": {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1}})  # fmt: skip


def singer_db(root: Path) -> Path:
    """A small real database, ``singers``, in the Spider layout under ``root``."""
    folder = root / "singers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "singers.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, age INTEGER, country TEXT);
        CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, singer_id INTEGER
                              REFERENCES singer (singer_id), year INTEGER);
        INSERT INTO singer VALUES (1, 'Joe', 52, 'Netherlands'), (2, 'Tim', 32, 'United States'),
                                  (3, 'Justin', 29, 'France');
        INSERT INTO concert VALUES (1, 1, 2014), (2, 2, 2015), (3, 2, 2015);
        """
    )
    conn.commit()
    conn.close()
    return root


def llm_config(base_url: str, **overrides: Any):
    """An LLM config for the fake server: cache off, quick retries."""
    from sqlfoundry.llm import LLMConfig

    values = dict(base_url=base_url, model="fake-model", cache="off", max_concurrency=4,
                  timeout=5.0, retry_base_delay=0.01, retry_max_delay=0.05, max_retries=1)  # fmt: skip
    values.update(overrides)
    return LLMConfig(**values)


def run_operator(base_url: str, root: Path, records: list, *, seed: int = 0, **params: Any) -> list:
    """The ``mcts_search`` operator over ``records``, with the fake server as its model."""
    import asyncio

    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.methods.search import MCTSSearch
    from sqlfoundry.synth.sft.run import open_context

    async def go() -> list:
        async with open_context(DatabaseManager(root=root), llm_config=llm_config(base_url),
                                workers=0, seed=seed) as ctx:  # fmt: skip
            return (await MCTSSearch(**params).process(records, ctx)).samples

    return asyncio.run(go())


def run_search(base_url: str, root: Path, question: str, *, seed: int = 0, **params: Any):
    """One question's :class:`Search`, returned after it ran, so a test can look at the tree."""
    import asyncio

    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.methods.search import MCTSParams
    from sqlfoundry.methods.search.mcts import Search
    from sqlfoundry.synth.sft.prompt import SchemaPrompts
    from sqlfoundry.synth.sft.run import open_context

    manager = DatabaseManager(root=root)
    prompt = SchemaPrompts(manager).prompt("singers", question)

    async def go():
        async with open_context(manager, llm_config=llm_config(base_url), workers=0,
                                seed=seed) as ctx:  # fmt: skip

            async def run_sql(sqls):
                return await ctx.execute([(sql, "singers") for sql in sqls])

            search = Search(MCTSParams(**params), ctx.llm, run_sql, prompt, seed=seed, key="q")
            search.final = await search.run()
            return search

    return asyncio.run(go())
