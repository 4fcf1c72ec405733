"""Contextual extractors: pairs from multi-turn chats, follow-ups resolved into standalone questions.

They walk a conversation keeping a *context* of turns (``User: ...`` and the
assistant's text, ``Assistant: ...``); at each query call they take a
snapshot of it, and the call's question is the last user turn read with that
snapshot. They differ in what the context holds:

* :class:`FullContextExtractor`: every turn so far;
* :class:`WindowedContextExtractor`: the last ``window_size`` turns;
* :class:`SegmentedContextExtractor`: the turns since the topic last changed;
* :class:`LastQueryExtractor`: every turn, but only the conversation's last query.

Resolution: offline, a turn that leans on earlier ones ("and only for
2023?") is worded from the SQL that answered it by the realiser, and other
turns keep the user's words (:mod:`.resolution`); with an LLM, the
``pair_context_resolution`` prompt rewrites the turn with the conversation,
the SQL and the database's DDL (never an empty schema). Topic changes are
detected offline from the tables the queries read, or by the
``pair_topic_change`` prompt.

A pair's ``context`` is the snapshot's turns before its question; its
``meta`` says how the question was resolved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.llm import render_prompt
from sqlfoundry.sql.references import referenced_tables
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.base import Outcome, answer_field
from sqlfoundry.synth.producers.chat_log import Conversation, ToolCall, Turn
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.message_extractor import ChatSource
from sqlfoundry.synth.producers.pair import ExtractedPair, provenance
from sqlfoundry.synth.producers.resolution import standalone, topic_changed


@dataclass
class _Found:
    """A query call, with the context when it was made."""

    turn: Turn
    number: int
    call: ToolCall
    snapshot: list[str]


@dataclass
class Walk:
    """One conversation as it is read: the context, and per topic the tables read."""

    conversation: Conversation
    context: list[str] = field(default_factory=list)
    topic_tables: set[str] = field(default_factory=set)
    found: list[_Found] = field(default_factory=list)


class ContextualExtractor(ChatSource):
    """Base of the contextual extractors; subclasses choose what the context keeps.

    Args:
        messages: a chat log file, one conversation, or a list of conversations.
        db: the databases; conversations without a ``db_id`` are for ``db.db_id``.
        tool_name: the query tool whose ``sql`` argument is the SQL.
        include_failures: keep calls whose result was an error, as ``success=False``.
    """

    def __init__(
        self,
        messages: Any,
        db: PairDatabase,
        *,
        tool_name: str = "db_query",
        include_failures: bool = False,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(messages, db=db, tool_name=tool_name, include_failures=include_failures,
                         engine=engine, concurrency=concurrency)  # fmt: skip

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        async def inputs() -> AsyncIterator[list[Conversation]]:
            yield self.conversations()

        def key(conversation: Conversation) -> list[Any]:
            turns = [(t.role, t.text, [(c.name, c.raw_arguments, c.result) for c in t.calls])
                     for t in conversation.turns]  # fmt: skip
            return [conversation.source, conversation.db_id, turns]

        async for chunk in self.each(inputs(), self._conversation, key):
            yield chunk

    # ------------------------------------------------------------------ hooks

    async def on_user(self, walk: Walk, turn: Turn, upcoming: list[str]) -> None:
        """A user turn arrives; ``upcoming`` are the SQL of the calls that answer it."""
        walk.context.append(f"User: {turn.text}")

    def snapshot(self, walk: Walk) -> list[str]:
        """The context a query call is resolved with."""
        return list(walk.context)

    def chosen(self, found: list[_Found]) -> list[_Found]:
        """The query calls that become pairs."""
        return found

    # ------------------------------------------------------------------ the walk

    async def _conversation(self, conversation: Conversation) -> Outcome:
        out = Outcome()
        assert self.db is not None
        db_id = conversation.db_id or self.db.db_id
        if not self.db.knows(db_id):
            out.rejects.append(
                self.reject(f"unknown database: {db_id!r}", source=conversation.source)
            )
            return out
        walk = Walk(conversation)
        turns = conversation.turns
        for position, turn in enumerate(turns):
            if turn.role == "user":
                if turn.text:
                    await self.on_user(walk, turn, _upcoming(turns, position, self.tool_name))
                continue
            snapshot = self.snapshot(walk)
            for number, call in self.query_calls(conversation, turn):
                if not any(entry.startswith("User: ") for entry in snapshot):
                    self.drop(
                        "no user message before the tool call",
                        source=conversation.where(turn.index),
                    )
                    continue
                walk.found.append(_Found(turn, number, call, snapshot))
            if turn.text:
                walk.context.append(f"Assistant: {turn.text}")
        db = self.db.using(db_id)
        found = self.chosen(walk.found)
        resolved = await asyncio.gather(*(self._resolve(db, conversation, f) for f in found))
        for item, (question, how, problem) in zip(found, resolved, strict=True):
            where = conversation.where(item.turn.index)
            if question is None:
                out.rejects.append(
                    self.reject(f"context resolution failed: {problem}", source=where)
                )
                continue
            last_user = max(i for i, e in enumerate(item.snapshot) if e.startswith("User: "))
            pair = ExtractedPair(question=question, sql=item.call.sql or "", db_id=db_id,
                                 context=item.snapshot[:last_user], success=not item.call.failed,
                                 id=f"{conversation.label}-{item.turn.index}.{item.number}",
                                 meta={"source": where, "asked": item.snapshot[last_user][6:]})  # fmt: skip
            if item.call.failed:
                pair.meta["error"] = item.call.failure
            out.pairs.append(provenance(pair, self.name, self.engine, resolution=how))
        return out

    async def _resolve(
        self, db: PairDatabase, conversation: Conversation, item: _Found
    ) -> tuple[str | None, str, str | None]:
        """``(question, how, None)`` or ``(None, "", why not)``."""
        users = [e[6:] for e in item.snapshot if e.startswith("User: ")]
        sql = item.call.sql or ""
        if self.engine == "offline":
            seed = f"{db.seed}:{self.name}:{conversation.source}:{item.turn.index}"
            question, how = standalone(users[-1], users[:-1], sql, db.schema(), seed)
            return question, how, None
        question, problem = await self.resolve_with_llm(db, item.snapshot, sql)
        return question, "llm", problem

    async def resolve_with_llm(
        self, db: PairDatabase, snapshot: list[str], sql: str
    ) -> tuple[str | None, str | None]:
        """The standalone question of the snapshot's last user turn, by the LLM."""
        messages = render_prompt("pair_context_resolution", dialect=db.dialect_title(),
                                 schema=db.ddl(), conversation=_numbered(snapshot), sql=sql)  # fmt: skip
        text, error = await self.ask(messages)
        if text is None:
            return None, error
        question, error = answer_field(text, "question")
        return question, None if question else f"{error} ({text[:200]!r})"


def _numbered(entries: list[str]) -> str:
    return "\n".join(f"[{i}] {entry}" for i, entry in enumerate(entries, start=1))


def _upcoming(turns: list[Turn], position: int, tool_name: str) -> list[str]:
    """The SQL of the query calls after a user turn, up to the next user turn."""
    out = []
    for turn in turns[position + 1 :]:
        if turn.role == "user":
            break
        out += [c.sql for c in turn.calls if c.name == tool_name and c.sql]
    return out


class FullContextExtractor(ContextualExtractor):
    """Each query resolved with the whole conversation before it."""

    name = "full_context_extractor"


class LastQueryExtractor(ContextualExtractor):
    """Only the conversation's last query, resolved with the whole conversation."""

    name = "last_query_extractor"

    def chosen(self, found: list[_Found]) -> list[_Found]:
        return found[-1:]


class WindowedContextExtractor(ContextualExtractor):
    """Each query resolved with the last ``window_size`` turns (user and assistant)."""

    name = "windowed_context_extractor"

    def __init__(
        self, messages: Any, db: PairDatabase, window_size: int = 5, **kwargs: Any
    ) -> None:
        super().__init__(messages, db, **kwargs)
        if window_size < 1:
            raise ConfigError("window_size must be at least 1")
        self.window_size = window_size

    def config(self) -> dict[str, Any]:
        return {**super().config(), "window_size": self.window_size}

    def snapshot(self, walk: Walk) -> list[str]:
        return walk.context[-self.window_size :]


class SegmentedContextExtractor(ContextualExtractor):
    """Each query resolved with the turns since the topic last changed.

    When a user turn starts a new topic, the context restarts from it (with an
    LLM, from the turn first rewritten as a standalone question).
    """

    name = "segmented_context_extractor"

    async def on_user(self, walk: Walk, turn: Turn, upcoming: list[str]) -> None:
        assert self.db is not None
        db = self.db.using(walk.conversation.db_id or self.db.db_id)
        new_tables = _tables(upcoming, db.dialect())
        has_topic = any(e.startswith("User: ") for e in walk.context)
        if has_topic and await self._changed(db, walk, turn.text, new_tables):
            self.stats["topic_changes"] += 1
            text = turn.text
            if self.engine == "llm":
                resolved, _ = await self.resolve_with_llm(db, [*walk.context, f"User: {text}"], "")
                text = resolved or text
            walk.context = [f"User: {text}"]
            walk.topic_tables = set(new_tables)
            return
        walk.context.append(f"User: {turn.text}")
        walk.topic_tables |= new_tables

    async def _changed(self, db: PairDatabase, walk: Walk, text: str, new_tables: set[str]) -> bool:
        if self.engine == "offline":
            return topic_changed(text, walk.topic_tables, new_tables)
        messages = render_prompt("pair_topic_change", dialect=db.dialect_title(), schema=db.ddl(),
                                 context=_numbered(walk.context), message=text)  # fmt: skip
        answer, _ = await self.ask(messages)
        verdict, _ = answer_field(answer, "topic_change", bool) if answer else (None, None)
        if verdict is None:
            self.stats["topic_checks_unreadable"] += 1  # the topic goes on: the safer reading
            return False
        return verdict


def _tables(sqls: list[str], dialect: str) -> set[str]:
    out: set[str] = set()
    for sql in sqls:
        try:
            out |= referenced_tables(sql, dialect)
        except SqlfoundryError:
            continue
    return out
