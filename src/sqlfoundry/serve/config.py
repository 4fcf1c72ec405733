"""The gateway's config: a ``[gateway]`` table and one ``[services.NAME]`` table per service.

Everything is checked when the config is loaded, before the server binds a
port: unknown keys, a service without an upstream, a template file that does
not exist or uses a variable the gateway cannot fill. Relative paths are taken
from the config file's folder, so a config works from any working directory.

Secrets never sit in the config: the upstream key is read from the environment
variable ``api_key_env`` names, and the gateway's own client keys come from the
variables in ``api_keys_env`` (``api_keys`` holds literal keys for quick mode and
tests; they are ``SecretStr`` so no repr or log shows them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.sql.parse import sqlglot_dialect

ServiceType = Literal["base", "seq2seq", "openai", "local", "method"]
SchemaFormat = Literal["ddl", "compact", "codex"]

# Service names appear in URLs (/nl2sql/{service}/v1/...) and as OpenAI model ids.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")

# Request parameters passed on to the upstream when the client sets them.
SAMPLING_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "user",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dialect(value: str | None) -> str | None:
    """A dialect name in sqlfoundry's spelling (``postgres``, ``mysql``, ...)."""
    if value is None:
        return None
    try:
        return {"mariadb": "mysql", "postgresql": "postgres"}.get(
            value.strip().lower(), sqlglot_dialect(value)
        )
    except ConfigError as err:
        raise ValueError(f"{err.message} ({err.hint})") from None


class UpstreamConfig(_Strict):
    """The OpenAI-compatible endpoint a service sends its prompts to."""

    base_url: str
    model: str
    # The environment variable holding the key; "" (or None) sends no Authorization header.
    api_key_env: str | None = "OPENAI_API_KEY"
    # "completions" sends the prompt as text to /completions (base models without a chat template).
    api: Literal["chat", "completions"] = "chat"
    timeout: float = Field(
        60.0, gt=0, description="seconds for a whole answer; between chunks when streaming"
    )
    connect_timeout: float = Field(5.0, gt=0)
    # Sampling defaults sent with every request; the client's own values win.
    params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0.0})
    # Ask the upstream for a final usage chunk when streaming (some servers refuse stream_options).
    stream_usage: bool = True

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "messages", "prompt", "stream", "stream_options"} & set(value)
        if reserved:
            raise ValueError(f"{', '.join(sorted(reserved))} cannot be set in params")
        return value


class LinkingConfig(_Strict):
    """Schema linking: keep at most ``max_tables`` tables and ``max_columns`` columns in all."""

    max_tables: int | None = Field(None, ge=1)
    max_columns: int | None = Field(None, ge=1)

    @property
    def enabled(self) -> bool:
        """Whether schema linking cuts anything (a table or column limit is set)."""
        return self.max_tables is not None or self.max_columns is not None


class PostprocessConfig(_Strict):
    """What happens to the model's answer before the client sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    extract_sql: bool = True
    # Check the SQL parses in the service's dialect and names only tables/columns of the schema.
    validate_sql: bool = Field(True, alias="validate")
    transpile_to: str | None = None
    # Run the SQL read-only against the request's database and append the first rows.
    execute: bool = False
    preview_rows: int = Field(5, ge=1, le=1000)
    execute_timeout: float = Field(5.0, gt=0)
    # "sql": the reply is the final SQL (plus notes); "text": the model's text, notes appended.
    reply: Literal["sql", "text"] = "sql"

    @field_validator("transpile_to")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return _dialect(value)


class LocalConfig(_Strict):
    """Settings of sqlfoundry's offline retrieval method (``type = "local"``)."""

    cache_dir: Path | None = None
    num_per_db: int = Field(300, ge=1)
    seed: int = 0
    # "startup": build every listed database's index in the background at start;
    # "lazy": on the first request for it. Requests wait for their database either way.
    prepare: Literal["startup", "lazy"] = "startup"


class MethodConfig(_Strict):
    """What a ``method`` service runs per request: a method preset, or one task of a run config.

    ``preset`` (``din_sql``, ``mac_sql``, ``chess``, ``retrieval``...) with its ``params``;
    or ``config`` (a ``sqlfoundry run`` config file) and ``task`` (one of its task ids, a
    complex one included). ``llm`` is the ``[llm]`` table the method's stages call (the
    config file's ``[llm]`` when ``config`` is given and this is empty).
    """

    preset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    config: Path | None = None
    task: str | None = None
    llm: dict[str, Any] = Field(default_factory=dict)
    workers: int = Field(1, ge=0, description="SQL worker processes of the method's executor")
    timeout: float = Field(30.0, gt=0, description="seconds per query the method runs")

    @model_validator(mode="after")
    def _one_method(self) -> MethodConfig:
        if (self.preset is None) == (self.config is None):
            raise ValueError("give either preset (with params) or config and task")
        if self.config is not None and not self.task:
            raise ValueError("config needs task: the id of the task to run")
        return self


class ServiceConfig(_Strict):
    """One service: pre-processing, a model, post-processing."""

    type: ServiceType
    description: str = ""
    # openai: "v1" (Codex-style table lines) or "v2" (instruction, DDL, question, "SQL:").
    version: Literal["v1", "v2"] = "v2"
    # A template file of your own (sqlfoundry.llm.templates format) instead of the built-in one.
    template: Path | None = None
    schema_format: SchemaFormat | None = None
    dialect: str = "sqlite"
    ddl_dialect: Literal["auto", "mysql", "postgres", "sqlite"] = "auto"
    db_id: str | None = None
    databases: list[str] | None = None
    examples: int = Field(3, ge=0, le=20, description="sample values per column in DDL prompts")
    api_keys_env: list[str] = Field(default_factory=list)
    api_keys: list[SecretStr] = Field(default_factory=list)
    upstream: UpstreamConfig | None = None
    linking: LinkingConfig = Field(default_factory=LinkingConfig)
    postprocess: PostprocessConfig = Field(default_factory=PostprocessConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    method: MethodConfig | None = None

    @field_validator("dialect")
    @classmethod
    def _source(cls, value: str) -> str:
        return _dialect(value) or "sqlite"

    @model_validator(mode="after")
    def _consistent(self) -> ServiceConfig:
        if self.type in ("local", "method") and self.upstream is not None:
            raise ValueError(f"a {self.type} service answers itself; remove its [upstream] table")
        if (self.type == "method") != (self.method is not None):
            raise ValueError("a method service needs a [method] table, and only it has one")
        if self.type not in ("local", "method") and self.upstream is None:
            raise ValueError(f"a {self.type} service needs an [upstream] table (base_url, model)")
        if self.db_id and self.databases is not None and self.db_id not in self.databases:
            raise ValueError(f"db_id {self.db_id!r} is not among databases")
        return self


class RateLimitConfig(_Strict):
    """A token bucket per API key (per client address when no keys are configured)."""

    requests_per_minute: float = Field(gt=0)
    burst: int | None = Field(None, ge=1, description="default: one second's worth, at least 1")

    @property
    def capacity(self) -> float:
        """The bucket size: ``burst``, or one second's worth of requests (at least 1)."""
        return float(self.burst or max(1, round(self.requests_per_minute / 60)))


class GatewaySettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # Gateway processes sharing the port (uvicorn's workers); keys and rate limits hold
    # across them (see sqlfoundry.serve.workers).
    workers: int = Field(1, ge=1, le=64)
    api_keys_env: list[str] = Field(default_factory=list)
    api_keys: list[SecretStr] = Field(default_factory=list)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    rate_limit: RateLimitConfig | None = None
    cors_origins: list[str] = Field(default_factory=list)
    db_root: Path | None = None
    db_server: str | None = None
    db_password_env: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    access_log: bool = False
    # Total kept-alive connections to all upstreams.
    upstream_connections: int = Field(256, ge=1)
    # Move start-up objects out of the garbage collector's sight (gc.freeze): full
    # collections then take ~1 ms instead of ~80 ms, the gateway's p99 otherwise.
    gc_freeze: bool = True


class GatewayConfig(_Strict):
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    services: dict[str, ServiceConfig]

    @field_validator("services")
    @classmethod
    def _names(cls, value: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        if not value:
            raise ValueError("configure at least one [services.NAME] table")
        for name in value:
            if not _NAME.match(name):
                raise ValueError(
                    f"service name {name!r} must be letters, digits, '.', '_', ':' or '-'"
                )
        return value

    @model_validator(mode="after")
    def _databases_reachable(self) -> GatewayConfig:
        has_dbs = self.gateway.db_root is not None or self.gateway.db_server is not None
        for name, service in self.services.items():
            wants = (service.type in ("local", "method") or service.db_id
                     or service.postprocess.execute)  # fmt: skip
            if wants and not has_dbs:
                raise ValueError(
                    f"service {name!r} needs databases: set db_root (or db_server) in [gateway]"
                )
        return self


def load_gateway_config(
    data: Mapping[str, Any], *, base_dir: Path | None = None, source: str | None = None
) -> GatewayConfig:
    """Validate a parsed config file into a GatewayConfig.

    Args:
        data: the parsed TOML/YAML/JSON document.
        base_dir: the folder relative paths are taken from (the config file's folder).
        source: the file name, for error messages.

    Raises:
        ConfigError: unknown keys, bad values or missing files, naming the key.
    """
    try:
        config = GatewayConfig.model_validate(dict(data))
    except ValidationError as err:
        raise ConfigError("invalid gateway config: " + _describe(err), file=source) from None
    if base_dir is not None:
        config = _resolve_paths(config, base_dir)
    for name, service in config.services.items():
        if service.template is not None and not service.template.is_file():
            raise ConfigError(
                f"service {name!r}: template file {service.template} not found", file=source
            )
        if service.method and service.method.config and not service.method.config.is_file():
            raise ConfigError(
                f"service {name!r}: run config {service.method.config} not found", file=source
            )
    root = config.gateway.db_root
    if root is not None and not root.is_dir():
        raise ConfigError(f"db_root {root} is not a folder", file=source)
    return config


def _resolve_paths(config: GatewayConfig, base: Path) -> GatewayConfig:
    def resolve(path: Path | None) -> Path | None:
        if path is None or path.is_absolute():
            return path
        return base / path

    gateway = config.gateway.model_copy(update={"db_root": resolve(config.gateway.db_root)})
    services = {}
    for name, s in config.services.items():
        local = s.local.model_copy(update={"cache_dir": resolve(s.local.cache_dir)})
        method = (
            s.method.model_copy(update={"config": resolve(s.method.config)}) if s.method else None
        )
        services[name] = s.model_copy(
            update={"template": resolve(s.template), "local": local, "method": method}
        )
    return config.model_copy(update={"gateway": gateway, "services": services})


def read_keys(
    literal: list[SecretStr], env_names: list[str], env: Mapping[str, str] | None = None
) -> list[str]:
    """The client keys of one scope: literal ones plus each variable's comma-separated keys.

    Raises:
        ConfigError: a named variable is not set (a gateway meant to be locked would be open).
    """
    env = os.environ if env is None else env
    keys = [k.get_secret_value() for k in literal if k.get_secret_value()]
    for name in env_names:
        value = env.get(name)
        if not value:
            raise ConfigError(
                f"environment variable {name} is not set",
                hint="it should hold the gateway's API key(s), comma-separated",
            )
        keys.extend(k.strip() for k in value.split(",") if k.strip())
    return keys


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(top)"
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)
