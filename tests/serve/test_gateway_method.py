"""``type = "method"`` services: a method preset, or one task of a run config, per request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "methods"))

from fake_methods import MethodResponder  # noqa: E402
from gateway_testing import FakeOpenAI, start_gateway  # noqa: E402

from sqlfoundry.core.errors import ConfigError  # noqa: E402
from sqlfoundry.serve import load_gateway_config  # noqa: E402

GOLD = {
    "Which department has the most doctors?": (
        "SELECT T1.name FROM departments AS T1 JOIN doctors AS T2 ON T1.department_id = "
        "T2.department_id GROUP BY T1.department_id ORDER BY count(*) DESC LIMIT 1"
    ),
    "How many books are there?": "SELECT count(*) FROM books",
}


@pytest.fixture(scope="module")
def responder() -> MethodResponder:
    return MethodResponder(dict(GOLD))


@pytest.fixture(scope="module")
def method_llm(responder):
    server = FakeOpenAI().start()
    server.handler = responder
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running(demo_root, method_llm, tmp_path_factory):
    cache = tmp_path_factory.mktemp("method_cache")
    llm = {"base_url": method_llm.base_url, "model": "fake-model", "cache_dir": str(cache),
           "max_retries": 0}  # fmt: skip
    run_config = tmp_path_factory.mktemp("run_config") / "run.toml"
    run_config.write_text(
        '[[tasks]]\nid = "links"\ntype = "parse"\nmethod = "llm"\n\n'
        '[[tasks]]\nid = "gen"\ntype = "generate"\nmethod = "zero_shot"\n\n'
        '[[tasks]]\nid = "pipeline"\ntype = "complex"\nsteps = ["links", "gen"]\n\n'
        f'[dataset]\nsource = "spider:dev"\n\n[llm]\nbase_url = "{method_llm.base_url}"\n'
        f'model = "fake-model"\ncache_dir = "{cache}"\n'
    )
    config = {
        "gateway": {"db_root": str(demo_root)},
        "services": {
            "din": {"type": "method", "method": {"preset": "din_sql", "llm": llm},
                    "postprocess": {"execute": True}},
            "offline": {"type": "method", "databases": ["bookshop"],
                        "method": {"preset": "retrieval", "params": {"num_per_db": 40,
                                                                     "cache_dir": str(cache)}}},
            "task": {"type": "method", "method": {"config": str(run_config), "task": "pipeline"}},
        },
    }  # fmt: skip
    gateway = start_gateway(config)
    yield gateway
    gateway.stop()


def ask(client, model, content, **kwargs):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}],
                                          **kwargs)  # fmt: skip


def test_a_preset_answers_with_its_whole_pipeline(running, responder):
    question = "Which department has the most doctors?"
    before = responder.kinds.copy()
    reply = ask(running.client(), "din", question, extra_body={"db_id": "clinic"})
    info = reply.choices[0].sqlfoundry
    assert info["sql"] == GOLD[question]
    assert info["preview"]["status"] == "ok"
    method = info["method"]
    assert method["method"] == "din_sql"
    assert method["stages"] == ["din_sql_linker", "din_sql_classifier", "din_sql_generator",
                                "din_sql_corrector"]  # fmt: skip
    assert set(method["usage"]) == set(method["stages"]) and method["errors"] == []
    assert (responder.kinds - before) == {"din_sql_link": 1, "din_sql_classify": 1,
                                           "din_sql_medium": 1, "din_sql_correct": 1}  # fmt: skip


def test_the_offline_preset_needs_no_model_and_streams(running):
    reply = ask(running.client(), "offline", "How many books are there?")
    assert reply.choices[0].sqlfoundry["sql"] == "SELECT COUNT(*) FROM books"
    assert reply.choices[0].sqlfoundry["method"]["usage"] == {}
    chunks = list(ask(running.client(), "offline", "How many books are there?", stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == reply.choices[0].message.content


def test_one_task_of_a_run_config_is_served(running, responder):
    reply = ask(
        running.client(), "task", "How many books are there?", extra_body={"db_id": "bookshop"}
    )
    method = reply.choices[0].sqlfoundry["method"]
    assert method["method"] == "run.toml:pipeline"
    assert method["stages"] == ["llm_linker", "zero_shot_generator"]
    assert method["schema_links"]["tables"] == ["books"]
    assert reply.choices[0].sqlfoundry["sql"] == "SELECT count(*) FROM books"


def test_a_method_that_writes_no_sql_is_a_502_saying_why(running, responder):
    responder.malformed["text2sql"] = "I cannot answer that."
    try:  # a question this service has not cached an answer for
        with pytest.raises(openai.InternalServerError) as info:
            ask(running.client(), "task", "Which department has the most doctors?",
                extra_body={"db_id": "clinic"})  # fmt: skip
    finally:
        responder.malformed.clear()
    body = info.value.body
    assert info.value.status_code == 502 and body["code"] == "method_failed"
    assert "zero_shot_generator: unparsable SQL answer" in body["message"]


def test_the_models_list_shows_method_services(running):
    cards = {m.id: m for m in running.client().models.list().data}
    assert cards["din"].sqlfoundry["type"] == "method"


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ({"preset": "din_sql", "config": "x.toml", "task": "t"}, "give either preset (with params) or config and task"),
        ({"preset": "nope"}, "no generate method 'nope'"),
        ({"preset": "din_sql", "params": {"corect": False}}, "bad parameters for method din_sql"),
        ({"preset": "din_sql"}, "no LLM endpoint configured"),
    ],
)  # fmt: skip
def test_a_bad_method_service_fails_when_the_gateway_starts(method, message, demo_root):
    from sqlfoundry.serve.gateway import Gateway

    with pytest.raises(ConfigError) as info:
        config = load_gateway_config({"gateway": {"db_root": str(demo_root)},
                                      "services": {"m": {"type": "method", "method": method}}})  # fmt: skip
        Gateway(config, env={})
    assert message in str(info.value)


def test_a_method_service_with_an_upstream_is_refused(demo_root):
    with pytest.raises(ConfigError, match="a method service answers itself"):
        load_gateway_config({"gateway": {"db_root": str(demo_root)},
                             "services": {"m": {"type": "method", "method": {"preset": "retrieval"},
                                                "upstream": {"base_url": "http://x/v1", "model": "m"}}}})  # fmt: skip


def test_the_health_of_a_method_service(running):
    status, _, body = running.raw("GET", "/health")
    assert status == 200 and json.loads(body)["services"]["din"] == {"type": "method",
                                                                     "databases": {}, "ready": True}  # fmt: skip
