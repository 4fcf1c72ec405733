"""The async client every LLM call in sqlfoundry goes through.

``LLMClient`` sends requests through a transport (the openai SDK's
``AsyncOpenAI`` with its own retries off, or aiohttp; see ``transport.py``) and
adds, in order, for every request:

1. the disk cache (hash of the normalised request + sample index);
2. a one-time preflight of the endpoint before the first request leaves, so a
   wrong URL, key or model stops the run with one message, and a fully cached
   re-run makes no HTTP call at all;
3. the requests- and tokens-per-minute limits;
4. a concurrency semaphore, with a connection pool of the same size;
5. our retries: 408, 409, 429, 5xx, timeouts and connection errors, with
   exponential backoff and jitter, honouring ``Retry-After``; other 4xx never;
6. usage and cost accounting under the calling operator's name.

``SyncLLMClient`` runs the same client on a private event loop thread for code
that is not async.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from sqlfoundry.core.batch_failures import note_transient_failure
from sqlfoundry.core.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMContextLengthError,
    LLMError,
    LLMItemError,
    LLMLogprobsMissingError,
    LLMModelNotFoundError,
    LLMResponseError,
    LLMRetriesExhaustedError,
    LLMUnreachableError,
)
from sqlfoundry.llm.cache import ResponseCache, request_key
from sqlfoundry.llm.config import LLMConfig
from sqlfoundry.llm.generation import (
    RAW_KEEP,
    Generation,
    parse_chat_completion,
    parse_embeddings,
)
from sqlfoundry.llm.ratelimit import RateLimiter, estimate_prompt_tokens
from sqlfoundry.llm.retry import backoff_delay, is_retryable_status, parse_retry_after
from sqlfoundry.llm.transport import HTTPResult, TransportError, make_transport
from sqlfoundry.llm.usage import Usage, UsageTracker

log = logging.getLogger(__name__)

T = TypeVar("T")
Message = Mapping[str, Any]

DEFAULT_OPERATOR = "llm"
PREFLIGHT_TIMEOUT = 15.0
# How servers say a prompt does not fit: vLLM, OpenAI, llama.cpp, Ollama, TGI.
_CONTEXT_LENGTH_SIGNS = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the available context",
    "input is too long",
)


class LLMClient:
    """Async chat completions and embeddings against one OpenAI-compatible endpoint.

    Args:
        config: the endpoint, model and limits; ``base_url`` and ``model`` must be set.
        cache: the response cache; by default the one under ``config.resolved_cache_dir()``
            in ``config.cache`` mode.
        usage: where to count calls and tokens; a new tracker with ``config.prices`` by default.
        env: where the API key is read from (``os.environ`` by default).
        auto_preflight: check the endpoint before the first request that misses the cache.

    Use as ``async with LLMClient(cfg) as llm: ...`` or call ``aclose()``.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        cache: ResponseCache | None = None,
        usage: UsageTracker | None = None,
        env: Mapping[str, str] | None = None,
        auto_preflight: bool = True,
    ) -> None:
        config.require_endpoint()
        env = os.environ if env is None else env
        self.config = config
        self.base_url: str = config.base_url  # type: ignore[assignment]
        self.model: str = config.model  # type: ignore[assignment]
        api_key = config.api_key(env)
        self._key_missing = api_key is None
        self.transport = make_transport(
            config.transport, self.base_url, api_key, config.max_concurrency, config.timeout
        )
        self.usage = usage if usage is not None else UsageTracker(prices=config.prices)
        self._own_cache = cache is None
        self.cache = (
            cache
            if cache is not None
            else ResponseCache(config.resolved_cache_dir(env), mode=config.cache)
        )
        self._semaphore = asyncio.Semaphore(config.max_concurrency)
        self._limiter = RateLimiter(config.requests_per_minute, config.tokens_per_minute)
        self._ready = not auto_preflight
        self._ready_error: LLMError | None = None
        self._ready_lock = asyncio.Lock()
        self._background_preflight: asyncio.Future[dict[str, Any]] | None = None
        # Requests that failed for a reason a later run may not meet (see _failed).
        self.transient_failures = 0
        self._count_lock = threading.Lock()

    def _failed(self, operator: str, err: LLMError) -> None:
        self.usage.record_failure(operator)
        if isinstance(err, LLMItemError) and not isinstance(err, LLMContextLengthError):
            # Timeouts, 5xx and malformed answers past their retries: another try later
            # may well succeed, so what they dropped must not be checkpointed as final.
            with self._count_lock:
                self.transient_failures += 1
            note_transient_failure()

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        """Close the connections and commit the cache's buffered writes."""
        check = self._background_preflight
        if check is not None:
            check.cancel()  # the run is over: what it would find no longer matters
            await asyncio.gather(check, return_exceptions=True)
        try:
            await self.transport.aclose()
        finally:
            if self._own_cache:
                self.cache.close()
            else:
                self.cache.flush()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ preflight

    async def preflight(self) -> dict[str, Any]:
        """Check the endpoint answers, accepts the key and serves the model.

        Lists ``GET /models``; when the listing is unsupported or does not name
        the model, sends a 1-token completion instead.

        Returns:
            ``{"base_url", "model", "models": [...] or None, "probed": bool}``.

        Raises:
            LLMUnreachableError, LLMAuthError, LLMModelNotFoundError, LLMBadRequestError:
                each naming the base URL (never the key) and quoting the server.
        """
        timeout = min(self.config.timeout, PREFLIGHT_TIMEOUT)
        result = await self._preflight_send("GET", "/models", None, timeout)
        ids: list[str] | None = None
        if result.status in (401, 403):
            raise self._status_error(result, attempts=1)
        if result.status == 200:
            try:
                data = json.loads(result.body)
                ids = [m["id"] for m in data["data"] if isinstance(m, dict) and "id" in m]
            except (ValueError, KeyError, TypeError):
                ids = None  # not a model list: let the probe decide
        # Any other status (404/405/501: no listing here) also leaves it to the probe.
        probed = ids is None or self.model not in ids
        if probed:
            await self._probe(timeout, ids)
        self._ready = True
        return {"base_url": self.base_url, "model": self.model, "models": ids, "probed": probed}

    def start_preflight(self) -> None:
        """Begin :meth:`preflight` without waiting for it: the first requests go out
        meanwhile (one round trip sooner). A request that fails waits for the check,
        and raises what it found (a wrong URL, key or model) rather than retrying, so
        a run on a bad endpoint still stops at its first requests, with the same message."""
        if self._background_preflight is None:
            self._background_preflight = asyncio.ensure_future(self.preflight())
        self._ready = True  # requests need not wait for it

    async def _raise_preflight_failure(self) -> None:
        """After a failed request: the background preflight's error, if it found one."""
        check = self._background_preflight
        if check is not None:
            await asyncio.shield(check)  # raises what the check found

    async def _probe(self, timeout: float, ids: list[str] | None) -> None:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
            "temperature": 0.0,
            **self.config.extra_body,
        }
        result = await self._preflight_send("POST", "/chat/completions", body, timeout)
        if result.status == 200:
            try:
                usage = Usage.from_dict(json.loads(result.body).get("usage"))
            except (ValueError, AttributeError):
                usage = Usage()
            self.usage.record_call("preflight", self.model, usage)
            return
        if is_retryable_status(result.status):
            # Busy or overloaded, but there and serving: the retries will cope.
            log.warning("LLM preflight: %s answered %s; going on", self.base_url, result.status)
            return
        error = self._status_error(result, attempts=1)
        if isinstance(error, LLMModelNotFoundError) and ids:
            shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
            error.hint = f"models served there: {shown}"
        raise error

    async def _preflight_send(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> HTTPResult:
        try:
            return await self.transport.request(method, path, body, timeout)
        except TransportError as err:
            raise self._unreachable(err) from None

    async def _ensure_ready(self) -> None:
        async with self._ready_lock:
            if self._ready_error is not None:
                raise self._ready_error
            if self._ready:
                return
            try:
                await self.preflight()
            except LLMError as err:
                self._ready_error = err
                raise

    # ------------------------------------------------------------------ generation

    def chat_payload(
        self,
        messages: Sequence[Message],
        *,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The normalised request body (config defaults filled in) that is sent and hashed."""
        cfg = self.config
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "temperature": cfg.temperature if temperature is None else temperature,
            "top_p": cfg.top_p if top_p is None else top_p,
            "max_tokens": cfg.max_tokens if max_tokens is None else max_tokens,
        }
        if logprobs or top_logprobs:
            payload["logprobs"] = True
            if top_logprobs:
                payload["top_logprobs"] = top_logprobs
        if stop is not None:
            payload["stop"] = [stop] if isinstance(stop, str) else list(stop)
        if seed is not None:
            payload["seed"] = seed
        # extra_body keys go into the JSON body itself, as the SDK's extra_body does.
        payload.update(cfg.extra_body)
        if extra_body:
            payload.update(extra_body)
        return payload

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        n: int = 1,
        logprobs: bool = False,
        top_logprobs: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        operator: str = DEFAULT_OPERATOR,
        use_cache: bool = True,
    ) -> list[Generation]:
        """``n`` samples for one chat prompt, from the cache where possible.

        Sampling parameters left as None take the config's values. ``operator``
        names the caller in the usage accounting.

        Returns:
            ``n`` generations in sample-index order.

        Raises:
            LLMItemError: this request failed (malformed answer, retries exhausted,
                prompt too long); other requests may still succeed.
            LLMEndpointError: the endpoint cannot serve the run (unreachable,
                401/403, unknown model, a refused request); stop the run.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        payload = self.chat_payload(
            messages,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            stop=stop,
            seed=seed,
            extra_body=extra_body,
        )
        caching = use_cache and self.cache.readable
        key = request_key(payload) if caching else ""
        have: dict[int, Generation] = {}
        if caching:
            for index, value in self.cache.get(key, range(n)).items():
                have[index] = Generation.from_dict(value, index=index, cached=True)
            if have:
                self.usage.record_cache_hits(operator, len(have))
        missing = [i for i in range(n) if i not in have]
        try:
            while missing:
                generations = await self._chat(payload, len(missing), operator)
                # Some servers (llama.cpp) ignore n and answer one choice: ask again for the rest.
                fresh = {}
                for index, generation in zip(missing, generations, strict=False):
                    generation.index = index
                    have[index] = generation
                    fresh[index] = generation.to_dict()
                if caching:
                    self.cache.put(key, fresh)
                missing = missing[len(fresh) :]
        except LLMError as err:
            self._failed(operator, err)
            raise
        return [have[i] for i in range(n)]

    async def _chat(self, payload: dict[str, Any], n: int, operator: str) -> list[Generation]:
        body = payload if n == 1 else {**payload, "n": n}
        estimate = estimate_prompt_tokens(payload["messages"]) + payload["max_tokens"] * n
        want_logprobs = bool(payload.get("logprobs"))

        def parse(data: Any, raw: str) -> tuple[Any, list[Generation]]:
            parsed = parse_chat_completion(
                data, want_logprobs=want_logprobs, raw=raw, base_url=self.base_url
            )
            return data, parsed[0]

        data, generations = await self._call("/chat/completions", body, operator, estimate, parse)
        usage = Usage.from_dict(data.get("usage") if isinstance(data, dict) else None)
        self.usage.record_call(operator, self.model, usage)
        return generations

    # ------------------------------------------------------------------ text completions

    def completion_payload(
        self,
        prompt: str,
        *,
        logprobs: int | None = None,
        echo: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The normalised ``/completions`` body (config defaults filled in), sent and hashed."""
        cfg = self.config
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "temperature": cfg.temperature if temperature is None else temperature,
            "top_p": cfg.top_p if top_p is None else top_p,
            "max_tokens": cfg.max_tokens if max_tokens is None else max_tokens,
        }
        if logprobs is not None:
            payload["logprobs"] = logprobs
        if echo:
            payload["echo"] = True
        if stop is not None:
            payload["stop"] = [stop] if isinstance(stop, str) else list(stop)
        if seed is not None:
            payload["seed"] = seed
        payload.update(cfg.extra_body)
        if extra_body:
            payload.update(extra_body)
        return payload

    async def complete(
        self,
        prompt: str,
        *,
        n: int = 1,
        logprobs: int | None = None,
        echo: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        operator: str = DEFAULT_OPERATOR,
        use_cache: bool = True,
    ) -> list[Generation]:
        """``n`` completions of a raw prompt through ``/completions`` (base models).

        Args:
            logprobs: None for none; k >= 0 for each token's log probability with its
                top-k alternatives (each ``TokenLogprob`` has its ``offset`` in the text).
            echo: the text starts with the prompt, whose tokens come with log
                probabilities too: with ``max_tokens`` 1 this scores a given text.

        Returns, raises: as :meth:`generate`; an answer without the asked-for log
        probabilities raises ``LLMLogprobsMissingError``.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        payload = self.completion_payload(
            prompt,
            logprobs=logprobs,
            echo=echo,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            stop=stop,
            seed=seed,
            extra_body=extra_body,
        )
        caching = use_cache and self.cache.readable
        key = request_key({"kind": "completion", **payload}) if caching else ""
        have: dict[int, Generation] = {}
        if caching:
            for index, value in self.cache.get(key, range(n)).items():
                have[index] = Generation.from_dict(value, index=index, cached=True)
            if have:
                self.usage.record_cache_hits(operator, len(have))
        try:
            while len(have) < n:
                missing = [i for i in range(n) if i not in have]
                fresh = await self._text_completion(payload, len(missing), operator)
                for index, generation in zip(missing, fresh, strict=False):
                    generation.index = index
                    have[index] = generation
                if caching:
                    self.cache.put(key, {i: have[i].to_dict() for i in missing if i in have})
        except LLMError as err:
            self._failed(operator, err)
            raise
        return [have[i] for i in range(n)]

    async def _text_completion(
        self, payload: dict[str, Any], n: int, operator: str
    ) -> list[Generation]:
        from sqlfoundry.llm.completions import parse_text_completion

        body = payload if n == 1 else {**payload, "n": n}
        estimate = len(payload["prompt"]) // 4 + payload["max_tokens"] * n
        want_logprobs = payload.get("logprobs") is not None

        def parse(data: Any, raw: str) -> tuple[Any, list[Generation]]:
            parsed = parse_text_completion(
                data, want_logprobs=want_logprobs, raw=raw, base_url=self.base_url
            )
            return data, parsed[0]

        data, generations = await self._call("/completions", body, operator, estimate, parse)
        usage = Usage.from_dict(data.get("usage") if isinstance(data, dict) else None)
        self.usage.record_call(operator, self.model, usage)
        return generations

    # ------------------------------------------------------------------ embeddings

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        batch_size: int = 1024,
        operator: str = "embed",
        use_cache: bool = True,
    ):
        """Embed texts through ``/embeddings``; returns a float32 array of shape (len, dim).

        The model is ``model``, else ``config.embedding_model``, else ``config.model``.
        Each text is cached on its own, so adding texts to a set re-embeds only those.
        Up to ``batch_size`` texts go in one request (OpenAI takes 2,048 inputs per request).
        """
        from sqlfoundry.llm.similarity import require_numpy

        np = require_numpy()
        model = model or self.config.embedding_model or self.model
        texts = list(texts)
        caching = use_cache and self.cache.readable
        keys = [request_key({"kind": "embedding", "model": model, "input": t}) for t in texts]
        vectors: list[list[float] | None] = [None] * len(texts)
        if caching:
            for i, key in enumerate(keys):
                hit = self.cache.get(key, (0,))
                if 0 in hit:
                    vectors[i] = hit[0]["embedding"]
            hits = sum(v is not None for v in vectors)
            if hits:
                self.usage.record_cache_hits(operator, hits)
        missing = [i for i, v in enumerate(vectors) if v is None]

        async def run_chunk(chunk: list[int]) -> None:
            inputs = [texts[i] for i in chunk]
            body = {"input": inputs, "model": model, "encoding_format": "float"}
            estimate = sum(len(t) for t in inputs) // 4 + len(inputs)
            data, raw = await self._call("/embeddings", body, operator, estimate)
            got, usage = parse_embeddings(data, len(inputs), raw=raw, base_url=self.base_url)
            self.usage.record_call(operator, model, usage)
            for i, vector in zip(chunk, got, strict=True):
                vectors[i] = vector
                if caching:
                    self.cache.put(keys[i], {0: {"embedding": vector}})

        chunks = [missing[i : i + batch_size] for i in range(0, len(missing), batch_size)]
        try:
            await asyncio.gather(*(run_chunk(c) for c in chunks))
        except LLMError as err:
            self._failed(operator, err)
            raise
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(vectors, dtype=np.float32)

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        path: str,
        body: dict[str, Any],
        operator: str,
        token_estimate: int,
        parse: Callable[[Any, str], Any] | None = None,
    ) -> Any:
        """POST with our retry policy; returns the decoded JSON body and its text, or
        what ``parse(body, text)`` makes of them. A 200 whose body is not JSON, or
        that ``parse`` finds malformed, is retried like a 5xx: a proxy or an
        overloaded server sends those now and then."""
        if not self._ready:
            await self._ensure_ready()
        try:
            return await self._post(path, body, operator, token_estimate, parse)
        except LLMError:
            await self._raise_preflight_failure()  # the endpoint's problem comes first
            raise

    async def _post(
        self,
        path: str,
        body: dict[str, Any],
        operator: str,
        token_estimate: int,
        parse: Callable[[Any, str], Any] | None,
    ) -> Any:
        """:meth:`_call`'s requests and retries."""
        cfg = self.config
        attempt = 0
        while True:
            if self._limiter.active:
                await self._limiter.acquire(token_estimate)
            delay: float | None = None
            try:
                async with self._semaphore:
                    result = await self.transport.request("POST", path, body, cfg.timeout)
            except TransportError as err:
                if attempt >= cfg.max_retries:
                    if err.kind == "timeout":
                        raise LLMRetriesExhaustedError(
                            f"no answer within {cfg.timeout:g} s ({_attempts(attempt + 1)})",
                            base_url=self.base_url,
                            model=self.model,
                            hint="raise [llm] timeout, or lower max_tokens / max_concurrency",
                        ) from None
                    raise self._unreachable(err, attempts=attempt + 1) from None
            else:
                if result.status < 300:
                    text = result.body.decode("utf-8", errors="replace")
                    try:
                        data = json.loads(text)
                        return (data, text) if parse is None else parse(data, text)
                    except ValueError:
                        malformed: LLMResponseError = LLMResponseError(
                            "malformed response: the body is not JSON",
                            base_url=self.base_url,
                            model=self.model,
                            status=result.status,
                            raw=text[:RAW_KEEP],
                        )
                    except LLMLogprobsMissingError:
                        raise  # the server never gives them: asking again cannot help
                    except LLMResponseError as err:
                        malformed = err
                    if attempt >= cfg.max_retries:
                        raise malformed from None
                    log.debug("LLM %s sent a malformed answer; retrying", self.base_url)
                elif not is_retryable_status(result.status) or attempt >= cfg.max_retries:
                    raise self._status_error(result, attempts=attempt + 1)
                else:
                    delay = parse_retry_after(result.headers)
                    log.debug("LLM %s answered %s; retrying", self.base_url, result.status)
            if delay is None:
                delay = backoff_delay(attempt, cfg.retry_base_delay, cfg.retry_max_delay)
            await self._raise_preflight_failure()  # no retries on an endpoint that fails it
            self.usage.record_retry(operator)
            attempt += 1
            await asyncio.sleep(delay)

    def _unreachable(self, err: TransportError, attempts: int = 1) -> LLMUnreachableError:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        what = "timed out" if err.kind == "timeout" else err.detail
        return LLMUnreachableError(
            f"cannot reach the LLM endpoint{tries}: {what}",
            base_url=self.base_url,
            model=self.model,
            hint="is the server running? check --llm-base-url / OPENAI_BASE_URL",
        )

    def _status_error(self, result: HTTPResult, attempts: int) -> LLMError:
        status = result.status
        code, message = _server_message(result)
        common = {"base_url": self.base_url, "model": self.model, "status": status}
        if status in (401, 403):
            key_env = self.config.api_key_env
            hint = (
                f"${key_env} is not set"
                if self._key_missing
                else f"check the key in ${key_env} (or name another variable with --llm-api-key-env)"
            )
            return LLMAuthError(
                f"the endpoint refused the API key ({status}): {message}", hint=hint, **common
            )
        if status == 404:
            return LLMModelNotFoundError(
                f"the endpoint does not serve model {self.model!r} (404): {message}",
                hint="check --llm-model / SQLFOUNDRY_LLM_MODEL, and that the base URL ends in /v1",
                **common,
            )
        lowered = f"{code} {message}".lower()
        if status in (400, 413, 422) and any(s in lowered for s in _CONTEXT_LENGTH_SIGNS):
            return LLMContextLengthError(
                f"the prompt does not fit the model's context ({status}): {message}",
                hint="shorten the prompt (e.g. a reduced schema) or lower max_tokens",
                **common,
            )
        if is_retryable_status(status):
            return LLMRetriesExhaustedError(
                f"the endpoint kept answering {status} ({_attempts(attempts)}): {message}",
                hint="lower max_concurrency or set requests_per_minute / tokens_per_minute",
                **common,
            )
        return LLMBadRequestError(
            f"the endpoint refused the request ({status}): {message}",
            hint="check the [llm] sampling settings and extra_body against the server",
            **common,
        )


def _attempts(count: int) -> str:
    return f"{count} attempt" + ("s" if count != 1 else "")


def _server_message(result: HTTPResult) -> tuple[str, str]:
    """``(code, message)`` in the server's own words: an OpenAI-style error body, else the text."""
    text = result.body.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return "", text[:500] or f"HTTP {result.status}"
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = str(inner.get("code") or inner.get("type") or "")
            for field in ("message", "detail", "msg"):
                if inner.get(field):
                    return code, str(inner[field])
        if isinstance(inner, str) and inner:
            return "", inner
        for field in ("message", "detail"):
            if body.get(field):
                return "", str(body[field])
    return "", text[:500] or f"HTTP {result.status}"


class SyncLLMClient:
    """The same client for synchronous code: a private event loop on a daemon thread.

    Every method blocks until its coroutine finishes on that loop; Ctrl-C cancels it.
    """

    def __init__(self, config: LLMConfig, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sqlfoundry-llm", daemon=True
        )
        self._thread.start()

        async def build() -> LLMClient:
            return LLMClient(config, **kwargs)

        try:
            self.client: LLMClient = self._run(build())
        except BaseException:
            self._stop()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    @property
    def usage(self) -> UsageTracker:
        """The usage counters of the client."""
        return self.client.usage

    @property
    def config(self) -> LLMConfig:
        """The client's config."""
        return self.client.config

    def preflight(self) -> dict[str, Any]:
        """:meth:`LLMClient.preflight`, from synchronous code."""
        return self._run(self.client.preflight())

    def generate(self, messages: Sequence[Message], **kwargs: Any) -> list[Generation]:
        """:meth:`LLMClient.generate`, from synchronous code."""
        return self._run(self.client.generate(messages, **kwargs))

    def embed(self, texts: Sequence[str], **kwargs: Any):
        """:meth:`LLMClient.embed`, from synchronous code."""
        return self._run(self.client.embed(texts, **kwargs))

    def complete(self, prompt: str, **kwargs: Any) -> list[Generation]:
        """:meth:`LLMClient.complete` (``/v1/completions``), from synchronous code."""
        return self._run(self.client.complete(prompt, **kwargs))

    def run_batch(self, requests: Sequence[Any], **kwargs: Any):
        """:func:`sqlfoundry.llm.run_batch` over this client, from synchronous code."""
        from sqlfoundry.llm.batch import run_batch

        return self._run(run_batch(self.client, requests, **kwargs))

    def close(self) -> None:
        """Close the client and its event loop."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.client.aclose())
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> SyncLLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
