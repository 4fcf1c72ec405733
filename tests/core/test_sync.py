"""run_sync: a coroutine run from synchronous code, on uvloop's loop where it is
installed, asyncio's when told so, and from inside a running loop too."""

from __future__ import annotations

import asyncio

import pytest

from sqlfoundry.core.sync import loop_factory, run_sync

uvloop = pytest.importorskip("uvloop", reason="uvloop is in the llm and serve extras")


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_the_coroutine_runs_on_uvloop(monkeypatch):
    monkeypatch.delenv("SQLFOUNDRY_EVENT_LOOP", raising=False)
    assert loop_factory() is uvloop.new_event_loop
    assert run_sync(_loop_module).startswith("uvloop")


def test_asyncio_loop_when_asked(monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_EVENT_LOOP", "asyncio")
    assert loop_factory() is None
    assert run_sync(_loop_module).startswith("asyncio")


def test_inside_a_running_loop_it_runs_on_a_thread_and_errors_come_back(monkeypatch):
    monkeypatch.delenv("SQLFOUNDRY_EVENT_LOOP", raising=False)

    async def fails() -> None:
        raise ValueError("bad input: shop.sqlite")

    async def caller() -> str:
        with pytest.raises(ValueError, match="bad input: shop.sqlite"):
            run_sync(fails)
        return run_sync(_loop_module)

    assert asyncio.run(caller()).startswith("uvloop")
