"""LLMConfig: which endpoint and model, how to sample, how hard to push the server.

One config object comes from three sources, later ones winning:

1. the ``[llm]`` section of a config file;
2. the environment: ``OPENAI_BASE_URL``, ``SQLFOUNDRY_LLM_MODEL``, ``SQLFOUNDRY_CACHE_DIR``;
3. explicit overrides, i.e. the CLI flags (see ``CLI_FLAGS``).

So an exported ``OPENAI_BASE_URL`` beats the file, and ``--llm-base-url`` beats
both. The API key itself is never stored in the config or a file: ``api_key_env``
names the environment variable that holds it (``OPENAI_API_KEY`` by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sqlfoundry.core.errors import ConfigError

ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
ENV_MODEL = "SQLFOUNDRY_LLM_MODEL"
ENV_CACHE_DIR = "SQLFOUNDRY_CACHE_DIR"

# Environment variable -> config field. OPENAI_API_KEY is not here: it is read
# through ``api_key_env`` when the client is built, never copied into the config.
ENV_FIELDS: dict[str, str] = {
    ENV_BASE_URL: "base_url",
    ENV_MODEL: "model",
    ENV_CACHE_DIR: "cache_dir",
}

# CLI flag -> config field, for the CLI to pass as ``overrides``.
CLI_FLAGS: dict[str, str] = {
    "--llm-base-url": "base_url",
    "--llm-model": "model",
    "--llm-api-key-env": "api_key_env",
    "--cache-dir": "cache_dir",
}

CacheMode = Literal["on", "read-only", "off"]
TransportKind = Literal["auto", "aiohttp", "openai"]


class Price(BaseModel):
    """What a model costs, in USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class LLMConfig(BaseModel):
    """Everything the LLM layer needs to know about one endpoint.

    ``base_url`` and ``model`` left unset mean "no LLM": the offline engine runs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    model: str | None = None
    api_key_env: str = ENV_API_KEY

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(2048, ge=1)
    timeout: float = Field(120.0, gt=0.0, description="seconds per HTTP attempt")

    max_concurrency: int = Field(16, ge=1, le=4096)
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    transport: TransportKind = "auto"

    max_retries: int = Field(6, ge=0, le=50)
    retry_base_delay: float = Field(0.5, ge=0.0)
    retry_max_delay: float = Field(60.0, ge=0.0)

    embedding_model: str | None = None
    cache_dir: Path | None = None
    cache: CacheMode = "on"
    prices: dict[str, Price] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{value!r} is not an http(s) URL; expected e.g. http://127.0.0.1:8000/v1"
            )
        return value

    @field_validator("model", "embedding_model", "api_key_env")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_sources(
        cls,
        file_section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
    ) -> LLMConfig:
        """Merge file < environment < overrides into one validated config.

        Args:
            file_section: the ``[llm]`` table of a config file, as parsed.
            env: the environment; ``os.environ`` when None. Empty values are ignored.
            overrides: field name -> value, e.g. from CLI flags; None values are ignored.
            source: the config file's name, for error messages.

        Raises:
            ConfigError: unknown keys or invalid values, naming the key.
        """
        env = os.environ if env is None else env
        merged: dict[str, Any] = dict(file_section or {})
        for var, field in ENV_FIELDS.items():
            value = env.get(var)
            if value:
                merged[field] = value
        for key, value in (overrides or {}).items():
            if value is not None:
                merged[key] = value
        try:
            return cls(**merged)
        except ValidationError as err:
            raise ConfigError(
                "invalid [llm] settings: " + _describe(err),
                file=source,
                hint="see LLMConfig for the accepted keys",
            ) from None

    # ------------------------------------------------------------------ queries

    @property
    def is_configured(self) -> bool:
        """True when an endpoint and a model are set, i.e. the LLM engine can run."""
        return bool(self.base_url and self.model)

    def require_endpoint(self) -> None:
        """Raise ConfigError unless base_url and model are both set."""
        how = {
            "base_url": f"--llm-base-url or {ENV_BASE_URL}",
            "model": f"--llm-model or {ENV_MODEL}",
        }
        missing = [name for name in how if not getattr(self, name)]
        if missing:
            raise ConfigError(
                "no LLM endpoint configured: " + " and ".join(missing) + " not set",
                hint="set " + "; ".join(how[m] for m in missing) + ", or [llm] in the config file",
            )

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The key from the environment variable named by ``api_key_env``, if set."""
        env = os.environ if env is None else env
        return env.get(self.api_key_env) or None

    def resolved_cache_dir(self, env: Mapping[str, str] | None = None) -> Path:
        """``cache_dir``, else ``$SQLFOUNDRY_CACHE_DIR``, else the user's cache folder."""
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        env = os.environ if env is None else env
        if env.get(ENV_CACHE_DIR):
            return Path(env[ENV_CACHE_DIR]).expanduser()
        import platformdirs

        return Path(platformdirs.user_cache_dir("sqlfoundry", appauthor=False))

    def public_dict(self) -> dict[str, Any]:
        """The config for run metadata: JSON-ready, and with no secret in it."""
        return self.model_dump(mode="json")


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(section)"
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
