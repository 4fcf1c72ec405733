"""SQLFeed: queries handed in while requests are out, each distinct one run once."""

from __future__ import annotations

import asyncio

import pytest

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.synth.sql_feed import SQLFeed


def test_each_distinct_query_runs_once_and_results_follow_the_jobs(demo_ctx):
    count = ("SELECT COUNT(*) FROM books", "bookshop")
    genres = ("SELECT DISTINCT genre FROM books ORDER BY genre LIMIT 2", "bookshop")
    broken = ("SELECT nope FROM books", "bookshop")
    expected = [r.rows for r in demo_ctx.executor.run([count, genres])]
    ran: list[list[tuple[str, str]]] = []
    run_jobs = demo_ctx.executor.run
    demo_ctx.executor.run = lambda jobs: ran.append(list(jobs)) or run_jobs(jobs)

    async def go():
        feed = SQLFeed(demo_ctx)
        feed.submit([count, genres])
        first, second = await asyncio.gather(feed.run([count, broken]), feed.run([genres, count]))
        await feed.aclose()
        return first, second

    (c1, b), (g, c2) = asyncio.run(go())
    assert c1 is c2  # one run, one result, for both waiters
    assert [c1.rows, g.rows] == expected and len(g.rows) == 2
    assert not b.ok and "nope" in b.error
    # The first chunk held what was submitted; the broken query, handed in while it ran,
    # went with the next one; nothing ran twice.
    assert ran == [[count, genres], [broken]]


def test_a_run_without_an_executor_tells_every_waiter(demo_root):
    from sqlfoundry.db.manager import DatabaseManager

    ctx = RunContext(databases=DatabaseManager(root=demo_root), executor=None, seed=7)

    async def go():
        feed = SQLFeed(ctx)
        with pytest.raises(ConfigError):
            await feed.run([("SELECT 1", "bookshop")])
        await feed.aclose()

    asyncio.run(go())
