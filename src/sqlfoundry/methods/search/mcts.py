"""Monte Carlo tree search over partial SQL for one question.

State: the partial query (the prompt's incomplete-SQL slot). Action: the next
clause segment. One iteration:

1. **Select**: from the root, follow the child with the best UCT
   (:func:`~sqlfoundry.methods.search.rewards.uct`) while the node is expanded.
2. **Expand** the leaf (unless it is terminal): ask the model for ``samples``
   completions of its partial query, read each as a draw
   (:mod:`~sqlfoundry.methods.search.draws`), merge draws whose first segment is
   the same, keep the ``children`` best by prior.
3. **Simulate**: from the child UCT picks (every child is unvisited: the best
   prior), follow the rest of its most likely draw to a whole query: the rollout
   costs no model call, since the completion already holds it.
4. **Reward** the whole query (SQL-o1's self-reward, execution
   self-consistency or their mix, minus the execution penalty) and **back up**
   the returns along the path.

A node is terminal when its query is complete or its depth is ``max_depth``
(at the limit, the rest of a completion is taken as one last action, so the
query is whole). The search never sees the gold query.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import LLMBadRequestError
from sqlfoundry.db.base import ExecResult
from sqlfoundry.llm.generation import Generation
from sqlfoundry.methods.search import rewards as R
from sqlfoundry.methods.search.draws import (
    Draw,
    Reading,
    anchors,
    join,
    read_chat,
    read_completion,
    span_logprob,
)
from sqlfoundry.synth.sft.prompt import completion_prompt, messages, with_incomplete

log = logging.getLogger(__name__)

OPERATOR = "mcts_search"
# A base model's continuation ends where the query does.
COMPLETION_STOPS = ["\n\n", ";", "```"]

RunSQL = Callable[[Sequence[str]], Awaitable[list[ExecResult]]]


@dataclass(eq=False)
class Node:
    """A partial query in the tree.

    ``draws`` are the completions through this node, as the segments after its
    action; ``pool`` the whole queries of every completion drawn when it was
    expanded (None for an unusable one), which the consistency reward executes.
    """

    prefix: str
    depth: int
    parent: Node | None = None
    action: str = ""
    logprob: float | None = None
    count: int = 0
    terminal: bool = False
    prior: float = 0.0
    draws: list[Draw] = field(default_factory=list)
    children: list[Node] | None = None
    pool: list[str | None] = field(default_factory=list)
    visits: int = 0
    returns: list[float] = field(default_factory=list)

    def q(self, how: str) -> float:
        """Q: the max or mean of the returns, the prior while there are none."""
        return R.aggregate(self.returns, how) if self.returns else self.prior


@dataclass
class Outcome:
    """What running a query gave, kept per query text."""

    status: str
    empty: bool
    key: Hashable | None
    error: str | None = None
    rows: int = 0


@dataclass
class Candidate:
    """A whole query the search reached, with the returns it was given."""

    sql: str
    order: int
    outcome: Outcome
    visits: int = 0
    returns: list[float] = field(default_factory=list)


@dataclass
class SearchResult:
    """One question's search: the chosen query and everything a report needs."""

    sql: str | None
    chosen_by: str
    candidates: list[dict[str, Any]]
    tree: dict[str, Any]
    samples: dict[str, Any]
    usage: dict[str, Any]
    full_logprob: str


def derived_seed(*parts: object) -> int:
    """A request seed from the run seed, the question and the node: stable across runs."""
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def outcome_of(result: ExecResult) -> Outcome:
    """A query's status and its result group (the rows as a set, as Alpha-SQL groups them)."""
    if not result.ok:
        return Outcome(result.status, True, None, result.error)
    empty = not result.rows or all(v is None for row in result.rows for v in row)
    return Outcome("ok", empty, frozenset(result.rows), rows=len(result.rows))


class Search:
    """The search for one question.

    Args:
        params: the operator's parameters (``MCTSParams``).
        llm: the run's ``LLMClient``.
        run_sql: runs queries on the question's database, one ``ExecResult`` each.
        prompt: the rendered schema-aware prompt, with an empty incomplete query.
        seed: the run's seed; ``key``: the question's id (both seed the requests).
        dialect: the database's SQL dialect.
    """

    def __init__(self, params: Any, llm: Any, run_sql: RunSQL, prompt: str, *, seed: int,
                 key: str, dialect: str = "sqlite") -> None:  # fmt: skip
        self.p = params
        self.llm = llm
        self.run_sql = run_sql
        self.prompt = prompt
        self.seed = seed
        self.key = key
        self.dialect = dialect
        self.want_logprobs = params.reward in ("sqlo1", "mixed")
        self.full_mode = params.full_logprob
        if self.full_mode == "auto":
            self.full_mode = "echo" if params.api == "completions" else "path"
        self.root = Node(prefix="", depth=0)
        self.nodes = 1
        self.expanded = 0
        self.deepest = 0
        self.drawn = 0
        self.unusable: Counter[str] = Counter()
        self.outcomes: dict[str, Outcome] = {}
        self.full_lps: dict[str, float] = {}
        self.candidates: dict[str, Candidate] = {}
        self.usage = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cache_hits": 0,
                      "seconds": 0.0}  # fmt: skip

    # ------------------------------------------------------------------ the loop

    async def run(self) -> SearchResult:
        """Run ``iterations`` iterations (fewer when the model gives nothing usable)."""
        done = 0
        for _ in range(self.p.iterations):
            path = [self.root]
            node = self.root
            while node.children and not node.terminal:
                node = self.select(node)
                path.append(node)
            if not node.terminal and node.children is None:
                await self.expand(node)
                if node.children:
                    node = self.select(node)
                    path.append(node)
                elif node is self.root:
                    break  # not one usable completion of the question
                else:
                    node.terminal = True  # a dead end: its partial query is all there is
            returns, sql, outcome = await self.evaluate(path)
            self.backup(path, returns)
            self._record(sql, outcome, returns[0])
            done += 1
        return self.result(done)

    def select(self, node: Node) -> Node:
        """The child with the best UCT; ties go to the better prior (children are in that order)."""
        assert node.children
        return max(node.children,
                   key=lambda c: R.uct(c.q(self.p.q), node.visits, c.visits, self.p.uct_c))  # fmt: skip

    async def expand(self, node: Node) -> None:
        """Draw ``samples`` completions of the node's partial query and make its children."""
        generations = await self._draw(node.prefix, self.p.samples, "expand")
        readings = [self._read(node, g) for g in generations]
        node.pool = [r.draw.sql if r.draw else None for r in readings]
        self.expanded += 1
        groups: dict[Hashable, Node] = {}
        for reading in readings:
            draw = reading.draw
            if draw is None:
                self.unusable[reading.problem or "unusable"] += 1
                continue
            if draw.segments:
                first, rest = draw.segments[0], draw.segments[1:]
                key: Hashable = (first.key, not rest)
                action, lp, prefix, terminal = (
                    first.text,
                    first.logprob,
                    join(node.prefix, first.text),
                    not rest,
                )
            else:  # the model says the partial query is already whole
                key, action, lp, prefix, terminal, rest = ("<end>",), "", 0.0, node.prefix, True, ()
            child = groups.get(key)
            if child is None:
                child = groups[key] = Node(prefix=prefix, depth=node.depth + 1, parent=node,
                                           action=action, logprob=lp, terminal=terminal)  # fmt: skip
            elif lp is not None and (child.logprob is None or lp > child.logprob):
                child.logprob = lp
            child.count += 1
            child.draws.append(Draw(tuple(rest), draw.sql))
        children = list(groups.values())
        for child in children:
            child.prior = R.prior(self.p.reward, child.logprob, child.count, len(generations),
                                  self.p.alpha, self.p.mix, self.p.scale)  # fmt: skip
        ranked = sorted(enumerate(children), key=lambda pair: (-pair[1].prior, pair[0]))
        node.children = [child for _, child in ranked[: self.p.children]]
        self.nodes += len(node.children)
        if node.children:
            self.deepest = max(self.deepest, node.depth + 1)

    async def evaluate(self, path: list[Node]) -> tuple[list[float], str, Outcome]:
        """The returns for the path's nodes after each action (``returns[0]`` is the whole
        path's), the whole query reached, and what running it gave."""
        leaf = path[-1]
        rest: tuple = ()
        sql = leaf.prefix
        if not leaf.terminal:
            draw = max(leaf.draws, key=lambda d: d.logprob if d.logprob is not None else 0.0)
            rest, sql = draw.segments, draw.sql
        lps = [n.logprob for n in path[1:]] + [s.logprob for s in rest]
        self.deepest = max(self.deepest, len(lps))
        outcome = await self._outcome(sql)
        penalty = R.execution_penalty(outcome.status, outcome.empty, self.p.error_penalty,
                                      self.p.empty_penalty)  # fmt: skip
        share = 0.0
        if self.p.reward in ("consistency", "mixed") and leaf.parent is not None:
            share = await self._share(leaf.parent, sql, outcome)
        full_lp = None
        if self.p.reward in ("sqlo1", "mixed"):
            full_lp = await self._full_logprob(sql, lps)
        returns = R.path_returns(self.p.reward, action_lps=lps, full_lp=full_lp, share=share,
                                 penalty=penalty, alpha=self.p.alpha, mix=self.p.mix,
                                 scale=self.p.scale)  # fmt: skip
        return returns, sql, outcome

    @staticmethod
    def backup(path: list[Node], returns: list[float]) -> None:
        """Every node of the path counts a visit; the node after action i gets ``returns[i]``,
        the root the whole path's."""
        for i, node in enumerate(path):
            node.visits += 1
            node.returns.append(returns[max(0, i - 1)])

    # ------------------------------------------------------------------ rewards

    async def _outcomes(self, sqls: Sequence[str]) -> None:
        todo = list(dict.fromkeys(s for s in sqls if s not in self.outcomes))
        if todo:
            for sql, result in zip(todo, await self.run_sql(todo), strict=True):
                self.outcomes[sql] = outcome_of(result)

    async def _outcome(self, sql: str) -> Outcome:
        await self._outcomes([sql])
        return self.outcomes[sql]

    async def _share(self, node: Node, sql: str, outcome: Outcome) -> float:
        """The share of the completions drawn at ``node`` whose result is ``sql``'s."""
        extra = self.p.consistency_samples - len(node.pool)
        if extra > 0:
            generations = await self._draw(node.prefix, extra, "consistency")
            node.pool += [
                r.draw.sql if r.draw else None for r in (self._read(node, g) for g in generations)
            ]
        await self._outcomes([s for s in node.pool if s is not None])
        keys = [self.outcomes[s].key if s is not None else None for s in node.pool]
        return R.consistency_share(keys, outcome.key)

    async def _full_logprob(self, sql: str, lps: Sequence[float | None]) -> float:
        """The whole query's log probability: scored with ``echo``, or summed along the path."""
        path_sum = sum(lp for lp in lps if lp is not None)
        if self.full_mode != "echo":
            return path_sum
        if sql not in self.full_lps:
            head = completion_prompt(self.prompt, "")
            try:
                generations = await self._complete(head + sql, n=1, logprobs=0, echo=True,
                                                   max_tokens=1, temperature=0.0)  # fmt: skip
            except LLMBadRequestError as err:
                if self.p.full_logprob == "echo":
                    raise
                log.warning("the endpoint refuses echo scoring (%s); summing along the path",
                            err.message)  # fmt: skip
                self.full_mode = "path"
                return path_sum
            tokens = generations[0].logprobs or []
            self.full_lps[sql] = span_logprob(anchors(tokens), len(head), len(head) + len(sql))
        return self.full_lps[sql]

    # ------------------------------------------------------------------ the model

    def _read(self, node: Node, generation: Generation) -> Reading:
        room = max(1, self.p.max_depth - node.depth)
        read = read_chat if self.p.api == "chat" else read_completion
        return read(node.prefix, generation, room, self.dialect)

    async def _draw(self, prefix: str, n: int, purpose: str) -> list[Generation]:
        seed = derived_seed(self.seed, self.key, purpose, prefix)
        self.drawn += n
        if self.p.api == "chat":
            start = time.perf_counter()
            generations = await self.llm.generate(
                messages(with_incomplete(self.prompt, prefix)), n=n, logprobs=self.want_logprobs,
                temperature=self.p.temperature, max_tokens=self.p.max_tokens, seed=seed,
                operator=OPERATOR,
            )  # fmt: skip
            self._account(generations, start)
            return generations
        return await self._complete(completion_prompt(self.prompt, prefix), n=n,
                                    logprobs=0 if self.want_logprobs else None,
                                    temperature=self.p.temperature, max_tokens=self.p.max_tokens,
                                    stop=COMPLETION_STOPS, seed=seed)  # fmt: skip

    async def _complete(self, text: str, **kwargs: Any) -> list[Generation]:
        start = time.perf_counter()
        generations = await self.llm.complete(text, operator=OPERATOR, **kwargs)
        self._account(generations, start)
        return generations

    def _account(self, generations: list[Generation], start: float) -> None:
        self.usage["seconds"] += time.perf_counter() - start
        fresh = [g for g in generations if not g.cached]
        self.usage["cache_hits"] += len(generations) - len(fresh)
        if fresh:
            # The samples of one call share its usage: count it once.
            self.usage["calls"] += 1
            self.usage["prompt_tokens"] += fresh[0].usage.prompt_tokens
            self.usage["completion_tokens"] += fresh[0].usage.completion_tokens

    # ------------------------------------------------------------------ the answer

    def _record(self, sql: str, outcome: Outcome, value: float) -> None:
        candidate = self.candidates.get(sql)
        if candidate is None:
            candidate = self.candidates[sql] = Candidate(sql, len(self.candidates), outcome)
        candidate.visits += 1
        candidate.returns.append(value)

    def reward_of(self, candidate: Candidate) -> float:
        """A candidate's reward: its returns aggregated as the search's ``q`` says."""
        return R.aggregate(candidate.returns, self.p.q)

    def choose(self) -> tuple[Candidate | None, str]:
        """The answer: the best reward, or the largest execution vote (visits as votes)."""
        ranked = sorted(self.candidates.values(),
                        key=lambda c: (-self.reward_of(c), -c.visits, c.order))  # fmt: skip
        if not ranked:
            return None, self.p.choose
        if self.p.choose == "vote":
            groups: dict[Hashable, list[Candidate]] = {}
            for c in ranked:
                if c.outcome.status == "ok":
                    groups.setdefault(c.outcome.key, []).append(c)
            if groups:
                best = max(groups.values(),
                           key=lambda g: (sum(c.visits for c in g), self.reward_of(g[0]), -g[0].order))  # fmt: skip
                return best[0], "vote"
            return ranked[0], "reward (no candidate ran, so no vote)"
        return ranked[0], "reward"

    def result(self, iterations: int) -> SearchResult:
        """The search's result after ``iterations``: the answer and every candidate ranked."""
        chosen, how = self.choose()
        ranked = sorted(self.candidates.values(),
                        key=lambda c: (-self.reward_of(c), -c.visits, c.order))  # fmt: skip
        candidates = []
        for c in ranked:
            entry: dict[str, Any] = {"sql": c.sql, "reward": round(self.reward_of(c), 6),
                                     "visits": c.visits, "status": c.outcome.status,
                                     "rows": c.outcome.rows}  # fmt: skip
            if c.outcome.error:
                entry["error"] = c.outcome.error
            candidates.append(entry)
        usage = dict(self.usage)
        usage["seconds"] = round(usage["seconds"], 6)
        return SearchResult(
            sql=chosen.sql if chosen else None,
            chosen_by=how,
            candidates=candidates,
            tree={
                "nodes": self.nodes,
                "expanded": self.expanded,
                "depth": self.deepest,
                "iterations": iterations,
                "root_visits": self.root.visits,
            },  # fmt: skip
            samples={"drawn": self.drawn, "unusable": dict(self.unusable)},
            usage=usage,
            full_logprob=self.full_mode if self.want_logprobs else "none",
        )
