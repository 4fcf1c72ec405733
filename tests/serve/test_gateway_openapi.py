"""The gateway as client tooling sees it: the openai SDK's models.retrieve(), the OpenAPI
schema (Bearer keys, required fields), /docs with no network, and schemathesis
generating requests from the schema against the real running app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from gateway_testing import answer, upstream

KEY = "gw-openapi-key"
SQL = "SELECT name FROM singer WHERE country = 'France'"


def config(fake_server, concerts_root, keys: list[str] | None = None) -> dict[str, Any]:
    return {
        "gateway": {"db_root": str(concerts_root), "api_keys": keys or []},
        "services": {
            "chat": {"type": "openai", "db_id": "concerts", "upstream": upstream(fake_server)},
            "plain": {"type": "base", "db_id": "concerts", "upstream": upstream(fake_server)},
        },
    }


@pytest.fixture(scope="module")
def running(fake_server, concerts_root) -> Iterator[Any]:
    from gateway_testing import start_gateway

    gateway = start_gateway(config(fake_server, concerts_root, [KEY]))
    yield gateway
    gateway.stop()


# --------------------------------------------------------------------------- models.retrieve


def test_models_retrieve_with_the_sdk(running, fake):
    model = running.client(KEY).models.retrieve("chat")
    assert (model.id, model.object, model.owned_by) == ("chat", "model", "sqlfoundry")
    assert model.model_extra["sqlfoundry"]["type"] == "openai"
    assert [m.id for m in running.client(KEY).models.list()] == ["chat", "plain"]
    with pytest.raises(openai.NotFoundError) as info:
        running.client(KEY).models.retrieve("gpt-4o")
    body = info.value.response.json()["error"]
    assert body["code"] == "model_not_found"
    assert body["message"] == "the model 'gpt-4o' does not exist; this gateway serves: chat, plain"
    with pytest.raises(openai.AuthenticationError):
        running.client("wrong").models.retrieve("chat")


def test_models_retrieve_under_a_service_path(running, fake):
    client = running.client(KEY, base="/nl2sql/plain/v1")
    assert client.models.retrieve("plain").id == "plain"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("chat")
    assert info.value.response.json()["error"]["message"] == (
        "the model 'chat' does not exist here; this path serves 'plain'"
    )


def test_models_retrieve_with_per_service_keys(gateways, fake, concerts_root):
    cfg = config(fake, concerts_root)
    cfg["services"]["chat"]["api_keys"] = ["chat-only"]
    running = gateways(cfg)
    assert running.client("none").models.retrieve("plain").id == "plain"  # an open service
    with pytest.raises(openai.AuthenticationError):
        running.client("none").models.retrieve("chat")
    assert running.client("chat-only").models.retrieve("chat").id == "chat"
    schema = json.loads(running.raw("GET", "/openapi.json")[2])
    # Some services take keys, some do not: a key is optional in the schema.
    assert schema["paths"]["/v1/models/{model}"]["get"]["security"] == [{"bearerAuth": []}, {}]


# --------------------------------------------------------------------------- the schema


def test_the_schema_declares_the_bearer_scheme_and_what_is_required(running):
    schema = json.loads(running.raw("GET", "/openapi.json")[2])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/v1/chat/completions", "/v1/models", "/v1/models/{model}",
                 "/nl2sql/{service}/v1/chat/completions"):  # fmt: skip
        operation = next(iter(schema["paths"][path].values()))
        assert operation["security"] == [{"bearerAuth": []}], path
        assert "422" not in operation["responses"], path
    assert "security" not in schema["paths"]["/health"]["get"]
    shared = schema["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]
    body = shared["application/json"]["schema"]
    assert body["required"][:2] == ["model", "messages"]
    assert body["properties"]["model"]["enum"] == ["chat", "plain"]
    assert body["properties"]["messages"]["contains"]["properties"]["role"] == {"const": "user"}
    own = schema["paths"]["/nl2sql/{service}/v1/chat/completions"]["post"]["requestBody"]
    assert "model" not in own["content"]["application/json"]["schema"]["required"]


def test_an_open_gateway_declares_no_key_requirement(gateways, fake, concerts_root):
    schema = json.loads(gateways(config(fake, concerts_root)).raw("GET", "/openapi.json")[2])
    assert "bearerAuth" in schema["components"]["securitySchemes"]  # the Authorize button
    assert "security" not in schema["paths"]["/v1/chat/completions"]["post"]


def test_the_question_is_the_last_user_message_with_text(running, fake):
    answer(fake, f"```sql\n{SQL}\n```")
    reply = running.client(KEY).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "Which singers are from France?"},
                  {"role": "user", "content": [{"type": "text", "text": "  "}]},
                  {"role": "assistant", "content": "..."}],
    )  # fmt: skip
    assert reply.choices[0].message.content.startswith(SQL)


# --------------------------------------------------------------------------- /docs offline


def test_docs_pages_load_everything_from_the_gateway(running):
    for page in ("/docs", "/redoc"):
        status, _, html = running.raw("GET", page)
        assert status == 200
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.decode())
        sources += re.findall(r"""url: ?['"]([^'"]+)['"]""", html.decode())
        assert sources, page
        for source in sources:
            assert source.startswith("/"), f"{page} loads {source} from elsewhere"
            status, headers, body = running.raw("GET", source)
            assert status == 200 and body, source
    status, _, script = running.raw("GET", "/static-offline-docs/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in script


# --------------------------------------------------------------------------- schemathesis

schemathesis = pytest.importorskip("schemathesis")


@pytest.mark.slow
def test_requests_generated_from_the_schema(running, fake, tmp_path, monkeypatch):
    """Valid requests are answered, invalid ones refused with 4xx, every answer as declared:
    each operation, positive and negative cases, every schemathesis check."""
    from hypothesis import HealthCheck, configuration, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation.modes import GenerationMode

    # Hypothesis keeps what it learns under .hypothesis/ in the working folder: not here.
    monkeypatch.setattr(configuration, "__hypothesis_home_directory", tmp_path / "hypothesis")
    answer(fake, f"```sql\n{SQL}\n```")
    schema = schemathesis.openapi.from_url(running.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {KEY}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=40, database=None, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case) -> None:
                case.call_and_validate(headers=headers)

            try:
                check()
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (no parameters, no body).
                assert mode == GenerationMode.NEGATIVE and not operation.body, operation.label
