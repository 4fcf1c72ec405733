"""One configured service: pre-processing, the model, post-processing, for one request.

Pre-processing reads the user's message (question, DDL or compact schema, or a
database name), links the schema down to the configured size and renders the
prompt. The model is the upstream endpoint, or sqlfoundry's offline method for
``local`` services. Post-processing extracts, validates, transpiles and
optionally previews the SQL of every choice.

Work that depends only on the database is done once per (service, database)
and kept: the introspected schema, the names validation checks against, the
linking index, the prompt's text of the whole schema, and the text of each
linked subset met so far (an LRU: questions about the same tables share it).
A question asked again about a named database reuses its linked prompt, and
an answer met again is not parsed and checked again (both LRUs, per service).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.responses import Response

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.lru import LRU
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.schema import Schema
from sqlfoundry.serve import wire
from sqlfoundry.serve.config import ServiceConfig
from sqlfoundry.serve.errors import GatewayError, bad_request, not_found
from sqlfoundry.serve.linking import LinkIndex, Selection, link_schema, select, subset
from sqlfoundry.serve.local import LocalAnswerer
from sqlfoundry.serve.method import MethodAnswerer
from sqlfoundry.serve.postprocess import Outcome, PostProcessor, PreviewRunner, SchemaNames
from sqlfoundry.serve.prompts import PromptBuilder
from sqlfoundry.serve.requests import ChatRequest, NL2SQLInput, parse_content, user_content
from sqlfoundry.serve.upstream import Upstream, UpstreamStream, choice_text, delta_text

log = logging.getLogger(__name__)

# Seconds between SSE keep-alive comments on a quiet stream.
_PING = 15
# Rendered schema texts kept per database, one per distinct linked subset.
_TEXTS_PER_DATABASE = 1024
# Rendered prompts kept per service, one per (database, question, evidence). Each holds its
# schema text twice (messages and JSON), up to tens of KiB for a large unlinked schema: the
# bound is per service, whatever the number of databases, and keeps that to tens of MiB.
_PROMPTS_PER_SERVICE = 512


@dataclass(slots=True)
class DatabaseContext:
    """What one service keeps about one database."""

    schema: Schema
    dialect: str
    names: SchemaNames
    index: LinkIndex | None = None
    schema_text: str | None = None  # the whole schema as the prompt shows it
    # Linked subsets seen so far -> their prompt text.
    texts: LRU[Selection, str] = field(default_factory=lambda: LRU(_TEXTS_PER_DATABASE))

    def text_for(self, selection: Selection, render: Callable[[Schema], str]) -> str:
        """The schema text of ``selection``, rendered once and kept (a bounded number per database)."""
        text = self.texts.get(selection)
        if text is None:
            text = self.texts.put(selection, render(subset(self.schema, selection)))
        return text


@dataclass(frozen=True, slots=True)
class Prompt:
    """A rendered prompt, kept for the next request that asks the same."""

    messages: list[dict[str, str]]
    tables: list[str]  # the tables it shows
    encoded: str  # the messages as JSON text, as the upstream body holds them


@dataclass(slots=True)
class Job:
    """One request, pre-processed."""

    request: ChatRequest
    input: NL2SQLInput
    names: SchemaNames | None  # the whole schema's names, for validation
    db_id: str | None  # the database to execute on, if any
    db_dialect: str | None
    tables: list[str] = field(default_factory=list)  # the tables the prompt shows
    messages: list[dict[str, str]] = field(default_factory=list)
    encoded: str | None = None  # the messages as JSON text, when a reused prompt has it

    def info(self, service: str) -> dict[str, Any]:
        """The response's ``sqlfoundry`` object: service, database, schema source, tables shown."""
        return {"service": service, "db_id": self.db_id, "schema_source": self.input.source,
                "tables": self.tables}  # fmt: skip


class Service:
    """A service assembled from its config.

    Args:
        name: the service name (the OpenAI model id clients use).
        config: its ``[services.NAME]`` table.
        manager: the gateway's databases (None when no db_root/db_server is set).
        upstream: the upstream endpoint (None for ``local``).
        local: the answerer of ``local`` (the offline method) and ``method`` services.
        previews: the read-only runner for execution previews.
    """

    def __init__(self, name: str, config: ServiceConfig, *, manager: DatabaseManager | None,
                 upstream: Upstream | None = None,
                 local: LocalAnswerer | MethodAnswerer | None = None,
                 previews: PreviewRunner | None = None) -> None:  # fmt: skip
        self.name = name
        self.config = config
        self.manager = manager
        self.upstream = upstream
        self.local = local
        # Where a choice's info keeps what the answerer said: "local" or "method".
        self.answer_key = config.type if config.type in ("local", "method") else "local"
        self.builder = PromptBuilder(config) if config.type not in ("local", "method") else None
        self.post = PostProcessor(
            config.postprocess, config.dialect,
            answer_prefix=self.builder.answer_prefix if self.builder else None, previews=previews,
        )  # fmt: skip
        self.reply_mode = config.postprocess.reply
        linking = config.linking
        self._link = (linking.max_tables, linking.max_columns) if linking.enabled else None
        # Linking matches values of the question against samples: more of them help.
        self._samples = max(config.examples, 10 if self._link else 0)
        self._databases: dict[str, DatabaseContext] = {}
        # (db_id, question with its spaces normalised, evidence) -> the prompt, shared by
        # every request that asks the same: never changed.
        self._prompts: LRU[tuple[str, str, str | None], Prompt] = LRU(_PROMPTS_PER_SERVICE)
        self.gc_freeze = False  # set by the gateway once it has frozen its start-up objects
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------ models listing

    def model_card(self) -> dict[str, Any]:
        """The service as an OpenAI model object, with its type, dialect and databases."""
        card: dict[str, Any] = {"id": self.name, "object": "model", "created": 0,
                                "owned_by": "sqlfoundry"}  # fmt: skip
        card["sqlfoundry"] = {"type": self.config.type, "description": self.config.description,
                              "dialect": self.config.dialect, "db_id": self.config.db_id,
                              "databases": self.config.databases}  # fmt: skip
        return card

    def named_databases(self) -> list[str]:
        """The databases the config names for this service (loaded at start-up)."""
        names = list(self.config.databases or [])
        if self.config.db_id and self.config.db_id not in names:
            names.insert(0, self.config.db_id)
        return names

    def default_databases(self) -> list[str]:
        """The databases a local service prepares at start-up."""
        if self.config.databases is not None:
            return list(self.config.databases)
        if self.config.db_id:
            return [self.config.db_id]
        return self.manager.db_ids() if self.manager is not None else []

    # ------------------------------------------------------------ pre-processing

    async def database(self, db_id: str) -> DatabaseContext:
        """The cached context of ``db_id``; a 404 for a database this service does not offer."""
        ctx = self._databases.get(db_id)
        if ctx is not None:
            return ctx
        if self.manager is None:
            raise bad_request("this gateway has no databases (no db_root)", "no_databases", "db_id")
        allowed = self.config.databases
        if (allowed is not None and db_id not in allowed) or db_id not in self.manager:
            offered = allowed if allowed is not None else self.manager.db_ids()
            hint = f"; this service offers {', '.join(offered[:20])}" if offered else ""
            raise not_found(f"unknown database {db_id!r}{hint}", "db_not_found", "db_id")
        lock = self._locks.setdefault(db_id, asyncio.Lock())
        async with lock:
            ctx = self._databases.get(db_id)
            if ctx is None:
                loop = asyncio.get_running_loop()
                try:
                    ctx = await loop.run_in_executor(None, self._load, db_id)
                except SqlfoundryError as err:
                    raise GatewayError(503, f"cannot read database {db_id!r}: {err.message}",
                                       type="server_error", code="database_unavailable") from None  # fmt: skip
                self._databases[db_id] = ctx
                if gc.isenabled() and self.gc_freeze:
                    gc.freeze()  # the context lives as long as the server; see Gateway.lifespan
        return ctx

    def _load(self, db_id: str) -> DatabaseContext:
        assert self.manager is not None
        schema = self.manager.schema(db_id, sample_values=self._samples)
        ctx = DatabaseContext(schema=schema, dialect=self.manager.spec(db_id).dialect,
                              names=SchemaNames(schema))  # fmt: skip
        if self.builder is not None:
            ctx.index = LinkIndex(schema) if self._link else None
            ctx.schema_text = self.builder.schema_text(schema)
        return ctx

    async def prepare(self, request: ChatRequest) -> Job:
        """Read the request and render the prompt (4xx GatewayError on bad input)."""
        parsed = parse_content(user_content(request), db_id=request.db_id,
                               evidence=request.evidence, ddl_dialect=self.config.ddl_dialect)  # fmt: skip
        if self.local is not None:
            return await self._prepare_local(request, parsed)
        if parsed.schema is not None:
            return await self._prepare_pasted(request, parsed)
        db_id = parsed.db_id or self.config.db_id
        if db_id is None:
            raise bad_request(
                "no schema: paste CREATE TABLE statements or 'Tables: t: c1 , c2' with the "
                "question, or name a database with db_id",
                "missing_schema", "messages",
            )  # fmt: skip
        ctx = await self.database(db_id)
        # Linking and the prompt read the question's words only, never its spacing.
        key = (db_id, " ".join(parsed.question.split()), parsed.evidence)
        prompt = self._prompts.get(key)
        if prompt is None:
            prompt = self._prompts.put(key, self._database_prompt(ctx, db_id, parsed))
        return Job(request=request, input=parsed, names=ctx.names, db_id=db_id,
                   db_dialect=ctx.dialect, tables=prompt.tables, messages=prompt.messages,
                   encoded=prompt.encoded)  # fmt: skip

    async def _prepare_pasted(self, request: ChatRequest, parsed: NL2SQLInput) -> Job:
        """A request whose message brought its schema: nothing about it can be cached."""
        assert self.builder is not None and parsed.schema is not None
        schema = parsed.schema
        db_id = parsed.db_id  # only when named: DDL alone has nothing to execute on
        ctx = (
            await self.database(db_id)
            if db_id is not None and self.config.postprocess.execute
            else None
        )
        shown = (
            link_schema(LinkIndex(schema), parsed.question, *self._link) if self._link else schema
        )
        messages = self.builder.messages(parsed.question, self.builder.schema_text(shown),
                                         evidence=parsed.evidence, db_id=db_id)  # fmt: skip
        return Job(request=request, input=parsed, names=SchemaNames(schema), db_id=db_id,
                   db_dialect=ctx.dialect if ctx else None, tables=shown.table_names,
                   messages=messages)  # fmt: skip

    def _database_prompt(self, ctx: DatabaseContext, db_id: str, parsed: NL2SQLInput) -> Prompt:
        """The prompt of a question about ``db_id``."""
        assert self.builder is not None
        selection = (
            select(ctx.index, parsed.question, *self._link) if ctx.index and self._link else None
        )
        if selection is None:
            text, tables = ctx.schema_text, ctx.schema.table_names
        else:
            text = ctx.text_for(selection, self.builder.schema_text)
            tables = [ctx.schema.tables[t].name for t, _ in selection]
        messages = self.builder.messages(parsed.question, text, evidence=parsed.evidence,
                                         db_id=db_id)  # fmt: skip
        return Prompt(messages, tables, json.dumps(messages, ensure_ascii=False))

    async def _prepare_local(self, request: ChatRequest, parsed: NL2SQLInput) -> Job:
        if parsed.schema is not None:
            raise bad_request(
                "the local service answers over its own databases, not a schema in the message: "
                "send the question alone, with db_id",
                "schema_not_supported", "messages",
            )  # fmt: skip
        db_id = parsed.db_id or self.config.db_id
        if db_id is None:
            only = (
                self.config.databases
                if self.config.databases and len(self.config.databases) == 1
                else None
            )
            db_id = only[0] if only else None
        if db_id is None:
            raise bad_request(
                "the local service answers questions about its own databases: name one with db_id",
                "missing_db_id", "db_id",
            )  # fmt: skip
        if request.n > 1:
            raise bad_request("the local service gives one answer: use n = 1", "invalid_n", "n")
        ctx = await self.database(db_id)
        return Job(request=request, input=parsed, names=ctx.names, db_id=db_id,
                   db_dialect=ctx.dialect, tables=ctx.schema.table_names)  # fmt: skip

    # ------------------------------------------------------------ answering

    async def _outcome(self, job: Job, text: str) -> Outcome:
        # A database's names live as long as the server; a pasted schema's, one request.
        return await self.post.run(text, names=job.names, db_id=job.db_id,
                                   db_dialect=job.db_dialect, reuse=job.input.schema is None)  # fmt: skip

    async def _local_answer(self, job: Job) -> tuple[str, dict[str, Any]]:
        assert self.local is not None and job.db_id is not None
        if isinstance(self.local, MethodAnswerer):
            found = await self.local.answer(job.input.question, job.db_id, job.input.evidence)
            return found.sql, found.info
        answer = await self.local.answer(job.input.question, job.db_id)
        extra = {"score": answer.score, "matched_question": answer.matched_question,
                 "substitutions": answer.substitutions}  # fmt: skip
        return answer.sql, extra

    async def complete(self, job: Job) -> bytes:
        """A ``chat.completion`` body."""
        if self.local is not None:
            sql, extra = await self._local_answer(job)
            outcome = await self._outcome(job, sql)
            choices = [
                wire.choice(
                    0,
                    outcome.reply(self.reply_mode),
                    "stop",
                    {**outcome.info(), self.answer_key: extra},
                )
            ]
            return wire.completion(id=wire.new_id(), model=self.name, choices=choices, usage=None,
                                   info=job.info(self.name))  # fmt: skip
        assert self.upstream is not None
        data = await self.upstream.complete(
            self.upstream.payload(job.request, job.messages, stream=False, encoded=job.encoded)
        )
        choices = []
        for i, raw in enumerate(data["choices"]):
            outcome = await self._outcome(job, choice_text(raw, self.upstream.chat) or "")
            index = raw.get("index", i)
            choices.append(wire.choice(index if isinstance(index, int) else i,
                                       outcome.reply(self.reply_mode),
                                       raw.get("finish_reason") or "stop", outcome.info()))  # fmt: skip
        usage = data.get("usage")
        return wire.completion(id=wire.new_id(), model=self.name, choices=choices, usage=usage,
                               info=job.info(self.name))  # fmt: skip

    async def stream(self, job: Job) -> Response:
        """An SSE response; the upstream is called first, so its failures are HTTP errors."""
        if self.local is not None:
            events = self._local_events(job)
        else:
            assert self.upstream is not None
            opened = await self.upstream.open_stream(
                self.upstream.payload(job.request, job.messages, stream=True, encoded=job.encoded)
            )
            events = self._relay(job, opened)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return EventSourceResponse(events, ping=_PING, sep="\n", headers=headers)

    async def _local_events(self, job: Job) -> AsyncIterator[str]:
        writer = wire.ChunkWriter(self.name)
        yield writer.role(0)
        try:
            sql, extra = await self._local_answer(job)
            outcome = await self._outcome(job, sql)
        except GatewayError as err:
            yield wire.dumps(err.body())
            return
        # The stream carries the same content as the non-stream answer.
        yield writer.content(0, outcome.reply(self.reply_mode))
        yield writer.finish(0, "stop", {**outcome.info(), self.answer_key: extra})
        if job.request.include_usage:
            yield writer.usage(None)
        yield "[DONE]"

    async def _relay(self, job: Job, opened: UpstreamStream) -> AsyncIterator[str]:
        """Pass the upstream's deltas on as they come; post-process each choice at its end."""
        assert self.upstream is not None
        chat = self.upstream.chat
        writer = wire.ChunkWriter(self.name)
        n = job.request.n
        texts: dict[int, list[str]] = {i: [] for i in range(n)}
        finished: set[int] = set()
        usage = None
        try:
            for i in range(n):
                yield writer.role(i)
            async for chunk in opened.chunks():
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                for raw in chunk.get("choices") or ():
                    index = raw.get("index", 0)
                    piece = delta_text(raw, chat)
                    if piece:
                        texts.setdefault(index, []).append(piece)
                        yield writer.content(index, piece)
                    reason = raw.get("finish_reason")
                    if reason and index not in finished:
                        finished.add(index)
                        async for event in self._finish(
                            job, writer, index, texts.get(index, []), reason
                        ):
                            yield event
            for index in sorted(set(texts) - finished):
                async for event in self._finish(job, writer, index, texts[index], "stop"):
                    yield event
            if job.request.include_usage:
                yield writer.usage(usage)
            yield "[DONE]"
        except GatewayError as err:
            # Headers are gone: the error becomes an event, which the SDK raises as APIError.
            yield wire.dumps(err.body())
        finally:
            opened.close()

    async def _finish(self, job: Job, writer: wire.ChunkWriter, index: int, pieces: list[str],
                      reason: str) -> AsyncIterator[str]:  # fmt: skip
        outcome = await self._outcome(job, "".join(pieces))
        suffix = outcome.suffix()
        if suffix:
            yield writer.content(index, suffix)
        yield writer.finish(index, reason, outcome.info())
