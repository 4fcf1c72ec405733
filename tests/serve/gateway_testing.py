"""Helpers for the gateway tests: a real server on 127.0.0.1, and a scriptable fake upstream.

``start_gateway(config)`` runs the app under uvicorn on a background thread,
on a port the OS picks, and returns once it accepts connections. Clients are
the official ``openai`` SDK (``max_retries=0``, so 429/5xx surface at once) or
plain urllib for what the SDK would refuse to send.

The fake upstream is ``tests/llm/fake_openai.py``. ``answer(fake, *texts)`` makes
it answer chat requests with the given texts (one per choice) and keeps the
bodies it was sent; ``stream_answer(fake, pieces)`` makes it answer with an SSE
stream.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import FakeOpenAI, FakeRequest, Reply  # noqa: E402


def chat_reply(body: dict[str, Any], texts: list[str]) -> Reply:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
        for i, t in enumerate(texts)
    ]
    usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    return Reply(json={"id": "up-1", "object": "chat.completion", "created": 0,
                       "model": body.get("model"), "choices": choices, "usage": usage})  # fmt: skip


@dataclass
class Answering:
    """A handler answering every chat request with ``texts`` (repeated for n choices)."""

    texts: list[str]
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: FakeRequest) -> Reply | None:
        if request.path not in ("/v1/chat/completions", "/v1/completions"):
            return None
        body = request.body or {}
        self.bodies.append(body)
        n = int(body.get("n") or 1)
        texts = (self.texts * n)[:n] if len(self.texts) < n else self.texts[:n]
        if request.path == "/v1/completions":
            choices = [
                {"index": i, "text": t, "finish_reason": "stop"} for i, t in enumerate(texts)
            ]
            return Reply(json={"id": "c", "object": "text_completion", "created": 0,
                               "model": body.get("model"), "choices": choices})  # fmt: skip
        return chat_reply(body, texts)

    @property
    def prompt(self) -> str:
        """The last prompt's user text."""
        body = self.bodies[-1]
        return body["messages"][-1]["content"] if "messages" in body else body["prompt"]


def answer(fake: FakeOpenAI, *texts: str) -> Answering:
    handler = Answering(list(texts))
    fake.handler = handler
    return handler


def sse_body(pieces: list[str], *, usage: bool = True, finish: str = "stop") -> bytes:
    events = [{"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]  # fmt: skip
    for piece in pieces:
        events.append({"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                       "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})  # fmt: skip
    events.append({"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})  # fmt: skip
    if usage:
        events.append({"id": "up", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
                       "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(pieces),
                                                "total_tokens": 9 + len(pieces)}})  # fmt: skip
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return text.encode()


def stream_answer(fake: FakeOpenAI, pieces: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    """Answer the next chat requests with an SSE stream of ``pieces``; returns the bodies seen."""
    bodies: list[dict[str, Any]] = []

    def handler(request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        bodies.append(request.body or {})
        return Reply(body=sse_body(pieces, **kwargs), content_type="text/event-stream")

    fake.handler = handler
    return bodies


@dataclass
class RunningGateway:
    app: Any
    server: Any
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway(self) -> Any:
        return self.app.state.gateway

    def client(self, key: str | None = "none", *, base: str = "/v1", timeout: float = 10.0):
        import openai

        return openai.OpenAI(base_url=self.url + base, api_key=key, max_retries=0, timeout=timeout)

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """One plain HTTP request: (status, headers, body), errors included."""
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers=headers or {})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def wait_ready(self, timeout: float = 120.0) -> dict[str, Any]:
        """Poll /health until no local database is still being prepared."""
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.raw("GET", "/health")
            health = json.loads(body)
            if health["status"] != "starting" or time.monotonic() > deadline:
                return health
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_gateway(config: dict[str, Any], *, env: dict[str, str] | None = None,
                  method_factory: Callable | None = None) -> RunningGateway:  # fmt: skip
    import uvicorn

    from sqlfoundry.serve import create_app, load_gateway_config

    app = create_app(load_gateway_config(config), env=env or {}, method_factory=method_factory)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn's records propagate to the root logger, where caplog sees them.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="debug",
                                           access_log=True, lifespan="on"))  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.005)
    return RunningGateway(app, server, thread, sock.getsockname()[1])


def upstream(fake: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    """An [upstream] table pointing at the fake."""
    return {"base_url": fake.base_url, "model": "fake-model", "api_key_env": None, **extra}
