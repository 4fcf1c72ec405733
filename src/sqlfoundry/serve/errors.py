"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with the right status.

Every failure a client can cause or meet ends here, so the official SDK raises
its usual exception classes (``AuthenticationError`` for 401, ``NotFoundError``
for 404, ``RateLimitError`` for 429, ``InternalServerError`` for 5xx, ...).

Upstream failures are mapped rather than copied: a 401 from the upstream is the
gateway's misconfiguration, not the client's, so the client gets a 502 and the
upstream's message (which may quote part of the gateway's key) is not passed on.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class GatewayError(Exception):
    """An error answer: HTTP status plus the OpenAI error object's fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
        return error_body(self.message, type=self.type, code=self.code, param=self.param)

    def response(self) -> Response:
        """The error as a JSON response with its status and headers."""
        return error_response(
            self.status, self.message, type=self.type, code=self.code, param=self.param,
            headers=self.headers,
        )  # fmt: skip


def error_body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An OpenAI-shaped error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(
    status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
    param: str | None = None, headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    """An OpenAI-shaped error as a JSON response with ``status``."""
    payload = json.dumps(error_body(message, type=type, code=code, param=param), ensure_ascii=False)
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


# ---------------------------------------------------------------- client errors


def bad_request(message: str, code: str, param: str | None = None) -> GatewayError:
    """A 400 for the client's request, naming the ``param`` at fault."""
    return GatewayError(400, message, code=code, param=param)


def unauthorized(message: str) -> GatewayError:
    """A 401 that asks for a Bearer key (``WWW-Authenticate: Bearer``)."""
    return GatewayError(
        401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
    )


def not_found(message: str, code: str, param: str | None = None) -> GatewayError:
    """A 404: an unknown model (service) or database."""
    return GatewayError(404, message, code=code, param=param)


def too_large(limit: int) -> GatewayError:
    """A 413 for a body over ``limit`` bytes."""
    return GatewayError(
        413, f"request body is larger than the limit of {limit} bytes", code="request_too_large"
    )


def rate_limited(retry_after: float) -> GatewayError:
    """A 429 with ``Retry-After`` (whole seconds, rounded up)."""
    seconds = max(1, int(retry_after + 0.999))
    return GatewayError(
        429,
        f"rate limit reached for this API key; retry in {seconds} s",
        type="rate_limit_error",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(seconds)},
    )


# ---------------------------------------------------------------- upstream errors


def upstream_timeout(seconds: float) -> GatewayError:
    """A 504: the upstream model did not answer within ``seconds``."""
    return GatewayError(
        504, f"the upstream model did not answer within {seconds:g} s",
        type="upstream_error", code="upstream_timeout",
    )  # fmt: skip


def upstream_unreachable(detail: str) -> GatewayError:
    """A 502: the upstream model cannot be reached."""
    return GatewayError(
        502, f"the upstream model cannot be reached: {detail}",
        type="upstream_error", code="upstream_unreachable",
    )  # fmt: skip


def upstream_bad_answer(detail: str) -> GatewayError:
    """A 502: the upstream answered with something that is not a usable completion."""
    return GatewayError(
        502, f"the upstream model sent an unusable answer: {detail}",
        type="upstream_error", code="upstream_bad_response",
    )  # fmt: skip


def upstream_status(status: int, body: bytes, headers: Any, secret: str | None) -> GatewayError:
    """Map an upstream error answer to the error the client gets.

    - 400, 413, 422 (the prompt is too long, a parameter is refused): the client's
      request, so a 400 with the upstream's message;
    - 401, 403, 404: the gateway's upstream settings (key, model name) are wrong: 502;
    - 429: passed on as 429 with its Retry-After, so clients back off;
    - 5xx and anything else: 502.
    """
    message = _upstream_message(body, secret)
    if status in (400, 413, 422):
        return GatewayError(400, f"the upstream model refused the request: {message}",
                            code="upstream_rejected_request")  # fmt: skip
    if status in (401, 403):
        return GatewayError(
            502,
            f"the upstream model refused the gateway's credentials ({status}); "
            "check the key in the service's api_key_env",
            type="upstream_error",
            code="upstream_auth",
        )
    if status == 404:
        return GatewayError(502, f"the upstream does not serve the configured model: {message}",
                            type="upstream_error", code="upstream_model_not_found")  # fmt: skip
    if status == 429:
        retry = headers.get("Retry-After") if headers is not None else None
        return GatewayError(
            429,
            f"the upstream model is rate limited: {message}",
            type="rate_limit_error",
            code="upstream_rate_limited",
            headers={"Retry-After": retry} if retry else None,
        )
    return GatewayError(502, f"the upstream model failed ({status}): {message}",
                        type="upstream_error", code="upstream_error")  # fmt: skip


def _upstream_message(body: bytes, secret: str | None) -> str:
    text = body[:2000].decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        message = text.strip() or "(empty body)"
    else:
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("message"):
            message = str(error["message"])
        elif isinstance(error, str):
            message = error
        elif isinstance(data, dict) and data.get("detail"):
            message = str(data["detail"])
        else:
            message = text.strip()
    message = " ".join(message.split())[:500]
    if secret:
        message = message.replace(secret, "***")
    return message
