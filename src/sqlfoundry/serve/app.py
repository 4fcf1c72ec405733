"""The FastAPI app: routes, error handlers, OpenAPI, CORS; and running it with uvicorn.

Routes:

- ``GET /v1/models``, ``GET /v1/models/{model}`` and the same under
  ``/nl2sql/{service}/v1`` (the SDK's ``models.list()`` / ``models.retrieve()``);
- ``POST /v1/chat/completions`` (service chosen by ``model``) and
  ``POST /nl2sql/{service}/v1/chat/completions`` (``model`` optional);
- ``GET /health``; ``GET /openapi.json``, ``GET /docs`` (Swagger UI) and
  ``GET /redoc``, their scripts served from the ``fastapi-offline`` package, so
  the pages work with no network.

The OpenAPI schema says what the gateway checks: ``model`` is required (one of
the services) on the shared route, the messages must hold a user message with
text, the Bearer key scheme is declared (required when global keys are set,
optional when only some services have keys).

Route handlers take the raw ``Request`` and answer with ready-made bytes:
FastAPI's own body parsing and response validation would run pydantic twice
more per request. The request and response models are still declared for the
OpenAPI schema (the responses are ``openai.types.chat`` models). The two chat
routes are also taken before FastAPI's router (:class:`ChatRoutes`): its
matching, dependency solving and exception layers cost more than the rest of
a proxied request's Python.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sqlfoundry import __version__
from sqlfoundry.core.extras import require
from sqlfoundry.serve.config import GatewayConfig
from sqlfoundry.serve.errors import GatewayError, error_response
from sqlfoundry.serve.gateway import Gateway
from sqlfoundry.serve.local import MethodFactory
from sqlfoundry.serve.requests import ChatRequest

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """The OpenAI error body every failure gets."""

    error: ErrorDetail


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "sqlfoundry"
    sqlfoundry: dict[str, Any] = {}


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "malformed JSON, missing messages, empty content, unreadable DDL, unknown db_id",
        401: "missing or wrong API key",
        404: "unknown model (service) or database",
        413: "request body over the size limit",
        429: "rate limit reached (Retry-After says when to come back)",
        502: "the upstream model failed or cannot be reached",
        504: "the upstream model did not answer in time",
    }.items()
}

_CHAT_DOC = """Answer a question with SQL, OpenAI-style.

The last user message that has text holds the question, with the schema as CREATE TABLE
statements (MySQL or PostgreSQL, COMMENTs included), as `Tables: t: c1 , c2 ; …`,
or not at all when `db_id` names a database of the gateway. `stream: true`
answers with `chat.completion.chunk` events (the 200 schema shows the
non-stream body; each event is a `ChatCompletionChunk`)."""


BEARER = "bearerAuth"
# One server-sent event of a streamed answer: a chat.completion.chunk as JSON, or [DONE].
_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "anyOf": [
                {"const": "[DONE]"},
                {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": {"$ref": "#/components/schemas/ChatCompletionChunk"}},
            ]
        }
    },
}  # fmt: skip


def _chat_request_schemas(
    services: list[str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The body schema of the shared route (``model`` required, one of ``services``), of the
    per-service route (``model`` optional, ignored), and the sub-schemas both refer to."""
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    shared = copy.deepcopy(schema)
    shared["required"] = ["model", *[r for r in shared.get("required", []) if r != "model"]]
    shared["properties"]["model"] = {"type": "string", "enum": services, "title": "Model",
                                     "description": "the service to ask"}  # fmt: skip
    schema["properties"]["model"] = {"anyOf": [{"type": "string"}, {"type": "null"}],
                                     "title": "Model", "description": "ignored: the path names the service"}  # fmt: skip
    return shared, schema, defs


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_CHAT = "/v1/chat/completions"
_SERVICE_PREFIX = "/nl2sql/"


def chat_service(path: str) -> str | None | bool:
    """Which chat route ``path`` is: None for the shared one, the service's name for
    ``/nl2sql/{service}/v1/chat/completions``, False for any other path."""
    if path == _CHAT:
        return None
    if path.startswith(_SERVICE_PREFIX) and path.endswith(_CHAT):
        service = path[len(_SERVICE_PREFIX) : -len(_CHAT)]
        if service and "/" not in service:
            return service
    return False


class ChatRoutes:
    """ASGI middleware: ``POST`` on a chat route goes straight to the gateway.

    It sits inside the server-error layer (an unexpected exception still gets the
    500 handler's OpenAI body) and inside CORS; every other request, and a mounted
    app (a root path), goes on to FastAPI's router, which declares the same routes
    for the OpenAPI schema.
    """

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            service = chat_service(scope["path"])
            if service is not False:
                response = await self.gateway.chat(Request(scope, receive), service)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _offline_fastapi(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs and /redoc load their scripts from this machine."""
    offline = require("fastapi_offline", "serve", "the gateway")
    return offline.FastAPIOffline(**kwargs)


def create_app(
    config: GatewayConfig, *, env: Mapping[str, str] | None = None,
    method_factory: MethodFactory | None = None, shared_limits: Path | None = None,
) -> FastAPI:  # fmt: skip
    """Build the gateway app from its config (``shared_limits``: see ``Gateway``).

    Raises:
        ConfigError: anything in the config that cannot work (checked before serving).
    """
    gateway = Gateway(config, env=env, method_factory=method_factory, shared_limits=shared_limits)
    app = _offline_fastapi(
        title="sqlfoundry NL2SQL gateway",
        version=__version__,
        description="An OpenAI-compatible NL2SQL service: each configured service is a model.",
        lifespan=gateway.lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.gateway = gateway
    shared_body, service_body, request_defs = _chat_request_schemas(sorted(gateway.services))
    chat_doc = {
        "responses": {200: {"model": ChatCompletion, "description": "a chat.completion, or with "
                            "`stream: true` a text/event-stream of chat.completion.chunk events",
                            "content": {"text/event-stream": {"schema": _SSE_EVENT}}},
                      **_ERRORS},
        "description": _CHAT_DOC,
    }  # fmt: skip

    @app.post("/v1/chat/completions", summary="Chat completion (service = model)",
              openapi_extra=_body(shared_body), **chat_doc)  # fmt: skip
    async def chat_completions(request: Request) -> Response:
        return await gateway.chat(request)

    @app.post("/nl2sql/{service}/v1/chat/completions", summary="Chat completion on one service",
              openapi_extra=_body(service_body), **chat_doc)  # fmt: skip
    async def service_chat_completions(service: str, request: Request) -> Response:
        return await gateway.chat(request, service)

    @app.get("/v1/models", summary="The services, as models", response_model=ModelList,
             responses={401: _ERRORS[401]})  # fmt: skip
    async def list_models(request: Request) -> Response:
        return gateway.models(request)

    @app.get("/nl2sql/{service}/v1/models", summary="One service, as a model",
             response_model=ModelList, responses={401: _ERRORS[401], 404: _ERRORS[404]})  # fmt: skip
    async def service_models(service: str, request: Request) -> Response:
        return gateway.models(request, service)

    @app.get("/v1/models/{model}", summary="One service, as a model", response_model=ModelCard,
             responses={401: _ERRORS[401], 404: _ERRORS[404]})  # fmt: skip
    async def retrieve_model(model: str, request: Request) -> Response:
        return gateway.model(request, model)

    @app.get("/nl2sql/{service}/v1/models/{model}", summary="One service, as a model",
             response_model=ModelCard, responses={401: _ERRORS[401], 404: _ERRORS[404]})  # fmt: skip
    async def service_model(service: str, model: str, request: Request) -> Response:
        return gateway.model(request, model, service)

    @app.get("/health", summary="Liveness, and the state of local indexes")
    async def health() -> dict[str, Any]:
        return await gateway.health()

    _install_error_handlers(app)
    _extend_openapi(app, request_defs, _security(gateway))
    app.add_middleware(ChatRoutes, gateway=gateway)  # added before CORS: CORS wraps it
    origins = config.gateway.cors_origins
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])  # fmt: skip
    return app


def _install_error_handlers(app: FastAPI) -> None:
    """Every error a client can meet, in the OpenAI error shape."""

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "unknown_url", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return error_response(
            exc.status_code, message, code=code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(
            400, f"invalid request: {where}: {first['msg']}", code="invalid_request"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}", type="server_error",
                              code="internal_error")  # fmt: skip


def _security(gateway: Gateway) -> list[dict[str, list[str]]] | None:
    """What the routes that check keys declare: a key required (global keys), optional
    (only some services have keys), or nothing (every service is open)."""
    if gateway.keys.locked:
        return [{BEARER: []}]
    if any(not gateway.keys.is_open(name) for name in gateway.services):
        return [{BEARER: []}, {}]
    return None


def _extend_openapi(
    app: FastAPI, defs: dict[str, Any], security: list[dict[str, list[str]]] | None
) -> None:
    """Add the request model's sub-schemas, the chunk model, the Bearer key scheme and
    each route's security requirement; drop the 422 FastAPI adds (errors are 400s here)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            root = schema.setdefault("components", {})
            root["securitySchemes"] = {BEARER: {
                "type": "http", "scheme": "bearer",
                "description": "an API key of the gateway, sent as 'Authorization: Bearer <key>' "
                               "(the OpenAI SDK's api_key)"}}  # fmt: skip
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
                    if security is not None and path != "/health":
                        operation["security"] = security
            components = root.setdefault("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            components.update(defs)
            # The chunk's sub-models share names with the completion's (``Choice``):
            # prefixed, neither overwrites the other.
            chunk = ChatCompletionChunk.model_json_schema(
                ref_template="#/components/schemas/Chunk{model}"
            )
            components.update({f"Chunk{k}": v for k, v in chunk.pop("$defs", {}).items()})
            components["ChatCompletionChunk"] = chunk
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def run_server(app: FastAPI, *, host: str, port: int, log_level: str = "warning",
               access_log: bool = False) -> None:  # fmt: skip
    """Serve ``app`` with uvicorn until interrupted (uvloop/httptools when installed)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log,
                timeout_keep_alive=30, server_header=False)  # fmt: skip
