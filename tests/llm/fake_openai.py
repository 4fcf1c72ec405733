"""A fake OpenAI-compatible server on 127.0.0.1, scriptable per test.

A test double, not a product default. It speaks just enough HTTP/1.1 (keep-alive,
Content-Length bodies) on a plain asyncio server, which keeps it fast enough to
stand in for a real endpoint in the benchmark too.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/completions``
(raw prompt, ``n``, ``logprobs``, ``echo``), ``POST /v1/embeddings``.
Default answers are deterministic: a chat reply names the request's sequence
number, so a reply served from a cache is recognisable. A test steers it with

- ``latency``: seconds before every answer;
- ``script``: a queue of ``Reply`` consumed by the next chat requests (status,
  headers such as Retry-After, a raw or malformed body, a delay, or default
  content after a delay);
- ``handler``: a function of the request returning a Reply or None (default);
- ``api_key``: when set, other keys get 401; ``models``: the served models (404 otherwise);
- ``models_status``: make ``GET /models`` answer this status instead;
- ``logprobs_supported``: False answers as a server without log probabilities
  (``logprobs: null`` in every default choice, whatever was asked).

It counts requests per path and tracks the most requests in flight at once.

Run standalone for the benchmark: ``python tests/llm/fake_openai.py --latency 0.1``
prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import socket
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Reply:
    """One scripted answer. With no ``json`` and no ``body``, a 200 gets the default content."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


def error_reply(status: int, message: str, code: str | None = None, **headers: str) -> Reply:
    """An OpenAI-style error body."""
    return Reply(
        status=status,
        json={"error": {"message": message, "type": "invalid_request_error", "code": code}},
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


@dataclass
class FakeRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpenAI:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        models: tuple[str, ...] = ("fake-model", "fake-embed"),
        api_key: str | None = None,
        record: bool = True,
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.models = models
        self.api_key = api_key
        self.record = record
        self.port = port
        self.models_status: int | None = None
        self.logprobs_supported = True
        self.script: deque[Reply] = deque()
        self.handler: Callable[[FakeRequest], Reply | None] | None = None
        self.requests: list[FakeRequest] = []
        self.counts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_now: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self, path: str | None = None) -> int:
        """Requests received, on one path (e.g. ``/v1/chat/completions``) or all."""
        return self.counts[path] if path else sum(self.counts.values())

    @property
    def chat_count(self) -> int:
        return self.counts["/v1/chat/completions"]

    def reset(self) -> None:
        self.requests.clear()
        self.counts.clear()
        self.script.clear()
        self.handler = None
        self.max_in_flight = 0

    def start(self) -> FakeOpenAI:
        """Serve on a daemon thread; returns once the port is bound."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._bind())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(5)
        self._loop.close()

    async def _bind(self) -> None:
        loop = self._loop_now = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    # ------------------------------------------------------------------ HTTP

    def _handle(self, conn: _Connection, request: FakeRequest) -> None:
        """Answer one parsed request after the latency, without blocking the others."""
        self.counts[request.path] += 1
        if self.record:
            self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        reply = self._answer(request)
        delay = self.latency + reply.delay
        if delay > 0:
            assert self._loop_now is not None
            self._loop_now.call_later(delay, self._respond, conn, request, reply)
        else:
            self._respond(conn, request, reply)

    def _respond(self, conn: _Connection, request: FakeRequest, reply: Reply) -> None:
        self.in_flight -= 1
        content = reply.json
        if reply.body is None and content is None and reply.status == 200:
            content = self._default(request)
        payload = reply.body if reply.body is not None else json.dumps(content).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
        head = (
            f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
            f"content-type: {reply.content_type}\r\n"
            f"content-length: {len(payload)}\r\n{extra}\r\n"
        )
        conn.send(
            head.encode("latin-1") + payload, close=request.headers.get("connection") == "close"
        )

    def _answer(self, request: FakeRequest) -> Reply:
        if self.api_key is not None:
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                return error_reply(
                    401, "Incorrect API key provided. You can find your key in your account."
                )
        if self.handler is not None:
            reply = self.handler(request)
            if reply is not None:
                return reply
        if request.path == "/v1/models":
            if self.models_status is not None:
                return error_reply(self.models_status, "no such route")
            return Reply()
        if request.path not in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
            return error_reply(404, f"no route {request.path}")
        model = (request.body or {}).get("model")
        if model not in self.models:
            return error_reply(404, f"The model `{model}` does not exist.", "model_not_found")
        if request.path == "/v1/chat/completions" and self.script:
            return self.script.popleft()
        return Reply()

    # ------------------------------------------------------------------ content

    def _default(self, request: FakeRequest) -> dict[str, Any]:
        if request.path == "/v1/models":
            return {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                    for m in self.models
                ],
            }
        if request.path == "/v1/embeddings":
            return embeddings_body(request.body)
        self._seq += 1
        if request.path == "/v1/completions":
            body = completion_body(request.body, self._seq)
        else:
            body = chat_body(request.body, self._seq)
        if not self.logprobs_supported:
            for choice in body["choices"]:
                choice["logprobs"] = None
        return body


class _Connection(asyncio.Protocol):
    """One client connection: parses requests as bytes arrive, one answer per request."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            raw = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            method, target, _ = lines[0].split(" ", 2)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            request = FakeRequest(method, target.split("?", 1)[0], headers, body)
            self.fake._handle(self, request)

    def send(self, data: bytes, close: bool = False) -> None:
        # The client may have given up (a timeout test): drop the answer quietly.
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _words(text: str) -> list[str]:
    return text.split()


def chat_body(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """A chat completion whose text is ``reply <seq>.<choice>: <last message>``."""
    messages = body.get("messages", [])
    last = str(messages[-1].get("content", "")) if messages else ""
    n = int(body.get("n") or 1)
    max_tokens = int(body.get("max_tokens") or 1000)
    choices = []
    completion_tokens = 0
    for i in range(n):
        tokens = _words(f"reply {seq}.{i}: {last}")
        finish = "stop"
        if len(tokens) > max_tokens:
            tokens, finish = tokens[:max_tokens], "length"
        completion_tokens += len(tokens)
        choice: dict[str, Any] = {
            "index": i,
            "message": {"role": "assistant", "content": " ".join(tokens)},
            "finish_reason": finish,
        }
        if body.get("logprobs"):
            k = int(body.get("top_logprobs") or 0)
            content = []
            for j, token in enumerate(tokens):
                lp = -0.1 * (j + 1)
                content.append(
                    {
                        "token": token,
                        "logprob": lp,
                        "bytes": list(token.encode()),
                        "top_logprobs": [
                            {"token": token if a == 0 else f"alt{a}", "logprob": lp - a}
                            for a in range(k)
                        ],
                    }
                )
            choice["logprobs"] = {"content": content}
        else:
            choice["logprobs"] = None
        choices.append(choice)
    prompt_tokens = sum(len(_words(str(m.get("content", "")))) for m in messages)
    return {
        "id": f"chatcmpl-{seq}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def token_spans(text: str) -> list[tuple[int, str]]:
    """``(offset, token)`` for each token of ``text``: a run of spaces and the word after it."""
    spans, start = [], 0
    for word in text.split():
        at = text.index(word, start)
        spans.append((start, text[start : at + len(word)]))
        start = at + len(word)
    return spans


def completion_body(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """A ``/completions`` answer whose text is `` completion <seq>.<choice>``.

    With ``logprobs`` (an int), generated token j has log probability -0.1 * (j + 1) and
    ``logprobs`` alternatives; with ``echo`` the text starts with the prompt, whose tokens
    have -0.01 * (j + 1), the first None as real servers give it.
    """
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt else ""
    n = int(body.get("n") or 1)
    max_tokens = int(body.get("max_tokens") if body.get("max_tokens") is not None else 16)
    echo = bool(body.get("echo"))
    k = body.get("logprobs")
    choices = []
    completion_tokens = 0
    for i in range(n):
        generated = token_spans(f" completion {seq}.{i}")
        finish = "stop"
        if len(generated) > max_tokens:
            generated, finish = generated[:max_tokens], "length"
        completion_tokens += len(generated)
        text = "".join(t for _, t in generated)
        choice: dict[str, Any] = {"index": i, "text": (prompt if echo else "") + text,
                                  "finish_reason": finish, "logprobs": None}  # fmt: skip
        if k is not None:
            tokens, values, offsets = [], [], []
            base = 0
            if echo:
                for j, (offset, token) in enumerate(token_spans(prompt)):
                    tokens.append(token)
                    values.append(None if j == 0 else -0.01 * (j + 1))
                    offsets.append(offset)
                base = len(prompt)
            for j, (offset, token) in enumerate(generated):
                tokens.append(token)
                values.append(-0.1 * (j + 1))
                offsets.append(base + offset)
            tops = [
                None if v is None else {(t if a == 0 else f"alt{a}"): v - a for a in range(int(k))}
                for t, v in zip(tokens, values, strict=True)
            ]
            choice["logprobs"] = {"tokens": tokens, "token_logprobs": values,
                                  "top_logprobs": tops, "text_offset": offsets}  # fmt: skip
        choices.append(choice)
    prompt_tokens = len(prompt.split())
    return {
        "id": f"cmpl-{seq}",
        "object": "text_completion",
        "created": 0,
        "model": body.get("model"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def embedding_of(text: str, dim: int = 8) -> list[float]:
    """A deterministic unit vector from the text's hash."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [b - 127.5 for b in digest[:dim]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def embeddings_body(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input", [])
    if isinstance(inputs, str):
        inputs = [inputs]
    tokens = sum(len(_words(t)) for t in inputs)
    return {
        "object": "list",
        "model": body.get("model"),
        "data": [
            {"object": "embedding", "index": i, "embedding": embedding_of(t)}
            for i, t in enumerate(inputs)
        ],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def serve_forever(fake: FakeOpenAI) -> None:
    """Serve ``fake`` in this thread until killed, after printing ``PORT <n>``."""

    async def serve() -> None:
        await fake._bind()
        print(f"PORT {fake.port}", flush=True)
        assert fake._server is not None
        await fake._server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake OpenAI endpoint until killed.")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    serve_forever(FakeOpenAI(latency=args.latency, record=False, port=args.port))


if __name__ == "__main__":
    main()
