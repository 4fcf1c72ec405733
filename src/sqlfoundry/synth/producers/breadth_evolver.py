"""BreadthEvolver: paraphrases of each question that keep its SQL (Evol-Instruct in breadth).

Each source pair gives ``count`` paraphrases in the language styles of
OmniSQL (formal, colloquial, imperative, interrogative, descriptive, concise,
vague, metaphorical, conversational): the persona's styles when a persona is
given, else ``styles`` (all nine by default), taken in turn from a place set
by the pair. The SQL, database and context stay the pair's own.

* LLM: the ``pair_paraphrase`` prompt, with the DDL, the SQL, the styles'
  descriptions and the persona; a vague or metaphorical paraphrase must come
  with the external knowledge that pins it down (``evidence``), or it is
  rejected. Paraphrases equal to the original or to each other are dropped.
* offline: the realiser's readings of the SQL in each style
  (:mod:`.wording`); vague and metaphorical, which need an LLM, are replaced
  by the next style the offline engine can do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.llm import QUESTION_STYLES, parse_json, question_style, render_prompt
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.base import Outcome
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.evolution import PairEvolver
from sqlfoundry.synth.producers.pair import ExtractedPair
from sqlfoundry.synth.producers.personas import Persona
from sqlfoundry.synth.producers.wording import OFFLINE_STYLES, in_style
from sqlfoundry.synth.realiser import RealiseError

_NEEDS_EVIDENCE = ("vague", "metaphorical")


class BreadthEvolver(PairEvolver):
    """Paraphrased pairs from each source pair.

    Args:
        source: a producer, or a list of pairs / samples / records.
        count: paraphrases per pair.
        persona: who is asking (its styles and perspective shape the wording).
        db: the databases (pairs name theirs in ``db_id``).
        styles: the styles to use without a persona (all nine by default).
    """

    name = "breadth_evolver"
    marker = "b"

    def __init__(
        self,
        source: Any,
        count: int = 3,
        persona: Persona | dict[str, Any] | None = None,
        *,
        db: PairDatabase,
        styles: Sequence[str] | None = None,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(source, db=db, engine=engine, concurrency=concurrency)
        if not 1 <= count <= 20:
            raise ConfigError("count must be between 1 and 20")
        self.persona = Persona(**persona) if isinstance(persona, dict) else persona
        chosen = list(styles) if styles else list(QUESTION_STYLES)
        unknown = [s for s in chosen if s not in QUESTION_STYLES]
        if unknown:
            raise ConfigError(
                f"unknown style(s) {unknown}", hint=f"styles: {', '.join(QUESTION_STYLES)}"
            )
        self.styles = list(self.persona.styles) if self.persona else list(dict.fromkeys(chosen))
        self.count = count

    def config(self) -> dict[str, Any]:
        return {"count": self.count, "styles": self.styles,
                "persona": self.persona.model_dump() if self.persona else None}  # fmt: skip

    async def evolve(self, pair: ExtractedPair, db: PairDatabase) -> Outcome:
        """New pairs on the same data as ``pair``, in the planned styles."""
        if self.engine == "llm":
            return await self._llm(pair, db, self.plan(pair, self.styles, self.count))
        offline = [s for s in self.styles if s in OFFLINE_STYLES] or list(OFFLINE_STYLES)
        return self._offline(pair, db, self.plan(pair, offline, self.count))

    def _keep(self, pair: ExtractedPair, found: list[str], question: str) -> bool:
        """A new wording: not the original's, not one already kept."""
        seen = {_plain(pair.question), *(_plain(q) for q in found)}
        return _plain(question) not in seen

    # ------------------------------------------------------------------ LLM

    async def _llm(self, pair: ExtractedPair, db: PairDatabase, plan: list[str]) -> Outcome:
        out = Outcome()
        lines = "\n".join(
            f"{k}. {s}: {question_style(s)['description']}" for k, s in enumerate(plan, 1)
        )
        messages = render_prompt("pair_paraphrase", dialect=db.dialect_title(), schema=db.ddl(),
                                 question=pair.question, sql=pair.sql, count=len(plan), styles=lines,
                                 persona=self.persona.describe() if self.persona else "")  # fmt: skip
        text, error = await self.ask(messages)
        items, problem = (None, error) if text is None else _paraphrases(text)
        if items is None:
            reject = self.reject(f"paraphrasing failed: {problem}", pair=pair)
            out.rejects.append({**reject, "raw": text} if text else reject)
            return out
        found: list[str] = []
        for k, item in enumerate(items):
            style = (
                item.get("style") if item.get("style") in QUESTION_STYLES else plan[k % len(plan)]
            )
            question, evidence = item["question"], item.get("evidence") or None
            if len(found) >= len(plan) or not self._keep(pair, found, question):
                continue
            if style in _NEEDS_EVIDENCE and not evidence:
                out.rejects.append(self.reject(f"{style} paraphrase without evidence: {question}",
                                               pair=pair))  # fmt: skip
                continue
            found.append(question)
            child = self.child(pair, len(found) - 1, question, pair.sql, style=style)
            child.evidence = evidence or pair.evidence
            out.pairs.append(child)
        return out

    # ------------------------------------------------------------------ offline

    def _offline(self, pair: ExtractedPair, db: PairDatabase, plan: list[str]) -> Outcome:
        out = Outcome()
        schema = db.schema()
        found: list[str] = []
        spare = [s for s in OFFLINE_STYLES if s not in plan]
        # A hypothetical pair is worded from its query without the what-if scaling.
        wording = pair.meta.get("wording") if isinstance(pair.meta.get("wording"), dict) else {}
        sql, hypothesis = wording.get("sql") or pair.sql, wording.get("hypothesis")
        for k, style in enumerate(plan):
            candidates = [style, *spare]
            for attempt, chosen in enumerate(candidates):
                seed = f"{db.seed}:{self.name}:{pair.id}:{k}:{attempt}"
                try:
                    question = in_style(schema, sql, chosen, seed, hypothesis=hypothesis)
                except RealiseError as err:
                    out.rejects.append(self.reject(f"cannot realise SQL: {err.message}", pair=pair))
                    return out
                if question is not None and self._keep(pair, found, question):
                    found.append(question)
                    child = self.child(pair, len(found) - 1, question, pair.sql, style=chosen)
                    child.evidence = pair.evidence
                    out.pairs.append(child)
                    break
        if not out.pairs:
            out.rejects.append(self.reject("no new wording: every reading equals the question",
                                           pair=pair))  # fmt: skip
        return out


def _plain(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?.!")


def _paraphrases(text: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """``[{"question", "style"?, "evidence"?}]`` from a ``{"paraphrases": [...]}`` answer
    (a bare list, and plain strings for items, work too)."""
    parsed = parse_json(text, expect=(dict, list))
    if not parsed.ok:
        return None, f"unparsable answer: {parsed.error}"
    items = parsed.value.get("paraphrases") if isinstance(parsed.value, dict) else parsed.value
    if not isinstance(items, list):
        return None, "the answer has no 'paraphrases' list"
    out = []
    for item in items:
        if isinstance(item, str) and item.strip():
            out.append({"question": " ".join(item.split())})
        elif (
            isinstance(item, dict)
            and isinstance(item.get("question"), str)
            and item["question"].strip()
        ):
            evidence = item.get("evidence")
            out.append({"question": " ".join(item["question"].split()), "style": item.get("style"),
                        "evidence": evidence.strip() if isinstance(evidence, str) else None})  # fmt: skip
    if not out:
        return None, "the answer lists no paraphrase"
    return out, None
