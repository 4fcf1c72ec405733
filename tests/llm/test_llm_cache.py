"""The response cache: re-runs make zero HTTP calls, per-sample entries, modes, many writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from llm_testing import run, user

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.llm import LLMClient, LLMConfig, LLMRequest, ResponseCache, request_key, run_batch


def prompts(count: int) -> list[LLMRequest]:
    return [LLMRequest(user(f"question {i}"), n=2) for i in range(count)]


async def batch(config, requests, out_dir: Path):
    """One 'run': its own output folder, a fresh client, the shared cache folder."""
    out_dir.mkdir(parents=True)
    async with LLMClient(config, env={}) as client:
        items = await run_batch(client, requests)
        (out_dir / "out.txt").write_text("\n".join(g.text for i in items for g in i.generations))
        return items, client.usage


def test_rerun_into_a_fresh_folder_makes_zero_http_calls(fake, make_config, tmp_path):
    config = make_config()
    first, _ = run(batch(config, prompts(20), tmp_path / "run1"))
    calls = fake.count()
    assert fake.chat_count == 20 and calls == 21  # + one GET /models preflight

    second, usage = run(batch(config, prompts(20), tmp_path / "run2"))
    assert fake.count() == calls  # not even the preflight
    assert all(item.cached for item in second)
    assert [g.text for i in second for g in i.generations] == [
        g.text for i in first for g in i.generations
    ]
    assert usage.total.cache_hits == 40 and usage.total.calls == 0
    assert (tmp_path / "run2" / "out.txt").read_text() == (
        tmp_path / "run1" / "out.txt"
    ).read_text()


def test_samples_are_cached_one_by_one(fake, make_config):
    config = make_config()

    async def go():
        async with LLMClient(config, env={}) as client:
            two = await client.generate(user("q"), n=2, temperature=0.8)
            five = await client.generate(user("q"), n=5, temperature=0.8)
            return two, five

    two, five = run(go())
    # The first two samples come from the cache; one request asks for the other three.
    assert [g.cached for g in five] == [True, True, False, False, False]
    assert [g.text for g in five[:2]] == [g.text for g in two]
    assert fake.chat_count == 2 and fake.requests[-1].body["n"] == 3
    assert [g.index for g in five] == [0, 1, 2, 3, 4]


def test_different_parameters_are_different_entries(fake, make_config):
    config = make_config()

    async def go():
        async with LLMClient(config, env={}) as client:
            await client.generate(user("q"), temperature=0.0)
            await client.generate(user("q"), temperature=0.5)
            await client.generate(user("q"), temperature=0.5, extra_body={"top_k": 5})
            await client.generate(user("q"), temperature=0.5, logprobs=True)
            await client.generate(user("q"), temperature=0.0)  # the only hit

    run(go())
    assert fake.chat_count == 4


def test_use_cache_false_always_asks(fake, make_config):
    async def go():
        async with LLMClient(make_config(), env={}) as client:
            await client.generate(user("q"))
            await client.generate(user("q"), use_cache=False)

    run(go())
    assert fake.chat_count == 2


def test_read_only_mode_reads_but_never_writes(fake, make_config):
    run(batch(make_config(), prompts(2), Path(make_config().cache_dir) / "o1"))
    before = len(ResponseCache(make_config().cache_dir))
    readonly = make_config(cache="read-only")
    items, usage = run(batch(readonly, prompts(4), Path(readonly.cache_dir) / "o2"))
    assert usage.total.cache_hits == 4 and usage.total.calls == 2
    assert len(ResponseCache(readonly.cache_dir)) == before


def test_read_only_mode_without_a_cache_file(fake, make_config, tmp_path):
    config = make_config(cache="read-only", cache_dir=tmp_path / "nothing-here")
    items, usage = run(batch(config, prompts(2), tmp_path / "o"))
    assert all(item.ok for item in items) and usage.total.calls == 2
    assert not (tmp_path / "nothing-here").exists()


def test_off_mode_neither_reads_nor_writes(fake, make_config, tmp_path):
    config = make_config(cache="off", cache_dir=tmp_path / "c")
    run(batch(config, prompts(2), tmp_path / "o1"))
    run(batch(config, prompts(2), tmp_path / "o2"))
    assert fake.chat_count == 4 and not (tmp_path / "c").exists()


def test_cache_dir_from_environment(fake, tmp_path):
    config = LLMConfig.from_sources(
        {"model": "fake-model"},
        env={"OPENAI_BASE_URL": fake.base_url, "SQLFOUNDRY_CACHE_DIR": str(tmp_path / "shared")},
    )

    async def go():
        async with LLMClient(config, env={}) as client:
            await client.generate(user("q"))

    run(go())
    assert (tmp_path / "shared" / "llm_responses.sqlite3").is_file()


def test_request_key_ignores_key_order():
    a = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0.0}
    b = {"temperature": 0.0, "messages": [{"content": "x", "role": "user"}], "model": "m"}
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key({**a, "temperature": 0.1})


def test_unwritable_cache_dir_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot open the LLM cache"):
        ResponseCache(blocker / "cache")


def _writer(folder: str, worker: int) -> None:
    cache = ResponseCache(folder)
    for i in range(200):
        cache.put(f"key-{worker}-{i}", {0: {"text": f"w{worker} {i}"}, 1: {"text": "second"}})
        cache.put("shared-key", {worker: {"text": f"from {worker}"}})
    cache.close()


def test_concurrent_writers_in_several_processes(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    cache = ResponseCache(tmp_path)
    assert len(cache) == 4 * 200 * 2 + 4
    assert cache.get("key-3-199", [0, 1]) == {0: {"text": "w3 199"}, 1: {"text": "second"}}
    assert set(cache.get("shared-key", range(4))) == {0, 1, 2, 3}
