"""The gateway: the configured services plus what they share.

Shared: the databases (``DatabaseManager``), the upstream HTTP pool, the
read-only preview runner, the key table and the rate limiter. The request
path is kept short: a size-checked body read, one pydantic validation, the
service's pre-processing, the upstream call, post-processing, one JSON dump.
Nothing is logged per request unless debug logging is on.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.db.manager import DatabaseManager, ServerSettings
from sqlfoundry.serve import wire
from sqlfoundry.serve.auth import KeyTable
from sqlfoundry.serve.config import GatewayConfig, GatewaySettings, ServiceConfig, read_keys
from sqlfoundry.serve.errors import GatewayError, bad_request, error_response, not_found
from sqlfoundry.serve.limits import RateLimiter, SharedRateLimiter, read_body
from sqlfoundry.serve.local import LocalAnswerer, MethodFactory, retrieval_method
from sqlfoundry.serve.method import MethodAnswerer
from sqlfoundry.serve.postprocess import PreviewRunner
from sqlfoundry.serve.requests import parse_chat_request
from sqlfoundry.serve.service import Service
from sqlfoundry.serve.upstream import Upstream, UpstreamPool

log = logging.getLogger(__name__)

JSON = "application/json"


def _manager(settings: GatewaySettings) -> DatabaseManager | None:
    if settings.db_root is None and settings.db_server is None:
        return None
    server = None
    if settings.db_server:
        server = ServerSettings.from_url(settings.db_server, password_env=settings.db_password_env)
    return DatabaseManager(root=settings.db_root, server=server)


class Gateway:
    """Everything the app's routes call into.

    Args:
        config: the validated config.
        env: where keys are read from (``os.environ`` by default).
        method_factory: builds the offline method of ``local`` services (tests
            may pass their own; the default is ``RetrievalMethod``).
        shared_limits: a SQLite file holding the rate limit's buckets for every
            process of a multi-process gateway (None: the buckets of this process).

    Raises:
        ConfigError: a key variable is unset, a template is malformed, a
            database location is wrong: everything is checked here, before serving.
    """

    def __init__(self, config: GatewayConfig, *, env: Mapping[str, str] | None = None,
                 method_factory: MethodFactory | None = None,
                 shared_limits: Path | None = None) -> None:  # fmt: skip
        env = os.environ if env is None else env
        settings = config.gateway
        self.config = config
        self.manager = _manager(settings)
        self.pool = UpstreamPool(settings.upstream_connections)
        executes = any(s.postprocess.execute for s in config.services.values())
        self.previews = PreviewRunner(self.manager) if executes and self.manager else None
        self.keys = KeyTable(
            read_keys(settings.api_keys, settings.api_keys_env, env),
            {
                name: read_keys(s.api_keys, s.api_keys_env, env)
                for name, s in config.services.items()
            },
        )
        rate = settings.rate_limit
        self.limiter: RateLimiter | SharedRateLimiter | None = None
        if rate and shared_limits is not None:  # several gateway processes: one count
            self.limiter = SharedRateLimiter(shared_limits, rate.requests_per_minute,
                                             rate.capacity)  # fmt: skip
        elif rate:
            self.limiter = RateLimiter(rate.requests_per_minute, rate.capacity)
        self.max_body = settings.max_body_bytes
        factory = method_factory or retrieval_method
        self.services = {
            name: self._service(name, s, env, factory) for name, s in config.services.items()
        }

    def _service(self, name: str, config: ServiceConfig, env: Mapping[str, str],
                 factory: MethodFactory) -> Service:  # fmt: skip
        try:
            if config.type in ("local", "method"):
                assert self.manager is not None  # the config model checks db_root is set
                if config.type == "method":
                    assert config.method is not None
                    local: Any = MethodAnswerer(self.manager, config.method)
                else:
                    local = LocalAnswerer(factory(self.manager, config.local))
                return Service(
                    name, config, manager=self.manager, local=local, previews=self.previews
                )
            assert config.upstream is not None
            upstream = Upstream(config.upstream, self.pool, env)
            return Service(name, config, manager=self.manager, upstream=upstream,
                           previews=self.previews)  # fmt: skip
        except ConfigError as err:
            raise ConfigError(
                f"service {name!r}: {err.message}", file=err.file, hint=err.hint
            ) from None

    # ------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """The app's start-up and shutdown: the upstream pool, local indexes, schemas
        of the named databases, then (after serving) everything closed."""
        if any(s.upstream is not None for s in self.services.values()):
            await self.pool.start()
        for service in self.services.values():
            if service.local is not None and service.config.local.prepare == "startup":
                service.local.start(service.default_databases())
        # Schemas and prompt texts of the databases the config names, before the first request.
        for service in self.services.values():
            for db_id in service.named_databases():
                try:
                    await service.database(db_id)
                except GatewayError as err:
                    log.warning("service %s: %s", service.name, err.message)
        wire.warm_up()
        if self.config.gateway.gc_freeze:
            # Everything built so far lives as long as the server: moving it out of the
            # collector's sight turns 80 ms full collections into 1 ms ones.
            gc.freeze()
            for service in self.services.values():
                service.gc_freeze = True
                if service.local is not None:
                    service.local.on_ready = gc.freeze
        try:
            yield
        finally:
            for service in self.services.values():
                if isinstance(service.local, MethodAnswerer):
                    await service.local.aclose()
            await self.pool.close()
            if self.previews is not None:
                self.previews.close()

    async def wait_ready(self) -> None:
        """Until every local database started at start-up is prepared."""
        for service in self.services.values():
            if service.local is not None:
                await service.local.wait()

    async def health(self) -> dict[str, Any]:
        """``ok``; ``starting`` while local indexes build; ``degraded`` when one failed
        or a service's upstream is down (each service's ``upstream`` says which)."""
        services = {}
        states: set[str] = set()
        for name, service in self.services.items():
            entry: dict[str, Any] = {"type": service.config.type}
            if service.local is not None:
                entry["databases"] = status = service.local.status()
                entry["ready"] = all(v == "ready" for v in status.values())
                states.update(v.split(":", 1)[0] for v in status.values())
            if service.upstream is not None:
                entry["upstream"] = upstream = await service.upstream.state()
                entry["ready"] = upstream["state"] == "up"
                if upstream["state"] != "up":
                    states.add("failed")
            services[name] = entry
        overall = (
            "degraded" if "failed" in states else "starting" if "preparing" in states else "ok"
        )
        return {"status": overall, "services": services, "pid": os.getpid()}

    # ------------------------------------------------------------ requests

    def _service_named(self, name: str | None) -> Service:
        if not name:
            raise bad_request(
                "'model' is required: the name of a service", "missing_model", "model"
            )
        service = self.services.get(name)
        if service is None:
            known = ", ".join(sorted(self.services))
            raise not_found(f"the model {name!r} does not exist; this gateway serves: {known}",
                            "model_not_found", "model")  # fmt: skip
        return service

    def _admit(self, request: Request, service: str) -> None:
        """Authenticate and rate-limit one call to ``service``."""
        client = request.client.host if request.client else "unknown"
        identity = self.keys.check(request.headers.get("authorization"), service, client)
        if self.limiter is not None:
            self.limiter.check(identity)

    async def chat(self, request: Request, path_service: str | None = None) -> Response:
        """``POST /v1/chat/completions`` and ``POST /nl2sql/{service}/v1/chat/completions``."""
        try:
            if path_service is not None:
                service = self._service_named(path_service)
                self._admit(request, service.name)
                body = parse_chat_request(await read_body(request, self.max_body))
            else:
                if self.keys.locked:
                    # Refuse strangers before reading what they send.
                    self.keys.check_any(request.headers.get("authorization"))
                body = parse_chat_request(await read_body(request, self.max_body))
                service = self._service_named(body.model)
                self._admit(request, service.name)
            job = await service.prepare(body)
            if body.stream:
                return await service.stream(job)
            return Response(await service.complete(job), media_type=JSON)
        except GatewayError as err:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s: %s", err.status, err.code, err.message)
            return err.response()
        except SqlfoundryError as err:
            # A problem the gateway could not map to the client's input (a custom template
            # that needs a variable, a database that fails to open mid-run, ...).
            log.warning("request failed: %s", err)
            return error_response(500, str(err), type="server_error", code="internal_error")

    def model(self, request: Request, model: str, path_service: str | None = None) -> Response:
        """``GET /v1/models/{model}``: one service as a model (the SDK's ``models.retrieve``).

        Under ``/nl2sql/{service}/v1`` only that service's own name is a model there.
        """
        header = request.headers.get("authorization")
        try:
            if path_service is not None:
                service = self._service_named(path_service)
                self.keys.check(header, service.name, "")
                if model != service.name:
                    raise not_found(f"the model {model!r} does not exist here; this path serves "
                                    f"{service.name!r}", "model_not_found", "model")  # fmt: skip
            else:
                if self.keys.locked:
                    self.keys.check_any(header)
                service = self._service_named(model)
                self.keys.check(header, service.name, "")
        except GatewayError as err:
            return err.response()
        return Response(wire.dumps(service.model_card()), media_type=JSON)

    def models(self, request: Request, path_service: str | None = None) -> Response:
        """``GET /v1/models``: the services this caller may use."""
        header = request.headers.get("authorization")
        try:
            if path_service is not None:
                service = self._service_named(path_service)
                self.keys.check(header, service.name, "")
                cards = [service.model_card()]
            else:
                if self.keys.locked:
                    self.keys.check_any(header)
                cards = [
                    s.model_card() for n, s in self.services.items() if self.keys.may_use(header, n)
                ]
        except GatewayError as err:
            return err.response()
        return Response(wire.dumps({"object": "list", "data": cards}), media_type=JSON)
