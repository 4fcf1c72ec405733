"""How requests reach the endpoint: through the openai SDK, or straight over aiohttp.

Both transports do the same thing: send one JSON request to ``base_url + path``
with ``Authorization: Bearer <key>`` and hand back the status, headers and raw
body. Everything else (retries, error mapping, parsing, cache, accounting) is
the client's and identical for both.

- ``openai``: ``openai.AsyncOpenAI`` with ``max_retries=0`` and one shared HTTP
  client whose pool is sized to the concurrency. Requests go through the SDK's
  documented raw-request path (``client.post(path, cast_to=httpx.Response)``).
- ``aiohttp``: one ``aiohttp.ClientSession`` with a pool of the same size. The
  SDK builds each request through several layers (options models, URL and header
  merging, httpx), well over 1 ms of CPU per request on a small machine; this
  path needs about a quarter of that. Against a fast endpoint (the 100 ms
  benchmark at 64 in flight) that is about 80% of the ideal throughput through
  the SDK against about 90% here (benchmarks/bench_llm.py); at typical LLM
  latencies of seconds either overhead is lost in the noise.

``auto`` (the default) picks aiohttp when it is installed (it is in the
``[llm]`` extra) and the SDK otherwise.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlfoundry.core.errors import ConfigError, MissingDependencyError
from sqlfoundry.core.extras import require

INSTALL_HINT = "pip install 'sqlfoundry[llm]'"


@dataclass(slots=True)
class HTTPResult:
    status: int
    headers: Mapping[str, str]  # case-insensitive in both transports
    body: bytes


class TransportError(Exception):
    """No HTTP answer: ``kind`` is ``timeout`` or ``connection``."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class Transport(Protocol):
    """How the client's requests reach the endpoint (``aiohttp`` or ``openai``)."""

    name: str

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> HTTPResult:
        """Send one request to ``path`` under the base URL; the status, headers and JSON back."""
        ...

    async def aclose(self) -> None:
        """Close the connection pool."""
        ...


def make_transport(
    kind: str, base_url: str, api_key: str | None, max_connections: int, timeout: float
) -> Transport:
    """Build the transport ``kind`` (``auto``, ``aiohttp`` or ``openai``)."""
    if kind == "auto":
        try:
            import aiohttp  # noqa: F401
        except ImportError:
            kind = "openai"
        else:
            kind = "aiohttp"
    if kind == "aiohttp":
        return AiohttpTransport(base_url, api_key, max_connections, timeout)
    if kind == "openai":
        return OpenAITransport(base_url, api_key, max_connections, timeout)
    raise ConfigError(f"unknown LLM transport {kind!r}", hint="use auto, aiohttp or openai")


def require_openai() -> Any:
    """Import the openai SDK, or say which extra to install."""
    return require("openai", "llm", "the LLM client")


def _http_module(openai: Any) -> Any:
    """The HTTP library this openai SDK is built on (``httpx``, or ``httpx2`` in SDK 3.x)."""
    for cls in openai.DefaultAsyncHttpxClient.__mro__:
        if cls.__name__ == "AsyncClient":
            return importlib.import_module(cls.__module__.split(".")[0])
    raise MissingDependencyError(
        f"cannot tell which HTTP library openai {openai.__version__} uses", hint=INSTALL_HINT
    )


class OpenAITransport:
    """Requests through ``openai.AsyncOpenAI`` (its own retries off)."""

    name = "openai"

    def __init__(
        self, base_url: str, api_key: str | None, max_connections: int, timeout: float
    ) -> None:
        openai = self._openai = require_openai()
        http = _http_module(openai)
        self._response_type = http.Response
        # One pool sized to the concurrency: every in-flight request has a kept-alive
        # connection to reuse, and nothing queues inside httpx behind our semaphore.
        self._http = openai.DefaultAsyncHttpxClient(
            limits=http.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=http.Timeout(timeout, connect=min(timeout, 10.0)),
        )
        self.sdk = openai.AsyncOpenAI(
            base_url=base_url,
            # Local servers (vLLM, llama.cpp, Ollama) take any key; the SDK insists on one.
            api_key=api_key or "sqlfoundry-no-key",
            max_retries=0,
            timeout=timeout,
            http_client=self._http,
        )

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> HTTPResult:
        """Send one request through the openai SDK's HTTP client."""
        openai = self._openai
        options = {"timeout": timeout}
        try:
            # The SDK's documented raw-request path: the JSON goes out as it is and the
            # raw response comes back for our own parsing.
            if method == "GET":
                response = await self.sdk.get(path, cast_to=self._response_type, options=options)
            else:
                response = await self.sdk.post(
                    path, cast_to=self._response_type, body=body, options=options
                )
        except openai.APIStatusError as err:
            return HTTPResult(err.status_code, err.response.headers, err.response.content)
        except openai.APITimeoutError as err:
            raise TransportError("timeout", _cause(err)) from None
        except openai.APIConnectionError as err:
            raise TransportError("connection", _cause(err)) from None
        return HTTPResult(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        """Close the SDK client."""
        await self.sdk.close()


class AiohttpTransport:
    """Requests over one ``aiohttp.ClientSession`` (created on first use, inside the loop)."""

    name = "aiohttp"

    def __init__(
        self, base_url: str, api_key: str | None, max_connections: int, timeout: float
    ) -> None:
        self._aiohttp = require("aiohttp", "llm", "the aiohttp transport")
        self._base = base_url.rstrip("/")
        self._max_connections = max_connections
        self._timeout = timeout
        self._headers = {"Accept": "application/json", "User-Agent": "sqlfoundry"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: Any = None

    def _open(self) -> Any:
        aiohttp = self._aiohttp
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=self._max_connections
            ),
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(total=self._timeout, connect=min(self._timeout, 10.0)),
        )
        return self._session

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> HTTPResult:
        """Send one request over the aiohttp session."""
        aiohttp = self._aiohttp
        session = self._session or self._open()
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else None
        extra: dict[str, Any] = {}
        if timeout != self._timeout:
            # Only when it differs: an explicit timeout=None would switch timeouts off.
            extra["timeout"] = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0))
        try:
            async with session.request(
                method, self._base + path, data=data, headers=headers, **extra
            ) as response:
                content = await response.read()
                return HTTPResult(response.status, response.headers, content)
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TransportError("timeout", str(err) or "timed out") from None
        except (aiohttp.ClientError, OSError) as err:
            raise TransportError("connection", str(err) or type(err).__name__) from None

    async def aclose(self) -> None:
        """Close the aiohttp session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _cause(err: BaseException) -> str:
    cause = err.__cause__ or err.__context__ or err
    return str(cause) or type(cause).__name__
