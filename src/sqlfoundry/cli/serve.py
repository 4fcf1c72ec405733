"""``sqlfoundry serve``: run the NL2SQL gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sqlfoundry.cli.common import (
    LogLevel,
    QuietFlag,
    ServiceType,
    check_outputs,
    choice,
    err,
    fail,
    load_config_file,
    set_mode,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError

QUICK_SERVICE = "nl2sql"


def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Gateway TOML/YAML/JSON: \\[gateway] and \\[services.NAME]."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default 8000).")] = None,
    upstream_url: Annotated[
        str | None,
        typer.Option("--upstream-url", help="Quick mode: the model's OpenAI-compatible base URL."),
    ] = None,
    upstream_model: Annotated[
        str | None, typer.Option("--upstream-model", help="Quick mode: the model name it serves.")
    ] = None,
    upstream_key_env: Annotated[
        str | None,
        typer.Option("--upstream-key-env", help="Quick mode: variable holding the upstream key."),
    ] = None,
    service_type: Annotated[
        ServiceType | None,
        typer.Option(
            "--type",
            help="Quick mode: openai (default with an upstream), base, "
            "seq2seq, or local (default without one).",
        ),
    ] = None,  # fmt: skip
    db_id: Annotated[
        str | None, typer.Option("--db-id", help="Quick mode: the database questions are about.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="SQLFOUNDRY_GATEWAY_API_KEY",
            help="A key clients must send (Bearer); prefer the environment variable.",
        ),
    ] = None,  # fmt: skip
    db_root: Annotated[
        Path | None,
        typer.Option(
            "--db-root",
            envvar="SQLFOUNDRY_DB_ROOT",
            help="Folder of SQLite databases (db_id = file stem).",
        ),
    ] = None,  # fmt: skip
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Quick mode: serve with no API key (anyone who can reach the port may ask).",
        ),
    ] = False,
    log_level: Annotated[
        LogLevel | None, typer.Option("--log-level", help="Server log level (default warning).")
    ] = None,
    quiet: QuietFlag = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Gateway processes on the port (default 1); keys and per-key rate "
            "limits hold across them.",
        ),
    ] = None,  # fmt: skip
) -> None:
    """Serve NL2SQL behind an OpenAI-compatible API (each service is a model).

    With --config, the services come from the file. Without it (quick mode), one
    service named "nl2sql" calls --upstream-url/--upstream-model, or answers with
    sqlfoundry's offline method over --db-root when no upstream is given.
    """
    from sqlfoundry.core.extras import missing_extra

    set_mode(quiet=quiet)
    try:
        import uvicorn  # noqa: F401 - checked here, used by run_server

        from sqlfoundry.serve.app import create_app, run_server
        from sqlfoundry.serve.config import load_gateway_config
    except ImportError as error:
        if (error.name or "").startswith("sqlfoundry"):
            raise
        fail(missing_extra("sqlfoundry serve", "serve", error.name or "fastapi"))
    service_type_name, log_level_name = choice(service_type), choice(log_level)
    quick = (upstream_url, upstream_model, upstream_key_env, service_type_name, db_id)
    if config is not None and any(v is not None for v in quick):
        fail(
            "give either --config FILE or the quick-mode flags (--upstream-url, --type, ...), not both"
        )
    if api_key is not None and not api_key.strip():
        # `--api-key "$MY_KEY"` with MY_KEY unset: the user meant a locked gateway.
        fail(
            "--api-key is empty (an unset variable?); give the key, or --no-auth for an open gateway"
        )
    if api_key and no_auth:
        fail("give either --api-key or --no-auth, not both")
    try:
        if config is not None:
            data = load_config_file(config)
            base = config.resolve().parent
        else:
            data = _quick_config(upstream_url, upstream_model, upstream_key_env, service_type_name,
                                 db_id, db_root)  # fmt: skip
            if not api_key and not no_auth:
                fail(
                    "quick mode needs a client key: --api-key KEY (or SQLFOUNDRY_GATEWAY_API_KEY), "
                    "or --no-auth to serve anyone who can reach the port"
                )
            base = Path.cwd()
        gateway = dict(data.get("gateway") or {})
        overrides = {"host": host, "port": port, "log_level": log_level_name, "workers": workers}
        gateway.update({k: v for k, v in overrides.items() if v is not None})
        if db_root is not None:
            gateway["db_root"] = str(db_root.resolve())
        if api_key:
            gateway["api_keys"] = [*gateway.get("api_keys", []), api_key]
        data = {**data, "gateway": gateway}
        settings = load_gateway_config(data, base_dir=base, source=str(config) if config else None)
        _check_caches(settings)
        application = create_app(settings)
    except SqlfoundryError as error:
        fail(error)
        return
    _announce(settings)
    gw = settings.gateway
    if gw.workers > 1:
        from sqlfoundry.serve.workers import serve_workers

        del application  # each worker builds its own (checked above)
        serve_workers(data, base_dir=base, source=str(config) if config else None, host=gw.host,
                      port=gw.port, workers=gw.workers, log_level=gw.log_level,
                      access_log=gw.access_log)  # fmt: skip
        return
    run_server(application, host=gw.host, port=gw.port, log_level=gw.log_level,
               access_log=gw.access_log)  # fmt: skip


def _check_caches(settings: Any) -> None:
    """A local service's cache folder, when the config names one, must be writable before
    the gateway starts (the default one is best effort: an unwritable cache costs the next
    start, not this one)."""
    folders = {f"services.{name}.local.cache_dir": service.local.cache_dir
               for name, service in settings.services.items()
               if service.type == "local" and service.local.cache_dir is not None}  # fmt: skip
    check_outputs(folders=folders)


def _quick_config(url: str | None, model: str | None, key_env: str | None, kind: str | None,
                  db_id: str | None, db_root: Path | None) -> dict[str, Any]:  # fmt: skip
    kind = kind or ("openai" if url or model else "local")
    service: dict[str, Any] = {"type": kind}
    if kind == "local":
        if url or model:
            fail("a local service answers itself: drop --upstream-url/--upstream-model")
        if db_root is None:
            fail(
                "quick mode needs --upstream-url and --upstream-model, or --db-root for a local service"
            )
    else:
        if not url or not model:
            fail("quick mode needs --upstream-url URL and --upstream-model NAME (or --config FILE)")
        upstream: dict[str, Any] = {"base_url": url, "model": model}
        if key_env:
            upstream["api_key_env"] = key_env
        service["upstream"] = upstream
    if db_id:
        service["db_id"] = db_id
    return {"gateway": {}, "services": {QUICK_SERVICE: service}}


def _announce(settings: Any) -> None:
    gateway = settings.gateway
    base = f"http://{gateway.host}:{gateway.port}"
    err.print(f"[bold]sqlfoundry gateway[/] on {escape(base)}  (OpenAI base_url: {escape(base)}/v1)",
              highlight=False, soft_wrap=True)  # fmt: skip
    for name, service in settings.services.items():
        if service.type == "local":
            what = "sqlfoundry's offline method; indexes build in the background (see /health)"
        elif service.upstream is None:  # a method service: its stages call their own model
            method = service.method
            what = (f"method preset {method.preset}" if getattr(method, "preset", None)
                    else f"task {method.task} of {method.config}")  # fmt: skip
        else:
            up = service.upstream
            version = f" {service.version}" if service.type == "openai" else ""
            what = f"{service.type}{version} prompt -> {up.model} at {up.base_url}"
        err.print(
            f"  model [bold]{escape(name)}[/]: {escape(what)}", highlight=False, soft_wrap=True
        )
    keyed = bool(gateway.api_keys or gateway.api_keys_env) or any(
        s.api_keys or s.api_keys_env for s in settings.services.values()
    )
    if gateway.workers > 1:
        err.print(f"  {gateway.workers} worker processes (keys and rate limits shared)",
                  highlight=False, soft_wrap=True)  # fmt: skip
    err.print(f"  API keys: {'required' if keyed else 'none (open to anyone who can reach the port)'}"
              f" · docs: {escape(base)}/docs · Ctrl-C stops", highlight=False, soft_wrap=True)  # fmt: skip
