"""Calls to the upstream OpenAI-compatible model, over one shared aiohttp session.

Every upstream of the gateway shares one ``aiohttp.ClientSession`` with a
kept-alive connection pool, created when the server starts; a request never
opens a client of its own. Bodies are read as JSON dicts and only the fields
the gateway needs are checked: re-validating every upstream answer into
pydantic models would cost more than the rest of the hot path.

The key is read once from the environment variable the config names and goes
only into the Authorization header; errors and logs never carry it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlfoundry.core.extras import require
from sqlfoundry.serve.config import SAMPLING_PARAMS, UpstreamConfig
from sqlfoundry.serve.errors import (
    upstream_bad_answer,
    upstream_status,
    upstream_timeout,
    upstream_unreachable,
)
from sqlfoundry.serve.requests import ChatRequest

log = logging.getLogger(__name__)

# /health asks each upstream at most this often, and waits this long for it.
_STATE_TTL = 5.0
_STATE_TIMEOUT = 2.0


def _aiohttp() -> Any:
    return require("aiohttp", "serve", "a service with an upstream model")


class UpstreamPool:
    """The one HTTP client of the gateway: a keep-alive pool for all upstreams."""

    def __init__(self, max_connections: int = 256) -> None:
        self.max_connections = max_connections
        self.session: Any = None

    async def start(self) -> None:
        """Open the shared HTTP session (inside the server's event loop)."""
        aiohttp = _aiohttp()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.max_connections, limit_per_host=0, keepalive_timeout=60
            ),
            timeout=aiohttp.ClientTimeout(total=None),
            # The client's cookies, if an upstream sets any, must not leak between callers.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
        )

    async def close(self) -> None:
        """Close the shared HTTP session."""
        if self.session is not None:
            await self.session.close()
            self.session = None


class Upstream:
    """One service's upstream endpoint.

    Args:
        config: where and how to call it.
        pool: the shared HTTP client.
        env: the environment the key is read from.
    """

    def __init__(
        self, config: UpstreamConfig, pool: UpstreamPool, env: Mapping[str, str] | None = None
    ) -> None:
        aiohttp = _aiohttp()
        env = os.environ if env is None else env
        self.config = config
        self.pool = pool
        self.chat = config.api == "chat"
        self.url = config.base_url + ("/chat/completions" if self.chat else "/completions")
        self._key = env.get(config.api_key_env) if config.api_key_env else None
        if config.api_key_env and not self._key:
            log.warning(
                "environment variable %s is not set: calling %s without an API key",
                config.api_key_env, config.base_url,
            )  # fmt: skip
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            self._headers["Authorization"] = f"Bearer {self._key}"
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        self._timeout = aiohttp.ClientTimeout(
            total=config.timeout, connect=min(config.connect_timeout, config.timeout)
        )
        # A stream may run long; what must not happen is a long silence between chunks.
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=min(config.connect_timeout, config.timeout),
            sock_read=config.timeout,
        )  # fmt: skip
        self._errors = (aiohttp.ClientError, OSError)
        self._state: dict[str, Any] | None = None
        self._state_at = 0.0

    def payload(self, request: ChatRequest, messages: list[dict[str, str]], *, stream: bool,
                encoded: str | None = None) -> bytes:  # fmt: skip
        """The upstream request body: the service's defaults, then the client's sampling values.

        Args:
            encoded: ``messages`` as JSON text already (a prompt reused from an earlier
                request): put in as it is rather than encoded again.
        """
        body: dict[str, Any] = {"model": self.config.model, **self.config.params}
        for name in SAMPLING_PARAMS:
            value = getattr(request, name)
            if value is not None and not (name == "n" and value == 1):
                body[name] = value
        if not self.chat:
            body["prompt"] = "\n\n".join(m["content"] for m in messages)
        elif encoded is None:
            body["messages"] = messages
        if stream:
            body["stream"] = True
            if self.config.stream_usage:
                body["stream_options"] = {"include_usage": True}
        text = json.dumps(body, ensure_ascii=False)
        if self.chat and encoded is not None:
            text = f'{text[:-1]}, "messages": {encoded}}}'
        return text.encode("utf-8")

    async def complete(self, payload: bytes) -> dict[str, Any]:
        """The upstream's answer as a dict with at least ``choices[i]`` holding text.

        Raises:
            GatewayError: 502/504/429/400 mapped from the upstream's failure.
        """
        try:
            async with self.pool.session.post(
                self.url, data=payload, headers=self._headers, timeout=self._timeout
            ) as response:
                body = await response.read()
                status = response.status
                headers = response.headers
        except TimeoutError:
            raise upstream_timeout(self.config.timeout) from None
        except self._errors as err:
            raise upstream_unreachable(_describe(err)) from None
        if status != 200:
            raise upstream_status(status, body, headers, self._key)
        try:
            data = json.loads(body)
        except ValueError:
            raise upstream_bad_answer("the body is not JSON") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("choices"), list)
            or not data["choices"]
        ):
            raise upstream_bad_answer("no choices in the body")
        for choice in data["choices"]:
            if not isinstance(choice, dict) or not isinstance(choice_text(choice, self.chat), str):
                raise upstream_bad_answer("a choice holds no text")
        return data

    async def state(self) -> dict[str, Any]:
        """Whether the upstream answers now: ``GET /models``, at most every few seconds.

        Returns:
            ``{"url", "state": "up" | "down", "detail"}``; "down" says why (unreachable,
            timed out, or the status it answered).
        """
        now = time.monotonic()
        if self._state is not None and now - self._state_at < _STATE_TTL:
            return self._state
        aiohttp = _aiohttp()
        detail = None
        try:
            if self.pool.session is None:
                raise RuntimeError("the gateway is not serving")
            async with self.pool.session.get(
                self.config.base_url + "/models",
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=_STATE_TIMEOUT),
            ) as response:
                await response.read()
                if response.status >= 400:
                    detail = f"answers {response.status} to GET /models"
        except TimeoutError:
            detail = f"no answer within {_STATE_TIMEOUT:g} s"
        except (*self._errors, RuntimeError) as err:
            detail = f"unreachable: {_describe(err)}"
        self._state = {"url": self.config.base_url, "state": "down" if detail else "up"}
        if detail:
            self._state["detail"] = detail
        self._state_at = now
        return self._state

    async def open_stream(self, payload: bytes) -> UpstreamStream:
        """Start a streamed answer; errors before the first byte raise like :meth:`complete`."""
        try:
            response = await self.pool.session.post(
                self.url, data=payload, headers=self._stream_headers, timeout=self._stream_timeout
            )
        except TimeoutError:
            raise upstream_timeout(self.config.timeout) from None
        except self._errors as err:
            raise upstream_unreachable(_describe(err)) from None
        if response.status != 200:
            try:
                body = await response.read()
            except (TimeoutError, *self._errors):
                body = b""
            finally:
                response.release()
            raise upstream_status(response.status, body, response.headers, self._key)
        return UpstreamStream(self, response)


class UpstreamStream:
    """An open server-sent-event answer; iterate :meth:`chunks`, then :meth:`close`."""

    def __init__(self, upstream: Upstream, response: Any) -> None:
        self.upstream = upstream
        self.response = response

    async def chunks(self) -> AsyncIterator[dict[str, Any]]:
        """Each ``data:`` JSON object until ``[DONE]`` or the end of the body.

        Raises:
            GatewayError: a timeout between chunks, a broken connection, a bad chunk,
                or an ``error`` event from the upstream.
        """
        upstream = self.upstream
        try:
            async for raw in self.response.content:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue  # blank separators, ": ping" comments, event: lines
                data = line[5:].strip()
                if data == b"[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise upstream_bad_answer("a stream chunk is not JSON") from None
                if not isinstance(chunk, dict):
                    raise upstream_bad_answer("a stream chunk is not an object")
                if "error" in chunk:
                    raise upstream_status(502, data, None, upstream._key)
                yield chunk
        except TimeoutError:
            raise upstream_timeout(upstream.config.timeout) from None
        except upstream._errors as err:
            raise upstream_unreachable(_describe(err)) from None

    def close(self) -> None:
        # Back to the pool when the body was read to its end; closed otherwise.
        """Release the connection: back to the pool when the body was read to its end."""
        self.response.release()


def choice_text(choice: dict[str, Any], chat: bool) -> str | None:
    """The text of a non-streamed choice (``message.content`` for chat, ``text`` otherwise)."""
    if not chat:
        return choice.get("text")
    message = choice.get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    return "" if content is None else content


def delta_text(choice: dict[str, Any], chat: bool) -> str:
    """The text of a streamed choice's delta."""
    if not chat:
        return choice.get("text") or ""
    delta = choice.get("delta")
    return (delta.get("content") or "") if isinstance(delta, dict) else ""


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return text or type(err).__name__
