"""``sqlfoundry llm-check``: is the endpoint reachable, the key accepted, the model served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sqlfoundry.cli.common import (
    CacheDir,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    emit,
    err,
    fail,
    llm_config,
    load_config_file,
    out,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError


def llm_check(
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file with an \\[llm] section.")
    ] = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    prompt: Annotated[
        str | None, typer.Option(help="Also send this prompt and print the answer and its usage.")
    ] = None,
) -> None:
    """Check the LLM endpoint: reachable, key accepted, model served (config file < env < flags)."""
    import asyncio

    from sqlfoundry.llm import LLMClient
    from sqlfoundry.llm.usage import print_usage

    try:
        cfg = llm_config(load_config_file(config), llm_base_url, llm_model, llm_api_key_env,
                         cache_dir, config)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)

    result: dict = {"base_url": cfg.base_url, "model": cfg.model, "models_listed": None,
                     "answer": None, "usage": None}  # fmt: skip

    async def check() -> None:
        client = LLMClient(cfg)
        try:
            info = await client.preflight()
            listed = info.get("models")
            result["models_listed"] = len(listed) if listed else None
            out.print(f"[bold green]ok[/]: {escape(cfg.base_url or '')} serves {escape(cfg.model or '')}"
                      + (f" ({len(listed)} models listed)" if listed else ""), soft_wrap=True)  # fmt: skip
            if prompt:
                gens = await client.generate(
                    [{"role": "user", "content": prompt}], operator="llm-check"
                )
                result.update(answer=gens[0].text, usage=client.usage.to_dict())
                out.print(escape(gens[0].text), highlight=False, soft_wrap=True)
                print_usage(client.usage, console=err)
        finally:
            await client.aclose()

    try:
        asyncio.run(check())
    except SqlfoundryError as error:
        fail(error)
    emit("llm-check", {"ok": True, **result})
