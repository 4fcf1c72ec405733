"""MessageExtractor: question/SQL pairs from the tool calls of chat histories.

Deterministic: every completed call of the query tool (``db_query`` by
default) becomes a pair whose question is the last user message before it
and whose SQL is the call's ``sql`` argument. A call that failed (its tool
result is an error) is a pair with ``success=False`` and the error in
``meta`` when ``include_failures`` is set, and is skipped otherwise; a call
with no result yet is skipped. Unreadable lines, messages without a role and
calls whose arguments are not JSON are rejects naming the file:line and
message; the rest of the history is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlfoundry.synth.producers.base import PairProducer
from sqlfoundry.synth.producers.chat_log import (
    Conversation,
    ToolCall,
    Turn,
    conversations_of,
    read_chat_log,
)
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair, provenance


class ChatSource(PairProducer):
    """What the chat extractors share: reading histories and walking their tool calls."""

    def __init__(
        self,
        messages: Any,
        *,
        db: PairDatabase | str | None = None,
        tool_name: str = "db_query",
        include_failures: bool = False,
        **kwargs: Any,
    ) -> None:
        db_id = db if isinstance(db, str) else (db.db_id if db is not None else None)
        super().__init__(db=db if isinstance(db, PairDatabase) else None, **kwargs)
        self.messages = messages
        self.db_id = db_id
        self.tool_name = tool_name
        self.include_failures = include_failures

    def config(self) -> dict[str, Any]:
        return {"tool_name": self.tool_name, "include_failures": self.include_failures}

    def conversations(self) -> list[Conversation]:
        """The histories, with every unreadable line and message recorded as a reject."""
        if isinstance(self.messages, (str, Path)):
            conversations, problems = read_chat_log(self.messages, db_id=self.db_id)
        else:
            conversations, problems = conversations_of(self.messages, db_id=self.db_id), []
        for problem in problems:
            self.drop(problem["reason"], source=problem["source"])
        for conversation in conversations:
            for index, reason in conversation.problems:
                self.drop(reason, source=conversation.where(index))
        return conversations

    def query_calls(self, conversation: Conversation, turn: Turn) -> Iterator[tuple[int, ToolCall]]:
        """``(call number, call)`` for every usable query call of an assistant turn.

        Calls to other tools are ignored; malformed ones are rejected; failed ones
        are kept only with ``include_failures``; unanswered ones are skipped.
        """
        where = conversation.where(turn.index)
        for number, call in enumerate(turn.calls):
            if call.name != self.tool_name:
                continue
            if call.error is not None:
                self.drop(call.error, source=where)
            elif call.sql is None:
                self.drop("tool call has no 'sql' argument", source=where)
            elif call.result is None:
                self.stats["incomplete_calls"] += 1
            elif call.failed and not self.include_failures:
                self.stats["failed_calls_skipped"] += 1
            else:
                yield number, call


class MessageExtractor(ChatSource):
    """Pairs from tool calls, each with the last user message as its question.

    Args:
        messages: a chat log file, one conversation (a list of OpenAI-format
            messages), or a list of conversations.
        tool_name: the query tool whose ``sql`` argument is the SQL.
        include_failures: keep calls whose result was an error, as ``success=False``.
        db: the db_id (or a ``PairDatabase``) the pairs are for, unless a
            conversation names its own ``db_id``.
    """

    name = "message_extractor"

    def __init__(
        self,
        messages: Any,
        tool_name: str = "db_query",
        include_failures: bool = False,
        *,
        db: PairDatabase | str | None = None,
    ) -> None:
        super().__init__(messages, db=db, tool_name=tool_name, include_failures=include_failures,
                         engine="offline")  # fmt: skip

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        for conversation in self.conversations():
            self.stats["inputs"] += 1
            chunk = []
            question: str | None = None
            for turn in conversation.turns:
                if turn.role == "user":
                    question = turn.text or question
                    continue
                for number, call in self.query_calls(conversation, turn):
                    where = conversation.where(turn.index)
                    if not question:
                        self.drop("no user message before the tool call", source=where)
                        continue
                    pair = ExtractedPair(
                        question=question, sql=call.sql or "", success=not call.failed,
                        db_id=conversation.db_id, id=f"{conversation.label}-{turn.index}.{number}",
                        meta={"source": where},
                    )  # fmt: skip
                    if call.failed:
                        pair.meta["error"] = call.failure
                    chunk.append(provenance(pair, self.name, "offline"))
            self.stats["pairs"] += len(chunk)
            self.stats["failed"] += sum(not p.success for p in chunk)
            if chunk:
                yield chunk
