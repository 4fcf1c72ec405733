"""The FastAPI app: routes, error handlers, OpenAPI, CORS; and running it with uvicorn.

Routes:

- ``GET /v1/models`` and ``GET /nl2sql/{service}/v1/models``;
- ``POST /v1/chat/completions`` (service chosen by ``model``) and
  ``POST /nl2sql/{service}/v1/chat/completions`` (``model`` optional);
- ``GET /health``; ``GET /openapi.json`` and ``GET /docs``.

Route handlers take the raw ``Request`` and answer with ready-made bytes:
FastAPI's own body parsing and response validation would run pydantic twice
more per request. The request and response models are still declared for the
OpenAPI schema (the responses are ``openai.types.chat`` models).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from sqlfoundry import __version__
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

The last user message holds the question, with the schema as CREATE TABLE
statements (MySQL or PostgreSQL, COMMENTs included), as `Tables: t: c1 , c2 ; …`,
or not at all when `db_id` names a database of the gateway. `stream: true`
answers with `chat.completion.chunk` events (the 200 schema shows the
non-stream body; each event is a `ChatCompletionChunk`)."""


def _chat_request_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = ChatRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    return schema, schema.pop("$defs", {})


def create_app(
    config: GatewayConfig, *, env: Mapping[str, str] | None = None,
    method_factory: MethodFactory | None = None,
) -> FastAPI:  # fmt: skip
    """Build the gateway app from its config.

    Raises:
        ConfigError: anything in the config that cannot work (checked before serving).
    """
    gateway = Gateway(config, env=env, method_factory=method_factory)
    app = FastAPI(
        title="sqlfoundry NL2SQL gateway",
        version=__version__,
        description="An OpenAI-compatible NL2SQL service: each configured service is a model.",
        lifespan=gateway.lifespan,
    )
    app.state.gateway = gateway
    request_schema, request_defs = _chat_request_schema()
    chat_doc = {
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema}}}
        },
        "responses": {200: {"model": ChatCompletion, "description": "a chat.completion "
                            "(or text/event-stream of chat.completion.chunk)"}, **_ERRORS},
        "description": _CHAT_DOC,
    }  # fmt: skip

    @app.post("/v1/chat/completions", summary="Chat completion (service = model)", **chat_doc)
    async def chat_completions(request: Request) -> Response:
        return await gateway.chat(request)

    @app.post("/nl2sql/{service}/v1/chat/completions", summary="Chat completion on one service",
              **chat_doc)  # fmt: skip
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

    @app.get("/health", summary="Liveness, and the state of local indexes")
    async def health() -> dict[str, Any]:
        return gateway.health()

    _install_error_handlers(app)
    _extend_openapi(app, request_defs)
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


def _extend_openapi(app: FastAPI, defs: dict[str, Any]) -> None:
    """Add the request model's sub-schemas and the chunk model to the components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs)
            chunk = ChatCompletionChunk.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components.update(chunk.pop("$defs", {}))
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
