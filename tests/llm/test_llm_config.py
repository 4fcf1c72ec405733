"""LLMConfig: sources and their precedence (file < environment < flags), validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlfoundry.core.errors import ConfigError, MissingDependencyError
from sqlfoundry.llm import CLI_FLAGS, LLMConfig, Price
from sqlfoundry.llm.client import LLMClient

FILE = {
    "base_url": "http://file-host:8000/v1",
    "model": "file-model",
    "api_key_env": "FILE_KEY",
    "temperature": 0.7,
    "max_concurrency": 32,
}
ENV = {
    "OPENAI_BASE_URL": "http://env-host:8000/v1",
    "SQLFOUNDRY_LLM_MODEL": "env-model",
    "OPENAI_API_KEY": "sk-env",
}
FLAGS = {"base_url": "http://flag-host:8000/v1", "model": None, "api_key_env": "FLAG_KEY"}


def test_file_alone():
    config = LLMConfig.from_sources(FILE, env={})
    assert (config.base_url, config.model, config.api_key_env) == (
        "http://file-host:8000/v1",
        "file-model",
        "FILE_KEY",
    )
    assert config.temperature == 0.7 and config.max_concurrency == 32


def test_environment_beats_the_file():
    config = LLMConfig.from_sources(FILE, env=ENV)
    assert config.base_url == "http://env-host:8000/v1" and config.model == "env-model"
    assert config.temperature == 0.7  # what the environment does not set stays from the file


def test_flags_beat_the_environment_and_none_flags_are_ignored():
    config = LLMConfig.from_sources(FILE, env=ENV, overrides=FLAGS)
    assert config.base_url == "http://flag-host:8000/v1"
    assert config.model == "env-model"  # --llm-model not given: the environment still counts
    assert config.api_key_env == "FLAG_KEY"


def test_empty_environment_values_are_ignored():
    config = LLMConfig.from_sources(FILE, env={"OPENAI_BASE_URL": "", "SQLFOUNDRY_LLM_MODEL": ""})
    assert config.base_url == FILE["base_url"] and config.model == FILE["model"]


def test_cli_flags_map_to_fields():
    assert set(CLI_FLAGS.values()) <= set(LLMConfig.model_fields)
    assert CLI_FLAGS["--llm-base-url"] == "base_url" and CLI_FLAGS["--cache-dir"] == "cache_dir"


def test_api_key_comes_from_the_named_variable_only():
    config = LLMConfig.from_sources({"api_key_env": "MY_KEY"}, env={})
    assert config.api_key({"MY_KEY": "sk-1", "OPENAI_API_KEY": "sk-2"}) == "sk-1"
    assert LLMConfig().api_key({"OPENAI_API_KEY": "sk-2"}) == "sk-2"
    assert LLMConfig().api_key({}) is None


def test_no_secret_in_the_public_dict():
    config = LLMConfig.from_sources(FILE, env=ENV)
    assert "sk-env" not in str(config.public_dict())
    assert config.public_dict()["api_key_env"] == "FILE_KEY"


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="temprature: unknown key") as info:
        LLMConfig.from_sources({"temprature": 0.5}, env={}, source="run.toml")
    assert info.value.file == "run.toml"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"base_url": "localhost:8000"}, "not an http"),
        ({"temperature": 3}, "temperature"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"cache": "sometimes"}, "cache"),
        ({"transport": "grpc"}, "transport"),
        ({"prices": {"m": {"input": -1, "output": 1}}}, "prices.m.input"),
    ],
)
def test_bad_values(section, message):
    with pytest.raises(ConfigError, match=message):
        LLMConfig.from_sources(section, env={})


def test_base_url_is_normalised():
    assert LLMConfig(base_url=" http://h:1/v1/ ").base_url == "http://h:1/v1"
    assert LLMConfig(base_url="").base_url is None


def test_prices_from_a_file_section():
    config = LLMConfig.from_sources(
        {"prices": {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}}, env={}
    )
    assert config.prices["gpt-4o-mini"] == Price(input=0.15, output=0.6)


def test_unconfigured_endpoint_says_how_to_configure():
    assert not LLMConfig().is_configured
    with pytest.raises(ConfigError, match="base_url and model not set") as info:
        LLMClient(LLMConfig(), env={})
    assert "--llm-base-url or OPENAI_BASE_URL" in str(info.value)
    with pytest.raises(ConfigError, match="model not set"):
        LLMConfig(base_url="http://h/v1").require_endpoint()


def test_cache_dir_precedence(tmp_path):
    assert LLMConfig(cache_dir=tmp_path / "a").resolved_cache_dir({}) == tmp_path / "a"
    env = {"SQLFOUNDRY_CACHE_DIR": str(tmp_path / "b")}
    assert LLMConfig().resolved_cache_dir(env) == tmp_path / "b"
    assert LLMConfig(cache_dir=tmp_path / "a").resolved_cache_dir(env) == tmp_path / "a"
    default = LLMConfig().resolved_cache_dir({})
    assert default.name == "sqlfoundry" and "cache" in str(default).lower()
    # --cache-dir as a flag beats the environment through from_sources as well
    flagged = LLMConfig.from_sources({}, env=env, overrides={"cache_dir": str(tmp_path / "c")})
    assert flagged.resolved_cache_dir(env) == Path(tmp_path / "c")


def test_missing_openai_gives_the_install_hint(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)
    config = LLMConfig(base_url="http://h/v1", model="m", transport="openai", cache="off")
    with pytest.raises(MissingDependencyError, match=r"pip install 'sqlfoundry\[llm\]'"):
        LLMClient(config, env={})


def test_auto_transport_falls_back_to_the_sdk(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "aiohttp", None)
    config = LLMConfig(base_url="http://h/v1", model="m", cache="off")
    assert LLMClient(config, env={}).transport.name == "openai"
